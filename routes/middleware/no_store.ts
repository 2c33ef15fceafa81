/** `Cache-Control: no-store` on every answer of an area, errors included. */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";

/**
 * The API and the signed-in pages show one user's numbers as of now: no browser or shared cache
 * may keep or replay them. Set after the handler, so it holds whatever the handler answered.
 */
export const noStore: MiddlewareHandler<AppEnv> = async function noStore(c, next) {
  await next();
  c.header("Cache-Control", "no-store");
};
