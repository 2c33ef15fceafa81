/** Builds the app for tests: an in-memory store, a captured log, and configuration from a plain object. */
import { loadAssets } from "../lib/assets.ts";
import { loadConfig } from "../lib/config.ts";
import { createMailer } from "../lib/email.ts";
import { createRateLimiter } from "../lib/rate_limit.ts";
import { createLogger } from "../lib/log.ts";
import { createMetrics } from "../lib/metrics.ts";
import { readOnlySwitch } from "../lib/read_only.ts";
import { instrumentStore } from "../lib/store/instrumented.ts";
import { openStore } from "../lib/store/open.ts";
import { openMarket, tradingContext } from "../lib/trading/setup.ts";
import { createApp } from "./app.tsx";
import type { AppDeps } from "./env.ts";

/** A fresh app on a fresh in-memory store; `logLines` holds every log line written. */
export async function testApp(env: Record<string, string> = {}) {
  const config = loadConfig({
    NODE_ENV: "test",
    KV_PATH: ":memory:",
    LOG_LEVEL: "debug",
    MARKET_HOURS: "always",
    ...env,
  });
  const logLines: string[] = [];
  const log = createLogger(config.logLevel, (line) => logLines.push(line));
  const metrics = createMetrics();
  const rawStore = await openStore(config, log);
  metrics.observeStore(rawStore);
  const store = instrumentStore(rawStore, metrics);
  const market = await openMarket(store, config, log);
  const deps: AppDeps = {
    config,
    store,
    log,
    trading: tradingContext(store, market, config, log),
    metrics,
    readOnly: readOnlySwitch(store, config.readOnly),
    assets: await loadAssets(),
    mailer: createMailer(config, log),
    limiter: createRateLimiter(config, log),
    startedAt: performance.now(),
    version: "test",
  };
  const app = createApp(deps);
  return {
    app,
    deps,
    logLines,
    [Symbol.asyncDispose]: async () => {
      await deps.limiter.close();
      await deps.mailer.close();
      await deps.store.close();
    },
  };
}
