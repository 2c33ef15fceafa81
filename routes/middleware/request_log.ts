/** One structured log line per request: id, method, path (never the query), status, duration, user. */
import type { MiddlewareHandler } from "hono";
import type { Logger } from "../../lib/log.ts";
import type { AppEnv } from "../env.ts";

export const requestLog = (
  log: Logger,
  options: {
    /** Paths that hold a credential (a signal URL's token), shortened to what lists show. */
    redactPath?: (path: string) => string;
  } = {},
): MiddlewareHandler<AppEnv> => {
  const logged = options.redactPath ?? ((path: string) => path);
  return async function requestLog(c, next) {
    const start = performance.now();
    await next();
    // The query string can carry tokens (email links), so only the path is logged.
    log.info("request", {
      requestId: c.get("requestId"),
      method: c.req.method,
      path: logged(c.req.path),
      status: c.res.status,
      durationMs: Math.round((performance.now() - start) * 10) / 10,
      // The session is loaded inside next(), so the user is known by now; absent when signed out.
      userId: c.get("user")?._id,
    });
  };
};
