/** Refuses unsafe requests (POST, PUT, PATCH, DELETE) sent from another origin: forms and JSON alike. */
import type { MiddlewareHandler } from "hono";
import { AppError } from "../../lib/errors.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export type SameOriginOptions = {
  /** Origins allowed besides our own: APP_URL and CORS_ORIGINS. */
  allowedOrigins: string[];
  /** Outside production, the origin the request was addressed to also counts as ours. */
  trustRequestOrigin: boolean;
};

/**
 * Browsers send `Sec-Fetch-Site` and `Origin` on every cross-origin unsafe request, so a request
 * that carries either must prove it comes from an allowed origin. A request with neither comes
 * from a non-browser client (curl, a server), which a victim's browser cannot be made to send.
 */
export const sameOrigin = (options: SameOriginOptions): MiddlewareHandler => {
  const allowed = new Set(options.allowedOrigins);
  return async function sameOrigin(c, next) {
    if (SAFE_METHODS.has(c.req.method)) return next();
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
