/** The simulated market: determinism, quote shape, volatility, bounds and market-hours behaviour. */
import assert from "node:assert/strict";
import { parseFixed } from "../money.ts";
import { createMarketClock } from "./clock.ts";
import { type PricedSecurity, quoteSides, simulatedPrice, simulatedQuote } from "./simulator.ts";

const nyse = createMarketClock("nyse");
const always = createMarketClock("always");
const DAY_MS = 86_400_000;

const AAPL: PricedSecurity = {
  symbol: "AAPL",
  assetClass: "us_equity",
  referencePrice: "277.50",
  volatility: 0.27,
  priceDecimals: 2,
};
const SPY: PricedSecurity = {
  symbol: "SPY",
  assetClass: "etf",
  referencePrice: "681.20",
  volatility: 0.16,
  priceDecimals: 2,
};
const PENNY: PricedSecurity = {
  symbol: "SNDL",
  assetClass: "us_equity",
  referencePrice: "0.9100",
  volatility: 0.8,
  priceDecimals: 4,
};
const BTC: PricedSecurity = {
  symbol: "BTC/USD",
  assetClass: "crypto",
  referencePrice: "90250.00",
  volatility: 0.6,
  priceDecimals: 2,
};
const DOGE: PricedSecurity = {
  symbol: "DOGE/USD",
  assetClass: "crypto",
  referencePrice: "0.14250",
  volatility: 0.9,
  priceDecimals: 5,
};
const ALL = [AAPL, SPY, PENNY, BTC, DOGE];

const at = (iso: string) => new Date(iso);
const num = (text: string) => parseFixed(text, 8);

/** A deterministic spread of instants over 2026, including nights and weekends. */
function instants(count: number): Date[] {
  const start = Date.UTC(2026, 0, 1);
  return Array.from(
    { length: count },
    (_, n) => new Date(start + ((n * 7_919_777_123) % (365 * DAY_MS))),
  );
}

function stdev(values: number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
}

function logReturns(prices: string[]): number[] {
  const logs = prices.map((p) => Math.log(Number(p)));
  return logs.slice(1).map((value, n) => value - logs[n]);
}

Deno.test("[market] the simulator is a pure function: same inputs, same quote", () => {
  for (const security of ALL) {
    for (const when of instants(20)) {
      assert.deepEqual(
        simulatedQuote(security, nyse, when),
        simulatedQuote({ ...security }, createMarketClock("nyse"), new Date(when)),
      );
    }
  }
});

Deno.test("[market] quotes: 0 < bid < ask, bid ≤ last ≤ ask, every price at the security's decimals", () => {
  for (const security of ALL) {
    const decimals = new RegExp(`^\\d+\\.\\d{${security.priceDecimals}}$`);
    for (const when of instants(300)) {
      for (const clock of [nyse, always]) {
        const q = simulatedQuote(security, clock, when);
        for (const price of [q.bid, q.ask, q.last, q.open, q.prevClose]) {
          assert.match(price, decimals, `${security.symbol} ${price}`);
          assert.ok(num(price) > 0n, `${security.symbol} ${price}`);
        }
        assert.ok(num(q.bid) < num(q.ask), `${q.bid} < ${q.ask}`);
        assert.ok(num(q.bid) <= num(q.last) && num(q.last) <= num(q.ask), JSON.stringify(q));
        assert.equal(q.last, simulatedPrice(security, clock, when));
        assert.equal(q.symbol, security.symbol);
      }
    }
  }
});

Deno.test("[market] spreads: a few basis points for large caps, wider for crypto, at least a tick", () => {
  const spreadBps = (q: { bid: string; ask: string; last: string }) =>
    (Number(q.ask) - Number(q.bid)) / Number(q.last) * 10_000;
  const aapl = simulatedQuote(AAPL, nyse, at("2026-06-16T15:00:00Z"));
  const btc = simulatedQuote(BTC, nyse, at("2026-06-16T15:00:00Z"));
  assert.ok(spreadBps(aapl) > 0 && spreadBps(aapl) < 5, JSON.stringify(aapl));
  assert.ok(spreadBps(btc) > spreadBps(aapl), JSON.stringify(btc));
  // A tiny mid still gets a one-tick bid and a higher ask.
  assert.deepEqual(quoteSides(AAPL, 1n), { bid: "0.01", ask: "0.02", last: "0.01" });
  assert.deepEqual(quoteSides(AAPL, num("100")), { bid: "99.99", ask: "100.01", last: "100.00" });
});

Deno.test("[market] daily volatility matches the annualised volatility (equities per session, crypto per day)", () => {
  const ratios: number[] = [];
  for (const symbol of ["AAPL", "MSFT", "XOM", "KO"]) {
    const security = { ...AAPL, symbol, volatility: 0.3 };
    const closes: string[] = [];
    let when = at("2026-01-02T12:00:00Z");
    for (let n = 0; n < 504; n++) {
      const session = nyse.nextSession(when);
      closes.push(simulatedPrice(security, nyse, session.close));
      when = session.close;
    }
    const ratio = stdev(logReturns(closes)) / (0.3 / Math.sqrt(252));
    ratios.push(ratio);
    assert.ok(ratio > 0.5 && ratio < 2, `${symbol}: ${ratio}`);
  }
  for (const symbol of ["BTC/USD", "ETH/USD", "SOL/USD", "DOGE/USD"]) {
    const security = { ...BTC, symbol, volatility: 0.8 };
    const start = Date.UTC(2026, 0, 1);
    const prices = Array.from(
      { length: 730 },
      (_, n) => simulatedPrice(security, nyse, new Date(start + n * DAY_MS)),
    );
    const ratio = stdev(logReturns(prices)) / (0.8 / Math.sqrt(365));
    ratios.push(ratio);
    assert.ok(ratio > 0.5 && ratio < 2, `${symbol}: ${ratio}`);
  }
  // Printed so the calibration can be read from the test output.
  console.log(`measured/expected daily stdev: ${ratios.map((r) => r.toFixed(2)).join(" ")}`);
});

Deno.test("[market] prices stay within 0.2×–5× of the reference over a year", () => {
  for (const security of [{ ...DOGE, volatility: 1.2 }, { ...PENNY, volatility: 1.2 }, AAPL]) {
    const reference = Number(security.referencePrice);
    const start = Date.UTC(2026, 0, 1);
    for (let hour = 0; hour < 365 * 24; hour += 6) {
      const ratio = Number(simulatedPrice(security, nyse, new Date(start + hour * 3_600_000))) /
        reference;
      assert.ok(ratio > 0.2 && ratio < 5, `${security.symbol} at hour ${hour}: ${ratio}`);
    }
  }
});

Deno.test("[market] equities hold the after-hours close while the market is closed; crypto keeps moving", () => {
  // Friday 12 June 2026: after-hours end at 20:00 New York time, Saturday 00:00 UTC.
  const fridayEnd = at("2026-06-13T00:00:00Z");
  const frozen = simulatedPrice(AAPL, nyse, fridayEnd);
  for (
    const iso of [
      "2026-06-13T00:00:00Z",
      "2026-06-13T16:00:00Z",
      "2026-06-14T23:00:00Z",
      "2026-06-15T07:59:59Z",
    ]
  ) {
    assert.equal(simulatedPrice(AAPL, nyse, at(iso)), frozen, iso);
  }
  const saturday = simulatedQuote(AAPL, nyse, at("2026-06-13T16:00:00Z"));
  assert.equal(saturday.last, frozen);
  assert.equal(saturday.time, fridayEnd.toISOString());
  // Before the end of after-hours it still moves; crypto and the always-open clock move on Saturday.
  assert.notEqual(simulatedPrice(AAPL, nyse, at("2026-06-12T23:00:00Z")), frozen);
  const moves = (security: PricedSecurity, clock = nyse) =>
    simulatedPrice(security, clock, at("2026-06-13T12:00:00Z")) !==
      simulatedPrice(security, clock, at("2026-06-13T18:00:00Z"));
  assert.ok(moves(BTC));
  assert.ok(moves(AAPL, always));
  assert.ok(!moves(AAPL));
});

Deno.test("[market] pre-market and after-hours prices move, less than the session, with no jump at the open or the close", () => {
  let preMoves = 0;
  let postMoves = 0;
  const preChanges: number[] = [];
  const sessionChanges: number[] = [];
  let days = 0;
  for (let day = Date.UTC(2026, 0, 2); day < Date.UTC(2027, 0, 1); day += DAY_MS) {
    const session = nyse.sessionOn(new Date(day + 17 * 3_600_000));
    if (!session) continue;
    days++;
    const price = (time: number) => Number(simulatedPrice(SPY, nyse, new Date(time)));
    const [preOpen, open, close, postClose] = [
      session.preOpen,
      session.open,
      session.close,
      session.postClose,
    ].map((d) => d.getTime());
    if (price(preOpen) !== price(open - 1)) preMoves++;
    if (price(close) !== price(postClose - 1)) postMoves++;
    // Across the open and the close a millisecond moves the price by a tick at most.
    for (const edge of [open, close]) {
      assert.ok(Math.abs(price(edge) - price(edge - 1)) <= 0.011, `${session.date} at ${edge}`);
    }
    // An hour of pre-market against an hour of the regular session.
    preChanges.push(Math.log(price(open - 1) / price(open - 3_600_000)));
    sessionChanges.push(Math.log(price(open + 3_600_000) / price(open)));
    // The quote says so: the spread is wider outside the regular session.
    const spread = (time: number) => {
      const q = simulatedQuote(SPY, nyse, new Date(time));
      return Number(q.ask) - Number(q.bid);
    };
    assert.ok(spread(open - 60_000) > spread(open + 60_000), session.date);
    assert.ok(spread(close + 60_000) > spread(close - 60_000), session.date);
  }
  assert.ok(preMoves > days * 0.9, `pre-market moved on ${preMoves} of ${days} days`);
  assert.ok(postMoves > days * 0.9, `after-hours moved on ${postMoves} of ${days} days`);
  const ratio = stdev(preChanges) / stdev(sessionChanges);
  // √(0.4 / 3) ≈ 0.37 by construction; the sample of a year is noisy.
  assert.ok(ratio > 0.2 && ratio < 0.6, `pre-market / session hourly volatility ${ratio}`);
});

Deno.test("[market] open and prevClose come from the current session's open and the previous close", () => {
  const cases: [string, string, string][] = [
    // at, session open, previous close
    ["2026-06-16T15:00:00Z", "2026-06-16T13:30:00Z", "2026-06-15T20:00:00Z"],
    // Monday: the previous close is Friday's.
    ["2026-06-15T15:00:00Z", "2026-06-15T13:30:00Z", "2026-06-12T20:00:00Z"],
    // Before Monday's open, and over the weekend, the day is still Friday's.
    ["2026-06-15T12:00:00Z", "2026-06-12T13:30:00Z", "2026-06-11T20:00:00Z"],
    ["2026-06-13T12:00:00Z", "2026-06-12T13:30:00Z", "2026-06-11T20:00:00Z"],
    // After Good Friday 2026 the previous close is Thursday's.
    ["2026-04-06T15:00:00Z", "2026-04-06T13:30:00Z", "2026-04-02T20:00:00Z"],
    // The day after Thanksgiving closes at 13:00.
    ["2026-11-30T15:00:00Z", "2026-11-30T14:30:00Z", "2026-11-27T18:00:00Z"],
  ];
  for (const [now, open, prevClose] of cases) {
    const q = simulatedQuote(AAPL, nyse, at(now));
    assert.equal(q.open, simulatedPrice(AAPL, nyse, at(open)), `open at ${now}`);
    assert.equal(q.prevClose, simulatedPrice(AAPL, nyse, at(prevClose)), `prevClose at ${now}`);
    assert.equal(q.prevClose, simulatedPrice(AAPL, nyse, nyse.previousSession(at(open)).close));
  }
  const btc = simulatedQuote(BTC, nyse, at("2026-06-13T15:00:00Z"));
  assert.equal(btc.open, simulatedPrice(BTC, nyse, at("2026-06-13T00:00:00Z")));
  assert.equal(btc.prevClose, simulatedPrice(BTC, nyse, at("2026-06-12T15:00:00Z")));
});

Deno.test("[market] two symbols with the same parameters follow different paths", () => {
  const other = { ...AAPL, symbol: "MSFT" };
  const paths = [AAPL, other].map((security) =>
    instants(50).map((when) => simulatedPrice(security, always, when))
  );
  assert.notDeepEqual(paths[0], paths[1]);
  const same = paths[0].filter((price, n) => price === paths[1][n]).length;
  assert.ok(same < 5, `${same} of 50 prices coincide`);
});
