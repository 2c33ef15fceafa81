/**
 * Tax lots: the closing order of each method against hand-computed figures, partial lots, the odd
 * cent of a proceeds split, the one-year boundary, a method change from the next sell only, sells
 * racing for the same lots, positions from before lots, the per-fill lot cap, and the integrity
 * checks of lots and gains — on real Deno KV, through the same functions fills use.
 */
import assert from "node:assert/strict";
import { testApp } from "../../routes/testing.ts";
import { type Fixed, formatFixed, parseFixed, SCALE, sumFixed } from "../money.ts";
import { ConflictError, type Doc } from "../store/port.ts";
import { type Account, activeAccount, openAccountOps } from "./accounts.ts";
import type { Trade } from "./history.ts";
import { checkIntegrity } from "./integrity.ts";
import {
  closeLotOps,
  closeLots,
  holdingTerm,
  type Lot,
  type LotMethod,
  lotsToSell,
  MAX_LOTS_PER_FILL,
  type RealizedGain,
  setLotMethod,
  taxYearRange,
} from "./lots.ts";
import { placeOrder } from "./orders.ts";
import { type Position, positionId } from "./positions.ts";
import { runExecutionPass } from "./worker.ts";

type App = Awaited<ReturnType<typeof testApp>>;
const NOW = new Date("2026-06-02T15:00:00.250Z");
const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);
const usd = (s: string) => parseFixed(s, 2);

async function trader(t: App, userId: string, cash: string): Promise<Account> {
  await t.deps.store.insert<Doc & { email: string }>("users", {
    _id: userId,
    email: `${userId}@example.com`,
  });
  await t.deps.store.commit(openAccountOps(userId, 1, cash, NOW).ops);
  return (await activeAccount(t.deps.store, userId))!;
}

/** A stored lot of `qty` shares costing `cost`, opened on `day`. */
async function storeLot(
  t: App,
  account: Account,
  id: string,
  day: string,
  qty: number,
  cost: string,
) {
  const unit = parseFixed(cost, 2) / BigInt(qty);
  await t.deps.store.insert<Lot>("lots", {
    _id: id,
    userId: account.userId,
    accountId: account._id,
    symbol: "XYZ",
    tradeId: id,
    openedAt: new Date(`${day}T15:00:00Z`),
    qty: String(qty),
    remainingQty: String(qty),
    costBasis: cost,
    remainingCost: cost,
    unitCost: formatFixed(unit),
    costKey: String(unit).padStart(24, "0"),
    open: true,
    closedAt: null,
  });
}

/** One sell of XYZ as a fill closes lots: read in the account's order, closed, committed. */
async function sellLots(t: App, account: Account, tradeId: string, qty: number, proceeds: string) {
  const position = { _id: positionId(account._id, "XYZ"), symbol: "XYZ", lotsTracked: true };
  const lots = (await lotsToSell(t.deps.store, account, "sell", position as Position))!;
  const closes = closeLots(lots.lots, BigInt(qty) * 10n ** 8n, usd(proceeds), NOW);
  await t.deps.store.commit(closeLotOps(closes, tradeId, lots.method, NOW));
  return closes.map((c) => [
    c.lot._id,
    formatFixed(c.qty, 0),
    formatFixed(c.proceeds),
    formatFixed(c.cost),
    formatFixed(c.proceeds - c.cost),
  ]);
}

/** Three buys of XYZ: 10 at 100, 10 at 120, 10 at 90; then 15 sold for 1,650 and 10 for 1,300. */
async function threeBuysTwoSells(method: LotMethod) {
  await using t = await testApp();
  const account = { ...await trader(t, "u1", "1000"), lotMethod: method };
  await storeLot(t, account, "L1", "2026-01-05", 10, "1000.00");
  await storeLot(t, account, "L2", "2026-02-05", 10, "1200.00");
  await storeLot(t, account, "L3", "2026-03-05", 10, "900.00");
  const first = await sellLots(t, account, "S1", 15, "1650.00");
  const second = await sellLots(t, account, "S2", 10, "1300.00");
  const left = (await t.deps.store.getMany<Lot>("lots", ["L1", "L2", "L3"]))
    .map((l) => [l!._id, l!.remainingQty, l!.remainingCost, l!.open]);
  return { first, second, left };
}

Deno.test("[lots] FIFO closes the oldest lots first, partly closing the one it ends in", async () => {
  const { first, second, left } = await threeBuysTwoSells("fifo");
  assert.deepEqual(first, [
    ["L1", "10", "1100.00", "1000.00", "100.00"],
    ["L2", "5", "550.00", "600.00", "-50.00"],
  ]);
  assert.deepEqual(second, [
    ["L2", "5", "650.00", "600.00", "50.00"],
    ["L3", "5", "650.00", "450.00", "200.00"],
  ]);
  assert.deepEqual(left, [
    ["L1", "0", "0.00", false],
    ["L2", "0", "0.00", false],
    ["L3", "5", "450.00", true],
  ]);
});

Deno.test("[lots] LIFO closes the newest lots first", async () => {
  const { first, second, left } = await threeBuysTwoSells("lifo");
  assert.deepEqual(first, [
    ["L3", "10", "1100.00", "900.00", "200.00"],
    ["L2", "5", "550.00", "600.00", "-50.00"],
  ]);
  assert.deepEqual(second, [
    ["L2", "5", "650.00", "600.00", "50.00"],
    ["L1", "5", "650.00", "500.00", "150.00"],
  ]);
  assert.deepEqual(left.map((l) => l[1]), ["5", "0", "0"]);
});

Deno.test("[lots] highest cost first closes the dearest lots first", async () => {
  const { first, second, left } = await threeBuysTwoSells("hifo");
  assert.deepEqual(first, [
    ["L2", "10", "1100.00", "1200.00", "-100.00"],
    ["L1", "5", "550.00", "500.00", "50.00"],
  ]);
  assert.deepEqual(second, [
    ["L1", "5", "650.00", "500.00", "150.00"],
    ["L3", "5", "650.00", "450.00", "200.00"],
  ]);
  assert.deepEqual(left.map((l) => l[1]), ["0", "0", "5"]);
});

Deno.test("[lots] an odd cent: proceeds split exactly, a lot's cost shares add up to its basis", () => {
  const lot = (id: string, qty: string, cost: string): Lot => ({
    _id: id,
    _v: 1,
    userId: "u",
    accountId: "a",
    symbol: "XYZ",
    tradeId: id,
    openedAt: NOW,
    qty,
    remainingQty: qty,
    costBasis: cost,
    remainingCost: cost,
    unitCost: "0",
    costKey: "0",
    open: true,
    closedAt: null,
  });
  // 10.00 for three shares of three lots: 3.33, 3.33 and the rest, 3.34.
  const split = closeLots(
    [lot("a", "1", "1.00"), lot("b", "1", "1.00"), lot("c", "1", "1.00")],
    3n * 10n ** 8n,
    usd("10.00"),
    NOW,
  );
  assert.deepEqual(split.map((c) => formatFixed(c.proceeds)), ["3.33", "3.33", "3.34"]);
  assert.equal(sumFixed(split.map((c) => c.proceeds)), usd("10.00"));

  // A lot of 3 costing 10.00 sold one share at a time: 3.33, then 6.67 × 1/2 = 3.335 → 3.34
  // (half-even), then the rest, 3.33: together exactly 10.00.
  let current = lot("d", "3", "10.00");
  const costs: Fixed[] = [];
  for (let n = 0; n < 3; n++) {
    const [close] = closeLots([current], 10n ** 8n, usd("5.00"), NOW);
    costs.push(close.cost);
    current = {
      ...current,
      remainingQty: formatFixed(close.remainingQty, 0),
      remainingCost: formatFixed(close.remainingCost),
    };
  }
  assert.deepEqual(costs.map((c) => formatFixed(c)), ["3.33", "3.34", "3.33"]);
  assert.equal(sumFixed(costs), usd("10.00"));
  assert.throws(
    () => closeLots([lot("e", "1", "1.00")], 2n * 10n ** 8n, usd("1"), NOW),
    RangeError,
  );
});

Deno.test("[lots] long term only when held more than a year, by New York calendar days", () => {
  const term = (opened: string, closed: string) => holdingTerm(new Date(opened), new Date(closed));
  assert.equal(term("2025-03-10T15:00:00Z", "2026-03-10T20:59:00Z"), "short", "the anniversary");
  assert.equal(term("2025-03-10T15:00:00Z", "2026-03-11T14:00:00Z"), "long", "the day after");
  // 23:00 on 10 March in New York is 03:00 UTC on the 11th: still bought on the 10th.
  assert.equal(term("2025-03-11T03:00:00Z", "2026-03-11T15:00:00Z"), "long");
  // Sold at 22:00 New York on the anniversary (02:00 UTC the next day): still the anniversary.
  assert.equal(term("2025-03-10T15:00:00Z", "2026-03-11T02:00:00Z"), "short");
  assert.equal(term("2024-02-29T15:00:00Z", "2025-02-28T15:00:00Z"), "short");
  assert.equal(term("2024-02-29T15:00:00Z", "2025-03-01T15:00:00Z"), "long");
  assert.equal(term("2026-01-02T15:00:00Z", "2026-06-02T15:00:00Z"), "short");
  const y = taxYearRange(2026);
  assert.equal(y.gte.toISOString(), "2026-01-01T05:00:00.000Z");
  assert.equal(y.lt.toISOString(), "2027-01-01T05:00:00.000Z");
});

async function gainsOf(t: App, tradeId: string): Promise<RealizedGain[]> {
  const page = await t.deps.store.find<RealizedGain>("realized_gains", {
    where: { accountId: tradeId.length ? (await activeAccount(t.deps.store, "u1"))!._id : "" },
    limit: 1000,
  });
  return page.items.filter((g) => g.tradeId === tradeId);
}

const market = (side: "buy" | "sell", qty: number) => ({
  symbol: "AAPL",
  side,
  type: "market",
  qty: String(qty),
  timeInForce: "day",
});

Deno.test("[lots] fills open and close lots in their own unit; a method change applies from the next sell", async () => {
  await using t = await testApp();
  const commission = usd("1.50");
  const ctx = { ...t.deps.trading, settings: { ...t.deps.trading.settings, commission } };
  const account = await trader(t, "u1", "100000");
  const buys = [];
  for (let n = 0; n < 3; n++) {
    buys.push((await placeOrder(ctx, "u1", market("buy", 10), {}, later(n * 60))).order);
  }
  const lots = await t.deps.store.getMany<Lot>("lots", buys.map((b) => `${b.id}:1`));
  const trades = await t.deps.store.getMany<Trade>("trades", buys.map((b) => `${b.id}:1`));
  lots.forEach((lot, n) => {
    assert.equal(lot!.qty, "10");
    // The lot costs what the buy paid, commission included.
    assert.equal(parseFixed(lot!.costBasis, SCALE), usd(trades[n]!.gross) + commission);
  });

  const first = (await placeOrder(ctx, "u1", market("sell", 12), {}, later(300))).order;
  const firstRows = await gainsOf(t, `${first.id}:1`);
  assert.deepEqual(firstRows.map((g) => [g.lotId, g.qty, g.method]).sort(), [
    [lots[0]!._id, "10", "fifo"],
    [lots[1]!._id, "2", "fifo"],
  ]);
  const sold = (await t.deps.store.get<Trade>("trades", `${first.id}:1`))!;
  assert.equal(
    sumFixed(firstRows.map((g) => parseFixed(g.proceeds, 2))),
    usd(sold.gross) - commission,
    "the lots share the sell's cash less its commission",
  );

  await setLotMethod(t.deps.store, account._id, "lifo");
  const second = (await placeOrder(ctx, "u1", market("sell", 12), {}, later(360))).order;
  const secondRows = await gainsOf(t, `${second.id}:1`);
  assert.deepEqual(secondRows.map((g) => [g.lotId, g.qty, g.method]).sort(), [
    [lots[1]!._id, "2", "lifo"],
    [lots[2]!._id, "10", "lifo"],
  ]);
  // The first sell's rows are as they were.
  assert.deepEqual((await gainsOf(t, `${first.id}:1`)).map((g) => g.method), ["fifo", "fifo"]);
  const position =
    (await t.deps.store.get<Position>("positions", positionId(account._id, "AAPL")))!;
  assert.equal(position.qty, "6");
  assert.equal(position.lotsTracked, true);
  const open = await lotsToSell(
    t.deps.store,
    (await activeAccount(t.deps.store, "u1"))!,
    "sell",
    position,
  );
  assert.deepEqual(open!.lots.map((l) => [l._id, l.remainingQty]), [[lots[1]!._id, "6"]]);
  assert.deepEqual((await checkIntegrity(t.deps.store)).problems, []);
});

Deno.test("[lots] two sells of the same lots from one reading: the lot's version lets one commit", async () => {
  await using t = await testApp();
  const account = await trader(t, "u1", "1000");
  await storeLot(t, account, "L1", "2026-01-05", 10, "1000.00");
  const position = { _id: positionId(account._id, "XYZ"), symbol: "XYZ", lotsTracked: true };
  const read = async () => (await lotsToSell(t.deps.store, account, "sell", position as Position))!;
  const [a, b] = await Promise.all([read(), read()]);
  const unit = (lots: typeof a, tradeId: string) =>
    closeLotOps(closeLots(lots.lots, 6n * 10n ** 8n, usd("600"), NOW), tradeId, "fifo", NOW);
  const results = await Promise.allSettled([
    t.deps.store.commit(unit(a, "S1")),
    t.deps.store.commit(unit(b, "S2")),
  ]);
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
  const failed = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
  assert.ok(failed.reason instanceof ConflictError);
  assert.equal((await t.deps.store.get<Lot>("lots", "L1"))!.remainingQty, "4", "closed once");
});

Deno.test("[lots] concurrent market sells through placement: the shares and lots are sold once", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  await trader(t, "u1", "100000");
  await placeOrder(ctx, "u1", market("buy", 5), {}, NOW);
  await placeOrder(ctx, "u1", market("buy", 5), {}, later(1));
  const results = await Promise.allSettled([
    placeOrder(ctx, "u1", market("sell", 8), {}, later(2)),
    placeOrder(ctx, "u1", market("sell", 8), {}, later(2)),
  ]);
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 1, "one sell of 8 fits");
  const rows = await t.deps.store.find<RealizedGain>("realized_gains", {
    where: { accountId: (await activeAccount(t.deps.store, "u1"))!._id },
    limit: 100,
  });
  assert.equal(sumFixed(rows.items.map((g) => parseFixed(g.qty, SCALE))), 8n * 10n ** 8n);
  assert.deepEqual((await checkIntegrity(t.deps.store)).problems, []);
});

Deno.test("[lots] a position from before lots becomes one lot at its opening and cost basis", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const account = await trader(t, "u1", "100000");
  const buy = (await placeOrder(ctx, "u1", market("buy", 10), {}, NOW)).order;
  // As stored before lots: no lot, no marker.
  await t.deps.store.delete("lots", `${buy.id}:1`);
  const key = positionId(account._id, "AAPL");
  await t.deps.store.update<Position>("positions", key, { lotsTracked: undefined });
  const before = (await t.deps.store.get<Position>("positions", key))!;

  const sell = (await placeOrder(ctx, "u1", market("sell", 4), {}, later(60))).order;
  const opening = (await t.deps.store.get<Lot>("lots", `${key}:opening`))!;
  assert.equal(opening.qty, "10");
  assert.equal(opening.remainingQty, "6");
  assert.equal(opening.costBasis, before.costBasis);
  assert.equal(opening.openedAt.getTime(), before.openedAt.getTime());
  const [row] = await gainsOf(t, `${sell.id}:1`);
  assert.equal(row.lotId, opening._id);
  assert.equal(row.qty, "4");
  assert.equal((await t.deps.store.get<Position>("positions", key))!.lotsTracked, true);

  // A buy on another untracked position stores the holding as its lot beside the new one.
  await t.deps.store.update<Position>("positions", key, { lotsTracked: undefined });
  await t.deps.store.delete("lots", opening._id);
  await t.deps.store.delete("realized_gains", row._id);
  await placeOrder(ctx, "u1", market("buy", 1), {}, later(120));
  assert.equal((await t.deps.store.get<Lot>("lots", `${key}:opening`))!.remainingQty, "6");
  assert.deepEqual((await checkIntegrity(t.deps.store)).problems, []);
});

Deno.test("[lots] a sell spanning more lots than one fill may close fills in parts", async () => {
  // More orders than placement allows a second on the real clock (order_rate.ts).
  await using t = await testApp({ ORDERS_PER_SECOND: "1000" });
  const ctx = t.deps.trading;
  await trader(t, "u1", "1000000");
  const lots = MAX_LOTS_PER_FILL + 2;
  for (let n = 0; n < lots; n++) await placeOrder(ctx, "u1", market("buy", 1), {}, later(n));
  const sell = (await placeOrder(ctx, "u1", market("sell", lots), {}, later(100))).order;
  assert.equal(sell.status, "partially_filled");
  assert.equal(sell.filledQty, String(MAX_LOTS_PER_FILL));
  await runExecutionPass(ctx, later(101));
  const done =
    (await t.deps.store.get<{ _id: string; _v: number; status: string; filledQty: string }>(
      "orders",
      sell.id,
    ))!;
  assert.equal(done.status, "filled");
  assert.equal((await gainsOf(t, `${sell.id}:2`)).length, 2);
  assert.deepEqual((await checkIntegrity(t.deps.store)).problems, []);
});

Deno.test("[lots] integrity finds lots and gains that do not add up", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const account = await trader(t, "u1", "100000");
  const a = (await placeOrder(ctx, "u1", market("buy", 10), {}, NOW)).order;
  const b = (await placeOrder(ctx, "u1", market("buy", 10), {}, later(1))).order;
  const s = (await placeOrder(ctx, "u1", market("sell", 15), {}, later(2))).order;
  assert.deepEqual((await checkIntegrity(t.deps.store)).problems, []);
  const problems = async () => (await checkIntegrity(t.deps.store)).problems.join("\n");

  // A lot that lost shares without a gains row: the position no longer matches its open lots.
  await t.deps.store.update<Lot>("lots", `${b.id}:1`, { remainingQty: "4" });
  let found = await problems();
  assert.match(found, /position AAPL holds 5 but its open lots 4/);
  assert.match(
    found,
    new RegExp(`lot ${b.id}:1: what it has closed differs from its gains rows by 1 shares`),
  );
  await t.deps.store.update<Lot>("lots", `${b.id}:1`, { remainingQty: "5" });

  // A gain that is not proceeds − cost.
  const rowId = `${s.id}:1:${a.id}:1`;
  const row = (await t.deps.store.get<RealizedGain>("realized_gains", rowId))!;
  await t.deps.store.update<RealizedGain>("realized_gains", rowId, { gain: "999.00" });
  assert.match(await problems(), /gain 999.00 is not proceeds/);
  await t.deps.store.update<RealizedGain>("realized_gains", rowId, { gain: row.gain });

  // A row lost: the sell closed less than it sold, and its lot more than its rows.
  await t.deps.store.delete("realized_gains", `${s.id}:1:${b.id}:1`);
  found = await problems();
  assert.match(found, new RegExp(`trade ${s.id}:1 sold 15 but closed lots of 10`));
  assert.match(found, /net of commission, but its lots' proceeds sum to/);

  // A wrong term.
  await t.deps.store.update<RealizedGain>("realized_gains", rowId, { term: "long" });
  assert.match(await problems(), /long term, but its dates make it the other/);
  assert.ok(account);
});
