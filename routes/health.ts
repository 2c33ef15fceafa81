/** GET /api/health: is this instance able to serve, and how fast does its store answer. */
import { Hono } from "hono";
import { withTimeout } from "../lib/timeout.ts";
import type { AppDeps, AppEnv } from "./env.ts";

/** A store slower than this still serves, but the instance reports itself degraded. */
const SLOW_STORE_MS = 250;
/** A store that has not answered by then counts as down. */
const STORE_TIMEOUT_MS = 2000;

export function healthRoutes(deps: AppDeps) {
  return new Hono<AppEnv>().get("/", async (c) => {
    const store = await probe(() => deps.store.ping());
    return c.json(
      {
        status: store.ok && store.latencyMs < SLOW_STORE_MS ? "ok" : "degraded",
        checks: { store },
        version: deps.version,
        uptimeS: Math.floor((performance.now() - deps.startedAt) / 1000),
      },
      store.ok ? 200 : 503,
    );
  });
}

/** Times one call, giving up after STORE_TIMEOUT_MS. */
async function probe(call: () => Promise<void>): Promise<{ ok: boolean; latencyMs: number }> {
  const start = performance.now();
  const answered = await withTimeout(call().then(() => true, () => false), STORE_TIMEOUT_MS);
  return { ok: answered === true, latencyMs: Math.round((performance.now() - start) * 10) / 10 };
}
