/** One-minute bars of the simulated market in `market_data`, kept for a bounded time (sparklines). */
import { parseFixed } from "../money.ts";
import { ConflictError, type Doc, type Store } from "../store/port.ts";
import type { MarketClock } from "./clock.ts";
import { type PricedSecurity, simulatedPrice } from "./simulator.ts";

const MINUTE_MS = 60_000;
const SAMPLE_MS = 5_000;
const DEFAULT_RETENTION_MS = 24 * 60 * MINUTE_MS;
const PAGE_SIZE = 500;

/**
 * Writes the bar for each security for the minute that ended before `now` (OHLC sampled from
 * simulatedPrice every 5 s within that minute; for the simulated provider only), skipping bars
 * that already exist. The id `${symbol}:${minuteISO}` is deterministic, so several instances
 * writing the same bar is harmless. Equities get bars only for minutes in a session. Returns how
 * many were written.
 */
export async function recordMinuteBars(
  store: Store,
  securities: PricedSecurity[],
  clock: MarketClock,
  now: Date,
): Promise<number> {
  const minute = new Date(Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS - MINUTE_MS);
  // Sessions open and close on whole minutes, so a minute that starts open is open throughout.
  const due = securities.filter((security) => clock.isOpen(security.assetClass, minute));
  const ids = due.map((security) => barId(security.symbol, minute));
  const existing = await store.getMany<Bar>("market_data", ids);
  const written = await Promise.all(due.map(async (security, n) => {
    if (existing[n]) return false;
    try {
      await store.insert<Bar>("market_data", {
        _id: ids[n],
        symbol: security.symbol,
        time: minute,
        ...sampleMinute(security, clock, minute),
      });
      return true;
    } catch (error) {
      // Another instance wrote the same bar between our read and our insert.
      if (error instanceof ConflictError && error.reason === "exists") return false;
      throw error;
    }
  }));
  return written.filter(Boolean).length;
}

/** Deletes bars older than `retentionMs` (default 24 h), paging through the index; returns how many. */
export async function pruneBars(
  store: Store,
  securities: readonly { symbol: string }[],
  now: Date,
  retentionMs = DEFAULT_RETENTION_MS,
): Promise<number> {
  const before = new Date(now.getTime() - retentionMs);
  let deleted = 0;
  for (const { symbol } of securities) {
    let cursor: string | undefined;
    do {
      const page = await store.find<Bar>("market_data", {
        where: { symbol },
        sort: { field: "time", direction: 1 },
        range: { lt: before },
        limit: PAGE_SIZE,
        cursor,
      });
      const results = await Promise.all(page.items.map(async (bar) => {
        try {
          await store.delete("market_data", bar._id);
          return true;
        } catch (error) {
          // Another instance pruned it first.
          if (error instanceof ConflictError && error.reason === "missing") return false;
          throw error;
        }
      }));
      deleted += results.filter(Boolean).length;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }
  return deleted;
}

/** The most recent bars of a symbol, newest first (for sparklines); `limit` is 1..1000. */
export async function recentBars(store: Store, symbol: string, limit: number): Promise<Bar[]> {
  const page = await store.find<Bar>("market_data", {
    where: { symbol },
    sort: { field: "time", direction: -1 },
    limit,
  });
  return page.items;
}

function barId(symbol: string, minute: Date): string {
  return `${symbol}:${minute.toISOString()}`;
}

function sampleMinute(
  security: PricedSecurity,
  clock: MarketClock,
  minute: Date,
): Pick<Bar, "open" | "high" | "low" | "close"> {
  const samples = Array.from({ length: MINUTE_MS / SAMPLE_MS }, (_, n) => {
    const price = simulatedPrice(security, clock, new Date(minute.getTime() + n * SAMPLE_MS));
    return { price, value: parseFixed(price, security.priceDecimals) };
  });
  const high = samples.reduce((a, b) => (b.value > a.value ? b : a));
  const low = samples.reduce((a, b) => (b.value < a.value ? b : a));
  return {
    open: samples[0].price,
    high: high.price,
    low: low.price,
    close: samples[samples.length - 1].price,
  };
}

/** One minute of a symbol's prices; every price is a decimal string at the security's decimals. */
export type Bar = Doc & {
  symbol: string;
  /** The minute's start, UTC. */
  time: Date;
  open: string;
  high: string;
  low: string;
  close: string;
};
