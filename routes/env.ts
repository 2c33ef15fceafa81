/** The types every route shares: what the app is built from, and what middleware puts on the context. */
import type { AssetMap } from "../lib/assets.ts";
import type { Background } from "../lib/background.ts";
import type { ApiKeyGrant } from "../lib/auth/api_keys.ts";
import type { Session } from "../lib/auth/session.ts";
import type { User } from "../lib/auth/users.ts";
import type { Account } from "../lib/trading/accounts.ts";
import type { Mailer } from "../lib/email.ts";
import type { RateLimiter } from "../lib/rate_limit.ts";
import type { TradingContext } from "../lib/trading/orders.ts";
import type { Config } from "../lib/config.ts";
import type { Logger } from "../lib/log.ts";
import type { Metrics } from "../lib/metrics.ts";
import type { ReadOnlySwitch } from "../lib/read_only.ts";
import type { Store } from "../lib/store/port.ts";
import type { Flash } from "./middleware/flash.ts";
import type { LiveStreams } from "./live/streams.ts";

/** Everything the HTTP layer needs, passed in by `main.ts` (or a test). */
export type AppDeps = {
  config: Config;
  store: Store;
  log: Logger;
  assets: AssetMap;
  mailer: Mailer;
  limiter: RateLimiter;
  trading: TradingContext;
  /** The process's metrics, served at GET /metrics. */
  metrics: Metrics;
  /** The emergency read-only switch (READ_ONLY, or an admin's). */
  readOnly: ReadOnlySwitch;
  /** `performance.now()` when the process started, for uptime. */
  startedAt: number;
  /** The app's version, from deno.json. */
  version: string;
  /** Tasks that run after the response; drained at shutdown. */
  background: Background;
  /** The server-sent-event streams this process serves; closed at shutdown. */
  live: LiveStreams;
};

/** Hono's environment type for this app. */
export type AppEnv = {
  Variables: {
    requestId: string;
    secureHeadersNonce?: string;
    assets: AssetMap;
    flash?: Flash;
    flashSecret: string;
    /** Whether writes are stopped (read-only mode), for the banner. */
    readOnly?: boolean;
    /** Set by loadSession when the request carries a valid session. */
    user?: User;
    session?: Session;
    /** The user's open accounts and the one the pages show (trading_context.ts chosenAccount). */
    accounts?: { chosen: Account; open: Account[] };
    /** Set by apiKeyAuth when an /api request authenticated with an API key (then no session). */
    apiKey?: ApiKeyGrant;
    /** Whether the page loads no script at all: a page only to read (views/layout.tsx). */
    scriptless?: boolean;
    /** Whether the page needs static/extra.css as well as app.css (views/layout.tsx). */
    extraStyles?: boolean;
    /** The signed-in user's unread notifications, for the header's bell (app.tsx's renderer). */
    unread?: number;
    /** The IANA zone times are shown in (middleware/time_zone.ts). */
    timeZone?: string;
  };
};

declare module "hono" {
  interface ContextRenderer {
    (content: string | Promise<string>, props?: { title?: string }): Response | Promise<Response>;
  }
}
