/**
 * Portfolio memory: the recorder writes one point per account and instant however many instances
 * run it, keeps daily points and thins intraday ones; the statistics match hand-computed values;
 * allocation adds up to equity.
 */
import assert from "node:assert/strict";
import { testApp } from "../../routes/testing.ts";
import { parseFixed } from "../money.ts";
import { type Account, activeAccount, openAccountOps, resetDemoAccount } from "./accounts.ts";
import { allocationOf } from "./allocation.ts";
import {
  type EquityPoint,
  equitySeries,
  historyJson,
  pruneEquityPoints,
  recordEquityPoints,
} from "./equity_history.ts";
import { performanceOf } from "./performance.ts";
import { placeOrder } from "./orders.ts";
import { accountSnapshot } from "./portfolio.ts";

type App = Awaited<ReturnType<typeof testApp>>;
const NOW = new Date("2026-06-02T15:00:00.250Z");
const DAY = 86_400_000;
const day = (n: number) => new Date(Date.UTC(2026, 0, 1 + n, 21));
const sample = (n: number, equity: string) => ({ at: day(n), equity: parseFixed(equity, 2) });

async function trader(t: App, userId: string, at = NOW): Promise<Account> {
  await t.deps.store.insert<{ _id: string; _v: number; email: string }>("users", {
    _id: userId,
    email: `${userId}@example.com`,
  });
  await t.deps.store.commit(openAccountOps(userId, 1, "100000", at).ops);
  return (await activeAccount(t.deps.store, userId))!;
}

async function points(t: App, accountId: string) {
  const page = await t.deps.store.find<EquityPoint>("equity_points", {
    where: { accountId, timeframe: "5Min" },
    sort: { field: "at", direction: 1 },
    limit: 1000,
  });
  const daily = await t.deps.store.find<EquityPoint>("equity_points", {
    where: { accountId, timeframe: "1Day" },
    sort: { field: "at", direction: 1 },
    limit: 1000,
  });
  return { intraday: page.items, daily: daily.items };
}

Deno.test("[performance] the statistics of a hand-computed series", () => {
  // 100 → 110 (+10 %) → 99 (−10 %) → 120 (+21.2121… %): chained, exactly +20 %.
  const series = [sample(0, "100"), sample(1, "110"), sample(2, "99"), sample(3, "120")];
  const p = performanceOf(series, [], {
    symbol: "SPY",
    closes: [{ at: day(0), close: 500 }, { at: day(3), close: 510 }],
  });
  assert.equal(p.timeWeightedReturn, "20.00");
  assert.equal(p.moneyWeightedReturn, "20.00", "no flows: the same as the simple return");
  assert.deepEqual(p.maxDrawdown, {
    percent: "-10.00",
    peakAt: day(1).toISOString(),
    troughAt: day(2).toISOString(),
  });
  assert.deepEqual(p.bestDay, { at: day(3).toISOString(), percent: "21.21" });
  assert.deepEqual(p.worstDay, { at: day(2).toISOString(), percent: "-10.00" });
  // Sample standard deviation of (0.1, −0.1, 0.212121…) is 0.1581090…, × √252 = 2.509933…
  assert.equal(p.volatility, "250.99");
  assert.equal(p.benchmark.return, "2.00");
  assert.equal(p.days, 3);
  // A loss that rounds to nothing is shown as none, not as "-0.00".
  const flat = performanceOf([sample(0, "100000"), sample(1, "99999.99")], [], {
    symbol: "SPY",
    closes: [],
  });
  assert.equal(flat.timeWeightedReturn, "0.00");
});

Deno.test("[performance] a deposit is not a gain for the time-weighted return; the money-weighted one weighs it", () => {
  // 1,000 grows 10 % over the first day, then 1,000 comes in and the whole is flat.
  const series = [sample(0, "1000"), sample(1, "1100"), sample(2, "2100")];
  const p = performanceOf(series, [{ at: day(2), amount: 1000 }], { symbol: "SPY", closes: [] });
  assert.equal(p.timeWeightedReturn, "10.00");
  // 1000 (1 + r) + 1000 = 2100 with the deposit at the end: r = 10 %.
  assert.equal(p.moneyWeightedReturn, "10.00");
  assert.equal(p.benchmark.return, null, "no benchmark data: said, not invented");
  // A deposit halfway: +5 % on 1,000, then +9.52 % on 2,050 chain to +15 %; the money-weighted
  // return solves 1000 (1 + r) + 1000 (1 + r)^½ = 2150, r ≈ 10.08 %: the later money earned less.
  const mid = performanceOf(
    [sample(0, "1000"), sample(1, "1050"), sample(2, "2150")],
    [{ at: new Date(day(1).getTime() + 1), amount: 1000 }],
    { symbol: "SPY", closes: [] },
  );
  assert.equal(mid.timeWeightedReturn, "15.00");
  assert.equal(mid.moneyWeightedReturn, "10.08");
});

Deno.test("[equity history] two recorders at once write one point per account and instant; daily points stay, old intraday ones go", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const a = await trader(t, "u1", new Date(NOW.getTime() - 3 * DAY));
  const b = await trader(t, "u2", new Date(NOW.getTime() - 3 * DAY));
  await placeOrder(
    ctx,
    "u1",
    {
      symbol: "AAPL",
      side: "buy",
      type: "market",
      timeInForce: "day",
      qty: 10,
    },
    {},
    NOW,
  );
  const written = await Promise.all([
    recordEquityPoints(ctx, NOW),
    recordEquityPoints(ctx, NOW),
  ]);
  // Per account: the slot's intraday point and the last closed session's daily point.
  assert.equal(written[0] + written[1], 4, JSON.stringify(written));
  const mine = await points(t, a._id);
  assert.equal(mine.intraday.length, 1);
  assert.equal(
    mine.intraday[0].at.toISOString(),
    "2026-06-02T15:00:00.000Z",
    "on the 5-minute slot",
  );
  const fresh = (await t.deps.store.get<Account>("accounts", a._id))!;
  const snapshot = await accountSnapshot(ctx, fresh, mine.intraday[0].at);
  assert.equal(mine.intraday[0].equity, snapshot.account.equity);
  assert.equal(mine.daily.length, 1);
  assert.equal((await points(t, b._id)).intraday[0].equity, "100000.00");

  // A minute later the slot is the same: nothing new. Five minutes later, one more each.
  assert.equal(await recordEquityPoints(ctx, new Date(NOW.getTime() + 60_000)), 0);
  assert.equal(await recordEquityPoints(ctx, new Date(NOW.getTime() + 5 * 60_000)), 2);

  // The history shows the opening, the points and now; 1Hour keeps the last point of each hour.
  const series = await equitySeries(ctx, fresh, "1W", "5Min", new Date(NOW.getTime() + 6 * 60_000));
  assert.deepEqual(series.map((p) => p.at.toISOString()), [
    a.createdAt.toISOString(),
    "2026-06-02T15:00:00.000Z",
    "2026-06-02T15:05:00.000Z",
    "2026-06-02T15:06:00.250Z",
  ]);
  const json = historyJson(series, "5Min");
  assert.equal(json.baseValue, "100000.00");
  assert.equal(json.profitLoss[0], "0.00");
  assert.equal(json.equity.length, json.timestamps.length);

  // Thirty days on, intraday points are pruned and the daily one is kept.
  assert.equal(await pruneEquityPoints(t.deps.store, new Date(NOW.getTime() + 31 * DAY)), 4);
  const after = await points(t, a._id);
  assert.deepEqual([after.intraday.length, after.daily.length], [0, 1]);
});

Deno.test("[allocation] asset classes, sectors and positions add up to equity", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const account = await trader(t, "u1");
  for (
    const [symbol, qty, tif] of [["AAPL", 10, "day"], ["XOM", 20, "day"], ["BTC/USD", 0.1, "gtc"]]
  ) {
    await placeOrder(
      ctx,
      "u1",
      {
        symbol: String(symbol),
        side: "buy",
        type: "market",
        timeInForce: String(tif),
        qty,
      },
      {},
      NOW,
    );
  }
  const snapshot = await accountSnapshot(ctx, account, NOW);
  const allocation = allocationOf(snapshot, ctx.market.catalog);
  const sum = (slices: { value: string }[]) =>
    slices.reduce((s, x) => s + parseFixed(x.value, 2), 0n);
  const equity = parseFixed(snapshot.account.equity, 2);
  for (const slices of [allocation.byAssetClass, allocation.bySector, allocation.byPosition]) {
    assert.equal(sum(slices), equity);
  }
  assert.deepEqual(allocation.byAssetClass.map((s) => s.name).sort(), [
    "Cash",
    "Crypto",
    "Stocks",
  ]);
  assert.ok(allocation.bySector.some((s) => s.name === "Information Technology"));
  assert.ok(allocation.bySector.some((s) => s.name === "Energy"));
  assert.equal(allocation.byPosition[0].name, "Cash", "largest first");
});

Deno.test("[equity history] a reset starts a new history; the closed account keeps its own", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const first = await trader(t, "u1", new Date(NOW.getTime() - DAY));
  await placeOrder(
    ctx,
    "u1",
    {
      symbol: "AAPL",
      side: "buy",
      type: "market",
      timeInForce: "day",
      qty: 100,
    },
    {},
    NOW,
  );
  await recordEquityPoints(ctx, NOW);
  const origin = { ip: "127.0.0.1", userAgent: "test" };
  const current = (await t.deps.store.get<Account>("accounts", first._id))!;
  const second = await resetDemoAccount(t.deps.store, current, "50000", origin, NOW);
  const later = new Date(NOW.getTime() + 10 * 60_000);
  await recordEquityPoints(ctx, later);

  const closed = (await t.deps.store.get<Account>("accounts", first._id))!;
  const old = await equitySeries(ctx, closed, "1W", "5Min", later);
  // The closed account: its opening and its point before the reset, nothing after, no "now".
  assert.deepEqual(old.map((p) => p.at.toISOString()), [
    first.createdAt.toISOString(),
    "2026-06-02T15:00:00.000Z",
  ]);
  const fresh = await equitySeries(ctx, second, "1W", "5Min", later);
  // The new account starts at its own opening with its own starting cash: the reset is not a loss.
  assert.equal(fresh[0].at.toISOString(), second.createdAt.toISOString());
  assert.equal(historyJson(fresh, "5Min").baseValue, "50000.00");
  assert.ok(fresh.every((p) => p.equity === parseFixed("50000", 2)), "cash only, unchanged");
  const performance = performanceOf(fresh, [], { symbol: "SPY", closes: [] });
  assert.equal(performance.timeWeightedReturn, "0.00");
});
