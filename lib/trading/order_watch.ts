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
 * An extended-hours limit order (`extendedHours`) waits like a limit, under `<symbol>|<side>|ext`,
 * so in pre-market and after-hours a pass reads those two ranges and none of the orders that wait
 * for the regular session.
 *
 * A trailing stop waits like a stop, at its current stop price. Its stop also moves whenever the
 * last price improves on its best price (`hwm`), so an untriggered one waits in a second index too,
 * `{hwmWatchKey, hwmWatchPrice}` with key `<symbol>|<side>|hwm` at its best price: a sell is a
 * candidate when the last price is above it, a buy when below. A pass therefore reads a trailing
 * stop only when the price has moved past one of its two levels, never the ones in between, and a
 * move of the stop rewrites both entries in the same version-checked write (worker.ts).
 *
 * A finished order has neither field; a trailing stop once triggered or finished has null hwm
 * fields and other orders none at all. Prices are indexed as numbers: a decimal string's nearest
 * double is monotonic in the decimal, so a range on the doubles never misses an order that the
 * exact comparison would take (execution re-checks every candidate in exact arithmetic, and the
 * bounds below are widened by a hair so a tie in doubles is always included).
 */
import type { Order } from "./orders.ts";

export type WatchFields = {
  watchKey: string | null;
  watchPrice: number | null;
  /** Trailing stops only (absent on other orders). */
  hwmWatchKey?: string | null;
  hwmWatchPrice?: number | null;
};

/** The fields of an order that decide where it waits. */
type Watched =
  & Pick<
    Order,
    "open" | "symbol" | "side" | "type" | "limitPrice" | "stopPrice" | "triggeredAt"
  >
  & Partial<Pick<Order, "hwm" | "extendedHours">>;

/** Where `order` waits in its current state (nulls when it no longer works). */
export function watchFields(order: Watched): WatchFields {
  if (order.type !== "trailing_stop") return priceWatch(order);
  const waiting = order.open && !order.triggeredAt && order.hwm != null;
  return {
    ...priceWatch(order),
    hwmWatchKey: waiting ? watchKey(order.symbol, order.side, "hwm") : null,
    hwmWatchPrice: waiting ? +order.hwm! : null,
  };
}

/** Whether an order's stored watch fields are where its state says it waits. */
export function watchedRight(order: Watched & Partial<WatchFields>): boolean {
  const watch = watchFields(order);
  return order.watchKey === watch.watchKey && order.watchPrice === watch.watchPrice &&
    (order.hwmWatchKey ?? null) === (watch.hwmWatchKey ?? null) &&
    (order.hwmWatchPrice ?? null) === (watch.hwmWatchPrice ?? null);
}

function priceWatch(order: Watched): WatchFields {
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
  const mode = order.extendedHours ? "ext" : "limit";
  return { watchKey: watchKey(order.symbol, order.side, mode), watchPrice: price };
}

export function watchKey(
  symbol: string,
  side: "buy" | "sell",
  mode: "limit" | "stop" | "hwm" | "ext",
): string {
  return `${symbol}|${side}|${mode}`;
}

/** A bound a hair beyond `x`, so ties between doubles fall inside the range. */
const above = (x: number) => x + Math.abs(x) * 1e-12 + 1e-12;
const below = (x: number) => x - Math.abs(x) * 1e-12 - 1e-12;

/** One index range: a find on `{<index>Key, <index>Price}` for `key`, the price in `[gte, lt)`. */
export type CandidateRange = {
  index: "watch" | "hwmWatch";
  key: string;
  gte?: number;
  lt?: number;
};

/**
 * The index ranges that hold every order of `symbol` that these prices might trigger, fill or
 * (for a trailing stop) move. In the regular session eight: six on `{watchKey, watchPrice}`, two
 * on `{hwmWatchKey, hwmWatchPrice}`; in pre-market and after-hours (`extendedOnly`) the two of the
 * extended-hours limit orders.
 */
export function candidateRanges(
  symbol: string,
  quote: { bid: string; ask: string; last: string },
  extendedOnly = false,
): CandidateRange[] {
  const [bid, ask, last] = [+quote.bid, +quote.ask, +quote.last];
  const extended: CandidateRange[] = [
    { index: "watch", key: watchKey(symbol, "buy", "ext"), gte: below(ask) },
    { index: "watch", key: watchKey(symbol, "sell", "ext"), lt: above(bid) },
  ];
  if (extendedOnly) return extended;
  return [
    ...extended,
    { index: "watch", key: watchKey(symbol, "buy", "limit"), gte: below(ask) },
    { index: "watch", key: watchKey(symbol, "sell", "limit"), lt: above(bid) },
    { index: "watch", key: watchKey(symbol, "buy", "stop"), lt: above(last) },
    { index: "watch", key: watchKey(symbol, "sell", "stop"), gte: below(last) },
    // A sell's best price is beaten by a higher last price, a buy's by a lower one.
    { index: "hwmWatch", key: watchKey(symbol, "sell", "hwm"), lt: above(last) },
    { index: "hwmWatch", key: watchKey(symbol, "buy", "hwm"), gte: below(last) },
  ];
}
