/**
 * Sign-in and re-authentication. An unknown email and a wrong password get the same answer in
 * about the same time; failures are throttled per address (sign_in_throttle.ts) and per IP.
 */
import { audit, type AuditAction, type RequestOrigin } from "../audit.ts";
import { AppError } from "../errors.ts";
import { countSignIns } from "../metrics.ts";
import type { AuthContext } from "./context.ts";
import { enforceLimit, LIMITS, tooManyRequests } from "./limits.ts";
import { decoyPasswordHash, verifyPassword } from "./password.ts";
import { holdFirstFactor, takePendingSignIn } from "./pending_sign_in.ts";
import { createSession, credentialVersion, grantSudo, type Session } from "./session.ts";
import {
  claimSignInAttempt,
  forgiveSignInFailures,
  LOCKOUT_FAILURES,
  recordSignInFailure,
  releaseSignInAttempt,
} from "./sign_in_throttle.ts";
import { checkSecondFactor } from "./two_factor.ts";
import { findUserByEmail, normalizeEmail, type User } from "./users.ts";

/**
 * Checks the credentials and opens a new session; throws the contract's 401/403/429 errors.
 * Every attempt is counted by its outcome in auth_sign_in_total.
 */
export const signIn = countSignIns(attemptSignIn);

/**
 * The answer to a right password without the code when `holdFirstFactor` was asked for: still
 * `totp_required`, carrying the token of the first factor held on the server (pending_sign_in.ts).
 */
export class SecondFactorNeeded extends AppError {
  constructor(readonly pending: { token: string; expiresAt: Date }, cause?: AppError) {
    super(
      cause?.status ?? 401,
      cause?.code ?? "totp_required",
      cause?.message ?? "Enter the 6-digit code from your authenticator app.",
      cause?.details,
    );
  }
}

async function attemptSignIn(
  ctx: AuthContext,
  input: { email: string; password: string; totpCode?: string },
  origin: RequestOrigin,
  now = new Date(),
  options: { holdFirstFactor?: boolean } = {},
): Promise<{ user: User; session: Session; token: string }> {
  await enforceLimit(ctx, LIMITS.signInPerIp, origin.ip);
  const email = normalizeEmail(input.email);
  const user = await checkPassword(ctx, email, input.password, origin, now);

  const refuse = refusal(ctx, "auth.sign_in", user, origin, now);
  if (user.role === "SUSPENDED") {
    throw await refuse(
      "suspended",
      new AppError(403, "account_suspended", "This account is suspended. Contact support."),
    );
  }
  if (ctx.config.requireEmailVerification && !user.emailVerifiedAt) {
    throw await refuse(
      "email_not_verified",
      new AppError(
        403,
        "email_not_verified",
        "Please confirm your email address first: check your inbox for our link or code.",
      ),
    );
  }
  if (user.totp && options.holdFirstFactor && !input.totpCode?.trim()) {
    // The pages ask for the code on a form of its own; the password is not sent again.
    throw new SecondFactorNeeded(await holdFirstFactor(ctx.store, user, now));
  }
  if (user.totp) await requireSecondFactor(ctx, user, input.totpCode, origin, now, refuse);
  return await openSession(ctx, user, origin, now);
}

/**
 * The second step of a two-step sign-in: the code for a first factor held by `pendingToken`. The
 * token is used up whatever the outcome; a wrong or missing code (counted against the user's
 * second-factor lock like any other) answers with a fresh token keeping the same deadline.
 */
export const completeSignIn = countSignIns(attemptCompleteSignIn);

async function attemptCompleteSignIn(
  ctx: AuthContext,
  pendingToken: string,
  code: string | undefined,
  origin: RequestOrigin,
  now = new Date(),
): Promise<{ user: User; session: Session; token: string }> {
  await enforceLimit(ctx, LIMITS.signInPerIp, origin.ip);
  const pending = await takePendingSignIn(ctx.store, pendingToken, now);
  const user = pending && await ctx.store.get<User>("users", pending.userId);
  // A password change, reset, role or email change since the password was checked voids it.
  if (!pending || !user || credentialVersion(user) !== pending.credentialVersion) {
    throw new AppError(
      401,
      "sign_in_expired",
      "Your sign-in has expired. Enter your email and password again.",
    );
  }
  const refuse = refusal(ctx, "auth.sign_in", user, origin, now);
  if (user.role === "SUSPENDED") {
    throw await refuse(
      "suspended",
      new AppError(403, "account_suspended", "This account is suspended. Contact support."),
    );
  }
  if (user.totp) {
    try {
      await requireSecondFactor(ctx, user, code, origin, now, refuse);
    } catch (err) {
      if (err instanceof AppError && ["totp_required", "invalid_totp"].includes(err.code)) {
        throw new SecondFactorNeeded(
          await holdFirstFactor(ctx.store, user, now, pending.expiresAt),
          err,
        );
      }
      throw err;
    }
  }
  // Bound to the version the password was checked under, not the one read now.
  return await openSession(
    ctx,
    { ...user, credentialVersion: pending.credentialVersion },
    origin,
    now,
  );
}

/** Both factors passed: a fresh session, the address's failures forgiven, the success audited. */
async function openSession(
  ctx: AuthContext,
  user: User,
  origin: RequestOrigin,
  now: Date,
): Promise<{ user: User; session: Session; token: string }> {
  await forgiveSignInFailures(ctx.store, user.email, now);
  // Always a new session, so a token planted in the browser before sign-in is never promoted. It
  // is bound to the credential version read with the password hash just checked: if the password
  // changed since, the session never answers.
  const { session, token } = await createSession(ctx.store, user, origin, now);
  await audit(
    ctx.store,
    { action: "auth.sign_in", outcome: "success", userId: user._id, origin },
    now,
  );
  return { user, session, token };
}

/** Re-enters the password (and second factor) to open sudo mode for sensitive changes. */
export async function reauthenticate(
  ctx: AuthContext,
  user: User,
  session: Session,
  input: { password: string; totpCode?: string },
  origin: RequestOrigin,
  now = new Date(),
): Promise<void> {
  await enforceLimit(ctx, LIMITS.totpPerIp, origin.ip);
  await checkPassword(ctx, user.email, input.password, origin, now);
  const refuse = refusal(ctx, "auth.reauthenticated", user, origin, now);
  if (user.totp) await requireSecondFactor(ctx, user, input.totpCode, origin, now, refuse);
  await grantSudo(ctx.store, session, now);
  await audit(ctx.store, {
    action: "auth.reauthenticated",
    outcome: "success",
    userId: user._id,
    origin,
  }, now);
}

/**
 * The user whose password this is; otherwise counts a failure and throws 401 (or 429 while the
 * address must wait). The attempt is claimed against the address's failure budget before the
 * password is compared, so simultaneous guesses cannot get more checks than sequential ones.
 * Unknown addresses are hashed against a decoy so timing tells nothing.
 */
async function checkPassword(
  ctx: AuthContext,
  email: string,
  password: string,
  origin: RequestOrigin,
  now: Date,
): Promise<User> {
  const { claim, waitMs } = await claimSignInAttempt(ctx.store, email, now);
  if (!claim) {
    await audit(ctx.store, {
      action: "auth.sign_in",
      outcome: "failure",
      origin,
      details: { reason: "throttled" },
    }, now);
    throw tooManyRequests(waitMs / 1000);
  }
  let user: User | null;
  let ok: boolean;
  try {
    user = await findUserByEmail(ctx.store, email);
    ok = await verifyPassword(user?.passwordHash ?? await decoyPasswordHash(), password);
  } catch (err) {
    // Nothing was compared, so nothing is counted; if the store is down too, the claim lapses.
    await releaseSignInAttempt(ctx.store, claim).catch(() => {});
    throw err;
  }
  if (user && ok) {
    await releaseSignInAttempt(ctx.store, claim);
    return user;
  }
  const { failures, lockedOut } = await recordSignInFailure(ctx.store, claim, now);
  await audit(ctx.store, {
    action: "auth.sign_in",
    outcome: "failure",
    userId: user?._id ?? null,
    origin,
    details: { reason: user ? "wrong_password" : "unknown_email", failures },
  }, now);
  if (lockedOut && failures === LOCKOUT_FAILURES) {
    await audit(ctx.store, {
      action: "auth.lockout",
      outcome: "failure",
      userId: user?._id ?? null,
      origin,
    }, now);
  }
  throw new AppError(401, "invalid_credentials", "The email or password is not right.");
}

/** Records why a user who gave the right password was still refused, and hands back the error. */
function refusal(
  ctx: AuthContext,
  action: AuditAction,
  user: User,
  origin: RequestOrigin,
  now: Date,
) {
  return async (reason: string, error: AppError): Promise<AppError> => {
    await audit(ctx.store, {
      action,
      outcome: "failure",
      userId: user._id,
      origin,
      details: { reason },
    }, now);
    return error;
  };
}

async function requireSecondFactor(
  ctx: AuthContext,
  user: User,
  code: string | undefined,
  origin: RequestOrigin,
  now: Date,
  refuse: (reason: string, error: AppError) => Promise<AppError>,
): Promise<void> {
  if (!code?.trim()) {
    throw new AppError(401, "totp_required", "Enter the 6-digit code from your authenticator app.");
  }
  await enforceLimit(ctx, LIMITS.totpPerIp, origin.ip);
  const result = await checkSecondFactor(
    ctx.store,
    ctx.config.authSecret,
    user,
    code.trim(),
    origin,
    now,
  );
  if (result === "locked") {
    throw await refuse(
      "totp_locked",
      new AppError(
        403,
        "totp_locked",
        "Too many wrong codes. Reset your password by email to unlock sign-in, or use a recovery code after the reset.",
      ),
    );
  }
  if (result === "unreadable") {
    throw await refuse(
      "totp_unreadable",
      new AppError(
        403,
        "totp_unreadable",
        "Your authenticator code cannot be checked: the server's signing key has changed since you set up two-factor authentication, and your recovery codes depend on the same key. Reset your password by email (this turns two-factor authentication off so you can sign in and set it up again), or contact support.",
        { fields: { totpCode: "This code cannot be checked right now." } },
      ),
    );
  }
  if (result === "invalid") {
    throw await refuse(
      "invalid_totp",
      new AppError(
        401,
        "invalid_totp",
        "That code is not right. Try the newest code, or a recovery code.",
        {
          fields: { totpCode: "That code is not right." },
        },
      ),
    );
  }
}
