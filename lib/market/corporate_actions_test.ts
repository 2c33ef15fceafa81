/** The schedule of simulated corporate actions, and prices, quotes and bars across a split. */
import assert from "node:assert/strict";
import { simulatedBars } from "./bars.ts";
import { createMarketClock } from "./clock.ts";
import {
  allSplitsBetween,
  dividendsBetween,
  isDividendPayer,
  SCHEDULE_START,
  splitFactor,
} from "./corporate_actions.ts";
import { SECURITY_SEEDS } from "./securities_data.ts";
import { simulatedPrice, simulatedQuote } from "./simulator.ts";

const clock = createMarketClock("nyse");
const seed = (symbol: string) => SECURITY_SEEDS.find((s) => s.symbol === symbol)!;
const YEAR_START = new Date("2027-01-01T00:00:00Z");
const YEAR_END = new Date("2028-01-01T00:00:00Z");

Deno.test("dividends: four a year for a payer, on trading days, record = ex, paid weeks later; none for crypto or non-payers", () => {
  for (const symbol of ["KO", "JNJ", "PG", "AAPL", "MSFT", "SPY"]) {
    const dividends = dividendsBetween(seed(symbol), YEAR_START, YEAR_END);
    assert.equal(dividends.length, 4, symbol);
    for (const d of dividends) {
      assert.ok(clock.sessionOn(new Date(`${d.exDate}T17:00:00Z`)), `${d.id} ex on a trading day`);
      assert.ok(
        clock.sessionOn(new Date(`${d.payDate}T17:00:00Z`)),
        `${d.id} paid on a trading day`,
      );
      assert.equal(d.recordDate, d.exDate);
      assert.ok(d.declaredAt < d.cutoffAt && d.cutoffAt < d.payAt);
      assert.match(d.amount, /^0\.\d{4}$|^[1-9]\d*\.\d{4}$/);
      assert.ok(Number(d.amount) > 0);
    }
  }
  assert.deepEqual(dividendsBetween(seed("BTC/USD"), YEAR_START, YEAR_END), []);
  assert.deepEqual(dividendsBetween(seed("TSLA"), YEAR_START, YEAR_END), []);
  // Nothing before the schedule starts.
  assert.deepEqual(dividendsBetween(seed("KO"), new Date("2025-01-01"), SCHEDULE_START), []);
  assert.ok(dividendsBetween(seed("KO"), SCHEDULE_START, YEAR_START).length > 0, "from its start");
  // The same in every call (and so in every instance).
  assert.deepEqual(
    dividendsBetween(seed("KO"), YEAR_START, YEAR_END),
    dividendsBetween(seed("KO"), YEAR_START, YEAR_END),
  );
});

Deno.test("splits: a few a year, forward 2, 3 or 4 to 1, of non-payers only", () => {
  const splits = allSplitsBetween(YEAR_START, new Date("2032-01-01T00:00:00Z"));
  assert.ok(splits.length >= 5 && splits.length <= 30, `${splits.length} splits in five years`);
  for (const split of splits) {
    assert.ok([2, 3, 4].includes(split.ratio));
    assert.ok(!isDividendPayer(split.symbol));
    assert.equal(seed(split.symbol).assetClass, "us_equity");
    assert.ok(clock.sessionOn(new Date(`${split.exDate}T17:00:00Z`)));
  }
});

Deno.test("a split: the price path continues ÷ the ratio; quotes and bars are shown in today's shares", () => {
  const amd = seed("AMD");
  const effective = new Date("2027-04-16T04:00:00Z");
  assert.equal(splitFactor("AMD", effective), 2);
  // The session before and the one after: the last close before, then the first quote after.
  const before = Number(simulatedPrice(amd, clock, new Date(effective.getTime() - 1)));
  const after = Number(simulatedPrice(amd, clock, effective));
  assert.ok(Math.abs(after * 2 - before) <= 0.02, `${before} then ${after}`);

  // The morning after, the previous close is shown halved: the day's change is the market's.
  const at = new Date("2027-04-16T14:00:00Z");
  const morning = simulatedQuote(amd, clock, at);
  const close = Number(simulatedPrice(amd, clock, clock.previousSession(at).close));
  assert.ok(Math.abs(Number(morning.prevClose) * 2 - close) <= 0.02, `${morning.prevClose}`);
  assert.ok(Math.abs(Number(morning.last) / Number(morning.prevClose) - 1) < 0.1);

  // Daily bars asked for after the split are adjusted all the way back; asked before, they are not.
  const query = {
    timeframe: "1Day" as const,
    start: new Date("2027-04-12T00:00:00Z"),
    end: new Date("2027-04-20T00:00:00Z"),
    limit: 10,
  };
  const adjusted = simulatedBars(amd, clock, query, new Date("2027-04-20T00:00:00Z"));
  const unadjusted = simulatedBars(amd, clock, query, new Date("2027-04-16T00:00:00Z"));
  const closeOf = (bars: typeof adjusted, day: string) =>
    Number(bars.find((b) => b.t.startsWith(day))!.c);
  assert.ok(
    Math.abs(closeOf(adjusted, "2027-04-15") * 2 - closeOf(unadjusted, "2027-04-15")) <= 0.02,
  );
  for (let n = 1; n < adjusted.length; n++) {
    const move = Number(adjusted[n].c) / Number(adjusted[n - 1].c);
    assert.ok(move > 0.8 && move < 1.25, `no split-sized jump in the adjusted chart: ${move}`);
  }
});
