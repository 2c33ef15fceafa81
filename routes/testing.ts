/**
 * Builds the app for tests: a fresh store, a captured log, and configuration from a plain object.
 * The store is in-memory Deno KV, or, when MONGODB_URI is set, a MongoDB database of its own that
 * is dropped afterwards, so the same tests prove both backends.
 */
import { loadAssets } from "../lib/assets.ts";
import { createBackground } from "../lib/background.ts";
import { loadConfig } from "../lib/config.ts";
import { createMailer, type Mailer } from "../lib/email.ts";
import { createRateLimiter } from "../lib/rate_limit.ts";
import { createLogger } from "../lib/log.ts";
import { createMetrics } from "../lib/metrics.ts";
import { readOnlySwitch } from "../lib/read_only.ts";
import { instrumentStore } from "../lib/store/instrumented.ts";
import { dropMongoDatabase } from "../lib/store/mongo.ts";
import { openStore } from "../lib/store/open.ts";
import { openMarket, tradingContext } from "../lib/trading/setup.ts";
import { createApp } from "./app.tsx";
import { createLiveStreams } from "./live/streams.ts";
import type { AppDeps } from "./env.ts";

/**
 * A fresh app on a fresh store; `logLines` holds every log line written. `options.mailer` wraps
 * the development mailer (to hold an email back, or make sending fail).
 */
export async function testApp(
  env: Record<string, string> = {},
  options: {
    mailer?: (mailer: Mailer) => Mailer;
    /** The time live streams tick at (a fixed instant puts a stream on a weekend, say). */
    streamClock?: () => Date;
  } = {},
) {
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
  const mailer = await createMailer(config, log);
  const limiter = await createRateLimiter(config, log);
  const deps: AppDeps = {
    config,
    store,
    log,
    trading: tradingContext(store, market, config, log, limiter),
    metrics,
    readOnly: readOnlySwitch(store, config.readOnly),
    assets: await loadAssets(),
    mailer: options.mailer ? options.mailer(mailer) : mailer,
    limiter,
    startedAt: performance.now(),
    version: "test",
    background: createBackground(log),
    live: createLiveStreams({ log, clock: options.streamClock }),
  };
  const app = createApp(deps);
  return {
    app,
    deps,
    logLines,
    [Symbol.asyncDispose]: async () => {
      deps.live.closeAll();
      await deps.background.drain();
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

/** The password every test trader signs up with. */
export const TEST_PASSWORD = "vivid-otter-planet-42";

type RequestInit_ = { method?: string; body?: unknown; cookie?: string };

/**
 * The JSON API as a browser on our own origin calls it, for tests that build a realistic
 * scenario: raw requests, calls that must succeed, and verified, signed-in traders.
 */
export function testApi(t: Awaited<ReturnType<typeof testApp>>) {
  const request = (path: string, init: RequestInit_ = {}) => {
    const headers: Record<string, string> = { Origin: TEST_ORIGIN };
    if (init.body !== undefined) headers["Content-Type"] = "application/json";
    if (init.cookie) headers.Cookie = init.cookie;
    return t.app.request(`${TEST_ORIGIN}${path}`, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    }, { remoteAddr: { hostname: "203.0.113.9", port: 1, transport: "tcp" } });
  };
  /** A request that must succeed; its JSON body. */
  const call = async (path: string, init: RequestInit_ = {}) => {
    const res = await request(path, init);
    const text = await res.text();
    if (res.status >= 300) {
      throw new Error(`${init.method ?? "POST"} ${path} → ${res.status}: ${text}`);
    }
    return text ? JSON.parse(text) : null;
  };
  /** Signs in; the session cookie and the user's first account. */
  const signIn = async (email: string) => {
    const res = await request("/api/auth/sign-in", { body: { email, password: TEST_PASSWORD } });
    if (res.status !== 200) throw new Error(`sign-in → ${res.status}: ${await res.text()}`);
    const cookie =
      res.headers.getSetCookie().find((c) => c.includes("orion_session="))!.split(";")[0];
    const { accounts } = await call("/api/accounts", { cookie });
    return { cookie, accountId: accounts[0].id as string, number: accounts[0].number as string };
  };
  return {
    request,
    call,
    signIn,
    /** Signs a trader up, confirms the email with the link the dev mailbox got, and signs in. */
    async trader(email: string) {
      await call("/api/auth/sign-up", {
        body: { email, password: TEST_PASSWORD, name: "Test Trader" },
      });
      const mail = t.deps.mailer.mailbox!.list().find((e) => e.to === email)!;
      const link = new URL(mail.text.match(/https?:\/\/\S+verify-email\?token=\S+/)![0]);
      await call("/api/auth/verify-email", { body: { token: link.searchParams.get("token") } });
      return await signIn(email);
    },
    /** Places an order (a day market order unless the body says otherwise); it must be accepted. */
    order(cookie: string, body: Record<string, unknown>) {
      return call("/api/orders", { cookie, body: { type: "market", timeInForce: "day", ...body } });
    },
  };
}
