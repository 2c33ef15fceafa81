/**
 * The execution pass reads the orders prices reach, not the book: resting orders far from the
 * market cost it nothing, a marketable one among them is found and filled, a stop waits in the
 * stop range and moves to the limit range when it triggers, and orders written before the index
 * are brought into it by the sweep.
 */
import { countingStore } from "../../tests/support/counting_store.ts";
import assert from "node:assert/strict";
import { testApp } from "../../routes/testing.ts";
import { type Fixed, formatFixed } from "../money.ts";
import { activeAccount, openAccountOps } from "./accounts.ts";
import { liveQuote } from "./market.ts";
import { type Order, placeOrder } from "./orders.ts";
import { watchFields } from "./order_watch.ts";
import { runExecutionPass, sweepWorkingOrders } from "./worker.ts";

type App = Awaited<ReturnType<typeof testApp>>;

const NOW = new Date("2026-06-02T15:00:00.250Z");

async function trader(t: App, userId: string) {
  await t.deps.store.commit(openAccountOps(userId, 1, "10000000", NOW).ops);
  return (await activeAccount(t.deps.store, userId))!;
}

/** A price as dollars and cents, cut down to the cent. */
const cents = (amount: Fixed) => formatFixed(amount / 1_000_000n * 1_000_000n);

const limitBuy = (symbol: string, limitPrice: string, qty = "1") => ({
  symbol,
  side: "buy" as const,
  type: "limit" as const,
  limitPrice,
  qty,
  timeInForce: "gtc" as const,
});

Deno.test("[execution index] 300 resting orders far from the market cost a pass a seek per symbol", async () => {
  await using t = await testApp({ ORDERS_PER_SECOND: "10000" });
  const ctx = t.deps.trading;
  await trader(t, "u1");
  const symbols = ["KO", "PEP", "XOM"];
  for (let n = 0; n < 300; n++) {
    await placeOrder(ctx, "u1", limitBuy(symbols[n % 3], "1.00"), {}, NOW);
  }
  const { store, counter } = countingStore(t.deps.store);
  const result = await runExecutionPass({ ...ctx, store }, new Date(NOW.getTime() + 1000));
  assert.equal(result.filled, 0);
  // One document per distinct symbol from the loose index scan; none from the price ranges.
  assert.equal(counter.orders, symbols.length);

  // A marketable order among them is a candidate and fills; the others are still not read.
  const quote = await liveQuote(ctx.market, ctx.market.catalog.get("PEP")!, NOW);
  const above = cents(quote.ask + quote.ask / 100n);
  const { order } = await placeOrder(ctx, "u1", limitBuy("PEP", "1.00"), {}, NOW);
  // Made marketable behind the placement's back, as a replace would: only the index finds it.
  const stored = (await t.deps.store.get<Order>("orders", order.id))!;
  await t.deps.store.update<Order>("orders", order.id, {
    limitPrice: above,
    ...watchFields({ ...stored, limitPrice: above }),
  });
  counter.orders = 0;
  const second = await runExecutionPass({ ...ctx, store }, new Date(NOW.getTime() + 2000));
  assert.equal(second.filled, 1);
  assert.equal(counter.orders, symbols.length + 1);
  assert.equal((await t.deps.store.get<Order>("orders", order.id))!.status, "filled");
});

Deno.test("[execution index] a stop waits in the stop range, then as a market order once triggered", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  await trader(t, "u1");
  const quote = await liveQuote(ctx.market, ctx.market.catalog.get("XOM")!, NOW);
  // A buy stop at or below the last price triggers on the next pass.
  const { order } = await placeOrder(
    ctx,
    "u1",
    {
      symbol: "XOM",
      side: "buy",
      type: "stop",
      stopPrice: cents(quote.last + quote.last / 50n),
      qty: "2",
      timeInForce: "gtc",
    },
    {},
    NOW,
  );
  let stored = (await t.deps.store.get<Order>("orders", order.id))!;
  assert.equal(stored.watchKey, "XOM|buy|stop");
  const low = cents(quote.last - quote.last / 50n);
  await t.deps.store.update<Order>("orders", order.id, {
    stopPrice: low,
    ...watchFields({ ...stored, stopPrice: low }),
  });
  assert.equal((await runExecutionPass(ctx, new Date(NOW.getTime() + 1000))).triggered, 1);
  stored = (await t.deps.store.get<Order>("orders", order.id))!;
  assert.deepEqual([stored.watchKey, stored.watchPrice], ["XOM|buy|limit", Number.MAX_VALUE]);
  assert.equal((await runExecutionPass(ctx, new Date(NOW.getTime() + 2000))).filled, 1);
  stored = (await t.deps.store.get<Order>("orders", order.id))!;
  assert.equal(stored.status, "filled");
  assert.deepEqual([stored.watchKey, stored.watchPrice], [null, null], "a filled order leaves");
});

Deno.test("[execution index] orders written before the index are swept into it, then fill", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  await trader(t, "u1");
  const quote = await liveQuote(ctx.market, ctx.market.catalog.get("KO")!, NOW);
  const { order } = await placeOrder(ctx, "u1", limitBuy("KO", "1.00"), {}, NOW);
  // As stored before the index existed: no watch fields. Marketable, it should fill.
  await t.deps.store.update<Order>("orders", order.id, {
    limitPrice: cents(quote.ask + quote.ask / 100n),
    watchKey: undefined,
    watchPrice: undefined,
  });
  const later = new Date(NOW.getTime() + 1000);
  assert.equal((await runExecutionPass(ctx, later)).filled, 0, "the pass cannot see it yet");
  assert.deepEqual(await sweepWorkingOrders(ctx, later), { cancelled: 0, indexed: 1 });
  assert.equal((await runExecutionPass(ctx, later)).filled, 1);
  assert.equal((await t.deps.store.get<Order>("orders", order.id))!.status, "filled");
});
