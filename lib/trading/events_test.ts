/**
 * The account's event log: every order change through the real units leaves exactly the events a
 * trader would expect, numbered without gaps, and a unit that loses a race leaves none.
 */
import assert from "node:assert/strict";
import { testApp } from "../../routes/testing.ts";
import type { Doc } from "../store/port.ts";
import { fixed, formatFixed } from "../money.ts";
import { type Account, activeAccount, openAccountOps } from "./accounts.ts";
import { type AccountEvent, eventsAfter, pruneAccountEvents } from "./events.ts";
import { liveQuote } from "./market.ts";
import { cancelOrder, placeOrder, replaceOrder } from "./orders.ts";
import { runExecutionPass } from "./worker.ts";

type App = Awaited<ReturnType<typeof testApp>>;

/** A fixed instant (MARKET_HOURS=always in tests), so quotes and sizes are reproducible. */
const NOW = new Date("2026-06-02T15:00:00.250Z");
const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

async function trader(t: App, userId: string): Promise<Account> {
  await t.deps.store.insert<Doc & { email: string }>("users", {
    _id: userId,
    email: `${userId}@example.com`,
  });
  await t.deps.store.commit(openAccountOps(userId, 1, "2000000", NOW).ops);
  return (await activeAccount(t.deps.store, userId))!;
}

/** The log as "seq event symbol status filled" lines. */
async function log(t: App, account: Account): Promise<string[]> {
  const events = await eventsAfter(t.deps.store, account._id, 0);
  return events.map((e: AccountEvent) =>
    `${e.seq} ${e.event} ${e.order.symbol} ${e.order.status} ${e.order.filledQty}` +
    (e.fill ? ` @${e.fill.price}x${e.fill.qty}→${e.fill.positionQty}` : "")
  );
}

Deno.test("[events] placements, partial fills, replaces, cancels and expiry each leave their event", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const account = await trader(t, "u1");
  const quote = await liveQuote(ctx.market, ctx.market.catalog.get("AAPL")!, NOW);
  const place = (body: Record<string, string> & { qty: string }, at = NOW) =>
    placeOrder(
      ctx,
      "u1",
      { symbol: "AAPL", side: "buy", type: "market", timeInForce: "day", ...body },
      {},
      at,
    ).then((r) => r.order);

  // Bigger than the size at the ask: fill-or-kill ends at once, a day order fills in parts.
  const big = formatFixed(quote.askSize + fixed(100), 0);
  await place({ qty: big, timeInForce: "fok" });
  const day = await place({ qty: big });
  await runExecutionPass(ctx, later(1));
  // A resting limit that is changed, then cancelled; another that expires.
  const resting = await place({ qty: "2", type: "limit", limitPrice: "1.00" });
  await replaceOrder(ctx, "u1", resting.id, { qty: "3" }, undefined, later(2));
  await cancelOrder(ctx, "u1", resting.id, undefined, later(3));
  const expiring = await place({ qty: "1", type: "limit", limitPrice: "1.00" });
  await runExecutionPass(ctx, new Date(Date.parse(expiring.expiresAt!) + 1000));

  const ask = formatFixed(quote.ask);
  const shown = formatFixed(quote.askSize, 0);
  const lines = await log(t, account);
  assert.deepEqual(lines.slice(0, 4), [
    `1 new AAPL cancelled 0`,
    `2 canceled AAPL cancelled 0`,
    `3 new AAPL partially_filled ${shown}`,
    `4 partial_fill AAPL partially_filled ${shown} @${ask}x${shown}→${shown}`,
  ]);
  assert.match(lines[4], new RegExp(`^5 fill AAPL filled ${big} @[\\d.]+x100→${big}$`));
  assert.deepEqual(lines.slice(5), [
    `6 new AAPL new 0`,
    `7 replaced AAPL new 0`,
    `8 canceled AAPL cancelled 0`,
    `9 new AAPL new 0`,
    `10 expired AAPL expired 0`,
  ]);
  assert.equal((await eventsAfter(t.deps.store, account._id, 0))[6].order.qty, "3");
  assert.equal(
    (await t.deps.store.get<Account>("accounts", account._id))!.eventSeq,
    10,
    "the account carries the latest number",
  );
  assert.equal(day.status, "partially_filled");
});

Deno.test("[events] of two cancels racing, only the one that ends the order leaves an event", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const account = await trader(t, "u1");
  const { order } = await placeOrder(
    ctx,
    "u1",
    { symbol: "KO", side: "buy", type: "limit", limitPrice: "1.00", qty: "1", timeInForce: "gtc" },
    {},
    NOW,
  );
  const results = await Promise.allSettled(
    Array.from({ length: 6 }, () => cancelOrder(ctx, "u1", order.id, undefined, later(1))),
  );
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
  assert.deepEqual(await log(t, account), ["1 new KO new 0", "2 canceled KO cancelled 0"]);
});

Deno.test("[events] pruning removes events older than the cut, and only those", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const account = await trader(t, "u1");
  const limit = { symbol: "KO", side: "buy", type: "limit", limitPrice: "1.00", qty: "1" };
  await placeOrder(ctx, "u1", { ...limit, timeInForce: "gtc" }, {}, NOW);
  await placeOrder(ctx, "u1", { ...limit, timeInForce: "gtc" }, {}, later(120));
  assert.equal(await pruneAccountEvents(t.deps.store, later(60)), 1);
  const left = await eventsAfter(t.deps.store, account._id, 0);
  assert.deepEqual(left.map((e) => e.seq), [2]);
});
