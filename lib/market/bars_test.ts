/** Bars computed from the simulator: sessions, determinism, consistent OHLC; pruning of old recorded bars. */
import assert from "node:assert/strict";
import { parseFixed } from "../money.ts";
import { openKvStore } from "../store/kv.ts";
import {
  type Bar,
  chartWindow,
  type PriceBar,
  pruneBars,
  simulatedBars,
  thinBars,
} from "./bars.ts";
import { createMarketClock } from "./clock.ts";
import { type PricedSecurity, simulatedPrice, simulatedQuote } from "./simulator.ts";

const nyse = createMarketClock("nyse");
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const AAPL: PricedSecurity = {
  symbol: "AAPL",
  assetClass: "us_equity",
  referencePrice: "277.50",
  volatility: 0.27,
  priceDecimals: 2,
};
const BTC: PricedSecurity = {
  symbol: "BTC/USD",
  assetClass: "crypto",
  referencePrice: "90250.00",
  volatility: 0.6,
  priceDecimals: 2,
};
// Tuesday 2026-06-16, 11:00:30 in New York: the market is open.
const IN_SESSION = new Date("2026-06-16T15:00:30Z");
const SATURDAY = new Date("2026-06-20T15:00:30Z");

function assertOhlc(bars: PriceBar[], decimals: number) {
  for (const bar of bars) {
    const [o, h, l, c] = [bar.o, bar.h, bar.l, bar.c].map((p) => parseFixed(p, decimals));
    assert.ok(l <= o && o <= h && l <= c && c <= h, `${bar.t}: ${JSON.stringify(bar)}`);
    assert.ok(Number.isInteger(bar.v) && bar.v > 0);
  }
  const times = bars.map((b) => Date.parse(b.t));
  assert.deepEqual(times, [...times].sort((a, b) => a - b), "ascending");
  assert.equal(new Set(times).size, times.length, "one bar per start");
}

Deno.test("[market] bars: five years of daily equity bars, one per NYSE session", () => {
  const end = new Date("2026-06-16T15:00:30Z");
  const start = new Date(end.getTime() - 5 * 365 * DAY_MS);
  const bars = simulatedBars(AAPL, nyse, { timeframe: "1Day", start, end, limit: 1000 }, end);
  assert.equal(bars.length, 1000, "more than 1000 sessions in five years: the limit applies");
  const all = simulatedBars(
    AAPL,
    nyse,
    { timeframe: "1Day", start: new Date("2025-01-01T00:00:00Z"), end, limit: 1000 },
    end,
  );
  // 2025 by the NYSE rules: 251 sessions (the unscheduled closure of 9 January is not a rule).
  assert.equal(all.filter((b) => b.t.startsWith("2025")).length, 251);
  assertOhlc(all, 2);
  for (const bar of all) {
    const session = nyse.sessionOn(new Date(bar.t));
    assert.ok(session && session.open.toISOString() === bar.t, `${bar.t} is a session open`);
  }
  assert.ok(!all.some((b) => b.t.startsWith("2025-12-25")), "no bar on Christmas");
  // A finished day closes at the session's closing price: the next day's previous close.
  const [day, next] = all.slice(-2);
  assert.equal(day.c, simulatedQuote(AAPL, nyse, new Date(next.t)).prevClose);
  // The bar in progress ends at the last price.
  assert.equal(next.c, simulatedPrice(AAPL, nyse, end));
});

Deno.test("[market] bars: intraday equity bars only inside sessions, early closes included", () => {
  // The day after Thanksgiving 2026 (27 Nov) closes at 13:00 New York time.
  const end = new Date("2026-11-30T21:30:00Z");
  const bars = simulatedBars(
    AAPL,
    nyse,
    { timeframe: "5Min", start: new Date("2026-11-25T00:00:00Z"), end, limit: 1000 },
    end,
  );
  assertOhlc(bars, 2);
  for (const bar of bars) {
    assert.ok(nyse.isOpen("us_equity", new Date(bar.t)), `${bar.t} is in a session`);
  }
  const days = Map.groupBy(bars, (b) => nyse.sessionOn(new Date(b.t))!.date);
  assert.deepEqual([...days.keys()], ["2026-11-25", "2026-11-27", "2026-11-30"]);
  assert.equal(days.get("2026-11-25")!.length, 78, "6.5 hours of 5-minute bars");
  assert.equal(days.get("2026-11-27")!.length, 42, "3.5 hours on the early close");
  const hours = simulatedBars(AAPL, nyse, { timeframe: "1Hour", end, limit: 7 }, end);
  // 09:30 opens the first hourly bar, cut to the session; then whole UTC hours.
  assert.deepEqual(hours.map((b) => b.t.slice(11, 16)), [
    "14:30",
    "15:00",
    "16:00",
    "17:00",
    "18:00",
    "19:00",
    "20:00",
  ]);
});

Deno.test("[market] bars: crypto around the clock; the same bars on every call and every limit", () => {
  const end = SATURDAY;
  const query = { timeframe: "15Min" as const, end, limit: 96 };
  const first = simulatedBars(BTC, nyse, query, end);
  assert.equal(first.length, 96);
  assertOhlc(first, 2);
  assert.equal(
    Date.parse(first[95].t),
    Math.floor(end.getTime() / (15 * MINUTE_MS)) * 15 * MINUTE_MS,
  );
  // A fresh cache (another instance) and a different limit give the same bars.
  assert.deepEqual(simulatedBars(BTC, nyse, { ...query, limit: 10 }, end), first.slice(-10));
  assert.deepEqual(simulatedBars(BTC, nyse, query, end), first);
  // Weekends trade: bars on Saturday.
  assert.ok(first.every((b) => Date.parse(b.t) > end.getTime() - DAY_MS));
  // A minute bar samples every 5 s: the open is the price at its start.
  const [minute] = simulatedBars(
    BTC,
    nyse,
    { timeframe: "1Min", end: new Date("2026-06-20T15:00:00Z"), limit: 1 },
    end,
  );
  assert.equal(minute.t, "2026-06-20T14:59:00.000Z");
  assert.equal(minute.o, simulatedPrice(BTC, nyse, new Date(minute.t)));
});

Deno.test("[market] bars: a closed weekend shows the last session; no bars from the future", () => {
  const bars = simulatedBars(AAPL, nyse, { timeframe: "1Min", end: SATURDAY, limit: 3 }, SATURDAY);
  // Friday 19 June 2026 is Juneteenth: the last session is Thursday's, ending 15:59 New York.
  assert.deepEqual(bars.map((b) => b.t), [
    "2026-06-18T19:57:00.000Z",
    "2026-06-18T19:58:00.000Z",
    "2026-06-18T19:59:00.000Z",
  ]);
  const later = new Date(SATURDAY.getTime() + 30 * DAY_MS);
  const capped = simulatedBars(BTC, nyse, { timeframe: "1Hour", end: later, limit: 2 }, IN_SESSION);
  assert.ok(capped.every((b) => Date.parse(b.t) <= IN_SESSION.getTime()));
});

Deno.test("[market] bars: pruning removes old recorded bars past the retention only, page by page", async () => {
  const store = await openKvStore(":memory:");
  try {
    await store.ensureSchema();
    const old = new Date("2026-06-18T12:00:00Z");
    for (let n = 0; n < 1_105; n++) {
      const time = new Date((n < 1_100 ? old : SATURDAY).getTime() + n * MINUTE_MS);
      await store.insert<Bar>("market_data", {
        _id: `BTC/USD:${time.toISOString()}`,
        symbol: "BTC/USD",
        time,
        open: "1.00",
        high: "1.00",
        low: "1.00",
        close: "1.00",
      });
    }
    const now = new Date(SATURDAY.getTime() + 1_200 * MINUTE_MS);
    assert.equal(await pruneBars(store, [BTC, AAPL], now), 1_100);
    assert.equal(await pruneBars(store, [BTC, AAPL], now), 0);
    const left = await store.find<Bar>("market_data", { where: { symbol: "BTC/USD" }, limit: 100 });
    assert.equal(left.items.length, 5);
  } finally {
    await store.close();
  }
});

Deno.test("[market] bars: a 1Y daily and a 1D 5-minute series cost a few ms once computed", () => {
  const now = IN_SESSION;
  const year = { timeframe: "1Day" as const, end: now, limit: 252 };
  const day = { timeframe: "5Min" as const, end: now, limit: 78 };
  const cold = performance.now();
  simulatedBars(AAPL, nyse, year, now);
  simulatedBars(AAPL, nyse, day, now);
  const warm = performance.now();
  simulatedBars(AAPL, nyse, year, now);
  simulatedBars(AAPL, nyse, day, now);
  const done = performance.now();
  console.log(`cold ${(warm - cold).toFixed(1)} ms, warm ${(done - warm).toFixed(1)} ms`);
});

Deno.test("[market] bars: thinning merges neighbours, keeps the range's extremes and the last close", () => {
  const end = IN_SESSION;
  const bars = simulatedBars(AAPL, nyse, { timeframe: "1Day", end, limit: 252 }, end);
  const thin = thinBars(bars, 60);
  assert.ok(thin.length <= 60 && thin.length >= 50, `${thin.length} points`);
  const value = (p: string) => parseFixed(p, 2);
  const max = (list: PriceBar[]) => list.reduce((m, b) => (value(b.h) > m ? value(b.h) : m), 0n);
  assert.equal(max(thin), max(bars), "the year's high survives");
  assert.equal(thin[0].o, bars[0].o);
  // The last point is the current price, stamped with the time it is from.
  assert.deepEqual([thin.at(-1)!.c, thin.at(-1)!.t], [bars.at(-1)!.c, bars.at(-1)!.t]);
  assert.equal(thin.reduce((s, b) => s + b.v, 0), bars.reduce((s, b) => s + b.v, 0));
  assert.equal(thinBars(bars.slice(0, 10), 60).length, 10, "short series stay as they are");
});

Deno.test("[bars] a 1D chart is the latest session, or the last 24 h where the market never closes", () => {
  // Ten minutes after midnight UTC, a Tuesday: the NYSE session on show is Monday's.
  const now = new Date("2026-12-08T00:10:00Z");
  const shares = chartWindow("1D", AAPL, nyse, now);
  assert.equal(new Date(shares.from).toISOString(), "2026-12-07T14:30:00.000Z");
  assert.equal(new Date(shares.to).toISOString(), "2026-12-07T21:00:00.000Z");
  // Crypto, and shares with MARKET_HOURS=always, have no session to show: the day so far would
  // be ten minutes, so it is the last 24 hours.
  const always = createMarketClock("always");
  for (
    const [security, clock] of [[{ ...AAPL, assetClass: "crypto" as const }, nyse], [
      AAPL,
      always,
    ]] as const
  ) {
    const window = chartWindow("1D", security, clock, now);
    assert.equal(new Date(window.from).toISOString(), "2026-12-07T00:10:00.000Z");
    assert.equal(window.to, now.getTime());
    assert.equal(window.query.timeframe, "5Min");
  }
});
