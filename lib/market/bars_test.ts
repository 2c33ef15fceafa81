/** Minute bars in `market_data`: idempotent recording, consistent OHLC, pruning, newest-first reads. */
import assert from "node:assert/strict";
import { parseFixed } from "../money.ts";
import { openKvStore } from "../store/kv.ts";
import type { Store } from "../store/port.ts";
import { type Bar, pruneBars, recentBars, recordMinuteBars } from "./bars.ts";
import { createMarketClock } from "./clock.ts";
import { type PricedSecurity, simulatedPrice } from "./simulator.ts";

const nyse = createMarketClock("nyse");
const MINUTE_MS = 60_000;
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

async function withStore(run: (store: Store) => Promise<void>): Promise<void> {
  const store = await openKvStore(":memory:");
  try {
    await store.ensureSchema();
    await run(store);
  } finally {
    await store.close();
  }
}

const minutesLater = (from: Date, minutes: number) =>
  new Date(from.getTime() + minutes * MINUTE_MS);

Deno.test("[market] bars: the minute that just ended is written once, however often it is recorded", async () => {
  await withStore(async (store) => {
    assert.equal(await recordMinuteBars(store, [AAPL, BTC], nyse, IN_SESSION), 2);
    assert.equal(
      await recordMinuteBars(store, [AAPL, BTC], nyse, minutesLater(IN_SESSION, 0.4)),
      0,
    );
    // Two instances racing on the next minute write each bar once between them.
    const next = minutesLater(IN_SESSION, 1);
    const raced = await Promise.all([
      recordMinuteBars(store, [AAPL, BTC], nyse, next),
      recordMinuteBars(store, [AAPL, BTC], nyse, next),
    ]);
    assert.equal(raced[0] + raced[1], 2);
    const bars = await recentBars(store, "AAPL", 10);
    assert.deepEqual(bars.map((b) => b._id), [
      "AAPL:2026-06-16T15:00:00.000Z",
      "AAPL:2026-06-16T14:59:00.000Z",
    ]);
    assert.deepEqual(bars[1].time, new Date("2026-06-16T14:59:00Z"));
    assert.equal(bars[1].open, simulatedPrice(AAPL, nyse, new Date("2026-06-16T14:59:00Z")));
    assert.equal(bars[1].close, simulatedPrice(AAPL, nyse, new Date("2026-06-16T14:59:55Z")));
  });
});

Deno.test("[market] bars: equities only in sessions, crypto around the clock", async () => {
  await withStore(async (store) => {
    assert.equal(await recordMinuteBars(store, [AAPL, BTC], nyse, SATURDAY), 1);
    // The minute 15:59 is the session's last; 16:00 is after the close.
    assert.equal(await recordMinuteBars(store, [AAPL], nyse, new Date("2026-06-16T20:00:10Z")), 1);
    assert.equal(await recordMinuteBars(store, [AAPL], nyse, new Date("2026-06-16T20:01:10Z")), 0);
    assert.equal((await recentBars(store, "AAPL", 10)).length, 1);
    const always = createMarketClock("always");
    assert.equal(await recordMinuteBars(store, [AAPL], always, SATURDAY), 1);
  });
});

Deno.test("[market] bars: low ≤ open, close ≤ high, at the security's decimals", async () => {
  await withStore(async (store) => {
    for (let n = 0; n < 60; n++) {
      await recordMinuteBars(store, [AAPL, BTC], nyse, minutesLater(IN_SESSION, n));
    }
    for (const symbol of ["AAPL", "BTC/USD"]) {
      const bars = await recentBars(store, symbol, 100);
      assert.equal(bars.length, 60);
      let moved = 0;
      for (const bar of bars) {
        const [open, high, low, close] = [bar.open, bar.high, bar.low, bar.close].map((p) => {
          assert.match(p, /^\d+\.\d{2}$/);
          return parseFixed(p, 2);
        });
        assert.ok(
          low <= open && open <= high && low <= close && close <= high,
          JSON.stringify(bar),
        );
        if (high > low) moved++;
      }
      assert.ok(moved > 30, `${symbol}: only ${moved} of 60 bars moved`);
    }
  });
});

Deno.test("[market] bars: pruning removes bars past the retention only, page by page", async () => {
  await withStore(async (store) => {
    // More old bars than one page of the index holds, written directly to keep the test fast.
    const old = new Date("2026-06-18T12:00:00Z");
    for (let n = 0; n < 1_100; n++) {
      const time = minutesLater(old, n);
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
    for (let n = 0; n < 5; n++) {
      await recordMinuteBars(store, [BTC], nyse, minutesLater(SATURDAY, n));
    }
    const now = minutesLater(SATURDAY, 10);
    assert.equal(await pruneBars(store, [BTC, AAPL], now), 1_100);
    assert.equal(await pruneBars(store, [BTC, AAPL], now), 0);
    assert.equal((await recentBars(store, "BTC/USD", 100)).length, 5);
    // A 10-minute retention at 15:10:30 keeps the bars from 15:01 on.
    assert.equal(await pruneBars(store, [BTC], now, 10 * MINUTE_MS), 2);
    assert.deepEqual(
      (await recentBars(store, "BTC/USD", 100)).map((b) => b.time.toISOString()),
      [
        "2026-06-20T15:03:00.000Z",
        "2026-06-20T15:02:00.000Z",
        "2026-06-20T15:01:00.000Z",
      ],
    );
  });
});

Deno.test("[market] bars: recentBars is newest first and honours the limit", async () => {
  await withStore(async (store) => {
    for (let n = 0; n < 8; n++) {
      await recordMinuteBars(store, [BTC], nyse, minutesLater(SATURDAY, n));
    }
    const bars = await recentBars(store, "BTC/USD", 3);
    assert.equal(bars.length, 3);
    const times = bars.map((b) => b.time.getTime());
    assert.deepEqual(times, [...times].sort((a, b) => b - a));
    assert.equal(bars[0].time.toISOString(), "2026-06-20T15:06:00.000Z");
    assert.deepEqual(await recentBars(store, "ETH/USD", 3), []);
  });
});
