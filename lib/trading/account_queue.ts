/**
 * Writers of one account take turns inside this process. Every change to an account's orders,
 * cash or holds commits against the account's version, so two made at once from the same reading
 * conflict; without a queue, 20 simultaneous orders on one account used up their retries against
 * each other and most were refused as busy. In turn, each commits against a fresh reading and
 * conflicts only with writers in other processes (another app instance, a worker elsewhere), which
 * the retries with jittered backoff around each turn absorb.
 */
import { AppError } from "../errors.ts";
import { TIMED_OUT, withTimeout } from "../timeout.ts";

/**
 * How long a request waits for its turn before it is answered 429 `account_busy` with Retry-After:
 * too many changes to one account, not a fault of the server.
 */
export const ACCOUNT_QUEUE_WAIT_MS = 5_000;

/** The tail of each account's queue: it settles when the last writer in line is done. */
const tails = new Map<string, Promise<void>>();

/**
 * Runs `work` once the writers of `accountId` queued before it are done. Waiting is bounded: after
 * `waitMs` the request gives up with 429 `account_busy` (its place in line passes on at once).
 */
export async function inAccountTurn<T>(
  accountId: string,
  work: () => Promise<T>,
  waitMs = ACCOUNT_QUEUE_WAIT_MS,
): Promise<T> {
  const before = tails.get(accountId) ?? Promise.resolve();
  const { promise: done, resolve: finish } = Promise.withResolvers<void>();
  // The next in line waits for this writer and for every one before it, even if this one gives up.
  const tail = before.then(() => done);
  tails.set(accountId, tail);
  try {
    if (await withTimeout(before, waitMs) === TIMED_OUT) {
      throw new AppError(
        429,
        "account_busy",
        "Too many changes to this account are waiting. Please try again in a moment.",
        { retryAfterS: 1 },
        { "Retry-After": "1" },
      );
    }
    return await work();
  } finally {
    finish();
    // The last in line removes the queue, so idle accounts cost nothing.
    void tail.then(() => {
      if (tails.get(accountId) === tail) tails.delete(accountId);
    });
  }
}
