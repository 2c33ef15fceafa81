/**
 * Extended hours (issue 11, point 5) on the NYSE clock, with a real store, the simulated market and
 * the real worker: extended-hours limit orders fill in pre-market and after-hours while other
 * orders wait for the regular session, and their day ends when after-hours do.
 */
import assert from "node:assert/strict";
import { testApp } from "../../routes/testing.ts";
import { simulatedQuote } from "../market/simulator.ts";
import { formatFixed, parseFixed, roundFixed } from "../money.ts";
import { activeAccount, openAccountOps } from "./accounts.ts";
import { type Order, placeOrder, type TradingContext } from "./orders.ts";
import { runExecutionPass } from "./worker.ts";

type App = Awaited<ReturnType<typeof testApp>>;
const MINUTE_MS = 60_000;

async function trader(t: App, userId: string, now: Date): Promise<void> {
  await t.deps.store.commit(openAccountOps(userId, 1, "100000", now).ops);
  assert.ok(await activeAccount(t.deps.store, userId));
}

function askAt(ctx: TradingContext, symbol: string, at: Date): bigint {
  const quote = simulatedQuote(ctx.market.catalog.get(symbol)!, ctx.market.clock, at);
  return parseFixed(quote.ask, 2);
}

function limitBuy(limitPrice: string, extendedHours?: boolean) {
  return {
    symbol: "AAPL",
    side: "buy",
    type: "limit",
    limitPrice,
    qty: "2",
    timeInForce: "day",
    ...(extendedHours === undefined ? {} : { extendedHours }),
  };
}

async function orderOf(t: App, userId: string): Promise<Order> {
  const { items } = await t.deps.store.find<Order>("orders", { where: { userId }, limit: 10 });
  assert.equal(items.length, 1);
  return items[0];
}

Deno.test("[extended hours] in the pre-market an extended-hours limit buy fills when the ask reaches it; the same limit without waits", async () => {
  await using t = await testApp({ MARKET_HOURS: "nyse" });
  const ctx = t.deps.trading;
  // Monday 7 December 2026, 04:30 New York: pre-market runs 09:00–14:30 UTC.
  const placed = new Date("2026-12-07T09:30:00Z");
  const preClose = new Date("2026-12-07T14:30:00Z").getTime();
  assert.equal(ctx.market.clock.phase("us_equity", placed), "pre");
  await trader(t, "ext", placed);
  await trader(t, "regular", placed);
  // The limit: the lowest ask of the pre-market minutes ahead, below the ask when placed.
  let limit = askAt(ctx, "AAPL", placed);
  for (let at = placed.getTime() + MINUTE_MS; at < preClose; at += MINUTE_MS) {
    const ask = askAt(ctx, "AAPL", new Date(at));
    if (ask < limit) limit = ask;
  }
  assert.ok(limit < askAt(ctx, "AAPL", placed), "the pre-market ask falls below where it was");
  const limitText = formatFixed(limit, 2);
  const ext = await placeOrder(ctx, "ext", limitBuy(limitText, true), {}, placed);
  const regular = await placeOrder(ctx, "regular", limitBuy(limitText), {}, placed);
  assert.equal(ext.order.status, "new");
  assert.equal(ext.order.extendedHours, true);
  assert.equal(regular.order.extendedHours, false);

  let cross = placed.getTime() + MINUTE_MS;
  while (askAt(ctx, "AAPL", new Date(cross)) > limit) cross += MINUTE_MS;
  assert.equal((await runExecutionPass(ctx, new Date(cross - MINUTE_MS))).filled, 0, "not before");
  assert.equal((await runExecutionPass(ctx, new Date(cross))).filled, 1);
  const filled = await orderOf(t, "ext");
  assert.equal(filled.status, "filled");
  assert.ok(parseFixed(filled.filledAvgPrice!, 2) <= limit, "at the limit or better");
  assert.equal((await orderOf(t, "regular")).status, "new", "waits for the regular session");
});

Deno.test("[extended hours] a marketable extended-hours limit fills at once after hours; without extended hours it rests", async () => {
  await using t = await testApp({ MARKET_HOURS: "nyse" });
  const ctx = t.deps.trading;
  // Monday 7 December 2026, 17:00 New York: after-hours.
  const at = new Date("2026-12-07T22:00:00Z");
  assert.equal(ctx.market.clock.phase("us_equity", at), "post");
  await trader(t, "ext", at);
  await trader(t, "regular", at);
  const through = formatFixed(roundFixed(askAt(ctx, "AAPL", at) * 101n / 100n, 2, "ceil"), 2);
  const ext = await placeOrder(ctx, "ext", limitBuy(through, true), {}, at);
  assert.equal(ext.order.status, "filled");
  assert.equal(parseFixed(ext.order.filledAvgPrice!, 8), askAt(ctx, "AAPL", at), "at the ask");
  const regular = await placeOrder(ctx, "regular", limitBuy(through), {}, at);
  assert.equal(regular.order.status, "new");
  // And after after-hours end, an extended-hours order rests like any other.
  const late = new Date("2026-12-08T02:00:00Z");
  assert.equal(ctx.market.clock.phase("us_equity", late), "closed");
  const night = await placeOrder(ctx, "ext", limitBuy(through, true), {}, late);
  assert.equal(night.order.status, "new");
});

Deno.test("[extended hours] an extended-hours day order expires at 20:00 New York (17:00 on an early close); others at the close", async () => {
  await using t = await testApp({ MARKET_HOURS: "nyse" });
  const ctx = t.deps.trading;
  const morning = new Date("2026-12-07T15:00:00Z"); // Monday 10:00 New York
  await trader(t, "u1", morning);
  const ext = await placeOrder(ctx, "u1", limitBuy("1.00", true), {}, morning);
  const regular = await placeOrder(ctx, "u1", limitBuy("1.00"), {}, morning);
  assert.equal(ext.order.expiresAt, "2026-12-08T01:00:00.000Z", "20:00 New York");
  assert.equal(regular.order.expiresAt, "2026-12-07T21:00:00.000Z", "16:00 New York");
  assert.equal((await runExecutionPass(ctx, new Date("2026-12-07T21:00:00Z"))).expired, 1);
  assert.equal((await runExecutionPass(ctx, new Date("2026-12-08T00:59:59Z"))).expired, 0);
  assert.equal((await runExecutionPass(ctx, new Date("2026-12-08T01:00:00Z"))).expired, 1);

  // Placed in after-hours it works until they end; placed after them, through the next day's.
  const post = await placeOrder(
    ctx,
    "u1",
    limitBuy("1.00", true),
    {},
    new Date("2026-12-08T22:00:00Z"),
  );
  assert.equal(post.order.expiresAt, "2026-12-09T01:00:00.000Z");
  const night = await placeOrder(
    ctx,
    "u1",
    limitBuy("1.00", true),
    {},
    new Date("2026-12-09T03:00:00Z"),
  );
  assert.equal(night.order.expiresAt, "2026-12-10T01:00:00.000Z");
  // The day after Thanksgiving closes at 13:00 and its after-hours at 17:00.
  const early = await placeOrder(
    ctx,
    "u1",
    limitBuy("1.00", true),
    {},
    new Date("2026-11-27T15:00:00Z"),
  );
  assert.equal(early.order.expiresAt, "2026-11-27T22:00:00.000Z");
});
