/**
 * The trading rules end to end on a real store, the real simulated market and the real worker:
 * concurrency, idempotency, cancel/fill races, resting orders, expiry, and bad input.
 */
import assert from "node:assert/strict";
import { testApp } from "../../routes/testing.ts";
import { simulatedQuote } from "../market/simulator.ts";
import { formatFixed, parseFixed, sumFixed } from "../money.ts";
import { type Account, activeAccount, openAccountOps, resetDemoAccount } from "./accounts.ts";
import { currentCash } from "./ledger.ts";
import {
  cancelOrder,
  type Order,
  placeOrder,
  replaceOrder,
  type TradingContext,
  workingOrders,
} from "./orders.ts";
import { accountSnapshot } from "./portfolio.ts";
import { pruneIdempotencyKeys, runExecutionPass, sweepWorkingOrders } from "./worker.ts";

type App = Awaited<ReturnType<typeof testApp>>;
const ORIGIN = { ip: "192.0.2.1", userAgent: "test" };

async function trader(t: App, userId: string, cash = "100000", now = new Date()): Promise<Account> {
  await t.deps.store.commit(openAccountOps(userId, 1, cash, now).ops);
  return (await activeAccount(t.deps.store, userId))!;
}

function quoteAt(ctx: TradingContext, symbol: string, at: Date) {
  const q = simulatedQuote(ctx.market.catalog.get(symbol)!, ctx.market.clock, at);
  return { bid: parseFixed(q.bid, 8), ask: parseFixed(q.ask, 8), last: parseFixed(q.last, 8) };
}

/** The first minute after `from` at which `when` holds for the simulated quote, and the minute before it. */
function findMinute(
  ctx: TradingContext,
  symbol: string,
  from: Date,
  when: (q: ReturnType<typeof quoteAt>) => boolean,
) {
  for (let m = 1; m < 60 * 24 * 30; m++) {
    const at = new Date(from.getTime() + m * 60_000);
    if (when(quoteAt(ctx, symbol, at))) return { at, before: new Date(at.getTime() - 60_000) };
  }
  throw new Error("the price never got there within 30 days");
}

async function ordersOf(t: App, userId: string): Promise<Order[]> {
  return (await t.deps.store.find<Order>("orders", { where: { userId }, limit: 1000 })).items;
}

Deno.test("[trading] concurrent market buys beyond buying power never overdraw, and cash adds up to the cent", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const account = await trader(t, "u1", "10000");
  const price = quoteAt(ctx, "MSFT", new Date()).ask;
  // Each buy costs roughly a quarter of the cash: twelve at once would need three times what there is.
  const qty = Number((parseFixed("2500", 2) / price) || 1n);
  const results = await Promise.allSettled(
    Array.from(
      { length: 12 },
      () =>
        placeOrder(ctx, "u1", {
          symbol: "MSFT",
          side: "buy",
          type: "market",
          qty,
          timeInForce: "day",
        }, {}),
    ),
  );
  const filled = results.filter((r) => r.status === "fulfilled");
  const refused = results.filter((r) => r.status === "rejected");
  assert.ok(filled.length >= 1 && filled.length <= 4, `${filled.length} filled`);
  for (const r of refused) {
    const code = (r as PromiseRejectedResult).reason?.code;
    assert.ok(code === "insufficient_buying_power" || code === "conflict", String(code));
  }
  const fresh = (await activeAccount(t.deps.store, "u1"))!;
  const cash = await currentCash(t.deps.store, fresh);
  assert.ok(cash >= 0n, `cash ${formatFixed(cash)}`);
  const spent = sumFixed(
    filled.map((r) =>
      parseFixed(
        (r as PromiseFulfilledResult<{ order: { filledAvgPrice: string } }>).value.order
          .filledAvgPrice,
        2,
      ) * BigInt(qty)
    ),
  );
  assert.equal(
    formatFixed(cash),
    formatFixed(parseFixed("10000", 2) - spent),
    "starting cash minus the fills",
  );
  assert.equal(account._id, fresh._id);
});

Deno.test("[trading] the same Idempotency-Key sent concurrently places one order; another body with it is refused", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  await trader(t, "u1");
  const input = { symbol: "AAPL", side: "buy", type: "market", qty: "2", timeInForce: "day" };
  const results = await Promise.all(
    Array.from({ length: 8 }, () => placeOrder(ctx, "u1", input, { idempotencyKey: "key-123456" })),
  );
  assert.equal(new Set(results.map((r) => r.order.id)).size, 1, "one order");
  assert.equal(results.filter((r) => !r.replayed).length, 1);
  assert.equal((await ordersOf(t, "u1")).length, 1);
  await assert.rejects(
    placeOrder(ctx, "u1", { ...input, qty: "3" }, { idempotencyKey: "key-123456" }),
    (e: { code?: string }) => e.code === "idempotency_key_reused",
  );
  // clientOrderId works as a key too.
  const a = await placeOrder(ctx, "u1", { ...input, clientOrderId: "mine-1" }, {});
  const b = await placeOrder(ctx, "u1", { ...input, clientOrderId: "mine-1" }, {});
  assert.equal(a.order.id, b.order.id);
  assert.equal(b.replayed, true);
  assert.equal((await ordersOf(t, "u1")).length, 2);
});

Deno.test("[trading] a resting limit buy fills when the simulated price crosses, not before, and releases its hold", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  await trader(t, "u1");
  const start = new Date();
  const ask = quoteAt(ctx, "AAPL", start).ask;
  const limit = ask - ask / 200n; // 0.5 % below the ask
  const limitText = formatFixed(limit - (limit % 1_000_000n));
  const { order } = await placeOrder(
    ctx,
    "u1",
    {
      symbol: "AAPL",
      side: "buy",
      type: "limit",
      limitPrice: limitText,
      qty: "3",
      timeInForce: "gtc",
    },
    {},
    start,
  );
  assert.equal(order.status, "new");
  assert.ok(parseFixed(order.holdAmount, 2) > 0n);
  const snap = await accountSnapshot(ctx, (await activeAccount(t.deps.store, "u1"))!, start);
  assert.equal(snap.account.heldForOrders, order.holdAmount);
  assert.equal(
    snap.account.buyingPower,
    formatFixed(parseFixed("100000", 2) - parseFixed(order.holdAmount, 2)),
  );

  const cross = findMinute(ctx, "AAPL", start, (q) => q.ask <= parseFixed(limitText, 2));
  assert.equal(
    (await runExecutionPass(ctx, cross.before)).filled,
    0,
    "not before the price crosses",
  );
  assert.equal((await runExecutionPass(ctx, cross.at)).filled, 1);
  const [filled] = await ordersOf(t, "u1");
  assert.equal(filled.status, "filled");
  assert.equal(filled.holdAmount, "0.00");
  assert.ok(
    parseFixed(filled.filledAvgPrice!, 2) <= parseFixed(limitText, 2),
    "at the limit or better",
  );
  const after = await accountSnapshot(ctx, (await activeAccount(t.deps.store, "u1"))!, cross.at);
  assert.equal(after.account.heldForOrders, "0.00");
  assert.equal(after.positions[0].qty, "3");
});

Deno.test("[trading] cancel racing a fill ends in exactly one terminal state and releases the hold once", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const start = new Date();
  const outcomes = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const userId = `racer${i}`;
    await trader(t, userId);
    const ask = quoteAt(ctx, "NVDA", start).ask;
    const limit = formatFixed((ask - ask / 100n) / 1_000_000n * 1_000_000n);
    const { order } = await placeOrder(
      ctx,
      userId,
      {
        symbol: "NVDA",
        side: "buy",
        type: "limit",
        limitPrice: limit,
        qty: "1",
        timeInForce: "gtc",
      },
      {},
      start,
    );
    const cross = findMinute(ctx, "NVDA", start, (q) => q.ask <= parseFixed(limit, 2));
    const [, cancel] = await Promise.allSettled([
      runExecutionPass(ctx, cross.at),
      cancelOrder(ctx, userId, order.id, ORIGIN, cross.at),
    ]);
    const final = (await ordersOf(t, userId))[0];
    assert.ok(final.status === "filled" || final.status === "cancelled", final.status);
    assert.equal(final.open, false);
    assert.equal(final.holdAmount, "0.00");
    outcomes.add(final.status);
    const trades =
      (await t.deps.store.find("trades", { where: { orderId: order.id }, limit: 5 })).items;
    assert.equal(trades.length, final.status === "filled" ? 1 : 0);
    if (final.status === "filled") {
      assert.equal(cancel.status, "rejected", "the cancel lost and said so");
    }
    const account = (await activeAccount(t.deps.store, userId))!;
    const snap = await accountSnapshot(ctx, account, cross.at);
    assert.equal(snap.account.heldForOrders, "0.00", "no hold left behind");
    assert.equal(parseFixed(snap.account.buyingPower, 2), await currentCash(t.deps.store, account));
  }
  assert.ok(outcomes.size >= 1);
});

Deno.test("[trading] two workers at once (or one restarted mid-way) never apply a fill twice", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const start = new Date();
  const orderIds: string[] = [];
  for (let i = 0; i < 5; i++) {
    await trader(t, `w${i}`);
    const ask = quoteAt(ctx, "AMZN", start).ask;
    const limit = formatFixed((ask - ask / 200n) / 1_000_000n * 1_000_000n);
    orderIds.push(
      (await placeOrder(
        ctx,
        `w${i}`,
        {
          symbol: "AMZN",
          side: "buy",
          type: "limit",
          limitPrice: limit,
          qty: "2",
          timeInForce: "gtc",
        },
        {},
        start,
      )).order.id,
    );
  }
  const late = findMinute(
    ctx,
    "AMZN",
    start,
    (q) => q.ask <= (quoteAt(ctx, "AMZN", start).ask * 99n) / 100n,
  );
  const passes = await Promise.all([
    runExecutionPass(ctx, late.at),
    runExecutionPass(ctx, late.at),
    runExecutionPass(ctx, late.at),
  ]);
  assert.equal(
    passes.reduce((n, p) => n + p.filled, 0),
    5,
    "each order filled by exactly one worker",
  );
  // A restarted worker finds nothing left to do.
  assert.equal((await runExecutionPass(ctx, late.at)).filled, 0);
  for (const id of orderIds) {
    assert.equal(
      (await t.deps.store.find("trades", { where: { orderId: id }, limit: 5 })).items.length,
      1,
    );
  }
  for (let i = 0; i < 5; i++) {
    const account = (await activeAccount(t.deps.store, `w${i}`))!;
    assert.equal(account.ledgerSeq, 2, "the deposit and one fill");
  }
});

Deno.test("[trading] sells need the shares: no shorting, and open sells reserve what they sell", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  await trader(t, "u1");
  const sell = (qty: string, type = "market", limitPrice?: string) =>
    placeOrder(
      ctx,
      "u1",
      { symbol: "KO", side: "sell", type, qty, limitPrice, timeInForce: "gtc" },
      {},
    );
  await assert.rejects(sell("1"), (e: { code?: string }) => e.code === "insufficient_position");
  await placeOrder(ctx, "u1", {
    symbol: "KO",
    side: "buy",
    type: "market",
    qty: "10",
    timeInForce: "day",
  }, {});
  await sell("4", "limit", "100000");
  await assert.rejects(
    sell("7"),
    (e: { code?: string }) => e.code === "insufficient_position",
    "4 of 10 are reserved",
  );
  const { order } = await sell("6");
  assert.equal(order.status, "filled");
  const snap = await accountSnapshot(ctx, (await activeAccount(t.deps.store, "u1"))!);
  assert.equal(snap.positions[0].qty, "4");
});

Deno.test("[trading] average cost and realized P&L on sells", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  await trader(t, "u1");
  const buy1 = (await placeOrder(ctx, "u1", {
    symbol: "PEP",
    side: "buy",
    type: "market",
    qty: "10",
    timeInForce: "day",
  }, {})).order;
  const sold = (await placeOrder(ctx, "u1", {
    symbol: "PEP",
    side: "sell",
    type: "market",
    qty: "4",
    timeInForce: "day",
  }, {})).order;
  const [trade] =
    (await t.deps.store.find<{ _id: string; _v: number; realizedPnl: string }>("trades", {
      where: { orderId: sold.id },
      limit: 1,
    })).items;
  const cost = parseFixed(buy1.filledAvgPrice!, 2) * 10n;
  const removed = cost * 4n / 10n;
  const proceeds = parseFixed(sold.filledAvgPrice!, 2) * 4n;
  assert.equal(trade.realizedPnl, formatFixed(proceeds - removed));
  const snap = await accountSnapshot(ctx, (await activeAccount(t.deps.store, "u1"))!);
  assert.equal(snap.positions[0].costBasis, formatFixed(cost - removed));
  assert.equal(snap.positions[0].avgEntryPrice, buy1.filledAvgPrice);
});

Deno.test("[trading] ioc and fok that cannot fill end at once; a stop waits for its trigger", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  await trader(t, "u1");
  for (const timeInForce of ["ioc", "fok"]) {
    const { order } = await placeOrder(ctx, "u1", {
      symbol: "XOM",
      side: "buy",
      type: "limit",
      limitPrice: "1.00",
      qty: "5",
      timeInForce,
    }, {});
    assert.equal(order.status, "cancelled");
    assert.equal(order.holdAmount, "0.00");
  }
  const start = new Date();
  const last = quoteAt(ctx, "XOM", start).last;
  const stop = formatFixed((last + last / 200n) / 1_000_000n * 1_000_000n);
  const { order } = await placeOrder(
    ctx,
    "u1",
    { symbol: "XOM", side: "buy", type: "stop", stopPrice: stop, qty: "5", timeInForce: "gtc" },
    {},
    start,
  );
  assert.equal(order.status, "new");
  const up = findMinute(ctx, "XOM", start, (q) => q.last >= parseFixed(stop, 2));
  assert.equal((await runExecutionPass(ctx, up.before)).triggered, 0);
  assert.equal((await runExecutionPass(ctx, up.at)).triggered, 1);
  assert.equal(
    (await runExecutionPass(ctx, up.at)).filled,
    1,
    "a triggered stop is a market order",
  );
});

Deno.test("[trading] NYSE hours: a market order after the close waits for the open; day orders expire at the close", async () => {
  await using t = await testApp({ MARKET_HOURS: "nyse" });
  const ctx = t.deps.trading;
  await trader(t, "u1");
  const saturday = new Date("2026-12-05T15:00:00Z");
  const { order } = await placeOrder(
    ctx,
    "u1",
    { symbol: "AAPL", side: "buy", type: "market", qty: "1", timeInForce: "day" },
    {},
    saturday,
  );
  assert.equal(order.status, "new", "accepted, queued for the open");
  assert.ok(parseFixed(order.holdAmount, 2) > 0n, "holding buying power meanwhile");
  await assert.rejects(
    placeOrder(
      ctx,
      "u1",
      { symbol: "AAPL", side: "buy", type: "market", qty: "1", timeInForce: "ioc" },
      {},
      saturday,
    ),
    (e: { code?: string }) => e.code === "market_closed",
  );
  assert.equal(
    (await runExecutionPass(ctx, new Date("2026-12-06T15:00:00Z"))).filled,
    0,
    "still the weekend",
  );
  assert.equal(
    (await runExecutionPass(ctx, new Date("2026-12-07T14:31:00Z"))).filled,
    1,
    "Monday 09:31 New York",
  );
  const day = await placeOrder(
    ctx,
    "u1",
    {
      symbol: "AAPL",
      side: "buy",
      type: "limit",
      limitPrice: "1.00",
      qty: "1",
      timeInForce: "day",
    },
    {},
    new Date("2026-12-07T15:00:00Z"),
  );
  assert.equal(day.order.expiresAt, "2026-12-07T21:00:00.000Z", "16:00 New York");
  assert.equal((await runExecutionPass(ctx, new Date("2026-12-07T20:59:00Z"))).expired, 0);
  assert.equal((await runExecutionPass(ctx, new Date("2026-12-07T21:00:00Z"))).expired, 1);
  const crypto = await placeOrder(
    ctx,
    "u1",
    { symbol: "BTC/USD", side: "buy", type: "market", qty: "0.001", timeInForce: "gtc" },
    {},
    saturday,
  );
  assert.equal(crypto.order.status, "filled", "crypto trades at the weekend");
});

Deno.test("[trading] a demo reset closes the account, cancels its orders and opens a fresh one", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const first = await trader(t, "u1");
  await placeOrder(ctx, "u1", {
    symbol: "T",
    side: "buy",
    type: "limit",
    limitPrice: "1.00",
    qty: "10",
    timeInForce: "gtc",
  }, {});
  const fresh = await resetDemoAccount(t.deps.store, first, "100000", ORIGIN);
  assert.notEqual(fresh._id, first._id);
  assert.equal((await workingOrders(t.deps.store, first._id)).length, 0);
  assert.equal(formatFixed(await currentCash(t.deps.store, fresh)), "100000.00");
  assert.equal((await t.deps.store.get<Account>("accounts", first._id))?.status, "closed");
  const audit = await t.deps.store.find("audit_logs", {
    where: { action: "account.reset" },
    sort: { field: "at", direction: -1 },
    limit: 1,
  });
  assert.equal(audit.items.length, 1);
});

Deno.test("[trading] idempotency records are pruned after their retention", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  await trader(t, "u1");
  const old = new Date(Date.now() - 2 * 86400_000);
  await placeOrder(
    ctx,
    "u1",
    { symbol: "KO", side: "buy", type: "limit", limitPrice: "1.00", qty: "2", timeInForce: "gtc" },
    { idempotencyKey: "old-key-1" },
    old,
  );
  await placeOrder(ctx, "u1", {
    symbol: "KO",
    side: "buy",
    type: "limit",
    limitPrice: "1.00",
    qty: "2",
    timeInForce: "gtc",
  }, { idempotencyKey: "new-key-1" });
  assert.equal(await pruneIdempotencyKeys(t.deps.store, new Date(Date.now() - 86400_000)), 1);
  assert.equal((await t.deps.store.find("idempotency_keys", { limit: 10 })).items.length, 1);
});

Deno.test("[trading] fractional crypto: cash moves in cents, and the cost basis is the cash paid", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  await trader(t, "u1");
  const { order } = await placeOrder(ctx, "u1", {
    symbol: "BTC/USD",
    side: "buy",
    type: "market",
    qty: "0.01",
    timeInForce: "gtc",
  }, {});
  const account = (await activeAccount(t.deps.store, "u1"))!;
  const snap = await accountSnapshot(ctx, account);
  const cash = await currentCash(t.deps.store, account);
  assert.equal(cash % 1_000_000n, 0n, "whole cents");
  const cost = parseFixed("100000", 2) - cash;
  const exact = parseFixed(order.filledAvgPrice!, 2) / 100n;
  assert.ok(cost >= exact && cost - exact < 1_000_000n, "qty × price rounded up to the cent");
  // What was paid is the cost basis, so the average entry price is the cash paid per coin: within
  // a cent ÷ 0.01 = $1 of the fill price, never below it.
  assert.equal(snap.positions[0].costBasis, formatFixed(cost));
  assert.equal(snap.positions[0].avgEntryPrice, formatFixed(cost * 100n));
  const above = cost * 100n - parseFixed(order.filledAvgPrice!, 2);
  assert.ok(above >= 0n && above < parseFixed("1", 0), `${formatFixed(above)} above the fill`);
  const sold = await placeOrder(ctx, "u1", {
    symbol: "BTC/USD",
    side: "sell",
    type: "market",
    qty: "0.01",
    timeInForce: "gtc",
  }, {});
  assert.equal(sold.order.status, "filled");
  const after = await accountSnapshot(ctx, (await activeAccount(t.deps.store, "u1"))!);
  assert.equal(after.positions.length, 0, "flat");
});

Deno.test("[trading] orders left working on a closed account (an interrupted reset) are ended by the worker's sweep", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const account = await trader(t, "u1");
  const { order } = await placeOrder(ctx, "u1", {
    symbol: "INTC",
    side: "buy",
    type: "limit",
    limitPrice: "1.00",
    qty: "5",
    timeInForce: "gtc",
  }, {});
  const fresh = (await t.deps.store.get<Account>("accounts", account._id))!;
  // Only the first half of a reset: the account is closed, its orders not yet cancelled.
  await t.deps.store.update<Account>("accounts", fresh._id, {
    status: "closed",
    closedAt: new Date(),
  }, { ifVersion: fresh._v });
  // Not marketable, it is no candidate of a pass; the slow sweep ends it.
  await runExecutionPass(ctx);
  assert.equal((await ordersOf(t, "u1"))[0].status, "new");
  assert.deepEqual(await sweepWorkingOrders(ctx), { cancelled: 1, indexed: 0 });
  const [ended] = await ordersOf(t, "u1");
  assert.equal(ended._id, order.id);
  assert.equal(ended.status, "cancelled");
  assert.equal(ended.holdAmount, "0.00");
});

Deno.test("[trading] a triggered stop cannot be changed, only cancelled", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  await trader(t, "u1");
  const start = new Date();
  const last = quoteAt(ctx, "XOM", start).last;
  const stop = formatFixed((last + last / 200n) / 1_000_000n * 1_000_000n);
  const { order } = await placeOrder(
    ctx,
    "u1",
    { symbol: "XOM", side: "buy", type: "stop", stopPrice: stop, qty: "5", timeInForce: "gtc" },
    {},
    start,
  );
  const up = findMinute(ctx, "XOM", start, (q) => q.last >= parseFixed(stop, 2));
  assert.equal((await runExecutionPass(ctx, up.at)).triggered, 1);
  await assert.rejects(
    replaceOrder(ctx, "u1", order.id, { qty: "6" }),
    (e: { code?: string }) => e.code === "order_not_replaceable",
  );
  assert.equal((await cancelOrder(ctx, "u1", order.id)).status, "cancelled");
});
