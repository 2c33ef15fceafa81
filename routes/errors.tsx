/** The one place that turns errors into responses: JSON under /api, an HTML page elsewhere. */
import { ProviderError } from "../lib/market/provider.ts";
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { BadCursorError, ConflictError, StoreUnavailableError } from "../lib/store/port.ts";
import { ErrorPage } from "../views/error_page.tsx";
import { errorTitle } from "../views/error_page.tsx";
import type { AppEnv } from "./env.ts";

/** Maps any thrown value to the contract's error shape; unknown errors are logged and hidden. */
export function errorHandler(log: Logger): ErrorHandler<AppEnv> {
  return (err, c) => {
    const error = toAppError(err);
    if (!error) {
      log.error("unhandled error", { requestId: c.get("requestId"), error: err });
      return respond(
        c,
        500,
        "internal_error",
        "Something went wrong on our side. Please try again.",
      );
    }
    // A page that needs a session sends the visitor to sign in, then back here.
    if (error.status === 401 && !isApi(c) && c.req.method === "GET") {
      return c.redirect(`/sign-in?next=${encodeURIComponent(c.req.path)}`, 303);
    }
    if (error.status === 503) {
      log.warn("dependency unavailable", { requestId: c.get("requestId"), error: err });
    }
    for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
    return respond(c, error.status, error.code, error.message, error.details);
  };
}

/** 404 for every path no route answers. */
export const notFoundHandler: NotFoundHandler<AppEnv> = (c) =>
  respond(c, 404, "not_found", "There is nothing at this address.");

function isApi(c: Context<AppEnv>): boolean {
  return c.req.path.startsWith("/api/") || c.req.path === "/api";
}

function toAppError(err: unknown): AppError | null {
  if (err instanceof AppError) return err;
  if (err instanceof ConflictError) {
    return new AppError(
      409,
      "conflict",
      "Someone else changed this at the same time. Please try again.",
    );
  }
  if (err instanceof BadCursorError) {
    return new AppError(400, "invalid_cursor", "The paging cursor is not valid.");
  }
  if (err instanceof StoreUnavailableError) {
    return new AppError(
      503,
      "store_unavailable",
      "The service is temporarily unavailable.",
      undefined,
      {
        "Retry-After": "5",
      },
    );
  }
  if (err instanceof ProviderError) {
    // Market data from upstream is down and nothing recent can stand in: a dependency, not a bug.
    return new AppError(503, "market_data_unavailable", err.message, undefined, {
      "Retry-After": "5",
    });
  }
  if (err instanceof HTTPException && err.status >= 400 && err.status < 500) {
    return new AppError(err.status as 400, "bad_request", err.message || errorTitle(err.status));
  }
  return null;
}

function respond(
  c: Context<AppEnv>,
  status: number,
  code: string,
  message: string,
  details?: Record<string, unknown>,
): Response | Promise<Response> {
  c.status(status as ContentfulStatusCode);
  if (isApi(c)) {
    return c.json({ error: { code, message, ...(details ? { details } : {}) } });
  }
  return c.render(<ErrorPage status={status} message={message} requestId={c.get("requestId")} />, {
    title: errorTitle(status),
  });
}
