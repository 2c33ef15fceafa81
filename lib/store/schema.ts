/** The collections and their indexes, declared once for every storage backend. */

/** Sort direction of one indexed field, as MongoDB writes it. */
export type IndexDirection = 1 | -1;

/** One index: its fields in order, and whether their values must be unique. */
export type IndexSpec = {
  fields: Record<string, IndexDirection>;
  unique?: boolean;
};

/** Every collection the app uses, with its indexes. A backend creates exactly these. */
export const SCHEMA = {
  users: [
    { fields: { email: 1 }, unique: true },
    { fields: { role: 1 } },
    /**
     * The weekly statement job (lib/trading/weekly_statement.ts) reads only the users who opted
     * in; the others sit under `null` and are never read.
     */
    { fields: { weeklyStatement: 1 } },
  ],
  sessions: [
    { fields: { userId: 1 } },
    { fields: { expiresAt: 1 } },
  ],
  accounts: [
    { fields: { userId: 1 } },
    { fields: { number: 1 }, unique: true },
    { fields: { userId: 1, status: 1 } },
    /** The worker's equity recorder (equity_history.ts) walks the active accounts. */
    { fields: { status: 1 } },
  ],
  orders: [
    { fields: { userId: 1 } },
    { fields: { accountId: 1 } },
    { fields: { status: 1 } },
    { fields: { symbol: 1 } },
    { fields: { placedAt: -1 } },
    /** The orders pages and GET /api/orders: an account's open, closed or all orders, newest first. */
    { fields: { accountId: 1, open: 1, placedAt: -1 } },
    { fields: { accountId: 1, placedAt: -1 } },
    /** The admin console: every order of a user, newest first. */
    { fields: { userId: 1, placedAt: -1 } },
    /** Holds and reserved shares: an account's working orders. */
    { fields: { accountId: 1, open: 1 } },
    /** Readiness and admin: working orders, oldest first. */
    { fields: { open: 1, placedAt: 1 } },
    /**
     * The execution pass (order_watch.ts): per symbol, side and mode, the working orders by the
     * price at which they become marketable or trigger, read as a range at the current quote.
     */
    { fields: { watchKey: 1, watchPrice: 1 } },
    /**
     * Untriggered trailing stops by their best price (order_watch.ts): a pass finds the ones whose
     * stop the current last price moves without reading the rest. Other orders have no entry
     * value (null), so it costs them one index write when placed.
     */
    { fields: { hwmWatchKey: 1, hwmWatchPrice: 1 } },
    /** The symbols with working orders, one seek each (worker.ts). */
    { fields: { open: 1, symbol: 1 } },
    /** Day orders that reach their session's close. */
    { fields: { open: 1, expiresAt: 1 } },
    { fields: { accountId: 1, clientOrderId: 1 }, unique: true },
    /** The orders export (lib/trading/exports.ts): one account's orders placed in a date range. */
    { fields: { accountId: 1, placedAt: -1 } },
  ],
  positions: [
    { fields: { userId: 1 } },
    { fields: { accountId: 1 } },
    /** Also the holders of a symbol a dividend or split reaches (corporate_actions.ts). */
    { fields: { symbol: 1 } },
    { fields: { status: 1 } },
    { fields: { userId: 1, symbol: 1, status: 1 } },
  ],
  trades: [
    { fields: { userId: 1, executedAt: -1 } },
    { fields: { accountId: 1, symbol: 1 } },
    { fields: { accountId: 1, executedAt: -1 } },
    { fields: { orderId: 1 } },
    /**
     * Admin metrics: traded value per day across every account, a range on executedAt. One more
     * index write per fill; without it the day's fills could only be found by reading them all.
     */
    { fields: { executedAt: -1 } },
    /** The history page's fills of one symbol, newest first, within a date range. */
    { fields: { accountId: 1, symbol: 1, executedAt: -1 } },
  ],
  /**
   * Tax lots (lib/trading/lots.ts): `_id` is the buy's trade id. A sell reads a position's open lots
   * oldest first, newest first or by unit cost, as the account's lot method says.
   */
  lots: [
    { fields: { accountId: 1, symbol: 1, open: 1, openedAt: 1 } },
    { fields: { accountId: 1, symbol: 1, open: 1, costKey: -1 } },
  ],
  /** One per (sell trade, lot closed): `_id` is `<tradeId>:<lotId>`; read by tax year. */
  realized_gains: [
    { fields: { accountId: 1, closedAt: 1 } },
  ],
  watchlist: [
    { fields: { userId: 1 } },
  ],
  /** How many watchlists each user has created; `_id` is the user id (see watchlists.ts). */
  watchlist_counters: [],
  /**
   * Price alerts (lib/trading/alerts.ts). The pass reads active ones by `{watchKey, watchPrice}`
   * (`<symbol>|above|below` at the level), only in the range the last price has crossed, after one
   * seek per symbol on `{status, symbol}`; a fired alert leaves both. Pages list by user.
   */
  alerts: [
    { fields: { userId: 1, createdAt: -1 } },
    { fields: { userId: 1, status: 1, createdAt: -1 } },
    /** A user's fired alerts, most recent first: what a notification centre will read. */
    { fields: { userId: 1, triggeredAt: -1 } },
    { fields: { watchKey: 1, watchPrice: 1 } },
    { fields: { status: 1, symbol: 1 } },
  ],
  /** The slots of active alerts, `_id` `<userId>:<n>` for n < 50: the cap follows from the key. */
  alert_slots: [],
  audit_logs: [
    { fields: { at: -1 } },
    { fields: { userId: 1, at: -1 } },
    { fields: { action: 1, at: -1 } },
    /**
     * The admin audit page filtered by action and outcome (failed sign-ins) without reading the
     * far more numerous successes; the metrics count each outcome apart with it, so successes
     * cannot crowd failures out of a day's row cap. One more index write per audit entry.
     */
    { fields: { action: 1, outcome: 1, at: -1 } },
  ],
  market_data: [
    { fields: { symbol: 1, time: -1 } },
  ],
  securities: [
    { fields: { symbol: 1 }, unique: true },
    { fields: { assetClass: 1 } },
  ],
  email_verifications: [
    { fields: { userId: 1 } },
    { fields: { email: 1 } },
  ],
  password_resets: [
    { fields: { userId: 1 } },
  ],
  /** The cash ledger: `_id` is `<accountId>:<seq>`, so two writers can never append the same entry. */
  cash_ledger: [
    { fields: { accountId: 1, seq: -1 } },
    { fields: { userId: 1, at: -1 } },
    /**
     * One account's cash activity in a date range (the history page, the activities export), and
     * of one type (deposits, say) without reading the far more numerous fills. Entries are only
     * ever inserted, so these cost two index writes per entry and nothing later.
     */
    { fields: { accountId: 1, at: -1 } },
    { fields: { accountId: 1, type: 1, at: -1 } },
  ],
  /**
   * Each account's order events, numbered by the account's `eventSeq` (lib/trading/events.ts);
   * `_id` is `<accountId>:<seq>`. Read by sequence for live streams, pruned by time.
   */
  account_events: [
    { fields: { accountId: 1, seq: 1 } },
    { fields: { at: 1 } },
  ],
  /**
   * Each account's recorded equity (lib/trading/equity_history.ts); `_id` is
   * `<accountId>:<timeframe>:<instant>`, so one point per account and instant, whoever writes it.
   */
  equity_points: [
    { fields: { accountId: 1, timeframe: 1, at: 1 } },
    /** Pruning intraday points past 30 days. */
    { fields: { timeframe: 1, at: 1 } },
  ],
  /**
   * What the worker has done of each corporate action (lib/trading/corporate_actions.ts): `_id` is
   * the action's id; it records when holders were captured, paid, or split.
   */
  corporate_actions: [],
  /**
   * One per (dividend, account) entitled to it: `_id` is `<actionId>:<accountId>`, so a holder is
   * captured once whichever instance gets there; paid in the unit that books its ledger entry.
   */
  dividend_entitlements: [
    { fields: { actionId: 1, status: 1 } },
    { fields: { accountId: 1 } },
  ],
  /**
   * One per (split, account) it was applied to: `_id` is `<actionId>:<accountId>`, inserted in the
   * unit that multiplies the position, its lots and its working orders, so it applies once.
   */
  split_bookings: [
    { fields: { accountId: 1, symbol: 1 } },
  ],
  /** Replays of order requests by Idempotency-Key; `_id` is `<userId>:<key>`. */
  idempotency_keys: [
    { fields: { createdAt: 1 } },
  ],
  /**
   * One per user and statement week, `_id` `<userId>:<Monday>`: inserted before the weekly
   * statement is sent, so of several instances exactly one sends it (weekly_statement.ts).
   */
  weekly_statements: [],
  /** Switches ops flip at run time, one document each (`read_only`). */
  app_settings: [],
  /** Failed sign-ins per email address (known or not), keyed by a hash of the address. */
  sign_in_throttles: [],
  /**
   * A password checked for a user with two-factor on, waiting for the code (pending_sign_in.ts);
   * holds no password. Swept by expiry like sessions.
   */
  pending_sign_ins: [
    { fields: { expiresAt: 1 } },
  ],
  /**
   * API keys (lib/auth/api_keys.ts), found by the hash of the secret a request presents; each of
   * a user's keys holds one of a fixed number of places, unique, so the cap holds under races.
   */
  api_keys: [
    { fields: { secretHash: 1 }, unique: true },
    { fields: { userId: 1, slot: 1 }, unique: true },
  ],
  /**
   * Signal URLs (lib/trading/signals.ts), found by the hash of the token a signal presents; a
   * user's listed newest first, revoked ones included.
   */
  signal_urls: [
    { fields: { tokenHash: 1 }, unique: true },
    { fields: { userId: 1, createdAt: -1 } },
  ],
  /** The places of a user's signal URLs in use, `_id` `<userId>:<n>` for n < 5: the cap is the key. */
  signal_url_slots: [],
  /** Signals received and their outcomes: one URL's log, and a user's latest across URLs. */
  signals: [
    { fields: { signalUrlId: 1, receivedAt: -1 } },
    { fields: { userId: 1, receivedAt: -1 } },
  ],
  /**
   * User events waiting for the dispatch pass (lib/notify/outbox.ts), read oldest first by `_id`;
   * dispatched ones are deleted.
   */
  outbox: [],
  /**
   * The notification centre (lib/notify/notifications.ts): a user's newest first, and their unread
   * ones (`readAt` null) for the bell's count.
   */
  notifications: [
    { fields: { userId: 1, at: -1 } },
    { fields: { userId: 1, readAt: 1, at: -1 } },
    /** The email batcher reads only notifications still waiting for a digest. */
    { fields: { email: 1, userId: 1 } },
  ],
  /** When each user's last notification email went (lib/notify/email_digest.ts); `_id` the user id. */
  notification_digests: [],
  /** The device hashes a user signed in from (lib/auth/devices.ts); `_id` the user id. */
  known_devices: [],
  /**
   * Outbound webhook endpoints (lib/webhooks/endpoints.ts): a user's, by place; each holds one of
   * a fixed number of places, unique, so the cap holds under simultaneous registrations.
   */
  webhook_endpoints: [
    { fields: { userId: 1, slot: 1 }, unique: true },
  ],
  /**
   * One attempt series per (message, endpoint) (lib/webhooks/deliveries.ts). The sender reads the
   * pending ones whose time has come, and the sending ones whose lease ran out, by `{status,
   * dueAt}`; finished ones leave that range. An endpoint's page lists them newest first.
   */
  webhook_deliveries: [
    { fields: { status: 1, dueAt: 1 } },
    { fields: { endpointId: 1, createdAt: -1 } },
  ],
} as const satisfies Record<string, readonly IndexSpec[]>;

/** The name of a declared collection. */
export type CollectionName = keyof typeof SCHEMA;

/** Every declared collection name, in declaration order. */
export const COLLECTION_NAMES = Object.keys(SCHEMA) as CollectionName[];

/** MongoDB's default index name for a spec (`userId_1_placedAt_-1`), used by every backend. */
export function indexName(spec: IndexSpec): string {
  return Object.entries(spec.fields).map(([field, dir]) => `${field}_${dir}`).join("_");
}
