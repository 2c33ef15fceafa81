/**
 * Liquidity at the touch and partial fills: an order larger than the quote's size fills in parts,
 * fok fills nothing, ioc ends the rest at once, and day and gtc orders keep working for the rest —
 * with holds, reserved shares, commission, trades and the average price right at every step.
 */
import assert from "node:assert/strict";
import { testApp } from "../../routes/testing.ts";
import { type Fixed, fixed, formatFixed, mulFixed, parseFixed, sumFixed } from "../money.ts";
import { type Account, activeAccount, openAccountOps } from "./accounts.ts";
import type { Trade } from "./history.ts";
import { checkIntegrity } from "./integrity.ts";
import { currentCash } from "./ledger.ts";
import { liveQuote, touchSize } from "./market.ts";
import {
  cancelOrder,
  type Order,
  placeOrder,
  replaceOrder,
  type TradingContext,
  workingOrders,
} from "./orders.ts";
import { runExecutionPass } from "./worker.ts";
import type { Doc } from "../store/port.ts";

type App = Awaited<ReturnType<typeof testApp>>;

/** A fixed instant (MARKET_HOURS=always in tests), so every quote and size below is reproducible. */
const NOW = new Date("2026-06-02T15:00:00.250Z");
const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

async function trader(t: App, userId: string, cash: string): Promise<Account> {
  await t.deps.store.insert<Doc & { email: string }>("users", {
    _id: userId,
    email: `${userId}@example.com`,
  });
  await t.deps.store.commit(openAccountOps(userId, 1, cash, NOW).ops);
  return (await activeAccount(t.deps.store, userId))!;
}

async function tradesOf(t: App, orderId: string): Promise<Trade[]> {
  const page = await t.deps.store.find<Trade>("trades", { where: { orderId }, limit: 100 });
  return page.items.sort((a, b) => a._id.localeCompare(b._id));
}

async function quoteOf(ctx: TradingContext, symbol: string, at: Date) {
  return await liveQuote(ctx.market, ctx.market.catalog.get(symbol)!, at);
}

async function assertIntegrity(t: App) {
  const report = await checkIntegrity(t.deps.store);
  assert.deepEqual(report.problems, [], "every invariant holds");
}

Deno.test("[liquidity] the size at the touch is a pure function of symbol, side and second", () => {
  // Fractionable shares still show whole round lots.
  const security = { symbol: "AAPL", assetClass: "us_equity", qtyDecimals: 6 } as Parameters<
    typeof touchSize
  >[0];
  const price = parseFixed("200.00", 2);
  const a = touchSize(security, "ask", price, NOW);
  assert.equal(a, touchSize(security, "ask", price, new Date(NOW.getTime() + 500)), "same second");
  assert.equal(a % fixed(100), 0n, "stocks show round lots");
  const sizes = Array.from({ length: 300 }, (_, s) => touchSize(security, "ask", price, later(s)));
  const notional = sizes.map((size) => Number(mulFixed(size, price, 0) / fixed(1)));
  assert.ok(Math.min(...notional) >= 20_000, "at least $40,000 less one round lot");
  assert.ok(Math.max(...notional) <= 400_000, "at most $400,000");
  assert.ok(new Set(sizes).size > 10, "the size changes from second to second");

  const crypto = { symbol: "BTC-USD", assetClass: "crypto", qtyDecimals: 8 } as Parameters<
    typeof touchSize
  >[0];
  const btc = touchSize(crypto, "bid", parseFixed("90000", 2), NOW);
  assert.ok(btc > fixed(0) && btc < fixed(5), `fractional: ${formatFixed(btc, 0)} BTC`);
});

Deno.test("[liquidity] larger than the ask size: fok fills nothing, ioc fills the size and ends the rest", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const account = await trader(t, "u1", "2000000");
  const quote = await quoteOf(ctx, "AAPL", NOW);
  const qty = quote.askSize + fixed(100);
  const order = (timeInForce: "ioc" | "fok") =>
    placeOrder(
      ctx,
      "u1",
      {
        symbol: "AAPL",
        side: "buy",
        type: "market",
        qty: formatFixed(qty, 0),
        timeInForce,
      },
      {},
      NOW,
    );

  const fok = (await order("fok")).order;
  assert.equal(fok.status, "cancelled");
  assert.equal(fok.filledQty, "0");
  assert.equal(fok.rejectReason, "insufficient_liquidity");
  assert.deepEqual(await tradesOf(t, fok.id), [], "fill-or-kill filled nothing");
  assert.equal(formatFixed(await currentCash(t.deps.store, account)), "2000000.00");

  const ioc = (await order("ioc")).order;
  assert.equal(ioc.status, "cancelled", "the rest ended at once");
  assert.equal(ioc.filledQty, formatFixed(quote.askSize, 0), "the size shown at the ask filled");
  assert.equal(ioc.filledAvgPrice, formatFixed(quote.ask));
  assert.equal(ioc.holdAmount, "0.00");
  const trades = await tradesOf(t, ioc.id);
  assert.deepEqual(trades.map((tr) => tr._id), [`${ioc.id}:1`]);
  const fresh = (await activeAccount(t.deps.store, "u1"))!;
  assert.equal(
    await currentCash(t.deps.store, fresh),
    parseFixed("2000000", 2) - mulFixed(quote.askSize, quote.ask, 2),
  );
  assert.deepEqual(await workingOrders(t.deps.store, account._id), [], "nothing rests");
  await assertIntegrity(t);
});

Deno.test("[liquidity] a day order larger than the size fills in parts, holding only for the rest", async () => {
  await using t = await testApp();
  const commission = parseFixed("1.50", 2);
  const ctx = { ...t.deps.trading, settings: { ...t.deps.trading.settings, commission } };
  const account = await trader(t, "u1", "2000000");
  const first = await quoteOf(ctx, "AAPL", NOW);
  const qty = first.askSize + fixed(100);

  const placed = (await placeOrder(
    ctx,
    "u1",
    {
      symbol: "AAPL",
      side: "buy",
      type: "market",
      qty: formatFixed(qty, 0),
      timeInForce: "day",
    },
    {},
    NOW,
  )).order;
  assert.equal(placed.status, "partially_filled");
  assert.equal(placed.filledQty, formatFixed(first.askSize, 0));
  // The 100 left hold what a market order holds: the last price plus the 5 % collar, no commission.
  const restHold = mulFixed(
    mulFixed(fixed(100), first.last, 8, "ceil"),
    parseFixed("1.05", 2),
    2,
    "ceil",
  );
  assert.equal(placed.holdAmount, formatFixed(restHold));

  // The same second's quote was used up: the worker waits for the next one.
  assert.equal((await runExecutionPass(ctx, new Date(NOW.getTime() + 300))).filled, 0);
  const second = await quoteOf(ctx, "AAPL", later(1));
  assert.equal((await runExecutionPass(ctx, later(1))).filled, 1);

  const order = (await t.deps.store.get<Order>("orders", placed.id))!;
  assert.equal(order.status, "filled");
  assert.equal(order.open, false);
  assert.equal(order.filledQty, formatFixed(qty, 0));
  assert.equal(order.fillCount, 2);
  assert.equal(order.holdAmount, "0.00");
  const trades = await tradesOf(t, placed.id);
  assert.deepEqual(trades.map((tr) => tr._id), [`${placed.id}:1`, `${placed.id}:2`]);
  assert.deepEqual(trades.map((tr) => tr.price), [formatFixed(first.ask), formatFixed(second.ask)]);
  assert.deepEqual(trades.map((tr) => tr.commission), ["1.50", "0.00"], "one commission per order");

  const gross = mulFixed(first.askSize, first.ask, 2) + mulFixed(fixed(100), second.ask, 2);
  const fresh = (await activeAccount(t.deps.store, "u1"))!;
  assert.equal(
    await currentCash(t.deps.store, fresh),
    parseFixed("2000000", 2) - gross - commission,
    "cash moved by both fills and one commission, to the cent",
  );
  const average = parseFixed(order.filledAvgPrice!, 8);
  const exact = (first.ask * first.askSize + second.ask * fixed(100)) / qty;
  assert.ok(average - exact <= 1n && exact - average <= 1n, "the quantity-weighted average price");
  assert.deepEqual(await workingOrders(t.deps.store, account._id), []);
  await assertIntegrity(t);
});

Deno.test("[liquidity] a partly filled order: cancel keeps the fill and frees the rest; replace is refused; sells reserve only what is left", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const account = await trader(t, "u1", "2000000");
  const quote = await quoteOf(ctx, "AAPL", NOW);
  const buy = (await placeOrder(
    ctx,
    "u1",
    {
      symbol: "AAPL",
      side: "buy",
      type: "market",
      qty: formatFixed(quote.askSize + fixed(100), 0),
      timeInForce: "gtc",
    },
    {},
    NOW,
  )).order;
  assert.equal(buy.status, "partially_filled");

  await assert.rejects(
    replaceOrder(ctx, "u1", buy.id, { qty: "5" }, undefined, NOW),
    (err: { code: string; message: string }) =>
      err.code === "order_not_replaceable" && /cancel the rest/.test(err.message),
  );
  const cancelled = await cancelOrder(ctx, "u1", buy.id, undefined, NOW);
  assert.equal(cancelled.status, "cancelled");
  assert.equal(cancelled.filledQty, formatFixed(quote.askSize, 0), "the filled part stays filled");
  assert.equal(cancelled.holdAmount, "0.00", "the rest's hold is released");
  await assertIntegrity(t);

  // Sell the whole holding in a second whose bid shows less than that (AAPL at NOW + 3 s).
  const at = later(3);
  const sellQuote = await quoteOf(ctx, "AAPL", at);
  const holding = quote.askSize;
  assert.ok(sellQuote.bidSize < holding, "the chosen second shows less than the holding");
  const sold = sellQuote.bidSize;
  const sell = (await placeOrder(
    ctx,
    "u1",
    {
      symbol: "AAPL",
      side: "sell",
      type: "market",
      qty: formatFixed(holding, 0),
      timeInForce: "day",
    },
    {},
    at,
  )).order;
  assert.equal(sell.status, "partially_filled");
  assert.equal(sell.filledQty, formatFixed(sold, 0));
  // What is left of the sell is reserved: there is nothing more to sell.
  await assert.rejects(
    placeOrder(
      ctx,
      "u1",
      {
        symbol: "AAPL",
        side: "sell",
        type: "market",
        qty: "1",
        timeInForce: "day",
      },
      {},
      at,
    ),
    (err: { code: string; message: string }) =>
      err.code === "insufficient_position" && /at most 0 AAPL/.test(err.message),
  );
  const working = await workingOrders(t.deps.store, account._id);
  assert.equal(
    sumFixed(working.map((o) => parseFixed(o.qty, 8) - parseFixed(o.filledQty, 8))),
    holding - sold,
  );
  await assertIntegrity(t);
});

Deno.test("[liquidity] several workers racing over a large order fill each part once", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  await trader(t, "u1", "5000000");
  const quote = await quoteOf(ctx, "MSFT", NOW);
  const qty = quote.askSize * 3n;
  const placed = (await placeOrder(
    ctx,
    "u1",
    {
      symbol: "MSFT",
      side: "buy",
      type: "market",
      qty: formatFixed(qty, 0),
      timeInForce: "day",
    },
    {},
    NOW,
  )).order;
  let second = 1;
  for (; second < 30; second++) {
    const order = (await t.deps.store.get<Order>("orders", placed.id))!;
    if (!order.open) break;
    await Promise.all([runExecutionPass(ctx, later(second)), runExecutionPass(ctx, later(second))]);
  }
  const order = (await t.deps.store.get<Order>("orders", placed.id))!;
  assert.equal(order.status, "filled", `filled within ${second} seconds`);
  const trades = await tradesOf(t, placed.id);
  assert.equal(trades.length, order.fillCount);
  assert.equal(sumFixed(trades.map((tr) => parseFixed(tr.qty, 8))), qty, "no part filled twice");
  const fills: Fixed[] = trades.map((tr) => parseFixed(tr.gross, 2));
  const account = (await activeAccount(t.deps.store, "u1"))!;
  assert.equal(
    await currentCash(t.deps.store, account),
    parseFixed("5000000", 2) - sumFixed(fills),
  );
  await assertIntegrity(t);
});
