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
import { safeNext } from "./request.ts";

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
    // An htmx request (a poll, a form) whose session ended, in another tab say: the whole page
    // goes to sign in and comes back to the page the browser shows, rather than a sign-in form
    // being swapped into a fragment under a header that still looks signed in. htmx 4 swaps
    // 4xx answers, but follows HX-Redirect before any swap, so the 401 stays honest.
    if (error.status === 401 && !isApi(c) && c.req.header("HX-Request") === "true") {
      c.header("HX-Redirect", `/sign-in?next=${encodeURIComponent(pageShown(c))}`);
      return c.body(null, 401);
    }
    // A page that needs a session sends the visitor to sign in, then back here. A live page's
    // stream is not a page: a reconnect after the session ended gets the 401 itself.
    if (error.status === 401 && !isApi(c) && !isLiveStream(c) && c.req.method === "GET") {
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

/**
 * The path of the page an htmx request came from (HX-Current-URL), else the
 * request's own path for a GET, else the dashboard; always a local path (safeNext).
 */
function pageShown(c: Context<AppEnv>): string {
  const current = c.req.header("HX-Current-URL");
  if (current) {
    try {
      // Only its path is used (behind a proxy the origins differ), so it cannot lead elsewhere.
      const url = new URL(current);
      return safeNext(url.pathname + url.search, "/dashboard");
    } catch {
      // Not a URL: fall through to the request's own path.
    }
  }
  return c.req.method === "GET" ? safeNext(c.req.path, "/dashboard") : "/dashboard";
}

function isApi(c: Context<AppEnv>): boolean {
  return c.req.path.startsWith("/api/") || c.req.path === "/api";
}

/** The live pages' stream (routes/live/page_stream.tsx) answers its errors as the API does. */
function isLiveStream(c: Context<AppEnv>): boolean {
  return c.req.path === "/live";
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
  if (isApi(c) || isLiveStream(c)) {
    return c.json({ error: { code, message, ...(details ? { details } : {}) } });
  }
  return c.render(<ErrorPage status={status} message={message} requestId={c.get("requestId")} />, {
    title: errorTitle(status),
  });
}
