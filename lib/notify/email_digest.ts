/**
 * Notification emails, batched: a burst of fills sends one email, and a user gets at most one a
 * minute. A notification the user's choice takes waits as `email: "pending"` (dispatch.ts); each
 * pass groups the pending ones by user and sends a digest once the oldest has waited GATHER_MS
 * (so the rest of a burst joins it) and the user's last digest is DIGEST_GAP_MS old.
 *
 * Claim, then send: the unit that moves the digest's notifications to `sent` also moves the user's
 * `notification_digests` record at the version read, so of two instances one sends. A crash
 * between the claim and the send loses that digest (at most once, like the weekly statement):
 * the notifications themselves stay in the bell.
 */
import type { User } from "../auth/users.ts";
import { composeEmail, type EmailBlock, type Mailer } from "../email.ts";
import type { Logger } from "../log.ts";
import { ConflictError, type Doc, type Store, type WriteOp } from "../store/port.ts";
import { emailWanted, type Notification } from "./notifications.ts";

/** At most one notification email per user in this time. */
export const DIGEST_GAP_MS = 60_000;
/** How long the first of a burst waits for the rest before its email goes. */
export const GATHER_MS = 10_000;
/** Notifications in one email; more wait for the next. */
const DIGEST_MAX = 50;

/** When the user's last digest went; `_id` is the user id. */
export type DigestState = Doc & { lastSentAt: Date };

export type DigestDeps = { mailer: Mailer; appUrl: () => string; log: Logger };

/** One pass of the batcher; returns how many emails it sent. */
export async function sendNotificationEmails(
  store: Store,
  deps: DigestDeps,
  now = new Date(),
): Promise<number> {
  const page = await store.find<Notification>("notifications", {
    where: { email: "pending" },
    sort: { field: "userId", direction: 1 },
    limit: 1000,
  });
  const byUser = Map.groupBy(page.items, (n) => n.userId);
  let sent = 0;
  for (const [userId, waiting] of byUser) {
    const oldest = Math.min(...waiting.map((n) => n.at.getTime()));
    if (now.getTime() - oldest < GATHER_MS) continue;
    const [state, user] = await Promise.all([
      store.get<DigestState>("notification_digests", userId),
      store.get<User>("users", userId),
    ]);
    if (state && now.getTime() - state.lastSentAt.getTime() < DIGEST_GAP_MS) continue;
    const batch = waiting.toSorted((a, b) => a.at.getTime() - b.at.getTime()).slice(0, DIGEST_MAX);
    // The choice may have changed since they were queued: what it no longer takes is not sent.
    const wanted = batch.filter((n) => user && emailWanted(user.notificationEmail, n.kind));
    const ops: WriteOp[] = batch.map((n) => ({
      op: "update",
      collection: "notifications",
      id: n._id,
      ifVersion: n._v,
      set: { email: wanted.includes(n) ? "sent" : "none" },
    }));
    if (wanted.length > 0) {
      ops.push(
        state
          ? {
            op: "update",
            collection: "notification_digests",
            id: userId,
            ifVersion: state._v,
            set: { lastSentAt: now },
          }
          : {
            op: "insert",
            collection: "notification_digests",
            doc: { _id: userId, lastSentAt: now },
          },
      );
    }
    try {
      await store.commit(ops);
    } catch (error) {
      // Another instance claimed them, or one was read meanwhile: the next pass sees.
      if (error instanceof ConflictError) continue;
      throw error;
    }
    if (!user || wanted.length === 0) continue;
    try {
      await deps.mailer.send(digestEmail(user, wanted, deps.appUrl()));
      sent++;
    } catch (error) {
      deps.log.warn("notification email not sent", { userId, error });
    }
  }
  return sent;
}

/** The digest: one line per notification, oldest first, and the way to the bell and settings. */
export function digestEmail(user: User, notifications: Notification[], appUrl: string) {
  const subject = notifications.length === 1
    ? notifications[0].title
    : `${notifications[0].title} and ${notifications.length - 1} more`;
  const blocks: EmailBlock[] = notifications.map((n) => `${n.title}. ${n.body}`.trim());
  blocks.push(
    { label: "See your notifications", link: `${appUrl}/notifications` },
    "You get these because of your notification email choice in Settings.",
    { label: "Change it", link: `${appUrl}/settings` },
  );
  return composeEmail(user.email, subject, user.name, blocks);
}
