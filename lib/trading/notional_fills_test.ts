/**
 * A dollar order larger than the quote's size fills in parts, each at its own second's price; all
 * its fills together still cost (or, for a sell, bring in) no more than its amount.
 */
import assert from "node:assert/strict";
import { testApp } from "../../routes/testing.ts";
import { formatFixed, mulFixed, parseFixed, sumFixed } from "../money.ts";
import type { Doc } from "../store/port.ts";
import { openAccountOps } from "./accounts.ts";
import type { Trade } from "./history.ts";
import { checkIntegrity } from "./integrity.ts";
import { liveQuote } from "./market.ts";
import { type Order, placeOrder } from "./orders.ts";
import { runExecutionPass } from "./worker.ts";

const NOW = new Date("2026-06-02T15:00:00.250Z");
const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

for (const side of ["buy", "sell"] as const) {
  Deno.test(`[notional] a dollar ${side} filling in parts at a rising price stays within its amount`, async () => {
    await using t = await testApp();
    const ctx = t.deps.trading;
    const security = ctx.market.catalog.get("MSFT")!;
    await t.deps.store.insert<Doc & { email: string }>("users", { _id: "u1", email: "u1@x.test" });
    await t.deps.store.commit(openAccountOps("u1", 1, "5000000", NOW).ops);
    const quote = (s: number) => liveQuote(ctx.market, security, later(s));
    // A second whose price (the ask for a buy, the bid for a sell) is higher the second after.
    let s = 10;
    const price = (q: Awaited<ReturnType<typeof quote>>) => side === "buy" ? q.ask : q.bid;
    while (price(await quote(s + 1)) <= price(await quote(s))) s++;
    if (side === "sell") {
      const { order } = await placeOrder(
        ctx,
        "u1",
        {
          symbol: "MSFT",
          side: "buy",
          type: "market",
          timeInForce: "day",
          qty: "1800",
        },
        {},
        later(1),
      );
      for (let n = 2; n < s; n++) await runExecutionPass(ctx, later(n));
      const bought = (await t.deps.store.get<Order>("orders", order.id))!;
      assert.equal(bought.status, "filled");
    }
    const first = await quote(s);
    const size = side === "buy" ? first.askSize : first.bidSize;
    // One and a half times what this second shows: the rest fills at the next second's price.
    const notional = formatFixed(mulFixed(size + size / 2n, price(first), 2));
    const { order } = await placeOrder(
      ctx,
      "u1",
      {
        symbol: "MSFT",
        side,
        type: "market",
        timeInForce: "day",
        notional,
      },
      {},
      later(s),
    );
    assert.equal(order.status, "partially_filled");
    for (let n = s + 1; n < s + 10; n++) await runExecutionPass(ctx, later(n));
    const done = (await t.deps.store.get<Order>("orders", order.id))!;
    assert.equal(done.status, "filled");
    assert.equal(done.filledQty, done.qty);
    const trades =
      (await t.deps.store.find<Trade>("trades", { where: { orderId: order.id }, limit: 10 }))
        .items;
    assert.equal(trades.length, 2);
    const cash = sumFixed(trades.map((trade) => parseFixed(trade.gross, 2)));
    assert.ok(cash <= parseFixed(notional, 2), `${formatFixed(cash)} within ${notional}`);
    // What is left of the amount buys less than one more unit at the last fill's price (give or
    // take the cent each fill rounds to).
    const unit = 10n ** BigInt(8 - security.qtyDecimals);
    const lastPrice = parseFixed(trades.sort((a, b) => a._id.localeCompare(b._id))[1].price, 8);
    const left = parseFixed(notional, 2) - cash;
    const slack = mulFixed(unit, lastPrice, 2) + parseFixed("0.02", 2);
    assert.ok(left < slack, `${formatFixed(left)} left of ${notional}`);
    assert.deepEqual((await checkIntegrity(t.deps.store)).problems, []);
  });
}

Deno.test("[notional] a dollar order whose amount is spent ends filled at what it filled, with no further fill", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  await t.deps.store.insert<Doc & { email: string }>("users", { _id: "u1", email: "u1@x.test" });
  await t.deps.store.commit(openAccountOps("u1", 1, "5000000", NOW).ops);
  const first = await liveQuote(ctx.market, ctx.market.catalog.get("MSFT")!, later(10));
  const notional = formatFixed(mulFixed(first.askSize * 2n, first.ask, 2));
  const { order } = await placeOrder(
    ctx,
    "u1",
    {
      symbol: "MSFT",
      side: "buy",
      type: "market",
      timeInForce: "day",
      notional,
    },
    {},
    later(10),
  );
  assert.equal(order.status, "partially_filled");
  const [trade] =
    (await t.deps.store.find<Trade>("trades", { where: { orderId: order.id }, limit: 10 })).items;
  // An amount its first part used up entirely (as a price move can leave less than one share).
  await t.deps.store.update<Order>("orders", order.id, { notional: trade.gross });
  await runExecutionPass(ctx, later(11));
  const done = (await t.deps.store.get<Order>("orders", order.id))!;
  assert.equal(done.status, "filled");
  assert.equal(done.qty, trade.qty);
  assert.equal(done.filledQty, trade.qty);
  assert.equal(done.holdAmount, "0.00");
  const trades =
    (await t.deps.store.find<Trade>("trades", { where: { orderId: order.id }, limit: 10 })).items;
  assert.equal(trades.length, 1);
  assert.deepEqual((await checkIntegrity(t.deps.store)).problems, []);
});
