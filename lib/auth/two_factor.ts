/**
 * Optional TOTP two-factor authentication: enrolment confirmed by a first code, ten recovery
 * codes shown once and stored hashed, no code accepted twice, and a lock after repeated failures.
 */
import { audit, auditOp, type RequestOrigin } from "../audit.ts";
import { AppError } from "../errors.ts";
import { ConflictError, type Store } from "../store/port.ts";
import type { AuthContext } from "./context.ts";
import { qrSvg } from "./qr.ts";
import { openSecret, sealSecret } from "./secret_box.ts";
import {
  findRecoveryCode,
  formatTotpKey,
  generateRecoveryCodes,
  generateTotpKey,
  hashRecoveryCode,
  TOTP_MAX_FAILURES,
  totpKeyUri,
  verifyTotp,
} from "./totp.ts";
import { endOtherSessions, type Session } from "./session.ts";
import { nextCredentialVersion, type TotpState, type User } from "./users.ts";

/** Starts enrolment: a new key, kept pending until a code from it is confirmed. */
export async function beginTotpEnrolment(ctx: AuthContext, user: User): Promise<TotpEnrolment> {
  if (user.totp) {
    throw new AppError(409, "totp_already_enabled", "Two-factor authentication is already on.");
  }
  const key = generateTotpKey();
  await ctx.store.update<User>("users", user._id, {
    totpPendingKey: await sealSecret(ctx.config.authSecret, key),
  }, { ifVersion: user._v });
  return enrolmentView(key, user.email);
}

/** The pending enrolment of a user (to show the QR code again), or null when none is pending. */
export async function pendingTotpEnrolment(
  ctx: AuthContext,
  user: User,
): Promise<TotpEnrolment | null> {
  if (!user.totpPendingKey || user.totp) return null;
  const key = await openSecret(ctx.config.authSecret, user.totpPendingKey).catch(() => null);
  return key ? enrolmentView(key, user.email) : null;
}

/**
 * Confirms enrolment with a code from the app; returns the recovery codes, shown this once. Every
 * other session was opened with the password alone, so it ends: the credential version moves on
 * and `session` (the one enrolling) moves with it in the same unit.
 */
export async function confirmTotpEnrolment(
  ctx: AuthContext,
  user: User,
  session: Session,
  code: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<string[]> {
  if (!user.totpPendingKey) {
    throw new AppError(409, "no_enrolment", "Start setting up two-factor authentication first.");
  }
  const key = await openSecret(ctx.config.authSecret, user.totpPendingKey).catch(() => null);
  const step = key && verifyTotp(key, code, now, null);
  if (step === null || step === undefined) {
    throw new AppError(
      422,
      "invalid_totp",
      "That code is not right. Check the time on your phone and try again.",
      {
        fields: { code: "That code is not right." },
      },
    );
  }
  const recoveryCodes = generateRecoveryCodes();
  const next = nextCredentialVersion(user);
  await ctx.store.commit([
    {
      op: "update",
      collection: "users",
      id: user._id,
      set: {
        totp: { sealedKey: user.totpPendingKey, enabledAt: now, lastUsedStep: step, failures: 0 },
        totpPendingKey: null,
        recoveryCodeHashes: recoveryCodes.map((c) => hashRecoveryCode(ctx.config.authSecret, c)),
        ...next,
      },
      ifVersion: user._v,
    },
    { op: "update", collection: "sessions", id: session._id, set: next },
    auditOp({ action: "auth.totp_enabled", outcome: "success", userId: user._id, origin }, now),
  ]);
  await endOtherSessions(ctx.store, user._id, session._id, "totp_enabled", origin, now);
  return recoveryCodes;
}

/** Turns two-factor authentication off (the caller has checked sudo mode); 422 when it is not on. */
export async function disableTotp(
  ctx: AuthContext,
  user: User,
  origin: RequestOrigin,
  now = new Date(),
): Promise<void> {
  requireTotp(user);
  await ctx.store.commit([
    {
      op: "update",
      collection: "users",
      id: user._id,
      set: { totp: null, totpPendingKey: null, recoveryCodeHashes: [] },
      ifVersion: user._v,
    },
    auditOp({ action: "auth.totp_disabled", outcome: "success", userId: user._id, origin }, now),
  ]);
}

/** Replaces the recovery codes (the caller has checked sudo mode); returns the new ones. */
export async function regenerateRecoveryCodes(
  ctx: AuthContext,
  user: User,
  origin: RequestOrigin,
  now = new Date(),
): Promise<string[]> {
  requireTotp(user);
  const codes = generateRecoveryCodes();
  await ctx.store.commit([
    {
      op: "update",
      collection: "users",
      id: user._id,
      set: { recoveryCodeHashes: codes.map((c) => hashRecoveryCode(ctx.config.authSecret, c)) },
      ifVersion: user._v,
    },
    auditOp({
      action: "auth.recovery_codes_regenerated",
      outcome: "success",
      userId: user._id,
      origin,
    }, now),
  ]);
  return codes;
}

/**
 * Checks a second-factor code (a TOTP code, or a recovery code, which is then used up) for a
 * user with TOTP on. Wrong codes count; at TOTP_MAX_FAILURES in a row the second factor locks
 * until a password reset by email. Each attempt is counted before its code is compared and a
 * right code gives the count back, so simultaneous guesses get no more comparisons than the
 * lock allows. Concurrent uses of one code: only one can win.
 * `unreadable`: the key was sealed under another AUTH_SECRET (or damaged), so no code can be
 * checked; recovery codes are keyed with the same secret, so they cannot match either.
 */
export async function checkSecondFactor(
  store: Store,
  authSecret: string,
  staleUser: User,
  code: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<"ok" | "invalid" | "locked" | "unreadable"> {
  // Not the user's wrong guess but the server's lost key: decided before claiming, so it never
  // counts towards the lock.
  if (staleUser.totp && !(await openTotpKey(authSecret, staleUser.totp))) return "unreadable";
  const user = await claimSecondFactorAttempt(store, staleUser._id);
  if (user === "locked") return "locked";
  // Two-factor was turned off meanwhile: this code belongs to nothing.
  if (!user?.totp) return "invalid";
  const totp = user.totp;
  const isRecovery = /[a-z]/i.test(code);
  const key = await openTotpKey(authSecret, totp);
  try {
    if (isRecovery) {
      const index = findRecoveryCode(authSecret, user.recoveryCodeHashes, code);
      if (index >= 0) {
        await store.commit([
          {
            op: "update",
            collection: "users",
            id: user._id,
            set: {
              recoveryCodeHashes: user.recoveryCodeHashes.filter((_, n) => n !== index),
              totp: { ...totp, failures: 0 },
            },
            ifVersion: user._v,
          },
          auditOp({
            action: "auth.recovery_code_used",
            outcome: "success",
            userId: user._id,
            origin,
            details: { remaining: user.recoveryCodeHashes.length - 1 },
          }, now),
        ]);
        return "ok";
      }
    } else if (key) {
      const step = verifyTotp(key, code, now, totp.lastUsedStep);
      if (step !== null) {
        await store.update<User>("users", user._id, {
          totp: { ...totp, lastUsedStep: step, failures: 0 },
        }, { ifVersion: user._v });
        return "ok";
      }
    }
  } catch (err) {
    // Another attempt on this user's factor landed at the same moment: only one can win, and
    // this one keeps its claim, like a wrong code.
    if (err instanceof ConflictError) return "invalid";
    throw err;
  }
  // The claim already counted this wrong code; the one that reached the limit reports the lock.
  if (totp.failures < TOTP_MAX_FAILURES) return "invalid";
  await audit(
    store,
    { action: "auth.totp_locked", outcome: "failure", userId: user._id, origin },
    now,
  );
  return "locked";
}

/** The user's TOTP key, or null when this AUTH_SECRET cannot open it. */
export async function openTotpKey(
  authSecret: string,
  totp: Pick<TotpState, "sealedKey">,
): Promise<Uint8Array | null> {
  return await openSecret(authSecret, totp.sealedKey).catch(() => null);
}

/**
 * Counts one attempt against the user's second factor before its code is compared, with a
 * compare-and-set on the user document; returns the user as counted, "locked" when the factor is
 * already locked, or null when the user or their factor is gone. A right code resets the count.
 */
async function claimSecondFactorAttempt(
  store: Store,
  userId: string,
): Promise<User | "locked" | null> {
  for (;;) {
    const user = await store.get<User>("users", userId);
    if (!user?.totp) return null;
    if (user.totp.failures >= TOTP_MAX_FAILURES) return "locked";
    try {
      return await store.update<User>("users", userId, {
        totp: { ...user.totp, failures: user.totp.failures + 1 },
      }, { ifVersion: user._v });
    } catch (err) {
      // Another attempt counted first: count this one on top of it.
      if (!(err instanceof ConflictError)) throw err;
    }
  }
}

/** Changing two-factor settings needs them on; nothing is written or audited otherwise. */
function requireTotp(user: User): void {
  if (!user.totp) {
    throw new AppError(422, "totp_not_enabled", "Two-factor authentication is not on.");
  }
}

function enrolmentView(key: Uint8Array, email: string): TotpEnrolment {
  const uri = totpKeyUri(key, email);
  return { secret: formatTotpKey(key), uri, qrSvg: qrSvg(uri) };
}

/** What a user needs to add Orion to an authenticator app. */
export type TotpEnrolment = { secret: string; uri: string; qrSvg: string };
