/**
 * Per-account sign-in throttling. Failures are counted per email address whether or not an account
 * has it, so throttling reveals nothing about which addresses are registered. After a few failures
 * each further one costs a growing wait; after many, the address locks for a while. No lock is
 * permanent, and a password reset clears it, so an attacker cannot lock a victim out for good.
 */
import { sha256 } from "@oslojs/crypto/sha2";
import { encodeHexLowerCase } from "@oslojs/encoding";
import { ConflictError, type Doc, type Store } from "../store/port.ts";

/** Failures allowed before any wait. */
const FREE_FAILURES = 4;
/** The first wait, doubling with each failure after that. */
const FIRST_DELAY_MS = 30_000;
/** From this many failures on, the address is locked out for LOCKOUT_MS at each failure. */
export const LOCKOUT_FAILURES = 10;
export const LOCKOUT_MS = 15 * 60 * 1000;
/** Failures older than this are forgotten. */
const MEMORY_MS = 24 * 60 * 60 * 1000;

/** How long until this address may try again: 0 when it may now. */
export async function signInWaitMs(store: Store, email: string, now = new Date()): Promise<number> {
  const throttle = await store.get<Throttle>("sign_in_throttles", throttleId(email));
  if (!throttle?.lockedUntil) return 0;
  return Math.max(0, throttle.lockedUntil.getTime() - now.getTime());
}

/**
 * Counts one failed sign-in and returns the resulting state: the failure count and how long the
 * address must wait now (0 while under the free allowance).
 */
export async function recordSignInFailure(
  store: Store,
  email: string,
  now = new Date(),
): Promise<{ failures: number; waitMs: number; lockedOut: boolean }> {
  const id = throttleId(email);
  for (;;) {
    const current = await store.get<Throttle>("sign_in_throttles", id);
    const stale = !current || now.getTime() - current.lastFailureAt.getTime() > MEMORY_MS;
    const failures = stale ? 1 : current.failures + 1;
    const waitMs = delayAfter(failures);
    const fields = {
      failures,
      lastFailureAt: now,
      lockedUntil: waitMs > 0 ? new Date(now.getTime() + waitMs) : null,
    };
    try {
      if (current) {
        await store.update<Throttle>("sign_in_throttles", id, fields, { ifVersion: current._v });
      } else await store.insert<Throttle>("sign_in_throttles", { _id: id, ...fields });
      return { failures, waitMs, lockedOut: failures >= LOCKOUT_FAILURES };
    } catch (err) {
      // Another failure for the same address landed first: count again on top of it.
      if (!(err instanceof ConflictError)) throw err;
    }
  }
}

/** Forgets the failures of an address: after a successful sign-in or a password reset. */
export async function clearSignInFailures(store: Store, email: string): Promise<void> {
  try {
    await store.delete("sign_in_throttles", throttleId(email));
  } catch (err) {
    if (!(err instanceof ConflictError && err.reason === "missing")) throw err;
  }
}

/** The wait after the n-th failure in a row. */
export function delayAfter(failures: number): number {
  if (failures <= FREE_FAILURES) return 0;
  if (failures >= LOCKOUT_FAILURES) return LOCKOUT_MS;
  return Math.min(LOCKOUT_MS, FIRST_DELAY_MS * 2 ** (failures - FREE_FAILURES - 1));
}

// The address is hashed so this collection is not a list of every email anyone typed.
function throttleId(email: string): string {
  return encodeHexLowerCase(sha256(new TextEncoder().encode(email.trim().toLowerCase())));
}

type Throttle = Doc & { failures: number; lastFailureAt: Date; lockedUntil: Date | null };
