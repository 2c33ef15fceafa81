/**
 * The rate limits of the auth routes, in one table so they can be read and tuned together.
 * Auth limits fail closed: when the limiter cannot answer, the request is refused.
 */
import { AppError } from "../errors.ts";
import { limitWithDeadline, type RateRule } from "../rate_limit.ts";
import type { AuthContext } from "./context.ts";

export const LIMITS = {
  /** Sign-in attempts from one address; per-account throttling is in sign_in_throttle.ts. */
  signInPerIp: { name: "sign-in-ip", limit: 30, windowS: 15 * 60 },
  signUpPerIp: { name: "sign-up-ip", limit: 10, windowS: 60 * 60 },
  /** Verification links and codes tried from one address. */
  verifyPerIp: { name: "verify-ip", limit: 30, windowS: 15 * 60 },
  /**
   * Verification codes tried for one account, from anywhere. Wrong codes never void the pending
   * one, so this bounds guessing: at most 96 windows × 10 = 960 tries in a code's 24 hours,
   * against 10^8 codes (a chance below 1 in 100 000).
   */
  verifyCodePerUser: { name: "verify-code-user", limit: 10, windowS: 15 * 60 },
  /**
   * New verification emails: one a minute and five an hour for one address (a resend, keyed by the
   * address asked for) or one account (an email change, keyed by the user).
   */
  verifyResendPerEmailMinute: { name: "verify-resend-min", limit: 1, windowS: 60 },
  verifyResendPerEmailHour: { name: "verify-resend-hour", limit: 5, windowS: 60 * 60 },
  resetPerIp: { name: "reset-ip", limit: 10, windowS: 15 * 60 },
  resetPerEmail: { name: "reset-email", limit: 3, windowS: 60 * 60 },
  /** Second-factor codes and re-authentication from one address. */
  totpPerIp: { name: "totp-ip", limit: 20, windowS: 15 * 60 },
  /** The whole API from one address: loose, against floods rather than guessing. */
  apiPerIp: { name: "api-ip", limit: 600, windowS: 60 },
} as const satisfies Record<string, RateRule>;

/** Counts one event against `rule` for `key`; throws 429 with Retry-After when over the limit. */
export async function enforceLimit(ctx: AuthContext, rule: RateRule, key: string): Promise<void> {
  const decision = await limitWithDeadline(ctx.limiter, rule, key, {
    failClosed: true,
    log: ctx.log,
  });
  if (!decision.allowed) throw tooManyRequests(decision.retryAfterS);
}

/** 429 with the wait in seconds, for the API and pages alike. */
export function tooManyRequests(retryAfterS: number): AppError {
  const wait = Math.max(1, Math.ceil(retryAfterS));
  return new AppError(
    429,
    "rate_limited",
    `Too many attempts. Please wait ${describeWait(wait)} and try again.`,
    { retryAfterS: wait },
    { "Retry-After": String(wait) },
  );
}

function describeWait(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  return `${Math.ceil(seconds / 60)} minutes`;
}
