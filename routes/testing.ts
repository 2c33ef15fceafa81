/**
 * Builds the app for tests: a fresh store, a captured log, and configuration from a plain object.
 * The store is in-memory Deno KV, or, when MONGODB_URI is set, a MongoDB database of its own that
 * is dropped afterwards, so the same tests prove both backends.
 */
import { loadAssets } from "../lib/assets.ts";
import { loadConfig } from "../lib/config.ts";
import { createMailer } from "../lib/email.ts";
import { createRateLimiter } from "../lib/rate_limit.ts";
import { createLogger } from "../lib/log.ts";
import { createMetrics } from "../lib/metrics.ts";
import { readOnlySwitch } from "../lib/read_only.ts";
import { instrumentStore } from "../lib/store/instrumented.ts";
import { dropMongoDatabase } from "../lib/store/mongo.ts";
import { openStore } from "../lib/store/open.ts";
import { openMarket, tradingContext } from "../lib/trading/setup.ts";
import { createApp } from "./app.tsx";
import type { AppDeps } from "./env.ts";

/** A fresh app on a fresh store; `logLines` holds every log line written. */
export async function testApp(env: Record<string, string> = {}) {
  const mongoUri = Deno.env.get("MONGODB_URI");
  const mongoDb = `orion_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const config = loadConfig({
    NODE_ENV: "test",
    KV_PATH: ":memory:",
    LOG_LEVEL: "debug",
    MARKET_HOURS: "always",
    ...(mongoUri ? { MONGODB_URI: mongoUri, MONGODB_DB: mongoDb } : {}),
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
    mailer: await createMailer(config, log),
    limiter: await createRateLimiter(config, log),
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
      if (config.mongodbUri) await dropMongoDatabase(config.mongodbUri, mongoDb);
    },
  };
}

/** The origin test requests are sent to (APP_URL's default). */
export const TEST_ORIGIN = "http://localhost:8000";

/**
 * A browser for app.request: it keeps cookies across requests and submits forms the way a
 * browser without JavaScript does, from our own origin.
 */
export function testBrowser(
  t: { app: { request: (url: string, init?: RequestInit) => Response | Promise<Response> } },
) {
  const jar = new Map<string, string>();
  const send = async (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set("Origin", TEST_ORIGIN);
    if (jar.size) headers.set("Cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
    const res = await t.app.request(`${TEST_ORIGIN}${path}`, { ...init, headers });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(";");
      const [name, value] = [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)];
      if (/Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(cookie) || value === "") jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  };
  return {
    get: (path: string, headers: Record<string, string> = {}) => send(path, { headers }),
    post: (path: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
      send(path, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
        body: new URLSearchParams(form).toString(),
      }),
    /** GET a page that must answer 200, and read it. */
    async page(path: string, headers: Record<string, string> = {}) {
      const res = await send(path, { headers });
      if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`);
      return await res.text();
    },
    jar,
  };
}
