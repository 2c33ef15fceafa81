/** A loose per-address limit on the whole API, against floods; auth routes add strict limits of their own. */
import type { MiddlewareHandler } from "hono";
import { LIMITS, tooManyRequests } from "../../lib/auth/limits.ts";
import { limitWithDeadline } from "../../lib/rate_limit.ts";
import type { AppDeps, AppEnv } from "../env.ts";
import { requestOrigin } from "../request.ts";

export const apiRateLimit = (
  deps: AppDeps,
  options: { exempt?: RegExp } = {},
): MiddlewareHandler<AppEnv> => {
  return async function apiRateLimit(c, next) {
    // Health probes come from load balancers at a steady rate and must never be refused.
    if (c.req.path === "/api/health") return next();
    // Signals come from senders such as TradingView, whose few addresses every user shares: a
    // known signal URL has a limit of its own instead, and an unknown one counts against the
    // address in its route (routes/signals_api.ts).
    if (options.exempt?.test(c.req.path)) return next();
    const { ip } = requestOrigin(c, deps.config.trustProxy);
    // Fails open: a limiter outage must not take the whole API down; auth routes fail closed.
    const decision = await limitWithDeadline(deps.limiter, LIMITS.apiPerIp, ip, {
      failClosed: false,
      log: deps.log,
    });
    if (!decision.allowed) throw tooManyRequests(decision.retryAfterS);
    await next();
  };
};
