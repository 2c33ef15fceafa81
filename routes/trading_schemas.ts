/** The shapes of trading input, shared by the JSON API and the HTML forms (same field names). */
import { z } from "zod";
import { TIMEFRAME_NAMES } from "../lib/market/bars.ts";
import { ALERT_CONDITIONS, ALERT_NOTE_MAX } from "../lib/trading/alerts.ts";
import { HISTORY_PERIODS, HISTORY_TIMEFRAMES } from "../lib/trading/equity_history.ts";
import { parseDay } from "../lib/trading/exports.ts";
import { LEDGER_ENTRY_TYPES } from "../lib/trading/ledger.ts";
import { ORDER_CLASSES } from "../lib/trading/order_classes.ts";
import { ORDER_TYPES, SIDES, TIME_IN_FORCE } from "../lib/trading/order_rules.ts";

/** Names the values lib/ accepts for a field it judges itself, for the OpenAPI document. */
const oneOf = (values: readonly string[]) => ({ description: `One of ${values.join(", ")}.` });

/** Amounts arrive as decimal strings or JSON numbers; lib/money.ts judges them exactly. */
const amount = z.union([z.string().max(40, "Too long."), z.number()]);
const optionalAmount = z.union([amount, z.null()]).optional();

export const orderInput = z.object({
  accountId: z.string().max(100).optional(),
  symbol: z.string().trim().min(1, "Choose a symbol.").max(20, "Unknown symbol."),
  side: z.string().max(10).meta(oneOf(SIDES)),
  type: z.string().max(20).default("market").meta(oneOf(ORDER_TYPES)),
  /** A quantity, or `notional` dollars for a market order (lib/trading/order_rules.ts). */
  qty: optionalAmount.meta({ description: "Shares, a decimal string; or give notional." }),
  notional: optionalAmount.meta({ description: "Dollars to spend or raise, market orders only." }),
  limitPrice: optionalAmount,
  stopPrice: optionalAmount,
  /** Trailing stops: one of the two (lib/trading/order_rules.ts judges them). */
  trailPercent: optionalAmount,
  trailPrice: optionalAmount,
  /** Absent: day for shares, gtc for crypto (lib/trading/order_rules.ts defaultTimeInForce). */
  timeInForce: z.string().max(5).optional().meta({
    description: `${oneOf(TIME_IN_FORCE).description} Absent: day for shares, gtc for crypto.`,
  }),
  /** Brackets, OCO and OTO (lib/trading/order_classes.ts judges them). */
  orderClass: z.string().max(10).optional().meta(oneOf(ORDER_CLASSES)),
  takeProfit: z.object({ limitPrice: optionalAmount }).strict().optional(),
  stopLoss: z.object({ stopPrice: optionalAmount, limitPrice: optionalAmount }).strict()
    .optional(),
  /** A limit day order that may also fill in pre-market and after-hours; the form sends "true". */
  extendedHours: z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")], {
    error: "Use true or false.",
  }).optional(),
  clientOrderId: z.string().trim().max(64, "clientOrderId is at most 64 characters.").optional(),
});

export const replaceInput = z.object({
  qty: optionalAmount,
  limitPrice: optionalAmount,
  stopPrice: optionalAmount,
  trailPercent: optionalAmount,
  trailPrice: optionalAmount,
});

/** DELETE /api/positions[/:symbol]: how much to close, and whether working sells may be cancelled. */
export const closeQuery = z.object({
  accountId: z.string().max(100).optional(),
  qty: z.string().trim().max(40, "Too long.").optional(),
  percentage: z.string().trim().max(40, "Too long.").optional(),
  cancelOrders: z.enum(["true", "false"], { error: "Use true or false." }).default("false")
    .transform((v) => v === "true"),
});

/** DELETE /api/positions: every position, so no qty or percentage. */
export const closeAllQuery = closeQuery.pick({ accountId: true, cancelOrders: true });

/** POST /api/accounts/:id/reset: the account's number typed back (accounts.ts confirmReset judges it). */
export const resetInput = z.object({
  confirm: z.unknown().optional(),
  /** A new starting cash; the account's own when absent (accounts.ts parseStartingCash judges it). */
  startingCash: amount.optional(),
});

/** POST /api/accounts/:id/close: the account's number typed back, as for a reset. */
export const closeAccountInput = resetInput.pick({ confirm: true });

/** POST /api/accounts and the open-account form. */
export const newAccountInput = z.object({
  name: z.string({ error: "Give the account a name." }).trim().min(1, "Give the account a name.")
    .max(40, "Use at most 40 characters.")
    .regex(/^[^\p{Cc}\p{Cf}]+$/u, "Use letters, digits, spaces and punctuation only."),
  /** Dollars, a decimal string or a number (accounts.ts parseStartingCash judges it). */
  startingCash: amount.optional(),
});

/** GET /api/accounts: the open accounts, or the closed ones too. */
export const accountsQuery = z.object({
  status: z.enum(["open", "closed", "all"], { error: "Use open, closed or all." }).default("open"),
});

export const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});

export const ordersQuery = listQuery.extend({
  status: z.enum(["open", "closed", "all"]).default("open"),
  accountId: z.string().max(100).optional(),
});

export const watchlistName = z.object({
  name: z.string().trim().min(1, "Give the list a name.").max(60, "Use at most 60 characters."),
});

/** POST /api/alerts and the alerts form; lib/trading/alerts.ts judges the symbol and the price. */
export const alertInput = z.object({
  symbol: z.string({ error: "Choose a symbol." }).trim().min(1, "Choose a symbol.").max(
    20,
    "Unknown symbol.",
  ),
  condition: z.enum(ALERT_CONDITIONS, { error: "Use above or below." }),
  price: z.union([amount, z.null()], { error: "Enter a price." }).refine(
    (v) => v !== null && v !== "",
    "Enter a price.",
  ),
  note: z.string({ error: "The note must be text." }).trim().max(
    ALERT_NOTE_MAX,
    `Use at most ${ALERT_NOTE_MAX} characters.`,
  ).optional(),
});

export const alertsQuery = listQuery.extend({
  status: z.enum(["active", "triggered", "all"], { error: "Use active, triggered or all." })
    .default("all"),
});

export const symbolInput = z.object({
  symbol: z.string().trim().min(1, "Choose a symbol.").max(20, "Unknown symbol."),
});

/** An Idempotency-Key: printable, bounded. */
export const idempotencyKey = z.string().trim().min(8, "Use at least 8 characters.")
  .max(100, "Use at most 100 characters.")
  .regex(/^[\x21-\x7e]+$/, "Use printable ASCII only, no spaces.");

/** The API's optional `Idempotency-Key` header, so its errors are named for the header. */
export const idempotencyHeader = z.object({
  "Idempotency-Key": idempotencyKey.optional().meta({
    description: "Makes a retry safe: the same key within 24 hours answers the first order.",
  }),
});

/** An instant in a query: an ISO 8601 date (midnight UTC) or date-time with a zone. */
const instant = z.union([z.iso.date(), z.iso.datetime({ offset: true })], {
  error: "Use an ISO 8601 date or date-time, e.g. 2026-01-02 or 2026-01-02T14:30:00Z.",
}).transform((text) => new Date(text));

const DAY_MS = 86_400_000;
/** The widest window of one corporate-actions request. */
const MAX_ACTION_DAYS = 5 * 366;

/**
 * GET /api/corporate-actions: a symbol, and a window of ex-dates (by default a year back and 90
 * days ahead; only what is already declared is listed).
 */
export const corporateActionsQuery = z.object({
  symbol: z.string({ error: "Name a symbol: ?symbol=KO." }).trim().min(
    1,
    "Name a symbol: ?symbol=KO.",
  )
    .max(20, "That is not a symbol."),
  start: instant.optional(),
  end: instant.optional(),
}).transform((q) => {
  const now = Date.now();
  const end = q.end ?? new Date(now + 90 * DAY_MS);
  const start = q.start ?? new Date(end.getTime() - 365 * DAY_MS - 90 * DAY_MS);
  return { symbol: q.symbol, start, end };
}).refine((q) => q.start <= q.end, {
  path: ["start"],
  error: "The start must not be after the end.",
})
  .refine((q) => q.end.getTime() - q.start.getTime() <= MAX_ACTION_DAYS * DAY_MS, {
    path: ["end"],
    error: "Ask for at most five years at once.",
  });

/** GET /api/bars/:symbol: the timeframe, an optional window, and at most 1000 bars. */
export const barsQuery = z.object({
  timeframe: z.enum(TIMEFRAME_NAMES, {
    error: `Use one of ${TIMEFRAME_NAMES.join(", ")}.`,
  }).default("1Day"),
  start: instant.optional(),
  end: instant.optional(),
  limit: z.coerce.number({ error: "Use a whole number from 1 to 1000." }).int(
    "Use a whole number from 1 to 1000.",
  ).min(1, "Use a whole number from 1 to 1000.").max(1000, "Use a whole number from 1 to 1000.")
    .default(100),
}).refine((q) => !q.start || !q.end || q.start <= q.end, {
  path: ["start"],
  error: "The start must not be after the end.",
});

/** GET /api/portfolio/history: a period, a timeframe (default by period) and the account. */
export const historyQuery = z.object({
  accountId: z.string().max(100).optional(),
  period: z.enum(HISTORY_PERIODS, { error: `Use one of ${HISTORY_PERIODS.join(", ")}.` })
    .default("1M"),
  timeframe: z.enum(HISTORY_TIMEFRAMES, {
    error: `Use one of ${HISTORY_TIMEFRAMES.join(", ")}.`,
  }).optional(),
}).refine(
  (q) =>
    q.timeframe === undefined || q.timeframe === "1Day" || ["1D", "1W", "1M"].includes(q.period),
  {
    path: ["timeframe"],
    error: "Intraday points are kept 30 days: use timeframe 1Day for 3M, 1Y or all.",
  },
);

/** GET /api/portfolio/performance and the performance page: a period and a benchmark symbol. */
export const performanceQuery = z.object({
  accountId: z.string().max(100).optional(),
  period: z.enum(["1W", "1M", "3M", "1Y", "all"], {
    error: "Use one of 1W, 1M, 3M, 1Y, all.",
  }).default("1M"),
  benchmark: z.string().trim().min(1, "Choose a symbol.").max(20, "Unknown symbol.").default("SPY"),
});

/** A calendar day, `YYYY-MM-DD` (lib/trading/exports.ts parseDay). */
const day = z.string().max(10, "Use a date like 2026-01-31.").refine(
  (v) => parseDay(v) !== null,
  "Use a date like 2026-01-31.",
).meta({ description: "A day, YYYY-MM-DD." });

/** GET /api/exports/*.csv: a range of whole UTC days, both included, of one of the user's accounts. */
export const exportQuery = z.object({
  from: day.optional(),
  to: day.optional(),
  accountId: z.string().max(100).optional(),
});

/** /history: its filters (symbol for fills, type for cash activity, days for both) and pages. */
export const historyPageQuery = z.object({
  symbol: z.string().trim().max(20, "Unknown symbol.").optional(),
  type: z.union([z.enum(LEDGER_ENTRY_TYPES), z.literal("")], {
    error: "Choose a type from the list.",
  }).optional(),
  from: z.union([day, z.literal("")]).optional(),
  to: z.union([day, z.literal("")]).optional(),
  tradesCursor: z.string().max(500).optional(),
  cashCursor: z.string().max(500).optional(),
});
