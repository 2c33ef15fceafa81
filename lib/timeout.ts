/** Waiting with a deadline, the one way the app and its tests bound calls that may hang. */

/** A unique value: "the deadline passed", distinct from anything the promise could resolve to. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/** The promise's value, or TIMED_OUT once `ms` have passed (the promise is left to settle alone). */
export async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<typeof TIMED_OUT>((resolve) => timer = setTimeout(() => resolve(TIMED_OUT), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
