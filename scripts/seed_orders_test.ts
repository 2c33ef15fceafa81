/**
 * The resting book the bench seeds is the one placement would leave: the same order documents,
 * holds, running totals and execution-index places, every invariant holding, and nothing in it
 * that an execution pass could fill.
 */
import assert from "node:assert/strict";
import { testApp } from "../routes/testing.ts";
import { findAll } from "../lib/store/find_all.ts";
import { type Account, activeAccount, openAccountOps } from "../lib/trading/accounts.ts";
import { checkIntegrity } from "../lib/trading/integrity.ts";
import { watchFields } from "../lib/trading/order_watch.ts";
import { type Order, placeOrder } from "../lib/trading/orders.ts";
import { runExecutionPass, sweepWorkingOrders } from "../lib/trading/worker.ts";
import { seedRestingOrders } from "./seed_orders.ts";

const SYMBOLS = ["AAPL", "MSFT", "KO", "PEP", "XOM", "JPM", "WMT", "CSCO", "IBM", "ORCL"];

Deno.test("[seed] a resting book is what placement writes, holds every invariant and fills nothing", async () => {
  await using t = await testApp();
  const { store, trading: ctx } = t.deps;
  const seeded = await seedRestingOrders(store, ctx.market, {
    orders: 120,
    symbols: SYMBOLS,
    startingCash: "10000000",
  });
  // At least one account per five symbols, each with its share of the book.
  assert.equal(seeded.accounts, 2);
  const orders = await findAll<Order>(store, "orders", { where: { open: true } });
  assert.equal(orders.length, 120);
  assert.deepEqual(new Set(orders.map((o) => o.symbol)), new Set(SYMBOLS));
  assert.deepEqual(new Set(orders.map((o) => o.side)), new Set(["buy", "sell"]));
  for (const order of orders) {
    const watch = watchFields(order);
    assert.deepEqual([order.watchKey, order.watchPrice], [watch.watchKey, watch.watchPrice]);
  }
  const accounts = await findAll<Account>(store, "accounts", {});
  assert.equal(accounts.reduce((sum, a) => sum + a.openOrders!, 0), 120);

  const report = await checkIntegrity(store);
  assert.deepEqual(report.problems, []);
  assert.deepEqual(await sweepWorkingOrders(ctx), { cancelled: 0, indexed: 0 });
  assert.deepEqual(await runExecutionPass(ctx), {
    filled: 0,
    expired: 0,
    rejected: 0,
    triggered: 0,
    trailed: 0,
    conflicts: 0,
  });

  // A limit buy placed through the trading code has the same fields as a seeded one.
  await store.commit(openAccountOps("placer", 1, "100000", new Date()).ops);
  const placed = await placeOrder(ctx, "placer", {
    symbol: "KO",
    side: "buy",
    type: "limit",
    limitPrice: "1.00",
    qty: "1",
    timeInForce: "gtc",
  }, {});
  const account = (await activeAccount(store, "placer"))!;
  const real = (await store.get<Order>("orders", placed.order.id))!;
  const seededBuy = orders.find((o) => o.side === "buy" && o.timeInForce === "gtc")!;
  assert.equal(real.accountId, account._id);
  assert.deepEqual(Object.keys(seededBuy).sort(), Object.keys(real).sort());
});
