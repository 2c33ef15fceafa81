/** Read-only mode at the door: unsafe requests get 503 `read_only`, except signing in and out and admin work. */
import type { MiddlewareHandler } from "hono";
import { AppError } from "../../lib/errors.ts";
import type { ReadOnlySwitch } from "../../lib/read_only.ts";
import type { AppEnv } from "../env.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** What still works while writes are stopped: getting in and out, and the admins who fix things. */
const ALLOWED = [
  /^\/sign-in$/,
  /^\/sign-out$/,
  /^\/api\/auth\/sign-(in|out)$/,
  /^\/settings\/reauth$/,
  /^\/api\/auth\/reauth$/,
  // The order ticket's estimate only reads.
  /^\/trade\/preview$/,
  /^\/admin(\/|$)/,
  /^\/api\/admin(\/|$)/,
];

export const readOnlyGuard = (readOnly: ReadOnlySwitch): MiddlewareHandler<AppEnv> => {
  return async function readOnlyGuard(c, next) {
    const state = await readOnly.state();
    c.set("readOnly", state.on);
    if (state.on && !SAFE_METHODS.has(c.req.method) && !ALLOWED.some((re) => re.test(c.req.path))) {
      throw new AppError(
        503,
        "read_only",
        "Orion is in read-only mode for maintenance: you can look around, but changes are paused. Please try again later.",
        undefined,
        { "Retry-After": "60" },
      );
    }
    await next();
  };
};
