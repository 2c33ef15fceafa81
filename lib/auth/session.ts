/**
 * Server-side sessions, Copenhagen Book style: the browser holds `<id>.<secret>`, the store holds
 * the id and a hash of the secret. Sessions slide forward while used, up to an absolute cap.
 */
import { audit, type RequestOrigin } from "../audit.ts";
import type { Doc, Store } from "../store/port.ts";
import { ConflictError } from "../store/port.ts";
import { findAll } from "../store/find_all.ts";
import { generateToken, parseToken, secretMatches } from "./tokens.ts";
import type { User } from "./users.ts";

const DAY = 24 * 60 * 60 * 1000;
/** A session lives 7 days after it was last renewed... */
export const SESSION_TTL_MS = 7 * DAY;
/** ...is renewed (one write) at most once a day while used... */
const RENEW_AFTER_MS = DAY;
/** ...and ends 30 days after sign-in however active it is. */
export const SESSION_MAX_AGE_MS = 30 * DAY;
/** "Last seen" is kept to this resolution, so reading pages does not write on every request. */
const LAST_SEEN_RESOLUTION_MS = 5 * 60 * 1000;
/** How long a fresh sign-in or re-authentication allows sensitive changes (sudo mode). */
export const SUDO_TTL_MS = 10 * 60 * 1000;
/** Sessions a user may hold at once; opening one more ends the earliest opened. */
export const MAX_SESSIONS_PER_USER = 50;

/**
 * Creates a session for a user who just proved who they are; returns the token for the cookie.
 * `user` must be the document the proof was checked against (the password hash read with it):
 * the session records that document's credential version, so if the password, role or email
 * changed in the meantime (or two-factor was turned on) the session is born dead (see
 * validateSessionToken).
 */
export async function createSession(
  store: Store,
  user: Pick<User, "_id" | "credentialVersion">,
  origin: RequestOrigin,
  now = new Date(),
): Promise<{ token: string; session: Session }> {
  const { id, token, secretHash } = generateToken();
  const session = await store.insert<Session>("sessions", {
    _id: id,
    userId: user._id,
    credentialVersion: credentialVersion(user),
    secretHash,
    createdAt: now,
    expiresAt: new Date(now.getTime() + SESSION_TTL_MS),
    absoluteExpiresAt: new Date(now.getTime() + SESSION_MAX_AGE_MS),
    lastSeenAt: now,
    ip: origin.ip,
    userAgent: origin.userAgent.slice(0, 300),
    sudoUntil: new Date(now.getTime() + SUDO_TTL_MS),
  });
  const trimmed = await trimUserSessions(store, user._id, now);
  if (trimmed > 0) {
    await audit(store, {
      action: "auth.session_revoked",
      outcome: "success",
      userId: user._id,
      origin,
      details: { sessions: trimmed, reason: "session_limit" },
    }, now);
  }
  return { token, session };
}

/** The user's credential version; documents written before it existed are at 0. */
export function credentialVersion(doc: { credentialVersion?: number }): number {
  return doc.credentialVersion ?? 0;
}

/**
 * Keeps the user at MAX_SESSIONS_PER_USER live sessions: after each insert, every session that can
 * no longer be used (expired, or opened under older credentials) and all but the newest
 * MAX_SESSIONS_PER_USER by creation time (ties by id) are deleted. Creation order does not change
 * over a session's life, so concurrent sign-ins agree on which are the oldest, and the last one to
 * list sees every insert before it: once a burst of sign-ins has finished, at most
 * MAX_SESSIONS_PER_USER remain. While it runs, the count may exceed the cap by the number of
 * sign-ins still in flight.
 */
async function trimUserSessions(store: Store, userId: string, now: Date): Promise<number> {
  const [user, sessions] = await Promise.all([
    store.get<User>("users", userId),
    listUserSessions(store, userId),
  ]);
  if (!user) return 0;
  // Versions only grow, so a session behind the user is dead for good; one ahead was moved on
  // by a change that committed after the user was read here, and is left alone.
  const live = sessions.filter((s) =>
    credentialVersion(s) >= credentialVersion(user) && now < s.expiresAt &&
    now < s.absoluteExpiresAt
  );
  const keep = new Set(
    live.sort((a, b) =>
      b.createdAt.getTime() - a.createdAt.getTime() || (a._id < b._id ? 1 : a._id > b._id ? -1 : 0)
    ).slice(0, MAX_SESSIONS_PER_USER).map((s) => s._id),
  );
  let ended = 0;
  for (const session of sessions) {
    // Concurrent sign-ins may pick the same sessions; each is counted by the one that deleted it.
    if (!keep.has(session._id) && await deleteQuietly(store, session._id)) ended++;
  }
  return ended;
}

/**
 * The session and user a token belongs to, or null when the token is malformed, unknown,
 * expired, its user is gone or suspended, or their credentials changed since it was opened.
 * Renews the session when due (`renewed`: its expiry moved, so the cookie should follow).
 */
export async function validateSessionToken(
  store: Store,
  token: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<{ session: Session; user: User; renewed: boolean } | null> {
  const parsed = parseToken(token);
  if (!parsed) return null;
  let session = await store.get<Session>("sessions", parsed.id);
  if (!session || !secretMatches(parsed.secret, session.secretHash)) return null;
  if (now >= session.expiresAt || now >= session.absoluteExpiresAt) {
    await deleteQuietly(store, session._id);
    return null;
  }
  const user = await store.get<User>("users", session.userId);
  // A session is good only for the credentials it was opened with: a password change or reset,
  // a role or email change, or turning two-factor on moves the user's version on, which ends it
  // here even if it was created after the others were deleted (a sign-in that checked the old
  // password).
  if (
    !user || user.role === "SUSPENDED" || credentialVersion(session) !== credentialVersion(user)
  ) {
    await deleteQuietly(store, session._id);
    return null;
  }
  const renew = now.getTime() - (session.expiresAt.getTime() - SESSION_TTL_MS) >= RENEW_AFTER_MS;
  const seen = now.getTime() - session.lastSeenAt.getTime() >= LAST_SEEN_RESOLUTION_MS;
  // A changed address is recorded with the next "last seen" write, not at once: a phone moving
  // between networks must not cost a write per request.
  if (renew || seen) {
    const expiresAt = renew
      ? new Date(Math.min(now.getTime() + SESSION_TTL_MS, session.absoluteExpiresAt.getTime()))
      : session.expiresAt;
    try {
      session = await store.update<Session>("sessions", session._id, {
        expiresAt,
        lastSeenAt: now,
        ip: origin.ip,
        userAgent: origin.userAgent.slice(0, 300),
      });
    } catch (err) {
      // Signed out in the meantime: the request goes on as anonymous.
      if (err instanceof ConflictError && err.reason === "missing") return null;
      throw err;
    }
  }
  return { session, user, renewed: renew };
}

/** Whether the session may make sensitive changes without asking for the password again. */
export function inSudoMode(session: Session, now = new Date()): boolean {
  return session.sudoUntil !== null && now < session.sudoUntil;
}

/** Opens sudo mode after the user re-entered their password (and code). */
export async function grantSudo(store: Store, session: Session, now = new Date()): Promise<void> {
  await store.update<Session>("sessions", session._id, {
    sudoUntil: new Date(now.getTime() + SUDO_TTL_MS),
  });
}

/** Ends one session. Ending one that is already gone is not an error. */
export async function invalidateSession(store: Store, sessionId: string): Promise<void> {
  await deleteQuietly(store, sessionId);
}

/** Ends every session of a user, or every one but `exceptId`; returns how many ended. */
export async function invalidateUserSessions(
  store: Store,
  userId: string,
  exceptId?: string,
): Promise<number> {
  let ended = 0;
  for (const session of await listUserSessions(store, userId)) {
    if (session._id === exceptId) continue;
    await deleteQuietly(store, session._id);
    ended++;
  }
  return ended;
}

/**
 * Ends every session of a user but `keepId` after a change to their credentials, and audits how
 * many ended and why; returns that number.
 */
export async function endOtherSessions(
  store: Store,
  userId: string,
  keepId: string | undefined,
  reason: string,
  origin: RequestOrigin,
  now: Date,
): Promise<number> {
  const ended = await invalidateUserSessions(store, userId, keepId);
  if (ended > 0) {
    await audit(store, {
      action: "auth.session_revoked",
      outcome: "success",
      userId,
      origin,
      details: { sessions: ended, reason },
    }, now);
  }
  return ended;
}

/** A user's sessions, most recently seen first. */
export async function listUserSessions(store: Store, userId: string): Promise<Session[]> {
  const all = await findAll<Session>(store, "sessions", { where: { userId }, limit: 200 });
  return all.sort((a, b) => b.lastSeenAt.getTime() - a.lastSeenAt.getTime());
}

/** Deletes sessions past their expiry; run periodically so the collection does not grow forever. */
export async function deleteExpiredSessions(store: Store, now = new Date()): Promise<number> {
  let deleted = 0;
  for (;;) {
    const page = await store.find<Session>("sessions", {
      sort: { field: "expiresAt", direction: 1 },
      range: { lt: now },
      limit: 100,
    });
    for (const session of page.items) await deleteQuietly(store, session._id);
    deleted += page.items.length;
    if (!page.nextCursor) return deleted;
  }
}

/** Deletes a session; false when it was already gone. */
async function deleteQuietly(store: Store, sessionId: string): Promise<boolean> {
  try {
    await store.delete("sessions", sessionId);
    return true;
  } catch (err) {
    if (!(err instanceof ConflictError && err.reason === "missing")) throw err;
    return false;
  }
}

export type Session = Doc & {
  userId: string;
  /** The user's credential version when the session was opened; absent (stored before) is 0. */
  credentialVersion?: number;
  secretHash: string;
  createdAt: Date;
  expiresAt: Date;
  absoluteExpiresAt: Date;
  lastSeenAt: Date;
  ip: string;
  userAgent: string;
  sudoUntil: Date | null;
};
