/** Counts and times every request by method, route pattern and status, for GET /metrics. */
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { findTargetHandler, isMiddleware } from "hono/utils/handler";
import type { Metrics } from "../../lib/metrics.ts";

/** The route label of a request that no handler answers (a 404 from notFound). */
export const UNMATCHED_ROUTE = "unmatched";

/**
 * Records each request in http_requests_total and http_request_duration_seconds. The route label
 * is the pattern (`/api/orders/:id`), never the path: ids are not metrics, and every distinct
 * label value is a new series. Mount it first, so the time covers every other middleware.
 */
export const recordHttpMetrics = (metrics: Metrics): MiddlewareHandler => {
  return async function recordHttpMetrics(c, next) {
    const start = performance.now();
    // A throw that reaches here skipped the error handler, so the client got a 500.
    let status = 500;
    try {
      await next();
      status = c.res.status;
    } finally {
      metrics.observeRequest({
        method: c.req.method,
        route: routePattern(c),
        status,
        seconds: (performance.now() - start) / 1000,
      });
    }
  };
};

/**
 * The pattern of the handler the request was routed to, even when a middleware answered first
 * (a 401 from a guard still belongs to its route). Middleware matches every path under its
 * prefix, so it never names a route; like Hono's own route listing (hono/dev), a function that
 * takes `next` counts as middleware, looking through the wrapper a sub-app's onError adds.
 */
function routePattern(c: Context): string {
  const route = matchedRoutes(c).find(({ handler }) => !isMiddleware(findTargetHandler(handler)));
  return route?.path ?? UNMATCHED_ROUTE;
}
