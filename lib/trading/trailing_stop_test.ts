/**
 * Trailing stops against the deterministic simulator: the best price ratchets the customer's way
 * and never back, the order triggers when the last price crosses its stop and then fills at
 * market, a replacement re-anchors the trail, the execution pass reads only the trailing stops the
 * price reaches, concurrent passes fill once, and the integrity scan recomputes every stop.
 */
import { countingStore } from "../../tests/support/counting_store.ts";
import assert from "node:assert/strict";
import { testApp } from "../../routes/testing.ts";
import { type Fixed, formatFixed, parseFixed } from "../money.ts";
import { activeAccount, openAccountOps } from "./accounts.ts";
import type { AccountEvent } from "./events.ts";
import { checkIntegrity } from "./integrity.ts";
import { liveQuote } from "./market.ts";
import { type Order, placeOrder, replaceOrder } from "./orders.ts";
import { holdFor, trailingStopPrice } from "./order_rules.ts";
import { runExecutionPass } from "./worker.ts";
import type { Trade } from "./history.ts";
import type { Position } from "./positions.ts";

type App = Awaited<ReturnType<typeof testApp>>;

const NOW = new Date("2026-06-02T15:00:00.250Z");
const SYMBOL = "AAPL";
const second = (n: number) => new Date(NOW.getTime() + n * 1000);

async function trader(t: App, userId: string) {
  const user = { _id: userId, email: `${userId}@example.com`, role: "USER" };
  await t.deps.store.commit([{ op: "insert", collection: "users", doc: user }]);
  await t.deps.store.commit(openAccountOps(userId, 1, "10000000", NOW).ops);
  return (await activeAccount(t.deps.store, userId))!;
}

/** The simulated last price of SYMBOL at second `n` after NOW. */
async function lastAt(t: App, n: number): Promise<Fixed> {
  const market = t.deps.trading.market;
  return (await liveQuote(market, market.catalog.get(SYMBOL)!, second(n))).last;
}

/** The first second from `from` (within an hour) whose last price satisfies `test`. */
async function firstSecond(
  t: App,
  from: number,
  test: (last: Fixed) => boolean,
): Promise<number> {
  for (let n = from; n < from + 3600; n++) if (test(await lastAt(t, n))) return n;
  throw new Error("the simulator never got there within an hour");
}

/**
 * A second to place a trailing stop at whose best price the market beats before it reaches the
 * stop, so a test sees the trail move before it triggers.
 */
async function riseFirst(t: App, side: "buy" | "sell", stopOf: (best: Fixed) => Fixed) {
  for (let start = 0; start < 3600; start++) {
    const best = await lastAt(t, start);
    for (let n = start + 1; n < start + 3600; n++) {
      const last = await lastAt(t, n);
      const better = side === "sell" ? last > best : last < best;
      const through = side === "sell" ? last <= stopOf(best) : last >= stopOf(best);
      if (better) return start;
      if (through) break;
    }
  }
  throw new Error("the simulator never moved the customer's way first");
}

const stored = async (t: App, id: string) => (await t.deps.store.get<Order>("orders", id))!;

/** Buys `qty` at market at NOW, so a trailing sell has shares to reserve. */
async function holding(t: App, userId: string, qty: string) {
  const { order } = await placeOrder(
    t.deps.trading,
    userId,
    {
      symbol: SYMBOL,
      side: "buy",
      type: "market",
      qty,
      timeInForce: "day",
    },
    {},
    NOW,
  );
  assert.equal(order.status, "filled");
}

const trailing = (side: "buy" | "sell", trail: Record<string, string>, qty = "10") => ({
  symbol: SYMBOL,
  side,
  type: "trailing_stop",
  qty,
  timeInForce: "gtc",
  ...trail,
});

Deno.test("[trailing stop] the stop is rounded to the tick against the customer", () => {
  const hwm = parseFixed("100.01", 2);
  const percent = { trailPercent: parseFixed("3", 2), trailPrice: null };
  // 100.01 × 3 % = 3.0003: a sell's stop 97.0097 goes down to 97.00, a buy's 103.0103 up to 103.02.
  assert.equal(formatFixed(trailingStopPrice("sell", hwm, percent, 2)), "97.00");
  assert.equal(formatFixed(trailingStopPrice("buy", hwm, percent, 2)), "103.02");
  const dollars = { trailPercent: null, trailPrice: parseFixed("0.25", 2) };
  assert.equal(formatFixed(trailingStopPrice("sell", hwm, dollars, 2)), "99.76");
  assert.equal(formatFixed(trailingStopPrice("buy", hwm, dollars, 2)), "100.26");
  // On a tick already, nothing is rounded.
  const even = { trailPercent: parseFixed("50", 2), trailPrice: null };
  assert.equal(formatFixed(trailingStopPrice("sell", parseFixed("10", 2), even, 2)), "5.00");
});

Deno.test("[trailing stop] a sell's best price ratchets up and never down; it triggers below the stop and fills at the bid", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const account = await trader(t, "u1");
  await holding(t, "u1", "10");
  const trail = parseFixed("0.03", 2);
  const start = await riseFirst(t, "sell", (best) => best - trail);
  const { order } = await placeOrder(
    ctx,
    "u1",
    trailing("sell", { trailPrice: "0.03" }),
    {},
    second(start),
  );
  const placedLast = await lastAt(t, start);
  assert.equal(order.status, "new");
  assert.equal(order.hwm, formatFixed(placedLast));
  assert.equal(order.stopPrice, formatFixed(placedLast - trail));
  assert.equal(order.trailPrice, "0.03");
  assert.equal(order.trailPercent, null);
  assert.equal(order.holdAmount, "0.00", "a sell holds no cash");
  const position = await t.deps.store.get<Position>(
    "positions",
    `${account._id}:${SYMBOL}`,
  );
  assert.equal(position!.reservedToSell, "10", "it reserves the shares");

  // Each second, a pass; the best price is the highest last price seen since placing.
  let best = placedLast;
  let trailed = 0;
  let triggeredAt = -1;
  for (let n = start + 1; n < start + 3600 && triggeredAt < 0; n++) {
    const last = await lastAt(t, n);
    const result = await runExecutionPass(ctx, second(n));
    const now = await stored(t, order.id);
    if (last > best) {
      best = last;
      assert.equal(result.trailed, 1, `second ${n}: a higher last price moves the stop`);
      trailed++;
    } else assert.equal(result.trailed, 0);
    assert.equal(now.hwm, formatFixed(best), `second ${n}: the best price never falls`);
    assert.equal(now.stopPrice, formatFixed(best - trail));
    if (now.triggeredAt) {
      assert.ok(last <= best - trail, "it triggers only once the last price reaches the stop");
      triggeredAt = n;
    } else assert.ok(last > best - trail, "above the stop it keeps waiting");
  }
  assert.ok(trailed > 0, "the price rose at least once before it fell through the stop");
  assert.ok(triggeredAt > 0, "the price fell through the stop");

  // Triggered, it is a market order: the next pass fills it at the bid.
  const fillSecond = triggeredAt + 1;
  const quote = await liveQuote(ctx.market, ctx.market.catalog.get(SYMBOL)!, second(fillSecond));
  assert.equal((await runExecutionPass(ctx, second(fillSecond))).filled, 1);
  const filled = await stored(t, order.id);
  assert.equal(filled.status, "filled");
  assert.equal(filled.filledAvgPrice, formatFixed(quote.bid));
  assert.deepEqual([filled.watchKey, filled.hwmWatchKey], [null, null], "it leaves both indexes");
  assert.deepEqual((await checkIntegrity(t.deps.store)).problems, []);
});

Deno.test("[trailing stop] a buy mirrors it: the lowest price, a stop above, a hold like a stop buy, a fill at the ask", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  await trader(t, "u1");
  const percent = { trailPercent: parseFixed("0.01", 2), trailPrice: null };
  const stopAt = (best: Fixed) => trailingStopPrice("buy", best, percent, 2);
  const start = await riseFirst(t, "buy", stopAt);
  const { order } = await placeOrder(
    ctx,
    "u1",
    trailing("buy", { trailPercent: "0.01" }),
    {},
    second(start),
  );
  const placedLast = await lastAt(t, start);
  assert.equal(order.hwm, formatFixed(placedLast));
  assert.equal(order.stopPrice, formatFixed(stopAt(placedLast)));
  // Held like a buy stop order: qty × stop × the collar, plus the commission.
  const hold = holdFor(
    {
      side: "buy",
      type: "trailing_stop",
      qty: parseFixed("10", 0),
      limitPrice: null,
      stopPrice: stopAt(placedLast),
    },
    placedLast,
    ctx.settings.commission,
  );
  assert.equal(order.holdAmount, formatFixed(hold));
  const account = await activeAccount(t.deps.store, "u1");
  assert.equal(account!.heldForOrders, formatFixed(hold));

  let best = placedLast;
  let trailed = 0;
  let triggeredAt = -1;
  for (let n = start + 1; n < start + 3600 && triggeredAt < 0; n++) {
    const last = await lastAt(t, n);
    const result = await runExecutionPass(ctx, second(n));
    const now = await stored(t, order.id);
    if (last < best) {
      best = last;
      trailed++;
      assert.equal(result.trailed, 1);
    }
    assert.equal(now.hwm, formatFixed(best), `second ${n}: the best price never rises`);
    assert.equal(now.stopPrice, formatFixed(stopAt(best)));
    assert.equal(now.holdAmount, formatFixed(hold), "a falling stop still leaves the hold enough");
    if (now.triggeredAt) {
      assert.ok(last >= stopAt(best));
      triggeredAt = n;
    }
  }
  assert.ok(trailed > 0 && triggeredAt > 0);
  const quote = await liveQuote(
    ctx.market,
    ctx.market.catalog.get(SYMBOL)!,
    second(triggeredAt + 1),
  );
  assert.equal((await runExecutionPass(ctx, second(triggeredAt + 1))).filled, 1);
  const filled = await stored(t, order.id);
  assert.equal(filled.status, "filled");
  assert.equal(filled.filledAvgPrice, formatFixed(quote.ask));
  assert.equal((await activeAccount(t.deps.store, "u1"))!.heldForOrders, "0.00");
  assert.deepEqual((await checkIntegrity(t.deps.store)).problems, []);
});

Deno.test("[trailing stop] replacing changes the trail and starts it again from the last price", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const account = await trader(t, "u1");
  await holding(t, "u1", "10");
  const { order } = await placeOrder(ctx, "u1", trailing("sell", { trailPercent: "5" }), {}, NOW);
  // Later, once the price has moved below the best price (which stays where it was).
  const later = await firstSecond(t, 1, (last) => last < parseFixed(order.hwm!, 2));
  const last = await lastAt(t, later);
  const replaced = await replaceOrder(
    ctx,
    "u1",
    order.id,
    { trailPrice: "1.50", qty: "8" },
    undefined,
    second(later),
  );
  assert.equal(replaced.trailPercent, null);
  assert.equal(replaced.trailPrice, "1.50");
  assert.equal(replaced.qty, "8");
  assert.equal(replaced.hwm, formatFixed(last), "the best price restarts at the last price");
  assert.equal(replaced.stopPrice, formatFixed(last - parseFixed("1.5", 2)));
  const now = await stored(t, order.id);
  assert.deepEqual([now.hwmWatchKey, now.hwmWatchPrice], [
    `${SYMBOL}|sell|hwm`,
    +formatFixed(last),
  ]);
  assert.deepEqual([now.watchKey, now.watchPrice], [`${SYMBOL}|sell|stop`, +replaced.stopPrice!]);
  const events = (await t.deps.store.find<AccountEvent>("account_events", {
    where: { accountId: account._id },
    sort: { field: "seq", direction: 1 },
    limit: 50,
  })).items;
  assert.equal(events.at(-1)!.event, "replaced");
  assert.equal(events.at(-1)!.order.trailPrice, "1.50");

  // Back to a percentage; both at once, a stop price, or a bad percentage change nothing.
  const percent = await replaceOrder(
    ctx,
    "u1",
    order.id,
    { trailPercent: "2.5" },
    undefined,
    second(later),
  );
  assert.deepEqual([percent.trailPercent, percent.trailPrice], ["2.5", null]);
  for (
    const [changes, field] of [
      [{ trailPercent: "1", trailPrice: "1" }, "trailPrice"],
      [{ stopPrice: "1.00" }, "stopPrice"],
      [{ trailPercent: "50.5" }, "trailPercent"],
      [{ trailPrice: "0" }, "trailPrice"],
    ] as const
  ) {
    const before = await stored(t, order.id);
    await assert.rejects(
      replaceOrder(ctx, "u1", order.id, changes, undefined, second(later)),
      (err: { status: number; details: { fields: Record<string, string> } }) =>
        err.status === 422 && field in err.details.fields,
    );
    assert.deepEqual(await stored(t, order.id), before, JSON.stringify(changes));
  }
  // Other order types take no trail.
  const { order: limit } = await placeOrder(
    ctx,
    "u1",
    {
      symbol: SYMBOL,
      side: "buy",
      type: "limit",
      limitPrice: "1.00",
      qty: "1",
      timeInForce: "gtc",
    },
    {},
    NOW,
  );
  await assert.rejects(
    replaceOrder(ctx, "u1", limit.id, { trailPercent: "1" }, undefined, second(later)),
    /takes no trail/,
  );
  assert.deepEqual((await checkIntegrity(t.deps.store)).problems, []);
});

Deno.test("[trailing stop] a pass reads only the trailing stops the price reaches, on either level", async () => {
  await using t = await testApp({ ORDERS_PER_SECOND: "10000" });
  const ctx = t.deps.trading;
  await trader(t, "u1");
  await holding(t, "u1", "100");
  const trail = { trailPrice: "1.00" };
  // Sells anchored at one price, buys at a lower one a little later.
  const sellAt = 0;
  const sellBest = await lastAt(t, sellAt);
  const buyAt = await firstSecond(t, 1, (last) => last < sellBest - parseFixed("0.01", 2));
  const buyBest = await lastAt(t, buyAt);
  for (let n = 0; n < 20; n++) {
    await placeOrder(ctx, "u1", trailing("sell", trail, "1"), {}, second(sellAt));
    await placeOrder(ctx, "u1", trailing("buy", trail, "1"), {}, second(buyAt));
  }
  // A second strictly between the two best prices moves neither, and no stop is within reach.
  const between = await firstSecond(
    t,
    buyAt + 1,
    (last) => last > buyBest && last < sellBest,
  );
  const { store, counter } = countingStore(t.deps.store);
  const quiet = await runExecutionPass({ ...ctx, store }, second(between));
  assert.deepEqual([quiet.trailed, quiet.triggered, quiet.filled], [0, 0, 0]);
  assert.equal(
    counter.orders,
    1,
    "one document from the seek for the symbol, none from the ranges",
  );

  // Below the buys' best price, the 20 buys are read and move; the sells still are not read.
  const lower = await firstSecond(t, between + 1, (last) => last < buyBest);
  counter.orders = 0;
  const moved = await runExecutionPass({ ...ctx, store }, second(lower));
  assert.equal(moved.trailed, 20);
  assert.equal(counter.orders, 1 + 20);
  assert.deepEqual((await checkIntegrity(t.deps.store)).problems, []);
});

Deno.test("[trailing stop] two passes at once move, trigger and fill it once", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  await trader(t, "u1");
  await holding(t, "u1", "10");
  const { order } = await placeOrder(ctx, "u1", trailing("sell", { trailPrice: "0.02" }), {}, NOW);
  const both = async (n: number) => {
    const [a, b] = await Promise.all([
      runExecutionPass(ctx, second(n)),
      runExecutionPass(ctx, second(n)),
    ]);
    return { a, b };
  };
  let hwm = parseFixed(order.hwm!, 2);
  const rise = await firstSecond(t, 1, (last) => last > hwm);
  const moved = await both(rise);
  assert.equal(moved.a.trailed + moved.b.trailed, 1, "one of the two moves it");
  hwm = await lastAt(t, rise);
  assert.equal((await stored(t, order.id)).hwm, formatFixed(hwm));

  // Run both passes every second until it has filled; each step happens exactly once.
  let triggered = 0, filled = 0;
  for (let n = rise + 1; n < rise + 3600 && filled === 0; n++) {
    const { a, b } = await both(n);
    triggered += a.triggered + b.triggered;
    filled += a.filled + b.filled;
  }
  assert.equal(triggered, 1);
  assert.equal(filled, 1);
  const trades =
    (await t.deps.store.find<Trade>("trades", { where: { orderId: order.id }, limit: 10 }))
      .items;
  assert.equal(trades.length, 1, "one trade, one fill");
  assert.equal((await stored(t, order.id)).filledQty, "10");
  assert.deepEqual((await checkIntegrity(t.deps.store)).problems, []);
});

Deno.test("[trailing stop] the integrity scan flags a stop that does not follow its best price and trail", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  await trader(t, "u1");
  const { order } = await placeOrder(ctx, "u1", trailing("buy", { trailPrice: "0.50" }), {}, NOW);
  assert.deepEqual((await checkIntegrity(t.deps.store)).problems, []);
  const wrong = formatFixed(parseFixed(order.stopPrice!, 2) + parseFixed("0.01", 2));
  // The watch fields are kept right, so the stop alone is what is wrong.
  await t.deps.store.update<Order>("orders", order.id, { stopPrice: wrong, watchPrice: +wrong });
  const { problems } = await checkIntegrity(t.deps.store);
  assert.equal(problems.length, 1, problems.join("\n"));
  assert.match(
    problems[0],
    new RegExp(
      `order ${order.id}: its stop ${wrong} does not follow its best price ${order.hwm} and trail \\$0\\.50`,
    ),
  );
  // A best price whose index entry is stale is flagged too.
  await t.deps.store.update<Order>("orders", order.id, {
    stopPrice: order.stopPrice,
    watchPrice: +order.stopPrice!,
    hwmWatchPrice: 1,
  });
  const stale = await checkIntegrity(t.deps.store);
  assert.equal(stale.problems.length, 1);
  assert.match(stale.problems[0], /best price at AAPL\|buy\|hwm 1\)/);
});
