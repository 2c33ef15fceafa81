/**
 * The JSON API's contract: one entry per route under /api, with the zod shapes the route itself
 * parses its input with, imported from the `*_schemas.ts` files, never copied. `lib/openapi.ts`
 * turns the list into the OpenAPI 3.1 document (`GET /api/openapi.json`) and `/docs/api` renders
 * it; `routes/openapi_test.ts` fails when a route is registered that no entry describes, or an
 * entry names a route that is not there. Adding a route is adding its entry to its area's list.
 */
import type { z } from "zod";
import { EXPORT_KINDS } from "../lib/trading/exports.ts";
import {
  auditQuery,
  ordersQuery as adminOrdersQuery,
  roleApiInput,
  usersQuery,
} from "./admin_schemas.ts";
import { apiKeyInput } from "./api_keys_schemas.ts";
import {
  changePasswordInput,
  codeInput,
  emailOnlyInput,
  profilePatch,
  reauthInput,
  resetPasswordInput,
  signInInput,
  signUpInput,
  verifyEmailInput,
} from "./auth_schemas.ts";
import { accountPatch, realizedGainsQuery } from "./lots_schemas.ts";
import { markReadInput, notificationsQuery } from "./notifications_schemas.ts";
import { deliveriesQuery, webhookInput, webhookUpdate } from "./webhooks_schemas.ts";
import { signalInput, signalsQuery, signalUrlInput } from "./signals_schemas.ts";
import {
  accountsQuery,
  alertInput,
  alertsQuery,
  barsQuery,
  closeAccountInput,
  closeAllQuery,
  closeQuery,
  corporateActionsQuery,
  exportQuery,
  historyQuery,
  idempotencyHeader,
  listQuery,
  newAccountInput,
  orderInput,
  ordersQuery,
  performanceQuery,
  replaceInput,
  resetInput,
  symbolInput,
  watchlistName,
} from "./trading_schemas.ts";

/**
 * Who may call a route. `public`: anyone. `user`: a signed-in session, or an API key where
 * routes/middleware/api_key.ts opens the path to keys (its scope follows from the method: `read`
 * for GET, `trade` for the rest). `session`: a signed-in session only. `admin`: a session of a
 * user with role ADMIN.
 */
export type ApiAuth = "public" | "user" | "session" | "admin";

/** A parameter a route reads without a zod shape: described by hand, loosely. */
export type LooseParam = {
  description: string;
  enum?: readonly string[];
  required?: boolean;
  /** Put in the curl example of /docs/api. */
  example?: string;
};

/** A success answer: its description, and its media type when it is not JSON. */
export type ApiSuccess = string | { description: string; contentType: string };

export type ApiOperation = {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** The full path in OpenAPI form: `/api/orders/{id}`. */
  path: string;
  /** The group on /docs/api and in the document's tags. */
  tag: string;
  summary: string;
  description?: string;
  auth: ApiAuth;
  /** Every `{name}` of the path; a parameter not listed here is a plain string. */
  pathParams?: Record<string, LooseParam>;
  /** The zod shape the route parses `c.req.query()` with. */
  query?: z.ZodType;
  /** Values of `query` the curl example of /docs/api sends (tests parse them with `query`). */
  queryExample?: Record<string, string>;
  /** Query parameters the route reads without a zod shape. */
  looseQuery?: Record<string, LooseParam>;
  /** The zod shape the route parses its headers with. */
  headers?: z.ZodType;
  /** The zod shape the route parses its JSON body with. */
  body?: z.ZodType;
  /** A body the route accepts (tests send it): the document's example and the curl's `-d`. */
  example?: unknown;
  /** The success statuses and what they carry. */
  responses: Record<number, ApiSuccess>;
  /**
   * Error statuses beyond those that follow from the entry (401/403 from auth, 400 and 422 from a
   * body, 422 from a query, 404 from a path parameter, 429 and 503 everywhere).
   */
  errors?: number[];
};

const accountIdParam: LooseParam = {
  description: "One of your accounts (404 when it is not yours); the active one when absent.",
};
const symbolParam: LooseParam = {
  description: "A catalog symbol; crypto pairs keep their slash (BTC/USD).",
  example: "AAPL",
};

const system: ApiOperation[] = [
  {
    method: "get",
    path: "/api/health",
    tag: "System",
    summary: "Whether this instance can serve, and how fast its store answers",
    auth: "public",
    responses: {
      200: "{status: ok|degraded, checks: {store: {ok, latencyMs}}, version, uptimeS}",
    },
  },
  {
    method: "get",
    path: "/api/openapi.json",
    tag: "System",
    summary: "This document: the API's OpenAPI 3.1 contract",
    auth: "public",
    responses: { 200: { description: "The OpenAPI document", contentType: "application/json" } },
  },
];

const auth: ApiOperation[] = [
  {
    method: "post",
    path: "/api/auth/sign-up",
    tag: "Auth",
    summary: "Create a user; a verification email follows",
    auth: "public",
    body: signUpInput,
    example: { email: "you@example.com", password: "vivid-otter-planet-42", name: "Ada" },
    responses: { 201: "{user}" },
    errors: [409],
  },
  {
    method: "post",
    path: "/api/auth/verify-email",
    tag: "Auth",
    summary: "Confirm an email with the link's token, or the address and the emailed code",
    auth: "public",
    body: verifyEmailInput,
    example: { email: "you@example.com", code: "123456" },
    responses: { 200: "{user}" },
  },
  {
    method: "post",
    path: "/api/auth/verify-email/resend",
    tag: "Auth",
    summary: "Send the verification email again",
    auth: "public",
    body: emailOnlyInput,
    example: { email: "you@example.com" },
    responses: { 202: '{status: "accepted"}' },
  },
  {
    method: "post",
    path: "/api/auth/sign-in",
    tag: "Auth",
    summary: "Sign in; sets the session cookie",
    auth: "public",
    body: signInInput,
    example: { email: "you@example.com", password: "vivid-otter-planet-42" },
    responses: { 200: "{user, session}" },
    errors: [401, 403],
  },
  {
    method: "post",
    path: "/api/auth/sign-out",
    tag: "Auth",
    summary: "End the current session, if any",
    auth: "public",
    responses: { 204: "Signed out" },
  },
  {
    method: "get",
    path: "/api/auth/session",
    tag: "Auth",
    summary: "The signed-in user and this session",
    auth: "session",
    responses: { 200: "{user, session}" },
  },
  {
    method: "post",
    path: "/api/auth/password/forgot",
    tag: "Auth",
    summary: "Email a reset link (answers alike whether or not the address exists)",
    auth: "public",
    body: emailOnlyInput,
    example: { email: "you@example.com" },
    responses: { 202: '{status: "accepted"}' },
  },
  {
    method: "post",
    path: "/api/auth/password/reset",
    tag: "Auth",
    summary: "Set a new password with the emailed token",
    auth: "public",
    body: resetPasswordInput,
    example: { token: "TOKEN_FROM_EMAIL", password: "a-new-long-passphrase-7" },
    responses: { 200: "{user}" },
  },
  {
    method: "post",
    path: "/api/auth/password/change",
    tag: "Auth",
    summary: "Change the password",
    auth: "session",
    body: changePasswordInput,
    example: { currentPassword: "vivid-otter-planet-42", newPassword: "a-new-long-passphrase-7" },
    responses: { 200: '{status: "changed"}' },
  },
  {
    method: "post",
    path: "/api/auth/reauth",
    tag: "Auth",
    summary: "Confirm the password again, for settings that need a recent sign-in",
    auth: "session",
    body: reauthInput,
    example: { password: "vivid-otter-planet-42" },
    responses: { 200: '{status: "ok"}' },
  },
  {
    method: "patch",
    path: "/api/auth/profile",
    tag: "Auth",
    summary: "Change the name, the time zone or the email choices",
    auth: "session",
    body: profilePatch,
    example: { name: "Ada", timeZone: "Europe/Berlin", notificationEmail: "fills_alerts" },
    responses: { 200: "{user}" },
  },
  {
    method: "post",
    path: "/api/auth/email/change",
    tag: "Auth",
    summary: "Change the email; the new address must be confirmed",
    auth: "session",
    body: emailOnlyInput,
    example: { email: "new@example.com" },
    responses: { 202: '{status: "verification_sent"}' },
    errors: [409],
  },
  {
    method: "get",
    path: "/api/auth/sessions",
    tag: "Auth",
    summary: "The user's sessions",
    auth: "session",
    responses: {
      200: "{sessions: [{id, current, createdAt, expiresAt, lastSeenAt, ip, userAgent}]}",
    },
  },
  {
    method: "delete",
    path: "/api/auth/sessions/{id}",
    tag: "Auth",
    summary: "End one of the user's sessions",
    auth: "session",
    responses: { 204: "Ended" },
  },
  {
    method: "post",
    path: "/api/auth/sessions/revoke-others",
    tag: "Auth",
    summary: "End every session but this one",
    auth: "session",
    responses: { 200: "{revoked: number}" },
  },
  {
    method: "post",
    path: "/api/auth/2fa/setup",
    tag: "Auth",
    summary: "Start two-factor enrolment (needs a recent sign-in)",
    auth: "session",
    responses: { 200: "{secret, uri, qrSvg}: what an authenticator app needs" },
  },
  {
    method: "post",
    path: "/api/auth/2fa/enable",
    tag: "Auth",
    summary: "Finish two-factor enrolment with a code",
    auth: "session",
    body: codeInput,
    example: { code: "123456" },
    responses: { 200: "{recoveryCodes: [string]}" },
    errors: [409],
  },
  {
    method: "post",
    path: "/api/auth/2fa/disable",
    tag: "Auth",
    summary: "Turn two-factor off (needs a recent sign-in)",
    auth: "session",
    responses: { 200: '{status: "disabled"}' },
  },
  {
    method: "post",
    path: "/api/auth/2fa/recovery-codes",
    tag: "Auth",
    summary: "Replace the recovery codes (needs a recent sign-in)",
    auth: "session",
    responses: { 200: "{recoveryCodes: [string]}" },
  },
];

const keys: ApiOperation[] = [
  {
    method: "get",
    path: "/api/keys",
    tag: "API keys",
    summary: "The user's API keys (never their secrets)",
    auth: "session",
    responses: {
      200: "{keys: [{id, name, scopes, prefix, createdAt, lastUsedAt, expiresAt, expired}]}",
    },
  },
  {
    method: "post",
    path: "/api/keys",
    tag: "API keys",
    summary: "Create a key; the only answer that holds its secret (needs a recent sign-in)",
    auth: "session",
    body: apiKeyInput,
    example: { name: "rebalancer", scopes: ["read", "trade"], expiresInDays: 90 },
    responses: { 201: "{key, secret}" },
  },
  {
    method: "delete",
    path: "/api/keys/{id}",
    tag: "API keys",
    summary: "Revoke a key",
    auth: "session",
    responses: { 204: "Revoked" },
  },
];

const market: ApiOperation[] = [
  {
    method: "get",
    path: "/api/clock",
    tag: "Market",
    summary: "Whether the market is open, and its next open and close",
    auth: "public",
    responses: { 200: "{timestamp, isOpen, nextOpen, nextClose, session, extendedHours}" },
  },
  {
    method: "get",
    path: "/api/securities",
    tag: "Market",
    summary: "The catalog, or up to 20 matches of a search",
    auth: "public",
    looseQuery: { q: { description: "Part of a symbol or a name.", example: "apple" } },
    responses: { 200: "{securities: [{symbol, name, exchange, assetClass, sector, tradable, …}]}" },
  },
  {
    method: "get",
    path: "/api/securities/{symbol}",
    tag: "Market",
    summary: "One security (a halted one too, with tradable false)",
    auth: "public",
    pathParams: { symbol: symbolParam },
    responses: { 200: "{symbol, name, exchange, assetClass, sector, tradable, …}" },
  },
  {
    method: "get",
    path: "/api/quotes",
    tag: "Market",
    summary: "Latest quotes of up to 50 symbols",
    auth: "public",
    looseQuery: {
      symbols: {
        description: "Comma-separated symbols, at most 50.",
        required: true,
        example: "AAPL,MSFT",
      },
    },
    responses: { 200: "{quotes: [{symbol, bid, ask, last, time, bidSize, askSize, session}]}" },
  },
  {
    method: "get",
    path: "/api/bars/{symbol}",
    tag: "Market",
    summary: "Price bars of a symbol",
    auth: "public",
    pathParams: { symbol: symbolParam },
    query: barsQuery,
    queryExample: { timeframe: "1Day", limit: "5" },
    responses: { 200: "{symbol, timeframe, bars: [{t, o, h, l, c, v}]}" },
  },
  {
    method: "get",
    path: "/api/corporate-actions",
    tag: "Market",
    summary: "Dividends and splits declared for a symbol",
    auth: "public",
    query: corporateActionsQuery,
    queryExample: { symbol: "KO" },
    responses: { 200: "{symbol, actions: [{type, exDate, …}]}" },
  },
];

const accounts: ApiOperation[] = [
  {
    method: "get",
    path: "/api/accounts",
    tag: "Accounts",
    summary: "The user's demo accounts with their figures",
    auth: "user",
    query: accountsQuery,
    responses: { 200: "{accounts: [{id, number, name, status, cash, equity, buyingPower, …}]}" },
  },
  {
    method: "post",
    path: "/api/accounts",
    tag: "Accounts",
    summary: "Open another demo account",
    auth: "user",
    body: newAccountInput,
    example: { name: "Growth", startingCash: "25000" },
    responses: { 201: "{account}" },
    errors: [409],
  },
  {
    method: "patch",
    path: "/api/accounts/{id}",
    tag: "Accounts",
    summary: "Change the account's tax-lot method",
    auth: "user",
    body: accountPatch,
    example: { lotMethod: "hifo" },
    responses: { 200: "{account}" },
  },
  {
    method: "post",
    path: "/api/accounts/{id}/reset",
    tag: "Accounts",
    summary: "Reset the account: a fresh one with the starting cash (type its number to confirm)",
    auth: "user",
    body: resetInput,
    example: { confirm: "ACCOUNT_NUMBER", startingCash: "100000" },
    responses: { 201: "{account}: the new account" },
    errors: [409],
  },
  {
    method: "post",
    path: "/api/accounts/{id}/close",
    tag: "Accounts",
    summary: "Close the account (type its number to confirm)",
    auth: "user",
    body: closeAccountInput,
    example: { confirm: "ACCOUNT_NUMBER" },
    responses: { 200: "{account}" },
    errors: [409],
  },
];

const orders: ApiOperation[] = [
  {
    method: "post",
    path: "/api/orders",
    tag: "Orders",
    summary: "Place an order",
    description:
      "A repeat with the same Idempotency-Key (or clientOrderId) answers 200 with the first order and the header Idempotent-Replayed: true.",
    auth: "user",
    headers: idempotencyHeader,
    body: orderInput,
    example: { symbol: "AAPL", side: "buy", qty: "1", type: "market", timeInForce: "day" },
    responses: {
      201: "The order: {id, symbol, side, qty, type, status, …}",
      200: "A repeat of an earlier request: the first order",
    },
    errors: [409],
  },
  {
    method: "get",
    path: "/api/orders",
    tag: "Orders",
    summary: "The account's orders, newest first, paged",
    auth: "user",
    query: ordersQuery,
    queryExample: { status: "all", limit: "20" },
    responses: { 200: "{orders: [order], nextCursor}" },
  },
  {
    method: "delete",
    path: "/api/orders",
    tag: "Orders",
    summary: "Cancel every working order of the account",
    auth: "user",
    looseQuery: { accountId: accountIdParam },
    responses: { 200: "{cancelled: [order]}" },
  },
  {
    method: "get",
    path: "/api/orders/{id}",
    tag: "Orders",
    summary: "One order",
    auth: "user",
    responses: { 200: "The order" },
  },
  {
    method: "patch",
    path: "/api/orders/{id}",
    tag: "Orders",
    summary: "Replace a working order's quantity or prices",
    auth: "user",
    body: replaceInput,
    example: { limitPrice: "180.00" },
    responses: { 200: "The replacing order" },
  },
  {
    method: "delete",
    path: "/api/orders/{id}",
    tag: "Orders",
    summary: "Cancel a working order",
    auth: "user",
    responses: { 200: "The cancelled order" },
  },
];

const portfolio: ApiOperation[] = [
  {
    method: "get",
    path: "/api/positions",
    tag: "Portfolio",
    summary: "The account's open positions",
    auth: "user",
    looseQuery: { accountId: accountIdParam },
    responses: { 200: "{positions: [{symbol, qty, avgEntryPrice, marketValue, …}]}" },
  },
  {
    method: "delete",
    path: "/api/positions",
    tag: "Portfolio",
    summary: "Close every position with market orders",
    auth: "user",
    query: closeAllQuery,
    responses: { 200: "{results: [{symbol, order | error}]}" },
  },
  {
    method: "delete",
    path: "/api/positions/{symbol}",
    tag: "Portfolio",
    summary: "Close a position, or part of it (qty or percentage)",
    auth: "user",
    pathParams: { symbol: symbolParam },
    query: closeQuery,
    queryExample: { percentage: "50" },
    responses: { 200: "The closing order" },
  },
  {
    method: "get",
    path: "/api/trades",
    tag: "Portfolio",
    summary: "The account's fills, newest first, paged",
    auth: "user",
    query: listQuery,
    looseQuery: { accountId: accountIdParam },
    responses: { 200: "{trades: [trade], nextCursor}" },
  },
  {
    method: "get",
    path: "/api/activities",
    tag: "Portfolio",
    summary: "The account's cash ledger, newest first, paged",
    auth: "user",
    query: listQuery,
    looseQuery: { accountId: accountIdParam },
    responses: { 200: "{activities: [entry], nextCursor}" },
  },
  {
    method: "get",
    path: "/api/realized-gains",
    tag: "Portfolio",
    summary: "Realized gains of a tax year, by lot, with short- and long-term totals",
    auth: "user",
    query: realizedGainsQuery,
    queryExample: { year: "2026" },
    responses: {
      200: "{year, accountId, method, shortTerm, longTerm, items: [gain], nextCursor}",
    },
  },
  {
    method: "get",
    path: "/api/portfolio/history",
    tag: "Portfolio",
    summary: "Recorded equity over a period",
    auth: "user",
    query: historyQuery,
    queryExample: { period: "1M" },
    responses: { 200: "{timeframe, baseValue, timestamps, equity, profitLoss, profitLossPct}" },
  },
  {
    method: "get",
    path: "/api/portfolio/performance",
    tag: "Portfolio",
    summary: "Returns, drawdown and volatility against a benchmark",
    auth: "user",
    query: performanceQuery,
    responses: { 200: "{period, timeWeightedReturn, moneyWeightedReturn, …, benchmarkSeries}" },
  },
  {
    method: "get",
    path: "/api/portfolio/allocation",
    tag: "Portfolio",
    summary: "Equity by asset class, sector and position",
    auth: "user",
    looseQuery: { accountId: accountIdParam },
    responses: {
      200: "{equity, byAssetClass, bySector, byPosition}: each [{name, value, percent}]",
    },
  },
  {
    method: "get",
    path: "/api/exports/{file}",
    tag: "Portfolio",
    summary: "A CSV download of orders, fills, cash activity or realized gains",
    auth: "user",
    pathParams: {
      file: {
        description: "Which export.",
        enum: EXPORT_KINDS.map((kind) => `${kind}.csv`),
        example: "fills.csv",
      },
    },
    query: exportQuery,
    queryExample: { from: "2026-01-01", to: "2026-12-31" },
    responses: { 200: { description: "The rows, as CSV", contentType: "text/csv" } },
  },
  {
    method: "get",
    path: "/api/stream",
    tag: "Portfolio",
    summary: "The account's order events, figures and quotes as server-sent events",
    description:
      "Events order, account, quote, resync and session_ended; reconnecting with Last-Event-ID replays the order events missed.",
    auth: "user",
    looseQuery: {
      symbols: { description: "Comma-separated symbols to stream quotes of, at most 50." },
      accountId: accountIdParam,
    },
    responses: { 200: { description: "An event stream", contentType: "text/event-stream" } },
  },
];

const watchlists: ApiOperation[] = [
  {
    method: "get",
    path: "/api/watchlists",
    tag: "Watchlists",
    summary: "The user's watchlists",
    auth: "user",
    responses: { 200: "{watchlists: [{id, name, symbols}]}" },
  },
  {
    method: "post",
    path: "/api/watchlists",
    tag: "Watchlists",
    summary: "Create a watchlist",
    auth: "user",
    body: watchlistName,
    example: { name: "Tech" },
    responses: { 201: "{id, name, symbols}" },
  },
  {
    method: "get",
    path: "/api/watchlists/{id}",
    tag: "Watchlists",
    summary: "A watchlist with the quotes of its symbols",
    auth: "user",
    responses: { 200: "{id, name, symbols, quotes}" },
  },
  {
    method: "patch",
    path: "/api/watchlists/{id}",
    tag: "Watchlists",
    summary: "Rename a watchlist",
    auth: "user",
    body: watchlistName,
    example: { name: "Chips" },
    responses: { 200: "{id, name, symbols}" },
  },
  {
    method: "delete",
    path: "/api/watchlists/{id}",
    tag: "Watchlists",
    summary: "Delete a watchlist",
    auth: "user",
    responses: { 204: "Deleted" },
  },
  {
    method: "post",
    path: "/api/watchlists/{id}/symbols",
    tag: "Watchlists",
    summary: "Add a symbol",
    auth: "user",
    body: symbolInput,
    example: { symbol: "NVDA" },
    responses: { 201: "{id, name, symbols}" },
  },
  {
    method: "delete",
    path: "/api/watchlists/{id}/symbols/{symbol}",
    tag: "Watchlists",
    summary: "Remove a symbol",
    auth: "user",
    pathParams: { symbol: symbolParam },
    responses: { 200: "{id, name, symbols}" },
  },
];

const alerts: ApiOperation[] = [
  {
    method: "get",
    path: "/api/alerts",
    tag: "Alerts",
    summary: "The user's price alerts, paged",
    auth: "user",
    query: alertsQuery,
    responses: { 200: "{alerts: [alert], nextCursor}" },
  },
  {
    method: "post",
    path: "/api/alerts",
    tag: "Alerts",
    summary: "Create a price alert",
    auth: "user",
    body: alertInput,
    example: { symbol: "AAPL", condition: "below", price: "1.00", note: "Buy the dip" },
    responses: { 201: "{id, symbol, condition, price, status, …}" },
  },
  {
    method: "get",
    path: "/api/alerts/{id}",
    tag: "Alerts",
    summary: "One alert",
    auth: "user",
    responses: { 200: "The alert" },
  },
  {
    method: "delete",
    path: "/api/alerts/{id}",
    tag: "Alerts",
    summary: "Delete an alert",
    auth: "user",
    responses: { 204: "Deleted" },
  },
];

const notifications: ApiOperation[] = [
  {
    method: "get",
    path: "/api/notifications",
    tag: "Notifications",
    summary: "The user's notifications, newest first, with the unread count (up to 100)",
    auth: "user",
    query: notificationsQuery,
    queryExample: { unread: "true", limit: "20" },
    responses: {
      200:
        "{notifications: [{id, kind, title, body, link, createdAt, readAt}], unreadCount, nextCursor}",
    },
  },
  {
    method: "post",
    path: "/api/notifications/read",
    tag: "Notifications",
    summary: "Mark notifications read: the ids named, or all",
    auth: "user",
    body: markReadInput,
    example: { all: true },
    responses: { 200: "{updated, unreadCount}" },
  },
];

const webhookId = { id: { description: "The endpoint's id." } };

const webhooks: ApiOperation[] = [
  {
    method: "get",
    path: "/api/webhooks",
    tag: "Webhooks",
    summary: "The user's webhook endpoints (never their secrets)",
    auth: "user",
    responses: { 200: "{endpoints: [{id, url, events, description, enabled, …}]}" },
  },
  {
    method: "post",
    path: "/api/webhooks",
    tag: "Webhooks",
    summary: "Register an endpoint; the answer holds its signing secret, once",
    auth: "user",
    body: webhookInput,
    example: {
      url: "https://hooks.example.com/orion",
      events: ["order.*", "alert.triggered"],
      description: "fills to chat",
    },
    responses: { 201: "{endpoint, secret}" },
  },
  {
    method: "get",
    path: "/api/webhooks/{id}",
    tag: "Webhooks",
    summary: "One endpoint",
    auth: "user",
    pathParams: webhookId,
    responses: { 200: "{endpoint}" },
  },
  {
    method: "patch",
    path: "/api/webhooks/{id}",
    tag: "Webhooks",
    summary: "Change an endpoint's URL, events, description, or turn it on or off",
    auth: "user",
    pathParams: webhookId,
    body: webhookUpdate,
    example: { enabled: false },
    responses: { 200: "{endpoint}" },
  },
  {
    method: "delete",
    path: "/api/webhooks/{id}",
    tag: "Webhooks",
    summary: "Delete an endpoint and its deliveries",
    auth: "user",
    pathParams: webhookId,
    responses: { 204: "Deleted" },
  },
  {
    method: "get",
    path: "/api/webhooks/{id}/deliveries",
    tag: "Webhooks",
    summary: "An endpoint's deliveries, newest first, with every attempt's status code",
    auth: "user",
    pathParams: webhookId,
    query: deliveriesQuery,
    responses: { 200: "{deliveries: [{id, messageId, type, status, attempts, …}], nextCursor}" },
  },
  {
    method: "post",
    path: "/api/webhooks/{id}/deliveries/{deliveryId}/resend",
    tag: "Webhooks",
    summary: "Send a delivery's message again (same webhook-id)",
    auth: "user",
    pathParams: { ...webhookId, deliveryId: { description: "The delivery's id." } },
    responses: { 202: "{delivery}" },
  },
  {
    method: "post",
    path: "/api/webhooks/{id}/test",
    tag: "Webhooks",
    summary: "Send a webhook.test ping",
    auth: "user",
    pathParams: webhookId,
    responses: { 202: "{delivery}" },
  },
];

const signalUrlId = { id: { description: "The signal URL's id." } };

const signals: ApiOperation[] = [
  {
    method: "post",
    path: "/api/signals/{token}",
    tag: "Signals",
    summary:
      "Place an order from an alert (TradingView and the like): the token in the path is the credential; signed with Standard Webhooks when the URL requires it",
    auth: "public",
    pathParams: { token: { description: "The signal URL's token, shown once at creation." } },
    body: signalInput,
    example: { symbol: "AAPL", side: "buy", qty: 1, clientOrderId: "tv-1733600000-AAPL" },
    responses: { 201: "{signalId, order}", 200: "{signalId, order, replayed: true}" },
    errors: [401, 404, 409, 429],
  },
  {
    method: "get",
    path: "/api/signal-urls",
    tag: "Signals",
    summary: "The user's signal URLs (never their tokens)",
    auth: "user",
    responses: { 200: "{signalUrls: [{id, name, accountId, signing, tokenPrefix, …}]}" },
  },
  {
    method: "post",
    path: "/api/signal-urls",
    tag: "Signals",
    summary:
      "Make a signal URL for one account (a session with a recent sign-in; API keys get 403); the answer holds its URL and token (and secret), once",
    auth: "user",
    body: signalUrlInput,
    example: { name: "TradingView", signing: "none" },
    responses: { 201: "{signalUrl, url, token, secret}" },
  },
  {
    method: "delete",
    path: "/api/signal-urls/{id}",
    tag: "Signals",
    summary: "Revoke a signal URL (its log is kept)",
    auth: "user",
    pathParams: signalUrlId,
    responses: { 204: "Revoked" },
  },
  {
    method: "get",
    path: "/api/signal-urls/{id}/signals",
    tag: "Signals",
    summary: "A signal URL's signals with their outcomes, newest first",
    auth: "user",
    pathParams: signalUrlId,
    query: signalsQuery,
    responses: { 200: "{signals: [{id, receivedAt, outcome, orderId, …}], nextCursor}" },
  },
];

const admin: ApiOperation[] = [
  {
    method: "get",
    path: "/api/admin/users",
    tag: "Admin",
    summary: "Search users",
    auth: "admin",
    query: usersQuery,
    responses: { 200: "{users: [user], nextCursor, partial}" },
  },
  {
    method: "get",
    path: "/api/admin/users/{id}",
    tag: "Admin",
    summary: "A user with accounts, orders, sessions and API keys",
    auth: "admin",
    responses: { 200: "{user, accounts, orders, ordersNextCursor, sessions, apiKeys}" },
  },
  {
    method: "delete",
    path: "/api/admin/users/{id}/keys/{keyId}",
    tag: "Admin",
    summary: "Revoke a user's API key",
    auth: "admin",
    responses: { 204: "Revoked" },
  },
  {
    method: "delete",
    path: "/api/admin/users/{id}/signal-urls/{signalUrlId}",
    tag: "Admin",
    summary: "Revoke a user's signal URL",
    auth: "admin",
    responses: { 204: "Revoked" },
  },
  {
    method: "post",
    path: "/api/admin/users/{id}/role",
    tag: "Admin",
    summary: "Change a user's role (SUSPENDED suspends)",
    auth: "admin",
    body: roleApiInput,
    example: { role: "DEMO" },
    responses: { 200: "{user}" },
    errors: [409],
  },
  {
    method: "delete",
    path: "/api/admin/users/{id}/sessions",
    tag: "Admin",
    summary: "End every session of a user",
    auth: "admin",
    responses: { 200: "{ended: number}" },
  },
  {
    method: "get",
    path: "/api/admin/audit",
    tag: "Admin",
    summary: "The audit log, filtered, newest first",
    auth: "admin",
    query: auditQuery,
    responses: { 200: "{entries: [entry], nextCursor, partial}" },
  },
  {
    method: "get",
    path: "/api/admin/orders",
    tag: "Admin",
    summary: "Recent orders of every user",
    auth: "admin",
    query: adminOrdersQuery,
    responses: { 200: "{orders: [order + userId, email], nextCursor}" },
  },
];

/** Every route under /api, in the order /docs/api shows their groups. */
export const API_CONTRACT: readonly ApiOperation[] = [
  ...system,
  ...auth,
  ...keys,
  ...market,
  ...accounts,
  ...orders,
  ...portfolio,
  ...watchlists,
  ...alerts,
  ...notifications,
  ...webhooks,
  ...signals,
  ...admin,
];
