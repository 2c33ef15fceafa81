/**
 * The first factor of a two-step sign-in, held on the server: after the right password for a user
 * with two-factor on, the browser gets a token for this record and the next form asks only for
 * the code. The record holds no password, only who passed and under which credential version, so
 * a password change (or anything else that moves the version on) voids it. It lives at most
 * PENDING_SIGN_IN_TTL_MS from the password check, and each token works once: a wrong code gets a
 * fresh token with the same deadline, so a copied token is useless after the next attempt.
 */
import type { Doc, Store } from "../store/port.ts";
import { ConflictError } from "../store/port.ts";
import { credentialVersion } from "./session.ts";
import { generateToken, parseToken, secretMatches } from "./tokens.ts";
import type { User } from "./users.ts";

/** How long a checked password waits for its code. */
export const PENDING_SIGN_IN_TTL_MS = 5 * 60 * 1000;

export type PendingSignIn = Doc & {
  userId: string;
  credentialVersion: number;
  secretHash: string;
  createdAt: Date;
  expiresAt: Date;
};

/** Records that `user` (as read with the password hash just checked) passed the first factor. */
export async function holdFirstFactor(
  store: Store,
  user: Pick<User, "_id" | "credentialVersion">,
  now = new Date(),
  expiresAt = new Date(now.getTime() + PENDING_SIGN_IN_TTL_MS),
): Promise<{ token: string; expiresAt: Date }> {
  const { id, token, secretHash } = generateToken();
  await store.insert<PendingSignIn>("pending_sign_ins", {
    _id: id,
    userId: user._id,
    credentialVersion: credentialVersion(user),
    secretHash,
    createdAt: now,
    expiresAt,
  });
  return { token, expiresAt };
}

/**
 * Uses up a pending sign-in: the record when the token is ours, unexpired and not used before,
 * else null. The delete is made at the version read, so of two simultaneous uses only one gets it.
 */
export async function takePendingSignIn(
  store: Store,
  token: string,
  now = new Date(),
): Promise<PendingSignIn | null> {
  const parsed = parseToken(token);
  if (!parsed) return null;
  const pending = await store.get<PendingSignIn>("pending_sign_ins", parsed.id);
  if (!pending || !secretMatches(parsed.secret, pending.secretHash)) return null;
  try {
    await store.delete("pending_sign_ins", pending._id, { ifVersion: pending._v });
  } catch (err) {
    if (err instanceof ConflictError) return null;
    throw err;
  }
  return now < pending.expiresAt ? pending : null;
}

/** Deletes pending sign-ins past their deadline (the ones nobody finished). */
export async function deleteExpiredPendingSignIns(store: Store, now = new Date()): Promise<number> {
  let deleted = 0;
  for (;;) {
    const page = await store.find<PendingSignIn>("pending_sign_ins", {
      sort: { field: "expiresAt", direction: 1 },
      range: { lt: now },
      limit: 100,
    });
    for (const pending of page.items) {
      await store.delete("pending_sign_ins", pending._id).catch((err) => {
        if (!(err instanceof ConflictError)) throw err;
      });
    }
    deleted += page.items.length;
    if (!page.nextCursor) return deleted;
  }
}
