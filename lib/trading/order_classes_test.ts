/**
 * Brackets, OCO and OTO against the deterministic simulator: exits wait for the entry and are
 * sized to what filled, a pair reserves its shares once, the exit that fills cancels (or shrinks)
 * the other, cancelling the entry cancels the exits, and the races — two passes at once, both
 * exits candidates in one pass, a cancel against a fill — leave one winner and every invariant.
 */
import assert from "node:assert/strict";
import { testApp } from "../../routes/testing.ts";
import { type Fixed, formatFixed, parseFixed, SCALE } from "../money.ts";
import { type Account, activeAccount, openAccountOps } from "./accounts.ts";
import { checkIntegrity } from "./integrity.ts";
import { linkedChangesOf } from "./legs.ts";
import { liveQuote } from "./market.ts";
import { cancelOrder, type Order, type OrderJson, placeOrder, replaceOrder } from "./orders.ts";
import type { Position } from "./positions.ts";
import { watchFields } from "./order_watch.ts";
import { runExecutionPass } from "./worker.ts";

type App = Awaited<ReturnType<typeof testApp>>;

const NOW = new Date("2026-06-02T15:00:00.250Z");
const second = (n: number) => new Date(NOW.getTime() + n * 1000);
const cents = (x: Fixed) => formatFixed(x, 2);

async function trader(t: App, userId: string): Promise<Account> {
  const user = { _id: userId, email: `${userId}@example.com`, role: "USER" };
  await t.deps.store.commit([{ op: "insert", collection: "users", doc: user }]);
  await t.deps.store.commit(openAccountOps(userId, 1, "2000000", NOW).ops);
  return (await activeAccount(t.deps.store, userId))!;
}

async function quoteAt(t: App, symbol: string, n: number) {
  const market = t.deps.trading.market;
  return await liveQuote(market, market.catalog.get(symbol)!, second(n));
}

/** The first second from `from` (within an hour) whose quote satisfies `test`. */
async function firstSecond(
  t: App,
  symbol: string,
  from: number,
  test: (q: { bid: Fixed; ask: Fixed; last: Fixed }) => boolean,
): Promise<number> {
  for (let n = from; n < from + 3600; n++) if (test(await quoteAt(t, symbol, n))) return n;
  throw new Error("the simulator never got there within an hour");
}

async function order(t: App, id: string): Promise<Order> {
  return (await t.deps.store.get<Order>("orders", id))!;
}

async function position(t: App, accountId: string, symbol: string) {
  return await t.deps.store.get<Position>("positions", `${accountId}:${symbol}`);
}

async function assertIntegrity(t: App) {
  assert.deepEqual((await checkIntegrity(t.deps.store)).problems, [], "every invariant holds");
}

const place = (t: App, userId: string, body: Record<string, unknown>, at = NOW) =>
  placeOrder(t.deps.trading, userId, body as never, {}, at).then((r) => r.order);

/** A bracket on AAPL whose exits sit `tp` above and `sl` below the last price at placing. */
async function bracket(t: App, userId: string, qty: string, tp = "0.50", sl = "0.50") {
  const { last } = await quoteAt(t, "AAPL", 0);
  return await place(t, userId, {
    symbol: "AAPL",
    side: "buy",
    type: "market",
    timeInForce: "gtc",
    qty,
    orderClass: "bracket",
    takeProfit: { limitPrice: cents(last + parseFixed(tp, 2)) },
    stopLoss: { stopPrice: cents(last - parseFixed(sl, 2)) },
  });
}

Deno.test("[bracket] a market entry fills at once; its exits work, sized to the fill, reserving the shares once", async () => {
  await using t = await testApp();
  const account = await trader(t, "u1");
  const placed = await bracket(t, "u1", "10");
  assert.equal(placed.orderClass, "bracket");
  assert.equal(placed.status, "filled");
  assert.equal(placed.legs!.length, 2);
  const [tp, sl] = placed.legs!;
  assert.deepEqual(
    [tp.type, tp.side, tp.qty, tp.status, tp.parentId, tp.orderClass],
    ["limit", "sell", "10", "new", placed.id, "bracket"],
  );
  assert.deepEqual([sl.type, sl.qty, sl.status, sl.parentId], ["stop", "10", "new", placed.id]);
  const held = await position(t, account._id, "AAPL");
  assert.equal(held!.qty, "10");
  assert.equal(held!.reservedToSell, "10", "the pair reserves the 10 shares once, not twice");
  // Nothing else can sell the reserved shares.
  await assert.rejects(
    place(t, "u1", { symbol: "AAPL", side: "sell", type: "market", timeInForce: "day", qty: 1 }),
    /You can sell at most 0 AAPL/,
  );
  await assertIntegrity(t);
});

Deno.test("[bracket] a resting entry holds its exits; cancelling it cancels them", async () => {
  await using t = await testApp();
  const account = await trader(t, "u1");
  const { last } = await quoteAt(t, "AAPL", 0);
  const limit = last - parseFixed("5", 2);
  const placed = await place(t, "u1", {
    symbol: "AAPL",
    side: "buy",
    type: "limit",
    limitPrice: cents(limit),
    timeInForce: "day",
    qty: 4,
    orderClass: "bracket",
    takeProfit: { limitPrice: cents(limit + parseFixed("3", 2)) },
    stopLoss: {
      stopPrice: cents(limit - parseFixed("3", 2)),
      limitPrice: cents(limit - parseFixed("3.50", 2)),
    },
  });
  assert.equal(placed.status, "new");
  assert.deepEqual(placed.legs!.map((l) => [l.status, l.qty, l.type]), [
    ["held", "4", "limit"],
    ["held", "4", "stop_limit"],
  ]);
  assert.equal(await position(t, account._id, "AAPL"), null, "no shares, nothing reserved");
  const fresh = (await t.deps.store.get<Account>("accounts", account._id))!;
  assert.equal(fresh.openOrders, 3, "the entry and its two held exits are open orders");
  // A pass at a price that does not reach the entry leaves the exits held.
  await runExecutionPass(t.deps.trading, second(1));
  assert.equal((await order(t, placed.legs![0].id)).status, "held");

  // A replaced entry keeps its exits around it, and its held exits follow its size.
  await assert.rejects(
    replaceOrder(t.deps.trading, "u1", placed.id, {
      limitPrice: cents(limit + parseFixed("4", 2)),
    }),
    /take-profit must be above the entry price/,
  );
  await replaceOrder(t.deps.trading, "u1", placed.id, { qty: 6 });
  assert.equal((await order(t, placed.legs![1].id)).qty, "6");

  const cancelled = await cancelOrder(t.deps.trading, "u1", placed.id);
  assert.equal(cancelled.status, "cancelled");
  assert.deepEqual(cancelled.legs!.map((l) => [l.status, l.rejectReason]), [
    ["cancelled", "parent_ended"],
    ["cancelled", "parent_ended"],
  ]);
  const after = (await t.deps.store.get<Account>("accounts", account._id))!;
  assert.deepEqual([after.openOrders, after.heldForOrders], [0, "0.00"]);
  await assertIntegrity(t);
});

Deno.test("[bracket] the take-profit fills and cancels the stop-loss; the shares are sold once", async () => {
  await using t = await testApp();
  const account = await trader(t, "u1");
  const placed = await bracket(t, "u1", "10", "0.30", "5.00");
  const [tp, sl] = placed.legs!;
  const target = parseFixed(tp.limitPrice!, 2);
  const at = await firstSecond(t, "AAPL", 1, (q) => q.bid >= target);
  const result = await runExecutionPass(t.deps.trading, second(at));
  assert.equal(result.filled, 1);
  const [tpAfter, slAfter] = [await order(t, tp.id), await order(t, sl.id)];
  assert.equal(tpAfter.status, "filled");
  assert.deepEqual([slAfter.status, slAfter.rejectReason], ["cancelled", "oco_filled"]);
  const flat = await position(t, account._id, "AAPL");
  assert.deepEqual([flat!.qty, flat!.reservedToSell], ["0", "0"]);
  await assertIntegrity(t);
});

Deno.test("[bracket] the stop-loss triggers, fills at market and cancels the take-profit", async () => {
  await using t = await testApp();
  const account = await trader(t, "u1");
  const placed = await bracket(t, "u1", "10", "5.00", "0.30");
  const [tp, sl] = placed.legs!;
  const stop = parseFixed(sl.stopPrice!, 2);
  const at = await firstSecond(t, "AAPL", 1, (q) => q.last <= stop);
  assert.equal((await runExecutionPass(t.deps.trading, second(at))).triggered, 1);
  assert.equal((await runExecutionPass(t.deps.trading, second(at + 1))).filled, 1);
  assert.equal((await order(t, sl.id)).status, "filled");
  assert.equal((await order(t, tp.id)).status, "cancelled");
  assert.equal((await position(t, account._id, "AAPL"))!.qty, "0");
  await assertIntegrity(t);
});

Deno.test("[bracket] a partly filled entry gives partly sized exits that grow with its fills; a partial exit shrinks its pair", async () => {
  await using t = await testApp();
  const account = await trader(t, "u1");
  // Crypto shows a few coins at the touch, so 10 BTC fills over several seconds.
  const { last } = await quoteAt(t, "BTC/USD", 0);
  const placed = await place(t, "u1", {
    symbol: "BTC/USD",
    side: "buy",
    type: "market",
    timeInForce: "gtc",
    qty: 10,
    orderClass: "bracket",
    takeProfit: { limitPrice: cents(last + parseFixed("2000", 2)) },
    stopLoss: { stopPrice: cents(last - parseFixed("2000", 2)) },
  });
  assert.equal(placed.status, "partially_filled");
  const first = placed.filledQty;
  assert.deepEqual(placed.legs!.map((l) => [l.status, l.qty]), [["new", first], ["new", first]]);
  await runExecutionPass(t.deps.trading, second(1));
  const entry = await order(t, placed.id);
  assert.ok(parseFixed(entry.filledQty, SCALE) > parseFixed(first, SCALE), "filled more");
  const [tp, sl] = [await order(t, placed.legs![0].id), await order(t, placed.legs![1].id)];
  assert.deepEqual([tp.qty, sl.qty], [entry.filledQty, entry.filledQty], "the exits grew");
  assert.equal((await position(t, account._id, "BTC/USD"))!.reservedToSell, entry.filledQty);

  // The take-profit fills in part: the stop-loss keeps only what is left of it.
  const slice = parseFixed("0.5", SCALE);
  const partly = linkedChangesOf(
    {
      before: tp,
      after: { ...tp, filledQty: "0.5", status: "partially_filled" },
    },
    [sl],
    second(2),
  );
  assert.equal(partly.length, 1);
  assert.equal(partly[0].set.qty, formatFixed(parseFixed(tp.qty, SCALE) - slice, 0));
  await assertIntegrity(t);
});

Deno.test("[oco] on shares held: reserves once, refuses a second sale, the stop-loss fill cancels the take-profit", async () => {
  await using t = await testApp();
  const account = await trader(t, "u1");
  await place(t, "u1", { symbol: "AAPL", side: "buy", type: "market", timeInForce: "day", qty: 8 });
  const { last } = await quoteAt(t, "AAPL", 0);
  const oco = await place(t, "u1", {
    symbol: "AAPL",
    side: "sell",
    type: "limit",
    timeInForce: "gtc",
    qty: 8,
    orderClass: "oco",
    takeProfit: { limitPrice: cents(last + parseFixed("5", 2)) },
    stopLoss: { stopPrice: cents(last - parseFixed("0.30", 2)) },
  });
  assert.deepEqual([oco.orderClass, oco.type, oco.limitPrice, oco.status], [
    "oco",
    "limit",
    cents(last + parseFixed("5", 2)),
    "new",
  ]);
  const [sl] = oco.legs!;
  assert.deepEqual([sl.type, sl.status, sl.parentId], ["stop", "new", oco.id]);
  assert.equal((await position(t, account._id, "AAPL"))!.reservedToSell, "8");
  // Its exits' quantity follows the shares: a replacement may move prices, not size.
  await assert.rejects(
    replaceOrder(t.deps.trading, "u1", sl.id, { qty: 4 }),
    /quantity follows the shares/,
  );
  await assert.rejects(
    replaceOrder(t.deps.trading, "u1", sl.id, { stopPrice: oco.limitPrice }),
    /take-profit must stay above the stop-loss/,
  );
  const stop = parseFixed(sl.stopPrice!, 2);
  const at = await firstSecond(t, "AAPL", 1, (q) => q.last <= stop);
  await runExecutionPass(t.deps.trading, second(at));
  await runExecutionPass(t.deps.trading, second(at + 1));
  assert.equal((await order(t, sl.id)).status, "filled");
  assert.deepEqual([(await order(t, oco.id)).status, (await order(t, oco.id)).rejectReason], [
    "cancelled",
    "oco_filled",
  ]);
  await assertIntegrity(t);
});

Deno.test("[oto] an entry with one exit; cancelling the exit leaves the entry's shares", async () => {
  await using t = await testApp();
  const account = await trader(t, "u1");
  const { last } = await quoteAt(t, "AAPL", 0);
  const placed = await place(t, "u1", {
    symbol: "AAPL",
    side: "buy",
    type: "market",
    timeInForce: "day",
    qty: 3,
    orderClass: "oto",
    stopLoss: { stopPrice: cents(last - parseFixed("1", 2)) },
  });
  assert.equal(placed.legs!.length, 1);
  assert.deepEqual([placed.legs![0].type, placed.legs![0].qty], ["stop", "3"]);
  assert.equal((await position(t, account._id, "AAPL"))!.reservedToSell, "3");
  await cancelOrder(t.deps.trading, "u1", placed.legs![0].id);
  const held = await position(t, account._id, "AAPL");
  assert.deepEqual([held!.qty, held!.reservedToSell], ["3", "0"]);
  await assertIntegrity(t);
});

Deno.test("[order classes] bad requests are 422s naming the field, and nothing is stored", async () => {
  await using t = await testApp({ ORDERS_PER_SECOND: "10000" });
  const account = await trader(t, "u1");
  await place(t, "u1", { symbol: "AAPL", side: "buy", type: "market", timeInForce: "day", qty: 5 });
  const { last } = await quoteAt(t, "AAPL", 0);
  const up = cents(last + parseFixed("1", 2));
  const down = cents(last - parseFixed("1", 2));
  const entry = { symbol: "AAPL", side: "buy", type: "market", timeInForce: "day", qty: 2 };
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ orderClass: "spread" }, "orderClass", /one of simple, bracket, oco, oto/],
    [{ takeProfit: { limitPrice: up } }, "takeProfit", /goes with orderClass/],
    [{ orderClass: "bracket", stopLoss: { stopPrice: down } }, "takeProfit", /need takeProfit/],
    [{ orderClass: "bracket", takeProfit: { limitPrice: up } }, "stopLoss", /need stopLoss/],
    [
      { orderClass: "bracket", takeProfit: { limitPrice: down }, stopLoss: { stopPrice: down } },
      "takeProfit.limitPrice",
      /take-profit must be above the entry price/,
    ],
    [
      { orderClass: "bracket", takeProfit: { limitPrice: up }, stopLoss: { stopPrice: up } },
      "stopLoss.stopPrice",
      /stop-loss must be below the entry price/,
    ],
    [
      { orderClass: "bracket", takeProfit: { limitPrice: "x" }, stopLoss: { stopPrice: down } },
      "takeProfit.limitPrice",
      /price with at most 2 decimals/,
    ],
    [
      {
        orderClass: "bracket",
        side: "sell",
        takeProfit: { limitPrice: up },
        stopLoss: { stopPrice: down },
      },
      "side",
      /short selling is not available/,
    ],
    [
      {
        orderClass: "bracket",
        qty: "1.5",
        takeProfit: { limitPrice: up },
        stopLoss: { stopPrice: down },
      },
      "qty",
      /whole shares/,
    ],
    [
      {
        orderClass: "bracket",
        timeInForce: "ioc",
        takeProfit: { limitPrice: up },
        stopLoss: { stopPrice: down },
      },
      "timeInForce",
      /use day or gtc/,
    ],
    [
      {
        orderClass: "bracket",
        type: "stop",
        stopPrice: up,
        takeProfit: { limitPrice: up },
        stopLoss: { stopPrice: down },
      },
      "type",
      /market or limit/,
    ],
    [
      { orderClass: "oto", takeProfit: { limitPrice: up }, stopLoss: { stopPrice: down } },
      "stopLoss",
      /one exit/,
    ],
    [{ orderClass: "oto" }, "takeProfit", /needs one exit/],
    [
      {
        orderClass: "oco",
        side: "buy",
        takeProfit: { limitPrice: up },
        stopLoss: { stopPrice: down },
      },
      "side",
      /exits shares you hold/,
    ],
    [
      {
        orderClass: "oco",
        side: "sell",
        type: "limit",
        limitPrice: cents(last + parseFixed("2", 2)),
        takeProfit: { limitPrice: up },
        stopLoss: { stopPrice: down },
      },
      "limitPrice",
      /limit price is its take-profit/,
    ],
    [
      {
        orderClass: "oco",
        side: "sell",
        type: "limit",
        qty: 50,
        takeProfit: { limitPrice: up },
        stopLoss: { stopPrice: down },
      },
      "qty",
      /sell at most 5 AAPL/,
    ],
  ];
  for (const [extra, field, message] of cases) {
    await assert.rejects(place(t, "u1", { ...entry, ...extra }), (
      err: Error & {
        details?: { fields?: Record<string, string> };
        status?: number;
      },
    ) => {
      const what = `${JSON.stringify(extra)} → ${err.message}`;
      assert.match(err.message, message, what);
      assert.deepEqual(Object.keys(err.details?.fields ?? {}), [field], what);
      return true;
    });
  }
  const fresh = (await t.deps.store.get<Account>("accounts", account._id))!;
  assert.deepEqual([fresh.openOrders, fresh.heldForOrders], [0, "0.00"], "nothing placed");
});

Deno.test("[bracket races] two passes at once and both exits candidates in one pass: the shares sell once", async () => {
  await using t = await testApp();
  const account = await trader(t, "u1");
  const placed = await bracket(t, "u1", "10", "0.30", "5.00");
  const [tp, sl] = placed.legs!;
  // The stop-loss triggered a moment ago (as a previous pass would leave it): from now on it is a
  // market sell, a candidate in every pass — as is the take-profit once the bid reaches it.
  const stopLoss = await order(t, sl.id);
  await t.deps.store.update<Order>("orders", sl.id, {
    triggeredAt: second(0),
    ...watchFields({ ...stopLoss, triggeredAt: second(0) }),
  }, { ifVersion: stopLoss._v });
  const target = parseFixed(tp.limitPrice!, 2);
  const at = await firstSecond(t, "AAPL", 1, (q) => q.bid >= target);
  const results = await Promise.all([
    runExecutionPass(t.deps.trading, second(at)),
    runExecutionPass(t.deps.trading, second(at)),
  ]);
  assert.equal(results[0].filled + results[1].filled, 1, JSON.stringify(results));
  const statuses = [(await order(t, tp.id)).status, (await order(t, sl.id)).status].sort();
  assert.deepEqual(statuses, ["cancelled", "filled"]);
  const flat = await position(t, account._id, "AAPL");
  assert.deepEqual([flat!.qty, flat!.reservedToSell], ["0", "0"]);
  await assertIntegrity(t);
});

Deno.test("[bracket races] cancelling a partly filled entry while a pass fills it: one consistent outcome", async () => {
  await using t = await testApp();
  await trader(t, "u1");
  const { last } = await quoteAt(t, "BTC/USD", 0);
  const placed: OrderJson = await place(t, "u1", {
    symbol: "BTC/USD",
    side: "buy",
    type: "market",
    timeInForce: "gtc",
    qty: 10,
    orderClass: "bracket",
    takeProfit: { limitPrice: cents(last + parseFixed("2000", 2)) },
    stopLoss: { stopPrice: cents(last - parseFixed("2000", 2)) },
  });
  assert.equal(placed.status, "partially_filled");
  await Promise.allSettled([
    cancelOrder(t.deps.trading, "u1", placed.id, undefined, second(1)),
    runExecutionPass(t.deps.trading, second(1)),
  ]);
  const entry = await order(t, placed.id);
  const legs = [await order(t, placed.legs![0].id), await order(t, placed.legs![1].id)];
  if (!entry.open) {
    assert.ok(legs.every((l) => !l.open), "an ended entry leaves no exit working");
  } else {
    assert.ok(legs.every((l) => l.qty === entry.filledQty), "working exits match the fills");
  }
  await assertIntegrity(t);
});

Deno.test("[bracket races] replacing the stop-loss while a pass triggers it: one of them wins, nothing is lost", async () => {
  await using t = await testApp();
  const account = await trader(t, "u1");
  const placed = await bracket(t, "u1", "10", "5.00", "0.30");
  const [tp, sl] = placed.legs!;
  const stop = parseFixed(sl.stopPrice!, 2);
  const at = await firstSecond(t, "AAPL", 1, (q) => q.last <= stop);
  const lower = cents(stop - parseFixed("2", 2));
  const [replaced, pass] = await Promise.allSettled([
    replaceOrder(t.deps.trading, "u1", sl.id, { stopPrice: lower }, undefined, second(at)),
    runExecutionPass(t.deps.trading, second(at)),
  ]);
  const stopLoss = await order(t, sl.id);
  if (replaced.status === "fulfilled") {
    // The replacement came first: the stop moved down, out of reach of this price.
    assert.equal(stopLoss.stopPrice, lower);
  } else {
    // The trigger came first: a triggered stop is executing and can only be cancelled.
    assert.match(String(replaced.reason), /has triggered and is executing|busy/);
    assert.ok(stopLoss.triggeredAt, "triggered");
  }
  assert.equal(pass.status, "fulfilled");
  await runExecutionPass(t.deps.trading, second(at + 1));
  const [tpAfter, slAfter] = [await order(t, tp.id), await order(t, sl.id)];
  const held = await position(t, account._id, "AAPL");
  if (slAfter.status === "filled") {
    assert.equal(tpAfter.status, "cancelled");
    assert.equal(held!.qty, "0");
  } else {
    assert.deepEqual([tpAfter.open, slAfter.open, held!.reservedToSell], [true, true, "10"]);
  }
  await assertIntegrity(t);
});
