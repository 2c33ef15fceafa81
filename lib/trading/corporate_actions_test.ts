/**
 * Corporate actions booked by the worker on the real app (in-memory KV): dividends to holders of
 * record, once, whoever runs the job; splits applied to positions, lots and working orders without
 * changing anyone's value; the integrity scan passing after them and failing on a corruption.
 */
import assert from "node:assert/strict";
import { testApi as api, testApp } from "../../routes/testing.ts";
import { dividendsBetween, splitFactor, splitsBetween } from "../market/corporate_actions.ts";
import { formatFixed, parseFixed, SCALE } from "../money.ts";
import { findAll } from "../store/find_all.ts";
import type { Account } from "./accounts.ts";
import {
  bookingId,
  corporateActionJson,
  declaredActions,
  type DividendEntitlement,
  runCorporateActions,
  type SplitBooking,
  splitOrder,
} from "./corporate_actions.ts";
import { type Alert, createAlert, runAlertPass, splitAlerts } from "./alerts.ts";
import { recordEquityPoints } from "./equity_history.ts";
import { checkIntegrity } from "./integrity.ts";
import type { LedgerEntry } from "./ledger.ts";
import type { Lot } from "./lots.ts";
import { type Order, placeOrder } from "./orders.ts";
import { accountSnapshot } from "./portfolio.ts";
import type { Position } from "./positions.ts";

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
type App = Awaited<ReturnType<typeof testApp>>;

/** Coca-Cola's first simulated dividend: ex-date (and record date) 11 January 2027. */
const KO_DIVIDEND = {
  id: "div:KO:2027-01-11",
  exDate: "2027-01-11",
  payDate: "2027-01-29",
  amount: "0.5702",
};
/** AMD's 2:1 split, in effect from 00:00 New York on 16 April 2027. */
const AMD_SPLIT = { id: "split:AMD:2027-04-16", effectiveAt: new Date("2027-04-16T04:00:00Z") };

const at = (base: Date, ms: number) => new Date(base.getTime() + ms);

async function traderOf(t: App, email: string) {
  const trader = await api(t).trader(email);
  return { ...trader, userId: trader.accountId.split(":")[0] };
}

async function buy(t: App, userId: string, symbol: string, qty: number, now: Date) {
  return (await placeOrder(
    t.deps.trading,
    userId,
    { symbol, side: "buy", type: "market", timeInForce: "day", qty: String(qty) },
    {},
    now,
  )).order;
}

async function dividendEntries(t: App, accountId: string): Promise<LedgerEntry[]> {
  return (await findAll<LedgerEntry>(t.deps.store, "cash_ledger", { where: { accountId } }))
    .filter((e) => e.type === "dividend");
}

Deno.test("the schedule: KO's declared dividend and AMD's split are what these tests assume", () => {
  const ko = {
    symbol: "KO",
    assetClass: "us_equity",
    referencePrice: "70.40",
    volatility: 0.15,
    priceDecimals: 2,
  } as const;
  const [dividend] = dividendsBetween(ko, new Date("2027-01-01"), new Date("2027-02-01"));
  assert.equal(dividend.id, KO_DIVIDEND.id);
  assert.equal(dividend.recordDate, KO_DIVIDEND.exDate);
  assert.equal(dividend.payDate, KO_DIVIDEND.payDate);
  assert.equal(dividend.amount, KO_DIVIDEND.amount);
  const [split] = splitsBetween("AMD", new Date("2027-01-01"), new Date("2028-01-01"));
  assert.equal(split.id, AMD_SPLIT.id);
  assert.equal(split.ratio, 2);
  assert.deepEqual(split.effectiveAt, AMD_SPLIT.effectiveAt);
  assert.equal(splitFactor("AMD", at(AMD_SPLIT.effectiveAt, -1)), 1);
  assert.equal(splitFactor("AMD", AMD_SPLIT.effectiveAt), 2);
  // Payers never split, and crypto has no actions at all.
  assert.deepEqual(splitsBetween("KO", new Date("2027-01-01"), new Date("2040-01-01")), []);
});

Deno.test("a dividend: the holder of record is paid qty × amount down to the cent, once; a later buyer nothing", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const cutoff = new Date("2027-01-11T05:00:00Z");
  const payAt = new Date("2027-01-29T05:00:00Z");
  const holder = await traderOf(t, "holder@example.com");
  const late = await traderOf(t, "late@example.com");
  const seller = await traderOf(t, "seller@example.com");

  await buy(t, holder.userId, "KO", 100, at(cutoff, -DAY_MS));
  // Sold on the ex-date: still the holder of record, so still paid.
  await buy(t, seller.userId, "KO", 7, at(cutoff, -DAY_MS));
  await placeOrder(
    ctx,
    seller.userId,
    {
      symbol: "KO",
      side: "sell",
      type: "market",
      timeInForce: "day",
      qty: "7",
    },
    {},
    at(cutoff, 30 * MINUTE_MS),
  );
  // Bought on the ex-date: not entitled.
  await buy(t, late.userId, "KO", 100, at(cutoff, 30 * MINUTE_MS));

  // Before the record date nothing is captured; the job runs late, yet captures what was held then.
  assert.deepEqual(await runCorporateActions(ctx, at(cutoff, -MINUTE_MS)), {
    captured: 0,
    paid: 0,
    split: 0,
  });
  const captured = await runCorporateActions(ctx, at(cutoff, 2 * 3_600_000));
  assert.equal(captured.captured, 2);
  assert.equal(captured.paid, 0, "not before the pay date");
  assert.deepEqual(await dividendEntries(t, holder.accountId), []);

  // Two instances reach the pay date at once: each entitlement is paid exactly once.
  const [a, b] = await Promise.all([
    runCorporateActions(ctx, at(payAt, MINUTE_MS)),
    runCorporateActions(ctx, at(payAt, MINUTE_MS)),
  ]);
  assert.equal(a.paid + b.paid, 2);
  assert.equal((await runCorporateActions(ctx, at(payAt, 2 * MINUTE_MS))).paid, 0);

  const [paid] = await dividendEntries(t, holder.accountId);
  // 100 × $0.5702 = $57.02.
  assert.equal(paid.amount, "57.02");
  assert.equal(paid.symbol, "KO");
  assert.equal(paid.actionId, KO_DIVIDEND.id);
  assert.equal((await dividendEntries(t, holder.accountId)).length, 1);
  // 7 × $0.5702 = $3.9914, rounded down to $3.99.
  assert.deepEqual((await dividendEntries(t, seller.accountId)).map((e) => e.amount), ["3.99"]);
  assert.deepEqual(await dividendEntries(t, late.accountId), []);

  // The holder sees it in the cash activity, JSON and CSV, as a dividend on KO.
  const { activities } = await api(t).call(`/api/activities`, { cookie: holder.cookie });
  const shown = activities.find((e: { type: string }) => e.type === "dividend");
  assert.equal(shown.symbol, "KO");
  assert.equal(shown.amount, "57.02");
  const csv = await (await api(t).request(
    "/api/exports/activities.csv?from=2027-01-01&to=2027-02-28",
    { cookie: holder.cookie },
  )).text();
  const [header, ...rows] = csv.trim().split(/\r?\n/);
  assert.match(header, /,type,.*,symbol$/);
  assert.ok(rows.some((row) => row.includes(",dividend,57.02,") && row.endsWith(",KO")), csv);

  const page = await (await api(t).request("/history", { cookie: holder.cookie })).text();
  assert.match(page, /data-label="Type">dividend</);
  assert.match(page, /Dividend KO: 100 sh × \$0\.5702/);

  assert.deepEqual((await checkIntegrity(t.deps.store)).problems, []);

  // A booking corrupted to a cent more than qty × amount rounded down is reported.
  const right = (await t.deps.store.get<DividendEntitlement>(
    "dividend_entitlements",
    bookingId(KO_DIVIDEND.id, holder.accountId),
  ))!;
  await t.deps.store.update("dividend_entitlements", right._id, { cash: "57.03" });
  const problems = (await checkIntegrity(t.deps.store)).problems;
  assert.ok(
    problems.some((p) => p.includes("rounded down is 57.02, not 57.03")),
    problems.join("\n"),
  );
  assert.ok(problems.some((p) => p.includes("not its entitlement's 57.03")), problems.join("\n"));
  // An entitlement on more shares than were held at the record date (cash consistent with it).
  await t.deps.store.update("dividend_entitlements", right._id, { qty: "101", cash: "57.59" });
  const overstated = (await checkIntegrity(t.deps.store)).problems;
  assert.ok(
    overstated.some((p) => p.includes("entitled on 101 shares, but 100 were held")),
    overstated.join("\n"),
  );
  assert.ok(!overstated.some((p) => p.includes("rounded down")), overstated.join("\n"));
  await t.deps.store.update("dividend_entitlements", right._id, {
    qty: "100",
    cash: "57.02",
    status: "pending",
  });
  const pending = (await checkIntegrity(t.deps.store)).problems;
  assert.ok(pending.some((p) => p.includes("pending, but")), pending.join("\n"));
});

Deno.test("the declared actions: what was declared by then, with dates and amounts; the API answers them and refuses bad input", async () => {
  await using t = await testApp();
  const ko = t.deps.trading.market.catalog.get("KO")!;
  const window = [new Date("2027-01-01"), new Date("2027-03-01")] as const;
  // Declared 21 days before the ex-date: not listed the day before, listed from that day.
  assert.deepEqual(declaredActions(ko, ...window, new Date("2026-12-20T12:00:00Z")), []);
  const [listed] = declaredActions(ko, ...window, new Date("2026-12-21T12:00:00Z"));
  assert.deepEqual(corporateActionJson(listed), {
    id: KO_DIVIDEND.id,
    type: "dividend",
    symbol: "KO",
    declaredDate: "2026-12-21",
    exDate: KO_DIVIDEND.exDate,
    recordDate: KO_DIVIDEND.exDate,
    payDate: KO_DIVIDEND.payDate,
    cashAmount: KO_DIVIDEND.amount,
    ratio: null,
  });
  const amd = t.deps.trading.market.catalog.get("AMD")!;
  const [split] = declaredActions(
    amd,
    new Date("2027-04-01"),
    new Date("2027-05-01"),
    new Date("2027-04-01"),
  );
  assert.equal(corporateActionJson(split).ratio, "2:1");

  // The API lists what is declared as of now, from the same schedule.
  const query = "start=2027-01-01&end=2031-01-01";
  const res = await api(t).call(`/api/corporate-actions?symbol=ko&${query}`);
  assert.equal(res.symbol, "KO");
  const expected = declaredActions(ko, new Date("2027-01-01"), new Date("2031-01-01"), new Date());
  assert.deepEqual(res.actions.map((a: { id: string }) => a.id), expected.map((a) => a.id));
  assert.equal((await api(t).request("/api/corporate-actions?symbol=NOPE")).status, 404);
  assert.equal((await api(t).request("/api/corporate-actions")).status, 422);
  assert.equal(
    (await api(t).request("/api/corporate-actions?symbol=KO&start=2027-05-01&end=2027-01-01"))
      .status,
    422,
  );
  assert.equal(
    (await api(t).request("/api/corporate-actions?symbol=KO&start=2027-01-01&end=2037-01-01"))
      .status,
    422,
  );
  const btc = await api(t).call(`/api/corporate-actions?symbol=BTC/USD&${query}`);
  assert.deepEqual(btc.actions, []);
});

Deno.test("a 2:1 split: two lots, an open limit buy and an open stop sell adjusted in one unit; value and buying power unchanged", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const { store } = t.deps;
  const effective = AMD_SPLIT.effectiveAt;
  const trader = await traderOf(t, "split@example.com");
  await buy(t, trader.userId, "AMD", 10, at(effective, -3 * DAY_MS));
  await buy(t, trader.userId, "AMD", 6, at(effective, -2 * DAY_MS));
  const limitBuy = (await placeOrder(
    ctx,
    trader.userId,
    {
      symbol: "AMD",
      side: "buy",
      type: "limit",
      timeInForce: "gtc",
      qty: "5",
      limitPrice: "100.01",
    },
    {},
    at(effective, -DAY_MS),
  )).order;
  const stopSell = (await placeOrder(
    ctx,
    trader.userId,
    {
      symbol: "AMD",
      side: "sell",
      type: "stop",
      timeInForce: "gtc",
      qty: "4",
      stopPrice: "150.01",
    },
    {},
    at(effective, -DAY_MS),
  )).order;
  const account = async () => (await store.get<Account>("accounts", trader.accountId))!;
  const before = await account();
  const position = async () => (await store.get<Position>("positions", `${trader.accountId}:AMD`))!;
  const held = await position();
  assert.equal(held.qty, "16");
  const snapshotBefore = (await accountSnapshot(ctx, before, at(effective, -1))).account;
  // An equity point just before the split.
  assert.equal(await recordEquityPoints(ctx, at(effective, -5 * MINUTE_MS)) >= 1, true);

  // In effect but not yet applied: the symbol does not trade.
  await assert.rejects(
    () => buy(t, trader.userId, "AMD", 1, at(effective, 1000)),
    (e: Error & { code?: string }) => e.code === "corporate_action_pending",
  );

  // Two instances apply it at once: one unit commits, the other finds the booking.
  const runs = await Promise.all([
    runCorporateActions(ctx, effective),
    runCorporateActions(ctx, effective),
  ]);
  assert.equal(runs[0].split + runs[1].split, 1);
  assert.equal((await runCorporateActions(ctx, at(effective, MINUTE_MS))).split, 0);

  const split = await position();
  assert.equal(split.qty, "32");
  assert.equal(split.costBasis, held.costBasis, "cost basis unchanged");
  assert.equal(split.reservedToSell, "8");
  const lots = await findAll<Lot>(store, "lots", {
    where: { accountId: trader.accountId, symbol: "AMD", open: true },
  });
  assert.deepEqual(lots.map((l) => [l.qty, l.remainingQty]), [["20", "20"], ["12", "12"]]);
  for (const lot of lots) {
    // Total cost and acquisition date stay; the cost per share halves.
    const shares = BigInt(lot.qty);
    const off = parseFixed(lot.costBasis, SCALE) - parseFixed(lot.unitCost, SCALE) * shares;
    assert.ok(off >= -shares && off <= shares, `${lot.unitCost} × ${lot.qty} ≠ ${lot.costBasis}`);
    assert.ok(lot.openedAt < effective);
  }
  const limit = (await store.get<Order>("orders", limitBuy.id))!;
  // 5 × 100.01 becomes 10 at 50.005, a buy limit rounded down: 50.00. The hold stays.
  assert.deepEqual([limit.qty, limit.limitPrice, limit.holdAmount], [
    "10",
    "50.00",
    limitBuy.holdAmount,
  ]);
  const stop = (await store.get<Order>("orders", stopSell.id))!;
  // 4 × 150.01 becomes 8 at 75.005, a sell stop rounded down: 75.00.
  assert.deepEqual([stop.qty, stop.stopPrice], ["8", "75.00"]);
  const after = await account();
  assert.equal(after.heldForOrders, before.heldForOrders, "buying power unchanged");
  assert.equal(after.openOrders, before.openOrders);
  const booking = (await store.get<SplitBooking>(
    "split_bookings",
    bookingId(AMD_SPLIT.id, trader.accountId),
  ))!;
  assert.deepEqual([booking.qtyBefore, booking.qtyAfter, booking.ratio], ["16", "32", 2]);

  // Nobody's value changes: equity just before and just after differ by tick rounding only.
  const snapshotAfter = (await accountSnapshot(ctx, after, at(effective, 1))).account;
  assert.equal(snapshotAfter.cash, snapshotBefore.cash);
  assert.equal(snapshotAfter.buyingPower, snapshotBefore.buyingPower);
  const drift = parseFixed(snapshotAfter.equity, 2) - parseFixed(snapshotBefore.equity, 2);
  assert.ok(drift < 100_000_000n && drift > -100_000_000n, `equity moved ${formatFixed(drift)}`);

  // The equity history runs through the split without a jump.
  await recordEquityPoints(ctx, effective);
  await recordEquityPoints(ctx, at(effective, 5 * MINUTE_MS));
  const points = (await findAll<{ _id: string; _v: number; at: Date; positionsValue: string }>(
    store,
    "equity_points",
    { where: { accountId: trader.accountId, timeframe: "5Min" } },
  )).sort((a, b) => a.at.getTime() - b.at.getTime());
  assert.equal(points.length, 3);
  const values = points.map((p) => Number(p.positionsValue));
  for (let n = 1; n < values.length; n++) {
    // A split shown as a jump would halve the value; the market moves it well under 3 % here.
    assert.ok(Math.abs(values[n] / values[n - 1] - 1) < 0.03, `${values}`);
  }

  // Trading resumes in the new shares, and the books still add up.
  await placeOrder(
    ctx,
    trader.userId,
    {
      symbol: "AMD",
      side: "sell",
      type: "market",
      timeInForce: "day",
      qty: "3",
    },
    {},
    at(effective, 10 * MINUTE_MS),
  );
  assert.equal((await position()).qty, "29");
  assert.deepEqual((await checkIntegrity(store)).problems, []);

  // A split booking lost (as if its unit had half-applied) leaves the position unexplained.
  await store.delete("split_bookings", booking._id);
  const unbooked = (await checkIntegrity(store)).problems;
  assert.ok(
    unbooked.some((p) => p.includes("holds 29 but its trades net 13")),
    unbooked.join("\n"),
  );
  await store.insert("split_bookings", booking);

  // A lot left in the old shares no longer adds up to the position: check says so.
  const [first] = lots;
  await store.update("lots", first._id, { qty: "10", remainingQty: "7" });
  const problems = (await checkIntegrity(store)).problems;
  assert.ok(problems.some((p) => p.includes("holds 29 but its open lots 19")), problems.join("\n"));
});

Deno.test("a split nobody holds needs no booking: the symbol trades at once, in the new shares", async () => {
  await using t = await testApp();
  const [split] = splitsBetween("TSLA", new Date("2027-01-01"), new Date("2028-01-01"));
  const trader = await traderOf(t, "after@example.com");
  const order = await buy(t, trader.userId, "TSLA", 2, at(split.effectiveAt, MINUTE_MS));
  assert.equal(order.status, "filled");
  assert.equal(
    (await runCorporateActions(t.deps.trading, at(split.effectiveAt, 2 * MINUTE_MS))).split,
    0,
  );
  const position = (await t.deps.store.get<Position>("positions", `${trader.accountId}:TSLA`))!;
  assert.equal(position.qty, "2");
  assert.deepEqual((await checkIntegrity(t.deps.store)).problems, []);
});

Deno.test("the order price rule: after a split no order is easier to execute than before", () => {
  const effectiveAt = AMD_SPLIT.effectiveAt;
  const base = {
    symbol: "AMD",
    qty: "3",
    filledQty: "0",
    filledAvgPrice: null,
    limitPrice: null,
    stopPrice: null,
    holdAmount: "0.00",
  } as unknown as Omit<Order, "_v">;
  const adjust = (order: Partial<Order>, ratio: number) =>
    splitOrder({ ...base, ...order }, { priceDecimals: 2 }, { ratio, effectiveAt }, effectiveAt);
  // 100.01 ÷ 3 = 33.33666…: a buy limit rounds down, a sell limit up.
  assert.equal(adjust({ side: "buy", type: "limit", limitPrice: "100.01" }, 3).limitPrice, "33.33");
  assert.equal(
    adjust({ side: "sell", type: "limit", limitPrice: "100.01" }, 3).limitPrice,
    "33.34",
  );
  // A buy stop rounds up, a sell stop down; a stop limit's two prices each their own way.
  assert.equal(adjust({ side: "buy", type: "stop", stopPrice: "100.01" }, 3).stopPrice, "33.34");
  const stopLimit = adjust({
    side: "sell",
    type: "stop_limit",
    stopPrice: "100.01",
    limitPrice: "99.99",
  }, 4);
  assert.deepEqual([stopLimit.qty, stopLimit.stopPrice, stopLimit.limitPrice], [
    "12",
    "25.00",
    "25.00",
  ]);
  // A trailing sell: its best price down, its dollar trail up, its stop from them.
  const trailing = adjust({
    side: "sell",
    type: "trailing_stop",
    hwm: "200.01",
    trailPrice: "5.01",
    stopPrice: "195.00",
  }, 2);
  assert.deepEqual([trailing.hwm, trailing.trailPrice, trailing.stopPrice], [
    "100.00",
    "2.51",
    "97.49",
  ]);
  // A percentage trail stays a percentage.
  const percent = adjust({
    side: "sell",
    type: "trailing_stop",
    hwm: "200.00",
    trailPercent: "5",
    trailPrice: null,
    stopPrice: "190.00",
  }, 2);
  assert.deepEqual([percent.hwm, percent.trailPercent, percent.stopPrice], [
    "100.00",
    "5",
    "95.00",
  ]);
  // Partly filled: both quantities and the average price follow the split.
  const partial = adjust({
    side: "buy",
    type: "limit",
    limitPrice: "10.00",
    filledQty: "1",
    filledAvgPrice: "9.99",
  }, 2);
  assert.deepEqual([partial.qty, partial.filledQty, partial.filledAvgPrice], ["6", "2", "4.995"]);
  assert.deepEqual(partial.splits, [{ effectiveAt, ratio: 2 }]);
});

Deno.test("a split divides the levels of the alerts set before it, once; none fires on the split's drop", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const effective = AMD_SPLIT.effectiveAt;
  const trader = await traderOf(t, "alerts@example.com");
  const before = at(effective, -MINUTE_MS);
  const amd = ctx.market.catalog.get("AMD")!;
  const [quote] = await ctx.market.provider.quotes([amd], before);
  const last = Number(quote.last);
  const level = (f: number) => (Math.round(last * f * 100) / 100).toFixed(2);
  const input = (condition: "above" | "below", price: string) => ({
    symbol: "AMD",
    condition,
    price,
  });
  const below = await createAlert(ctx, trader.userId, input("below", level(0.9)), before);
  const above = await createAlert(ctx, trader.userId, input("above", level(1.1)), before);

  // In effect, not yet applied: the price has halved, but the levels wait for the split.
  assert.equal((await runAlertPass(ctx, at(effective, MINUTE_MS))).fired, 0);
  assert.equal((await t.deps.store.get<Alert>("alerts", below._id))!.status, "active");

  await runCorporateActions(ctx, at(effective, 2 * MINUTE_MS));
  await runCorporateActions(ctx, at(effective, 3 * MINUTE_MS));
  const [b, a] = await Promise.all(
    [below, above].map(async (x) => (await t.deps.store.get<Alert>("alerts", x._id))!),
  );
  // Rounded away from the market: below down, above up; applied once however often the job runs.
  const half = (price: string, mode: "floor" | "ceil") =>
    (Math[mode](Number(price) * 100 / 2) / 100).toFixed(2);
  assert.equal(b.price, half(below.price, "floor"));
  assert.equal(a.price, half(above.price, "ceil"));
  assert.deepEqual(b.splits, [AMD_SPLIT.id]);
  assert.equal((await runAlertPass(ctx, at(effective, 4 * MINUTE_MS))).fired, 0);
  assert.equal((await t.deps.store.get<Alert>("alerts", b._id))!.status, "active");

  // One set after the split is in the new shares already and is left alone.
  const [after] = await ctx.market.provider.quotes([amd], at(effective, 5 * MINUTE_MS));
  const fresh = await createAlert(
    ctx,
    trader.userId,
    input("above", (Number(after.last) * 1.2).toFixed(2)),
    at(effective, 5 * MINUTE_MS),
  );
  // Applied again (a run that stopped half-way and resumed): the split's alerts are not divided twice.
  assert.equal(await splitAlerts(ctx, { ...AMD_SPLIT, symbol: "AMD", ratio: 2 }), 0);
  assert.equal((await t.deps.store.get<Alert>("alerts", fresh._id))!.price, fresh.price);
  assert.equal((await t.deps.store.get<Alert>("alerts", b._id))!.price, b.price);
});
