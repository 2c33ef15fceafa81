/**
 * Price bars (OHLC and volume) of the simulated market, computed from the simulator for any past
 * time: the simulator is a pure function of (symbol, time), so history needs no recording and every
 * instance computes the same bars. Completed bars are cached in memory. Bars are adjusted for
 * splits: every bar is shown in the share count of the moment it is asked for (prices divided and
 * volumes multiplied by the ratios since), as Robinhood and TradingView chart them, so a chart
 * never shows a split as a crash.
 *
 * Bars that earlier versions recorded in `market_data` are no longer written or read; pruneBars
 * drains what is left of them.
 */
import { parseFixed } from "../money.ts";
import { ConflictError, type Doc, type Store } from "../store/port.ts";
import type { MarketClock, Session } from "./clock.ts";
import { type PricedSecurity, simulatedPrice, symbolUniform } from "./simulator.ts";
import { splitFactor } from "./corporate_actions.ts";

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const DEFAULT_RETENTION_MS = 24 * 60 * MINUTE_MS;
const PAGE_SIZE = 500;

/** The bar lengths the API offers, Alpaca's names; 1Day is one session (crypto: one UTC day). */
export const TIMEFRAMES = {
  "1Min": MINUTE_MS,
  "5Min": 5 * MINUTE_MS,
  "15Min": 15 * MINUTE_MS,
  "1Hour": 60 * MINUTE_MS,
  "1Day": DAY_MS,
} as const;
export type Timeframe = keyof typeof TIMEFRAMES;
export const TIMEFRAME_NAMES = Object.keys(TIMEFRAMES) as [Timeframe, ...Timeframe[]];

/** One bar as the API shows it: prices are decimal strings at the security's decimals. */
export type PriceBar = {
  /** The bar's first instant, ISO 8601 UTC (a daily equity bar starts at the session's open). */
  t: string;
  o: string;
  h: string;
  l: string;
  c: string;
  /** Units traded (simulated: a deterministic plausible figure). */
  v: number;
};

/**
 * Which bars to return: the most recent `limit` bars that start in [start, end), oldest first.
 * Without `start` the walk back stops at `limit` bars.
 */
export type BarQuery = { timeframe: Timeframe; start?: Date; end: Date; limit: number };

/** Prices sampled per bar: every 5 s for a minute bar, every ~32 min for a session. */
const SAMPLES = 12;
/** Completed bars kept in memory; a few hundred kilobytes per thousand. */
const CACHE_MAX = 50_000;
const cache = new Map<string, PriceBar>();

/**
 * The simulated bars for a query at `now` (bars never reach past `now`; the bar in progress ends
 * at `now`, so its close is the current last price). Equities have bars only inside sessions
 * (holidays, weekends and early closes come from the clock); crypto around the clock.
 */
export function simulatedBars(
  security: PricedSecurity,
  clock: MarketClock,
  query: BarQuery,
  now: Date,
): PriceBar[] {
  const end = Math.min(query.end.getTime(), now.getTime());
  const start = query.start?.getTime() ?? -Infinity;
  const spans = barSpans(security, clock, query.timeframe, start, end, query.limit);
  const nowMs = now.getTime();
  return spans.map((span) => {
    const complete = span.close <= nowMs;
    // Bars are shown adjusted for the splits up to `now` (as charts show them), so a cached bar
    // is only good for the share count it was computed in.
    const factor = splitFactor(security.symbol, now);
    const key = `${security.symbol}|${query.timeframe}|${span.from}|${factor}`;
    const cached = complete ? cache.get(key) : undefined;
    if (cached) return cached;
    const bar = sampleBar(security, clock, query.timeframe, span, Math.min(span.close, nowMs), now);
    if (complete) {
      if (cache.size >= CACHE_MAX) cache.clear();
      cache.set(key, bar);
    }
    return bar;
  });
}

/** A bar's time span: [from, close), where `sessionEnd` marks a bar that ends with its session. */
type Span = { from: number; close: number; sessionEnd: boolean };

/** The spans of the most recent `limit` bars starting in [start, end), oldest first. */
function barSpans(
  security: PricedSecurity,
  clock: MarketClock,
  timeframe: Timeframe,
  start: number,
  end: number,
  limit: number,
): Span[] {
  const length = TIMEFRAMES[timeframe];
  const spans: Span[] = [];
  if (security.assetClass === "crypto") {
    // Crypto trades around the clock: bars on UTC-aligned boundaries (a day starts at 00:00 UTC).
    for (let from = Math.floor((end - 1) / length) * length; from >= start; from -= length) {
      if (spans.length >= limit) break;
      spans.push({ from, close: from + length, sessionEnd: false });
    }
    return spans.reverse();
  }
  // Equities: walk back session by session from the last one that opened before `end`.
  let session: Session | null = latestOpened(clock, new Date(end));
  while (session && spans.length < limit) {
    const open = session.open.getTime();
    const close = session.close.getTime();
    if (close <= start) break;
    if (timeframe === "1Day") {
      if (open >= start) spans.push({ from: open, close, sessionEnd: true });
      else break;
    } else {
      // Buckets on UTC-aligned boundaries, cut to the session (the first starts at the open).
      const last = Math.min(close, end) - 1;
      for (
        let bucket = Math.floor(last / length) * length;
        bucket + length > open;
        bucket -= length
      ) {
        const from = Math.max(bucket, open);
        if (from < start || spans.length >= limit) break;
        const to = Math.min(bucket + length, close);
        spans.push({ from, close: to, sessionEnd: to === close });
      }
    }
    session = clock.previousSession(session.open);
  }
  return spans.reverse();
}

/** The session in progress at `at` or the last one before it; null if none opened before `at`. */
function latestOpened(clock: MarketClock, at: Date): Session {
  const today = clock.sessionOn(at);
  return today && today.open < at ? today : clock.previousSession(at);
}

/**
 * OHLC from SAMPLES prices evenly spaced from the bar's start (a minute bar: every 5 s, as the
 * old recorded bars were), plus the price at `until` when the bar ends its session or is still
 * in progress, so a day's close is the session's closing price and the last bar ends at the last
 * price. Volume is deterministic noise around about $1M a minute.
 */
function sampleBar(
  security: PricedSecurity,
  clock: MarketClock,
  timeframe: Timeframe,
  span: Span,
  until: number,
  asOf: Date,
): PriceBar {
  const step = (span.close - span.from) / SAMPLES;
  const times: number[] = [];
  for (let n = 0; n < SAMPLES && span.from + n * step < until; n++) {
    times.push(Math.floor(span.from + n * step));
  }
  if (span.sessionEnd || until < span.close || times.length === 0) times.push(until);
  let open = "", close = "", high = "", low = "";
  let highValue = 0n, lowValue = 0n;
  times.forEach((time, n) => {
    const price = simulatedPrice(security, clock, new Date(time), asOf);
    const value = parseFixed(price, security.priceDecimals);
    if (n === 0) {
      open = high = low = price;
      highValue = lowValue = value;
    }
    if (value > highValue) [high, highValue] = [price, value];
    if (value < lowValue) [low, lowValue] = [price, value];
    close = price;
  });
  const minutes = (until - span.from) / MINUTE_MS;
  // Volume in the share count of `asOf` too: a 2:1 split doubles the shares that traded.
  const perMinute = 1_000_000 / Number(security.referencePrice) *
    splitFactor(security.symbol, asOf);
  const noise = 0.5 +
    symbolUniform(
      security.symbol,
      0x6a7 + TIMEFRAMES[timeframe] / MINUTE_MS,
      span.from / MINUTE_MS,
    );
  return {
    t: new Date(span.from).toISOString(),
    o: open,
    h: high,
    l: low,
    c: close,
    v: Math.max(1, Math.round(perMinute * minutes * noise)),
  };
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

/** A recorded one-minute bar of earlier versions (no longer written; pruneBars drains them). */
export type Bar = Doc & {
  symbol: string;
  /** The minute's start, UTC. */
  time: Date;
  open: string;
  high: string;
  low: string;
  close: string;
};

/** The ranges a chart offers. */
export const CHART_RANGES = ["1D", "1W", "1M", "3M", "1Y", "5Y"] as const;
export type ChartRange = (typeof CHART_RANGES)[number];

/**
 * What a chart of `range` asks for, and the time axis it spans: 1D is the latest session that has
 * opened in 5-minute bars, the axis running to the session's close so an open session fills from
 * the left; a market that never closes (crypto, and every symbol with MARKET_HOURS=always) has no
 * session to show, so its 1D is the last 24 h, as crypto apps chart it. 1W and 1M hourly; 3M, 1Y
 * and 5Y daily.
 */
export function chartWindow(
  range: ChartRange,
  security: Pick<PricedSecurity, "assetClass">,
  clock: MarketClock,
  now: Date,
): { query: BarQuery; from: number; to: number } {
  const at = now.getTime();
  const back = (days: number) => new Date(at - days * DAY_MS);
  const window = (timeframe: Timeframe, start: Date) => ({
    query: { timeframe, start, end: now, limit: 2_000 },
    from: start.getTime(),
    to: at,
  });
  switch (range) {
    case "1D": {
      if (security.assetClass === "crypto" || clock.mode === "always") {
        return window("5Min", back(1));
      }
      const session = latestOpened(clock, now);
      return { ...window("5Min", session.open), to: session.close.getTime() };
    }
    case "1W":
      return window("1Hour", back(7));
    case "1M":
      return window("1Hour", back(30));
    case "3M":
      return window("1Day", back(91));
    case "1Y":
      return window("1Day", back(365));
    case "5Y":
      return window("1Day", back(5 * 365 + 1));
  }
}

/**
 * At most `max` bars: runs of consecutive bars merged into one (first open, highest high, lowest
 * low, last close, summed volume), so a long series draws in few points and the last close stays.
 * A merged bar is stamped with its last bar's time, the time of the close it shows: a chart's
 * last point then says when the current price is from.
 */
export function thinBars(bars: PriceBar[], max: number): PriceBar[] {
  if (bars.length <= max) return bars;
  const size = Math.ceil(bars.length / max);
  const out: PriceBar[] = [];
  for (let n = 0; n < bars.length; n += size) {
    const run = bars.slice(n, n + size);
    const value = (p: string) => parseFixed(p, 8);
    out.push({
      t: run[run.length - 1].t,
      o: run[0].o,
      h: run.reduce((a, b) => (value(b.h) > value(a.h) ? b : a)).h,
      l: run.reduce((a, b) => (value(b.l) < value(a.l) ? b : a)).l,
      c: run[run.length - 1].c,
      v: run.reduce((sum, b) => sum + b.v, 0),
    });
  }
  return out;
}
