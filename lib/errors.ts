/** Typed errors that domain code throws; `routes/errors.ts` maps them to HTTP in one place. */

/** Status codes an AppError may carry: client errors, and 503 when a dependency is down. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 408 | 409 | 413 | 422 | 429 | 503;

/**
 * An error whose message is safe to show: a status, a stable snake_case code for machines,
 * a sentence for people, and optional details (for example the field errors of a form).
 */
export class AppError extends Error {
  constructor(
    readonly status: ErrorStatus,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Extra response headers, such as Retry-After on 429. */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "AppError";
  }
}

/** 404 for anything missing, and equally for another user's objects. */
export function notFound(message = "Not found."): AppError {
  return new AppError(404, "not_found", message);
}
