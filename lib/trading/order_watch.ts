/**
 * Where a working order waits, so the execution pass reads only the orders the current prices can
 * trigger or fill, however many rest.
 *
 * Each working order carries `watchKey` (`<symbol>|<side>|limit` or `<symbol>|<side>|stop`) and
 * `watchPrice`, indexed together. The price is the level at which the order becomes interesting:
 *
 * | order (state)                  | key     | price    | candidates when          |
 * | ------------------------------ | ------- | -------- | ------------------------ |
 * | buy limit, triggered stop-limit| `limit` | limit    | price ≥ ask              |
 * | sell limit, triggered stop-limit| `limit`| limit    | price ≤ bid              |
 * | buy market, triggered stop     | `limit` | +max     | always                   |
 * | sell market, triggered stop    | `limit` | 0        | always                   |
 * | buy stop / stop-limit, waiting | `stop`  | stop     | price ≤ last             |
 * | sell stop / stop-limit, waiting| `stop`  | stop     | price ≥ last             |
 *
 * A finished order has neither field. Prices are indexed as numbers: a decimal string's nearest
 * double is monotonic in the decimal, so a range on the doubles never misses an order that the
 * exact comparison would take (execution re-checks every candidate in exact arithmetic, and the
 * bounds below are widened by a hair so a tie in doubles is always included).
 */
import type { Order } from "./orders.ts";

export type WatchFields = { watchKey: string | null; watchPrice: number | null };

/** The fields of an order that decide where it waits. */
type Watched = Pick<
  Order,
  "open" | "symbol" | "side" | "type" | "limitPrice" | "stopPrice" | "triggeredAt"
>;

/** Where `order` waits in its current state (nulls when it no longer works). */
export function watchFields(order: Watched): WatchFields {
  if (!order.open) return { watchKey: null, watchPrice: null };
  const waitingStop = order.stopPrice !== null && !order.triggeredAt;
  if (waitingStop) {
    return { watchKey: watchKey(order.symbol, order.side, "stop"), watchPrice: +order.stopPrice! };
  }
  const price = order.limitPrice !== null
    ? +order.limitPrice
    : order.side === "buy"
    ? Number.MAX_VALUE
    : 0;
  return { watchKey: watchKey(order.symbol, order.side, "limit"), watchPrice: price };
}

export function watchKey(symbol: string, side: "buy" | "sell", mode: "limit" | "stop"): string {
  return `${symbol}|${side}|${mode}`;
}

/** A bound a hair beyond `x`, so ties between doubles fall inside the range. */
const above = (x: number) => x + Math.abs(x) * 1e-12 + 1e-12;
const below = (x: number) => x - Math.abs(x) * 1e-12 - 1e-12;

/**
 * The four index ranges that hold every order of `symbol` that these prices might trigger or fill:
 * `{key, gte?, lt?}` for a find on `{watchKey, watchPrice}`.
 */
export function candidateRanges(
  symbol: string,
  quote: { bid: string; ask: string; last: string },
): { key: string; gte?: number; lt?: number }[] {
  const [bid, ask, last] = [+quote.bid, +quote.ask, +quote.last];
  return [
    { key: watchKey(symbol, "buy", "limit"), gte: below(ask) },
    { key: watchKey(symbol, "sell", "limit"), lt: above(bid) },
    { key: watchKey(symbol, "buy", "stop"), lt: above(last) },
    { key: watchKey(symbol, "sell", "stop"), gte: below(last) },
  ];
}
