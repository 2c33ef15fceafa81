/** Sign-up: a new user with a strong password, and the email that verifies their address. */
import { audit, auditOp, type RequestOrigin } from "../audit.ts";
import { AppError } from "../errors.ts";
import { newId } from "../ids.ts";
import { openAccountOps } from "../trading/accounts.ts";
import { ConflictError } from "../store/port.ts";
import type { AuthContext } from "./context.ts";
import { createEmailVerification } from "./email_verification.ts";
import { verificationEmail } from "./emails.ts";
import { enforceLimit, LIMITS } from "./limits.ts";
import { hashPassword, passwordProblem } from "./password.ts";
import { findUserByEmail, normalizeEmail, type User } from "./users.ts";

/** Creates the user and sends the verification email. Throws 409 when the email is taken. */
export async function signUp(
  ctx: AuthContext,
  input: { email: string; password: string; name: string },
  origin: RequestOrigin,
  now = new Date(),
): Promise<User> {
  await enforceLimit(ctx, LIMITS.signUpPerIp, origin.ip);
  const email = normalizeEmail(input.email);
  const name = input.name.trim();
  const weak = await passwordProblem(input.password, [email, name, "orion", "broker"]);
  if (weak) {
    throw new AppError(422, "validation_failed", weak, { fields: { password: weak } });
  }
  const taken = () =>
    new AppError(
      409,
      "email_taken",
      "An account with this email already exists. Sign in instead.",
      {
        fields: { email: "An account with this email already exists." },
      },
    );
  if (await findUserByEmail(ctx.store, email)) throw taken();
  const id = newId(now.getTime());
  let user: User;
  try {
    // The user and the record of their sign-up land together or not at all.
    const [inserted] = await ctx.store.commit([
      {
        op: "insert",
        collection: "users",
        doc: {
          _id: id,
          email,
          name,
          passwordHash: await hashPassword(input.password),
          role: "USER",
          emailVerifiedAt: null,
          createdAt: now,
          passwordChangedAt: now,
          totp: null,
          totpPendingKey: null,
          recoveryCodeHashes: [],
        },
      },
      auditOp({ action: "auth.sign_up", outcome: "success", userId: id, origin }, now),
      // Every trader starts with a funded paper account.
      ...openAccountOps(id, 1, ctx.config.demoStartingCash, now).ops,
    ]);
    user = inserted as User;
  } catch (err) {
    if (err instanceof ConflictError && err.reason === "duplicate") throw taken();
    throw err;
  }
  await sendVerification(ctx, user, email, origin, now);
  return user;
}

/**
 * Sends a fresh verification for `email` (the user's own, or one they are switching to). A failed
 * send is logged, not thrown: the user can ask for another.
 */
export async function sendVerification(
  ctx: AuthContext,
  user: User,
  email: string,
  origin: RequestOrigin,
  now = new Date(),
  /** For an email change: the session that asked (see createEmailVerification). */
  sessionId?: string,
): Promise<boolean> {
  const { token, code } = await createEmailVerification(
    ctx.store,
    ctx.config.authSecret,
    user,
    email,
    now,
    sessionId,
  );
  const link = new URL(`/verify-email?token=${encodeURIComponent(token)}`, ctx.config.appUrl).href;
  try {
    await ctx.mailer.send(verificationEmail(email, user.name, link, code));
    await audit(ctx.store, {
      action: "auth.email_verification_sent",
      outcome: "success",
      userId: user._id,
      origin,
    }, now);
    return true;
  } catch (err) {
    ctx.log.error("verification email failed", { userId: user._id, error: err });
    await audit(ctx.store, {
      action: "auth.email_verification_sent",
      outcome: "failure",
      userId: user._id,
      origin,
    }, now);
    return false;
  }
}
