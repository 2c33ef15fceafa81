/** Refuses unsafe requests (POST, PUT, PATCH, DELETE) sent from another origin: forms and JSON alike. */
import type { MiddlewareHandler } from "hono";
import { AppError } from "../../lib/errors.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export type SameOriginOptions = {
  /** Origins allowed besides our own: APP_URL and CORS_ORIGINS. */
  allowedOrigins: string[];
  /** Outside production, the origin the request was addressed to also counts as ours. */
  trustRequestOrigin: boolean;
  /**
   * Paths whose credential is in the request itself and never a cookie (a signal URL's token,
   * routes/signals_api.ts): whoever can send one needs no victim's browser to do it.
   */
  exempt?: RegExp;
};

/**
 * Browsers send `Sec-Fetch-Site` and `Origin` on every cross-origin unsafe request, so a request
 * that carries either must prove it comes from an allowed origin. A request with neither comes
 * from a non-browser client (curl, a server), which a victim's browser cannot be made to send.
 *
 * An API request with a Bearer credential and no Cookie header is exempt whatever its headers say:
 * it carries no ambient authority, only what the sender knows (an API key, checked by
 * middleware/api_key.ts), and a page on another origin cannot add an Authorization header without
 * a CORS preflight, which this app never grants. With a Cookie header as well, the request is
 * checked like any other: a browser sent it, and the exemption must not depend on which
 * credential the server ends up using.
 */
export const sameOrigin = (options: SameOriginOptions): MiddlewareHandler => {
  const allowed = new Set(options.allowedOrigins);
  return async function sameOrigin(c, next) {
    if (SAFE_METHODS.has(c.req.method)) return next();
    if (options.exempt?.test(c.req.path)) return next();
    if (
      c.req.path.startsWith("/api/") && /^Bearer\b/i.test(c.req.header("Authorization") ?? "") &&
      c.req.header("Cookie") === undefined
    ) return next();
    const origin = c.req.header("Origin");
    const site = c.req.header("Sec-Fetch-Site");
    const own = options.trustRequestOrigin ? new URL(c.req.url).origin : undefined;
    const originOk = origin === undefined || allowed.has(origin) || origin === own;
    // A browser navigating from an allowed origin on another site still reports `cross-site`;
    // the Origin header, checked above, is what decides then.
    const siteOk = site === undefined || site === "same-origin" || site === "none" ||
      (origin !== undefined && originOk);
    if (!originOk || !siteOk || origin === "null") {
      throw new AppError(403, "cross_origin_request", "Cross-origin requests are not allowed.");
    }
    await next();
  };
};
