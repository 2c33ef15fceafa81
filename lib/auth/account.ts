/** Changes a user makes to their own account: name, password, email; and the emails they can ask for. */
import { audit, auditOp, type RequestOrigin } from "../audit.ts";
import { AppError } from "../errors.ts";
import type { AuthContext } from "./context.ts";
import { type VerificationResult, verifyEmail } from "./email_verification.ts";
import { emailChangedEmail, passwordChangedEmail, passwordResetEmail } from "./emails.ts";
import { enforceLimit, LIMITS } from "./limits.ts";
import { hashPassword, passwordProblem, verifyPassword } from "./password.ts";
import { createPasswordReset } from "./password_reset.ts";
import {
  endOtherSessions,
  inSudoMode,
  invalidateSession,
  invalidateUserSessions,
  type Session,
} from "./session.ts";
import { sendVerification } from "./sign_up.ts";
import { findUserByEmail, nextCredentialVersion, normalizeEmail, type User } from "./users.ts";
import type { Store } from "../store/port.ts";

/** Thrown when a sensitive change needs the password again (sudo mode has lapsed). */
export function reauthenticationRequired(): AppError {
  return new AppError(
    403,
    "reauthentication_required",
    "For your security, please confirm your password first.",
  );
}

/** Saves the fields of the profile that were given (the time zone null: none chosen). */
export async function updateProfile(
  ctx: AuthContext,
  user: User,
  input: { name?: string; timeZone?: string | null },
): Promise<User> {
  const set: Partial<Pick<User, "name" | "timeZone">> = {};
  if (input.name !== undefined) set.name = input.name.trim();
  if (input.timeZone !== undefined) set.timeZone = input.timeZone;
  return await ctx.store.update<User>("users", user._id, set, { ifVersion: user._v });
}

/**
 * Changes the password after checking the current one; every other session is signed out and
 * the owner is told by email.
 */
export async function changePassword(
  ctx: AuthContext,
  user: User,
  session: Session,
  input: { currentPassword: string; newPassword: string },
  origin: RequestOrigin,
  now = new Date(),
): Promise<void> {
  await enforceLimit(ctx, LIMITS.totpPerIp, origin.ip);
  if (!(await verifyPassword(user.passwordHash, input.currentPassword))) {
    await audit(ctx.store, {
      action: "auth.password_changed",
      outcome: "failure",
      userId: user._id,
      origin,
      details: { reason: "wrong_password" },
    }, now);
    throw new AppError(422, "invalid_credentials", "Your current password is not right.", {
      fields: { currentPassword: "This is not your current password." },
    });
  }
  const weak = await passwordProblem(input.newPassword, [user.email, user.name]);
  if (weak) throw new AppError(422, "validation_failed", weak, { fields: { newPassword: weak } });
  const next = nextCredentialVersion(user);
  await ctx.store.commit([
    {
      op: "update",
      collection: "users",
      id: user._id,
      set: {
        passwordHash: await hashPassword(input.newPassword),
        passwordChangedAt: now,
        ...next,
      },
      ifVersion: user._v,
    },
    // The session the change is made in moves to the new version in the same unit, so it is the
    // only one that survives: every other, including one a racing sign-in with the old password
    // opens afterwards, is at the old version and refused from its next request.
    { op: "update", collection: "sessions", id: session._id, set: next },
    auditOp({ action: "auth.password_changed", outcome: "success", userId: user._id, origin }, now),
  ]);
  await endOtherSessions(ctx.store, user._id, session._id, "password_changed", origin, now);
  const resetLink = new URL("/forgot-password", ctx.config.appUrl).href;
  await ctx.mailer.send(passwordChangedEmail(user.email, user.name, resetLink)).catch((error) =>
    ctx.log.error("password changed email failed", { userId: user._id, error })
  );
}

/** Sends a verification to a new address; the switch happens when it is confirmed. Needs sudo mode. */
export async function requestEmailChange(
  ctx: AuthContext,
  user: User,
  session: Session,
  newEmail: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<void> {
  if (!inSudoMode(session, now)) throw reauthenticationRequired();
  const email = normalizeEmail(newEmail);
  if (email === user.email) {
    throw new AppError(422, "validation_failed", "That is already your email.", {
      fields: { email: "That is already your email." },
    });
  }
  await enforceLimit(ctx, LIMITS.verifyResendPerEmailMinute, user._id);
  if (await findUserByEmail(ctx.store, email)) {
    throw new AppError(409, "email_taken", "Another account uses this email.", {
      fields: { email: "Another account uses this email." },
    });
  }
  await sendVerification(ctx, user, email, origin, now, session._id);
}

/**
 * Confirms an email address (the link's token, or the address and its code). When that completes
 * an email change, the change is not silent: every session but the one that asked for it has
 * ended (email_verification.ts), which is audited here, and the old address is told, with a
 * single-use reset link so an owner who did not ask can take the account back.
 */
export async function confirmEmail(
  ctx: AuthContext,
  input: { token: string } | { email: string; code: string },
  origin: RequestOrigin,
  now = new Date(),
): Promise<VerificationResult> {
  const result = await verifyEmail(ctx, input, origin, now);
  if (!result.ok || result.changedFrom === undefined) return result;
  const { user, changedFrom } = result;
  await endOtherSessions(
    ctx.store,
    user._id,
    result.keptSessionId ?? undefined,
    "email_changed",
    origin,
    now,
  );
  // The old address can no longer ask for a reset (it is not the account's any more), so the
  // notice carries one. It is the address the owner proved until now; the link works once, for
  // an hour, and using it ends every session, the one that made the change included.
  const token = await createPasswordReset(ctx.store, user._id, origin, now, "email_changed");
  const resetLink =
    new URL(`/reset-password?token=${encodeURIComponent(token)}`, ctx.config.appUrl).href;
  await ctx.mailer.send(emailChangedEmail(changedFrom, user.name, user.email, resetLink)).catch(
    (error) => ctx.log.error("email changed notice failed", { userId: user._id, error }),
  );
  return result;
}

/** Sends a new verification email when the address belongs to an unverified user; silent otherwise. */
export async function resendVerification(
  ctx: AuthContext,
  email: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<void> {
  await enforceLimit(ctx, LIMITS.verifyPerIp, origin.ip);
  // Counted against the address asked for, registered or not, so neither a 429 nor the timing of
  // the answer says whether it has an account waiting for confirmation.
  const normalized = normalizeEmail(email);
  await enforceLimit(ctx, LIMITS.verifyResendPerEmailMinute, normalized);
  await enforceLimit(ctx, LIMITS.verifyResendPerEmailHour, normalized);
  ctx.background.run("verification email", async () => {
    const user = await findUserByEmail(ctx.store, normalized);
    if (!user || user.emailVerifiedAt) return;
    await sendVerification(ctx, user, user.email, origin, now);
  });
}

/**
 * Emails a reset link when the address has an account. The caller answers 202 either way: only
 * the rate limits, the same for every address, run before the answer; looking the address up,
 * making the token and sending the email happen afterwards, so neither the answer nor its timing
 * tells whether the address is registered.
 */
export async function requestPasswordReset(
  ctx: AuthContext,
  email: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<void> {
  await enforceLimit(ctx, LIMITS.resetPerIp, origin.ip);
  const normalized = normalizeEmail(email);
  await enforceLimit(ctx, LIMITS.resetPerEmail, normalized);
  ctx.background.run("password reset", () => sendPasswordReset(ctx, normalized, origin, now));
}

/** The part of a reset request done after answering: the lookup, the token, the email. */
async function sendPasswordReset(
  ctx: AuthContext,
  email: string,
  origin: RequestOrigin,
  now: Date,
): Promise<void> {
  const user = await findUserByEmail(ctx.store, email);
  if (!user || user.role === "SUSPENDED") return;
  const token = await createPasswordReset(ctx.store, user._id, origin, now);
  // Links come from APP_URL, never from the request's Host header, which an attacker can set.
  const link =
    new URL(`/reset-password?token=${encodeURIComponent(token)}`, ctx.config.appUrl).href;
  await ctx.mailer.send(passwordResetEmail(user.email, user.name, link)).catch((error) =>
    ctx.log.error("password reset email failed", { userId: user._id, error })
  );
}

/** Ends the current session (sign-out), recorded in the audit log. */
export async function signOut(
  store: Store,
  session: Session,
  origin: RequestOrigin,
): Promise<void> {
  await invalidateSession(store, session._id);
  await audit(store, {
    action: "auth.sign_out",
    outcome: "success",
    userId: session.userId,
    origin,
  });
}

/** Signs out one of the user's own sessions (404 for anyone else's). */
export async function revokeSession(
  ctx: AuthContext,
  user: User,
  sessionId: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<void> {
  const target = await ctx.store.get<Session>("sessions", sessionId);
  if (!target || target.userId !== user._id) {
    throw new AppError(404, "not_found", "No such session.");
  }
  await invalidateSession(ctx.store, sessionId);
  await audit(ctx.store, {
    action: "auth.session_revoked",
    outcome: "success",
    userId: user._id,
    origin,
    details: { sessions: 1, reason: "user" },
  }, now);
}

/** Signs out every session of the user but the current one. */
export async function revokeOtherSessions(
  ctx: AuthContext,
  user: User,
  current: Session,
  origin: RequestOrigin,
  now = new Date(),
): Promise<number> {
  const ended = await invalidateUserSessions(ctx.store, user._id, current._id);
  await audit(ctx.store, {
    action: "auth.session_revoked",
    outcome: "success",
    userId: user._id,
    origin,
    details: { sessions: ended, reason: "user_others" },
  }, now);
  return ended;
}
