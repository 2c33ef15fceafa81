/**
 * The time zone this request's times are shown in: the user's choice, else the zone the browser
 * reported in the `orion_tz` cookie (static/tz.js, for users who chose none), else UTC.
 */
import type { MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { tryGetContext } from "hono/context-storage";
import { canonicalTimeZone, DEFAULT_TIME_ZONE } from "../../lib/time.ts";
import type { AppEnv } from "../env.ts";

/** Set by static/tz.js; only ever read as a hint, checked against the list of zones. */
export const TIME_ZONE_COOKIE = "orion_tz";

/** Runs after loadSession, so the signed-in user's choice wins over the browser's hint. */
export const resolveTimeZone: MiddlewareHandler<AppEnv> = async function resolveTimeZone(c, next) {
  c.set(
    "timeZone",
    c.get("user")?.timeZone ?? canonicalTimeZone(getCookie(c, TIME_ZONE_COOKIE)) ??
      DEFAULT_TIME_ZONE,
  );
  await next();
};

/**
 * The zone of the request being rendered, for views deep in a table that are not handed it (the
 * app runs hono's contextStorage); UTC outside a request.
 */
export function requestTimeZone(): string {
  return tryGetContext<AppEnv>()?.var.timeZone ?? DEFAULT_TIME_ZONE;
}
