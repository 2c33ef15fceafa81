/** GET /metrics: the Prometheus scrape, for a bearer token (METRICS_TOKEN) or a signed-in admin. */
import { sha256 } from "@oslojs/crypto/sha2";
import { constantTimeEqual } from "@oslojs/crypto/subtle";
import { type Context, Hono } from "hono";
import type { Config } from "../lib/config.ts";
import type { Metrics } from "../lib/metrics.ts";
import type { AppEnv } from "./env.ts";

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * The scrape endpoint, mounted at `/metrics`. With `Authorization: Bearer <token>` the token alone
 * decides (200 when it is METRICS_TOKEN, 403 otherwise); without one a signed-in ADMIN gets the
 * metrics, another user 403 and nobody 401. Refusals are plain text, which scrapers log as is.
 */
export function metricsRoutes(deps: { config: Pick<Config, "metricsToken">; metrics: Metrics }) {
  // Comparing digests keeps the comparison constant-time whatever length a caller sends.
  const expected = deps.config.metricsToken === undefined
    ? null
    : sha256(new TextEncoder().encode(deps.config.metricsToken));
  return new Hono<AppEnv>().get("/", async (c) => {
    c.header("Cache-Control", "no-store");
    const refused = refusal(c, expected);
    if (refused === 401) {
      c.header("WWW-Authenticate", 'Bearer realm="metrics"');
      return c.text(
        "Unauthorized: send Authorization: Bearer <token>, or sign in as an admin.\n",
        401,
      );
    }
    if (refused === 403) {
      return c.text("Forbidden: this token or account may not read metrics.\n", 403);
    }
    c.header("Content-Type", deps.metrics.contentType);
    return c.body(await deps.metrics.render());
  });
}

function refusal(c: Context<AppEnv>, expected: Uint8Array | null): 401 | 403 | null {
  const token = BEARER.exec(c.req.header("Authorization") ?? "")?.[1];
  if (token !== undefined) {
    if (!expected) return 403;
    return constantTimeEqual(sha256(new TextEncoder().encode(token)), expected) ? null : 403;
  }
  const user = c.get("user");
  if (!user) return 401;
  return user.role === "ADMIN" ? null : 403;
}
