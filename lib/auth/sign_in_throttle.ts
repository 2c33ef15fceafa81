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

/**
 * How long a claimed attempt holds its place. A password check takes well under a second; a
 * process that dies between claiming and settling loses its claim only after this long.
 */
const CLAIM_MS = 60_000;

/**
 * Claims the right to check one password for this address, before the check: the claim is
 * written with a compare-and-set on the address's throttle document, so however many attempts
 * arrive at once, no more are checked than the failures allowed before the next wait. Returns the
 * claim to settle afterwards, or how long to wait (the caller answers 429).
 *
 * A claim counts as a failure that has not happened yet: while claims are outstanding, a further
 * attempt is admitted only if every outstanding one failing would still impose no wait. So
 * sequentially nothing changes (the 6th failure in a row waits), and concurrently at most
 * FREE_FAILURES + 1 passwords are checked before the first wait, one at a time after that.
 */
export async function claimSignInAttempt(
  store: Store,
  email: string,
  now = new Date(),
): Promise<{ claim: SignInClaim; waitMs?: undefined } | { claim?: undefined; waitMs: number }> {
  const id = throttleId(email);
  for (;;) {
    const current = await store.get<Throttle>("sign_in_throttles", id);
    const state = liveState(current, now);
    if (state.lockedMs > 0) return { waitMs: state.lockedMs };
    const ahead = state.failures + state.claims.length;
    if (state.claims.length > 0 && delayAfter(ahead) > 0) return { waitMs: delayAfter(ahead) };
    const claim: SignInClaim = { email, until: now.getTime() + CLAIM_MS };
    const claims = [...state.claims, claim.until];
    try {
      if (current) {
        await store.update<Throttle>("sign_in_throttles", id, { claims }, {
          ifVersion: current._v,
        });
      } else {
        await store.insert<Throttle>("sign_in_throttles", {
          _id: id,
          failures: 0,
          lastFailureAt: null,
          lockedUntil: null,
          claims,
        });
      }
      return { claim };
    } catch (err) {
      // Another attempt for the same address claimed first: decide again on top of it.
      if (!(err instanceof ConflictError)) throw err;
    }
  }
}

/**
 * Settles a claim whose password was wrong: it becomes a counted failure. Returns the resulting
 * state: the failure count and how long the address must wait now (0 while under the free
 * allowance).
 */
export async function recordSignInFailure(
  store: Store,
  claim: SignInClaim,
  now = new Date(),
): Promise<{ failures: number; waitMs: number; lockedOut: boolean }> {
  let result = { failures: 0, waitMs: 0, lockedOut: false };
  await settle(store, claim, now, (state) => {
    const failures = state.failures + 1;
    const waitMs = delayAfter(failures);
    result = { failures, waitMs, lockedOut: failures >= LOCKOUT_FAILURES };
    return {
      failures,
      lastFailureAt: now,
      lockedUntil: waitMs > 0 ? new Date(now.getTime() + waitMs) : null,
    };
  });
  return result;
}

/** Settles a claim whose password was right: it is given back and counts as nothing. */
export async function releaseSignInAttempt(store: Store, claim: SignInClaim): Promise<void> {
  await settle(store, claim, new Date(), () => ({}), false);
}

/** Removes `claim` from the address's outstanding claims and applies `change`, in one write. */
async function settle(
  store: Store,
  claim: SignInClaim,
  now: Date,
  change: (state: LiveState) => Partial<Omit<Throttle, "_id" | "_v">>,
  createIfMissing = true,
): Promise<void> {
  const id = throttleId(claim.email);
  for (;;) {
    const current = await store.get<Throttle>("sign_in_throttles", id);
    // A success or a password reset cleared the address meanwhile; a failure still counts.
    if (!current && !createIfMissing) return;
    const state = liveState(current, now);
    const index = state.claims.indexOf(claim.until);
    const claims = index < 0 ? state.claims : state.claims.toSpliced(index, 1);
    const fields = { failures: state.failures, claims, ...change(state) };
    try {
      if (current) {
        await store.update<Throttle>("sign_in_throttles", id, fields, { ifVersion: current._v });
      } else {
        await store.insert<Throttle>("sign_in_throttles", {
          _id: id,
          lastFailureAt: null,
          lockedUntil: null,
          ...fields,
        });
      }
      return;
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
  }
}

/** The throttle as it stands at `now`: old failures forgotten, lapsed claims dropped. */
function liveState(current: Throttle | null, now: Date): LiveState {
  const stale = !current?.lastFailureAt ||
    now.getTime() - current.lastFailureAt.getTime() > MEMORY_MS;
  return {
    failures: stale ? 0 : current.failures,
    claims: (current?.claims ?? []).filter((until) => until > now.getTime()),
    lockedMs: current?.lockedUntil ? Math.max(0, current.lockedUntil.getTime() - now.getTime()) : 0,
  };
}

/**
 * Forgives the failures of an address after a successful sign-in, unless other attempts are
 * checking passwords for it at this moment: those may be a guessing burst that the success landed
 * in, and forgiving now would hand it a fresh budget mid-burst. Their failures then count as usual.
 */
export async function forgiveSignInFailures(
  store: Store,
  email: string,
  now = new Date(),
): Promise<void> {
  const current = await store.get<Throttle>("sign_in_throttles", throttleId(email));
  if (!current || liveState(current, now).claims.length > 0) return;
  try {
    await store.delete("sign_in_throttles", current._id, { ifVersion: current._v });
  } catch (err) {
    // Another attempt claimed or settled meanwhile: its outcome stands, and this one forgives nothing.
    if (!(err instanceof ConflictError)) throw err;
  }
}

/** Forgets the failures of an address: after a password reset, which proves the owner. */
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

/** One claimed password check, to settle once the password has been compared. */
export type SignInClaim = { readonly email: string; readonly until: number };

type Throttle = Doc & {
  failures: number;
  lastFailureAt: Date | null;
  lockedUntil: Date | null;
  /** When each outstanding claim lapses (epoch ms); absent on documents written before claims. */
  claims?: number[];
};

type LiveState = { failures: number; claims: number[]; lockedMs: number };
