/**
 * The shapes of signal input: a new signal URL (`POST /api/signal-urls` and the settings form, same
 * field names) and a signal's body, which is the order ticket's shape narrowed to what an alert
 * sends; lib/trading/order_rules.ts judges the order as it judges every other.
 */
import { z } from "zod";
import { SIGNINGS } from "../lib/trading/signals.ts";
import { listQuery, orderInput } from "./trading_schemas.ts";

export const signalUrlInput = z.object({
  name: z.string({ error: "Name the signal URL." }).trim().min(1, "Name the signal URL.").max(
    60,
    "A name is at most 60 characters.",
  ),
  /** Absent or the form's "": the user's default account. */
  accountId: z.string().max(100).optional().transform((v) => v || undefined),
  signing: z.enum(SIGNINGS, { error: 'Signing is "none", "app" or "url".' }).default("none"),
});

/** TradingView fills `{{strategy.order.action}}` as "buy" or "sell"; any case is taken. */
const lowerCase = (value: unknown) =>
  typeof value === "string" ? value.trim().toLowerCase() : value;

/**
 * A signal: `{symbol, side, qty | notional, type?, limitPrice?, timeInForce?, clientOrderId?}`.
 * Unknown fields are refused rather than ignored, so a misspelt `limit_price` cannot turn a limit
 * order into a market one; the account is the URL's, so the body cannot name one.
 */
export const signalInput = z.strictObject({
  ...orderInput.pick({ qty: true, notional: true, limitPrice: true, clientOrderId: true }).shape,
  /** `{{exchange}}:{{ticker}}` arrives as "NASDAQ:AAPL"; the symbol is the part after the colon. */
  symbol: z.preprocess(
    (value) => typeof value === "string" ? value.slice(value.lastIndexOf(":") + 1) : value ?? "",
    orderInput.shape.symbol,
  ),
  side: z.preprocess(
    lowerCase,
    z.enum(["buy", "sell"], { error: 'side is "buy" or "sell".' }),
  ),
  type: z.preprocess(
    lowerCase,
    z.enum(["market", "limit"], { error: 'type is "market" or "limit".' }).default("market"),
  ),
  timeInForce: z.preprocess(lowerCase, orderInput.shape.timeInForce),
}, {
  error: (issue) =>
    issue.code === "unrecognized_keys"
      ? `Unknown field ${
        issue.keys.join(", ")
      }: a signal has symbol, side, qty or notional, type, limitPrice, timeInForce and clientOrderId.`
      : issue.code === "invalid_type"
      ? 'A signal is a JSON object: {"symbol":"AAPL","side":"buy","qty":1}.'
      : undefined,
});

/** GET /api/signal-urls/:id/signals and the log page: newest first, in pages. */
export const signalsQuery = listQuery;
