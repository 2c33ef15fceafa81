/** Optimistic concurrency's other half: run a read-check-commit again when another writer won. */
import { AppError } from "../errors.ts";
import { ConflictError } from "./port.ts";

/** The first wait after a conflict; each later one may be twice as long, up to the cap. */
const BACKOFF_BASE_MS = 5;
const BACKOFF_CAP_MS = 200;

/**
 * Runs `attempt` until it commits without a ConflictError, at most `times` times; then answers
 * 409 with `busyMessage`. Each attempt must re-read what it checks. Between attempts it waits a
 * random time that grows with each conflict ("full jitter"), so writers that collided do not
 * collide again at once.
 */
export async function retryOnConflict<T>(
  attempt: () => Promise<T>,
  busyMessage: string,
  times = 8,
): Promise<T> {
  for (let n = 1; n <= times; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      if (n < times) await conflictBackoff(n);
    }
  }
  throw new AppError(409, "conflict", busyMessage);
}

/** Waits 0..min(cap, base × 2^(n−1)) ms, uniformly at random, after the n-th conflict. */
export function conflictBackoff(n: number): Promise<void> {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (n - 1));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}
