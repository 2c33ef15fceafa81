/**
 * The notification centre's records: one document per thing a trader should see in the bell,
 * whoever made it (the dispatch pass for order and alert events, sign-in for a new device, key
 * creation, the webhook sender when it gives up on an endpoint).
 *
 * `readAt` is null until read; the `{userId, readAt}` index counts a user's unread ones without
 * reading the rest. `email` says what the email batcher still has to do with it: `pending` until a
 * digest carries it, `none` when the user's choice leaves it out.
 */
import type { NotificationEmailChoice, User } from "../auth/users.ts";
import { newId } from "../ids.ts";
import { findAll } from "../store/find_all.ts";
import type { Doc, Page, Store, WriteOp } from "../store/port.ts";

/**
 * What a notification is about. The email choice in settings is by family: "fills and alerts"
 * takes `fill` and `alert`; "everything" takes them all.
 */
export const NOTIFICATION_KINDS = ["fill", "alert", "order", "security", "webhook"] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export type Notification = Doc & {
  userId: string;
  kind: NotificationKind;
  /** One line, e.g. "Bought 10 AAPL at $189.20". */
  title: string;
  /** A sentence or two more; may be empty. */
  body: string;
  /** The app page where it leads (a path, e.g. "/orders/01J…"), or null. */
  link: string | null;
  at: Date;
  readAt: Date | null;
  email: "pending" | "none" | "sent";
};

/** What a maker of a notification says; the rest is filled in here. */
export type NotificationContent = Pick<Notification, "kind" | "title" | "body" | "link">;

/** Whether the user's email choice takes notifications of this kind. */
export function emailWanted(
  choice: NotificationEmailChoice | undefined,
  kind: NotificationKind,
): boolean {
  if (choice === "all") return true;
  if (choice === "fills_alerts") return kind === "fill" || kind === "alert";
  return false;
}

/** A notification as the JSON API shows it. */
export function notificationJson(n: Notification) {
  return {
    id: n._id,
    kind: n.kind,
    title: n.title,
    body: n.body,
    link: n.link,
    createdAt: n.at.toISOString(),
    readAt: n.readAt?.toISOString() ?? null,
  };
}

/** The count the bell shows; past UNREAD_SHOWN it says "99+", so no more are read. */
export const UNREAD_SHOWN = 99;

/** How many of the user's notifications are unread, up to UNREAD_SHOWN + 1. */
export async function unreadCount(store: Store, userId: string): Promise<number> {
  const page = await store.find<Notification>("notifications", {
    where: { userId, readAt: null },
    sort: { field: "at", direction: -1 },
    limit: UNREAD_SHOWN + 1,
  });
  return page.items.length;
}

/** A page of the user's notifications, newest first. */
export async function listNotifications(
  store: Store,
  userId: string,
  options: { limit?: number; cursor?: string; unread?: boolean } = {},
): Promise<Page<Notification>> {
  return await store.find<Notification>("notifications", {
    where: options.unread ? { userId, readAt: null } : { userId },
    sort: { field: "at", direction: -1 },
    limit: options.limit ?? 50,
    cursor: options.cursor,
  });
}

/** At most this many ids in one mark-read request. */
export const MARK_READ_MAX = 100;

/**
 * Marks the user's notifications read: the ones named (ids of other users' or unknown ones are
 * passed over, so a stale page cannot learn what exists), or all unread. Returns how many changed.
 */
export async function markRead(
  store: Store,
  userId: string,
  which: { ids: string[] } | { all: true },
  now = new Date(),
): Promise<number> {
  const targets = "ids" in which
    ? (await store.getMany<Notification>("notifications", which.ids)).filter(
      (n): n is Notification => n !== null && n.userId === userId && n.readAt === null,
    )
    : await findAll<Notification>(store, "notifications", {
      where: { userId, readAt: null },
      sort: { field: "at", direction: -1 },
    });
  let changed = 0;
  // In units of 100: any store takes them, and a read racing with another is simply read.
  for (let i = 0; i < targets.length; i += 100) {
    const ops: WriteOp[] = targets.slice(i, i + 100).map((n) => ({
      op: "update",
      collection: "notifications",
      id: n._id,
      set: { readAt: now },
    }));
    await store.commit(ops);
    changed += ops.length;
  }
  return changed;
}

/** Notifications are kept this long, read or not (the worker's hourly pruning). */
export const NOTIFICATION_RETENTION_MS = 90 * 24 * 60 * 60 * 1000;

/**
 * The insert of one notification for `user`, for the unit of whatever it tells of; it waits for
 * the email batcher when the user's choice takes its kind.
 */
export function noticeOp(
  user: Pick<User, "_id" | "notificationEmail">,
  content: NotificationContent,
  at: Date,
): WriteOp {
  const email = emailWanted(user.notificationEmail, content.kind) ? "pending" : "none";
  return {
    op: "insert",
    collection: "notifications",
    doc: { _id: newId(at.getTime()), userId: user._id, ...content, at, readAt: null, email },
  };
}
