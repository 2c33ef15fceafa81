/** Optimistic concurrency's other half: run a read-check-commit again when another writer won. */
import { AppError } from "../errors.ts";
import { ConflictError } from "./port.ts";

/**
 * Runs `attempt` until it commits without a ConflictError, at most `times` times; then answers
 * 409 with `busyMessage`. Each attempt must re-read what it checks.
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
    }
  }
  throw new AppError(409, "conflict", busyMessage);
}
