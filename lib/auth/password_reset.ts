/**
 * Password reset: a single-use link valid for one hour. Asking again replaces the older link.
 * Using it sets the new password, signs out every session, and lifts any sign-in lockout.
 */
import { revokeUserApiKeys } from "./api_keys.ts";
import { revokeUserSignalUrls } from "../trading/signals.ts";
import { auditOp, type RequestOrigin } from "../audit.ts";
import { ConflictError, type Doc, type Store, type WriteOp } from "../store/port.ts";
import { AppError } from "../errors.ts";
import { hashPassword, passwordProblem } from "./password.ts";
import { invalidateUserSessions } from "./session.ts";
import { openTotpKey } from "./two_factor.ts";
import { clearSignInFailures } from "./sign_in_throttle.ts";
import { generateToken, parseToken, secretMatches } from "./tokens.ts";
import { nextCredentialVersion, type User } from "./users.ts";

export const RESET_TTL_MS = 60 * 60 * 1000;

/** A new reset token for the user; every older one stops working. */
export async function createPasswordReset(
  store: Store,
  userId: string,
  origin: RequestOrigin,
  now = new Date(),
  /** Why a reset was made without the owner asking (the email-change notice carries one). */
  reason?: string,
): Promise<string> {
  const { id, token, secretHash } = generateToken();
  await store.commit([
    ...(await deleteResetOps(store, userId)),
    {
      op: "insert",
      collection: "password_resets",
      doc: {
        _id: id,
        userId,
        secretHash,
        createdAt: now,
        expiresAt: new Date(now.getTime() + RESET_TTL_MS),
      },
    },
    auditOp({
      action: "auth.password_reset_requested",
      outcome: "success",
      userId,
      origin,
      ...(reason === undefined ? {} : { details: { reason } }),
    }, now),
  ]);
  return token;
}

/** The reset a token stands for, if it is valid now; used to show the form before it is sent. */
export async function findPasswordReset(
  store: Store,
  token: string,
  now = new Date(),
): Promise<PasswordReset | null> {
  const parsed = parseToken(token);
  const reset = parsed && await store.get<PasswordReset>("password_resets", parsed.id);
  if (!parsed || !reset || !secretMatches(parsed.secret, reset.secretHash)) return null;
  return now < reset.expiresAt ? reset : null;
}

/**
 * Sets a new password with a valid token. Returns the user, or null when the token is invalid,
 * expired or already used; throws 422 when the password is too weak.
 */
export async function resetPassword(
  store: Store,
  authSecret: string,
  token: string,
  password: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<User | null> {
  const reset = await findPasswordReset(store, token, now);
  if (!reset) return null;
  const user = await store.get<User>("users", reset.userId);
  if (!user) return null;
  const weak = await passwordProblem(password, [user.email, user.name]);
  if (weak) throw new AppError(422, "validation_failed", weak, { fields: { password: weak } });
  const passwordHash = await hashPassword(password);
  // A second factor sealed under an earlier AUTH_SECRET can never be checked again (recovery codes
  // included): the reset by email is the way back in, so it turns two-factor off, audited.
  const totpLost = user.totp !== null && !(await openTotpKey(authSecret, user.totp));
  try {
    const others = (await deleteResetOps(store, user._id)).filter((op) => op.id !== reset._id);
    const [, updated] = await store.commit([
      // Deleting at the version read makes the token single-use even when two requests race.
      { op: "delete", collection: "password_resets", id: reset._id, ifVersion: reset._v },
      {
        op: "update",
        collection: "users",
        id: user._id,
        set: {
          passwordHash,
          passwordChangedAt: now,
          // Following the emailed link proves the address is theirs.
          emailVerifiedAt: user.emailVerifiedAt ?? now,
          // A reset by email is how a locked second factor becomes usable again.
          ...(totpLost
            ? { totp: null, totpPendingKey: null, recoveryCodeHashes: [] }
            : { totp: user.totp ? { ...user.totp, failures: 0 } : null }),
          // Every session, including one a racing sign-in with the old password opens after
          // the deletion below, is at an older version and refused from its next request.
          ...nextCredentialVersion(user),
        },
        ifVersion: user._v,
      },
      ...others,
      auditOp({ action: "auth.password_reset", outcome: "success", userId: user._id, origin }, now),
      ...(totpLost
        ? [auditOp({
          action: "auth.totp_disabled",
          outcome: "success",
          userId: user._id,
          origin,
          details: { reason: "key_unreadable" },
        }, now)]
        : []),
    ]);
    await invalidateUserSessions(store, user._id);
    // Whoever knew the old password may have made keys or signal URLs with it; a reset by email
    // ends them too.
    await revokeUserApiKeys(store, user._id, "password_reset", origin, null, now);
    await revokeUserSignalUrls(store, user._id, "password_reset", origin, now);
    await clearSignInFailures(store, user.email);
    return updated as User;
  } catch (err) {
    if (err instanceof ConflictError) return null;
    throw err;
  }
}

async function deleteResetOps(
  store: Store,
  userId: string,
): Promise<Extract<WriteOp, { op: "delete" }>[]> {
  const page = await store.find<PasswordReset>("password_resets", { where: { userId }, limit: 50 });
  return page.items.map((r) => ({ op: "delete", collection: "password_resets", id: r._id }));
}

export type PasswordReset = Doc & {
  userId: string;
  secretHash: string;
  createdAt: Date;
  expiresAt: Date;
};
