/** Orion Assets Broker: read config, open the store, serve HTTP, shut down cleanly on a signal. */
import denoJson from "./deno.json" with { type: "json" };
import { loadAssets } from "./lib/assets.ts";
import { createBackground } from "./lib/background.ts";
import {
  ConfigError,
  loadConfig,
  readEnv,
  withDevAuthSecret,
  withListenAddress,
} from "./lib/config.ts";
import { deleteExpiredPendingSignIns } from "./lib/auth/pending_sign_in.ts";
import { deleteExpiredSessions } from "./lib/auth/session.ts";
import { createMailer } from "./lib/email.ts";
import { createLogger } from "./lib/log.ts";
import { metrics } from "./lib/metrics.ts";
import { readOnlySwitch } from "./lib/read_only.ts";
import { instrumentStore } from "./lib/store/instrumented.ts";
import { createRateLimiter } from "./lib/rate_limit.ts";
import { openMarket, tradingContext } from "./lib/trading/setup.ts";
import { startTradingWorkers } from "./lib/trading/worker.ts";
import { webhookSenderDeps } from "./lib/webhooks/sender.ts";
import { openStore } from "./lib/store/open.ts";
import { createApp } from "./routes/app.tsx";
import { createLiveStreams } from "./routes/live/streams.ts";

const startedAt = performance.now();

let config;
try {
  config = loadConfig(await withDevAuthSecret(await readEnv()));
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  for (const problem of err.problems) console.error(`config: ${problem}`);
  Deno.exit(1);
}

const log = createLogger(config.logLevel);
const rawStore = await openStore(config, log);
// Scrapes read pool figures from the backend itself; every other call goes through the timer.
metrics.observeStore(rawStore);
const store = instrumentStore(rawStore, metrics);
const market = await openMarket(store, config, log);
const limiter = await createRateLimiter(config, log);
const trading = tradingContext(store, market, config, log, limiter);
const mailer = await createMailer(config, log);
const assets = await loadAssets();
const background = createBackground(log);
const live = createLiveStreams({ log });

// The app is built once the address is known, so default links point where the server listens.
let app: ReturnType<typeof createApp> | undefined;
// Where emailed links point; the weekly statements read it when they send.
let appUrl = config.appUrl;
const server = Deno.serve({
  port: config.port,
  hostname: config.host,
  onListen: ({ hostname, port }) => {
    const listening = withListenAddress(config, hostname, port);
    appUrl = listening.appUrl;
    app = createApp({
      config: listening,
      store,
      log,
      assets,
      mailer,
      limiter,
      trading,
      metrics,
      readOnly: readOnlySwitch(store, config.readOnly),
      startedAt,
      version: denoJson.version,
      background,
      live,
    });
    log.info("listening", {
      url: `http://${hostname}:${port}`,
      appUrl: listening.appUrl,
      store: store.backend,
      env: config.nodeEnv,
    });
  },
}, (request, info) => app!.fetch(request, info));

// Expired sessions are refused when presented; this sweep keeps the collection from growing.
const sweeper = setInterval(() => {
  deleteExpiredSessions(store).catch((error) => log.warn("session sweep failed", { error }));
  deleteExpiredPendingSignIns(store).catch((error) =>
    log.warn("pending sign-in sweep failed", { error })
  );
}, 60 * 60 * 1000);
Deno.unrefTimer(sweeper);

// The statements share the app's one mailer, so they go out through the same provider and log.
const stopTrading = startTradingWorkers(trading, {
  statements: { mailer, appUrl: () => appUrl },
  webhooks: webhookSenderDeps(config, store, log),
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info("shutting down", { signal });
  clearInterval(sweeper);
  // Streams never end by themselves; the server would wait for them forever.
  const closing = server.shutdown();
  live.closeAll();
  await closing;
  // Emails the last requests queued still go out before the mailer and the store close.
  await background.drain();
  await stopTrading();
  await limiter.close();
  await mailer.close();
  await store.close();
  Deno.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => void shutdown(signal));
}
