/**
 * Trailing stops through the JSON API and the pages: bad trails are 422s naming the field and
 * store nothing, a placed one shows its trail, best price and stop, a replacement changes the
 * trail, another user's is a 404, and the ticket and orders page offer and show the trail.
 */
import assert from "node:assert/strict";
import { formatFixed, parseFixed } from "../lib/money.ts";
import type { Order } from "../lib/trading/orders.ts";
import { trailingStopPrice } from "../lib/trading/order_rules.ts";
import { TEST_PASSWORD, testApi, testApp, testBrowser } from "./testing.ts";
import { price } from "../views/trading.tsx";

const trailing = (side: "buy" | "sell", extra: Record<string, unknown>) => ({
  symbol: "AAPL",
  side,
  type: "trailing_stop",
  qty: 5,
  timeInForce: "gtc",
  ...extra,
});

Deno.test("[trailing stop api] bad trails and times in force are 422s naming the field, and nothing is stored", async () => {
  // Every refused order counts towards the placement limit; this test sends many.
  await using t = await testApp({ ORDERS_PER_SECOND: "10000" });
  const api = testApi(t);
  const { cookie } = await api.trader("ada@example.com");
  await api.order(cookie, { symbol: "AAPL", side: "buy", qty: 10 });
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ trailPercent: 1, trailPrice: 1 }, "trailPrice", /either trailPercent or trailPrice/],
    [{}, "trailPercent", /needs trailPercent or trailPrice/],
    [{ trailPercent: 0 }, "trailPercent", /above 0 and at most 50/],
    [{ trailPercent: "-1" }, "trailPercent", /above 0 and at most 50/],
    [{ trailPercent: 50.01 }, "trailPercent", /above 0 and at most 50/],
    [{ trailPercent: "1.234" }, "trailPercent", /at most 2 decimal places/],
    [{ trailPrice: 0 }, "trailPrice", /greater than zero/],
    [{ trailPrice: "0.001" }, "trailPrice", /at most 2 decimal places/],
    [{ trailPrice: 100000 }, "trailPrice", /stop at or below zero/],
    [{ trailPercent: 1, timeInForce: "ioc" }, "timeInForce", /timeInForce must be day or gtc/],
    [{ trailPercent: 1, timeInForce: "fok" }, "timeInForce", /timeInForce must be day or gtc/],
    [{ trailPercent: 1, stopPrice: 100 }, "stopPrice", /moves its own stop price/],
    [{ trailPercent: 1, limitPrice: 100 }, "limitPrice", /takes no limit price/],
  ];
  for (const side of ["sell", "buy"] as const) {
    for (const [extra, field, message] of cases) {
      if (side === "buy" && field === "trailPrice" && extra.trailPrice === 100000) continue;
      const res = await api.request("/api/orders", { cookie, body: trailing(side, extra) });
      const body = await res.json();
      const what = `${side} ${JSON.stringify(extra)} → ${JSON.stringify(body)}`;
      assert.equal(res.status, 422, what);
      assert.equal(body.error.code, "validation_failed", what);
      assert.deepEqual(Object.keys(body.error.details.fields), [field], what);
      assert.match(body.error.message, message, what);
    }
  }
  // Crypto has no day, so a trailing stop on it is gtc only.
  const crypto = await api.request("/api/orders", {
    cookie,
    body: {
      ...trailing("buy", { trailPercent: 1, timeInForce: "day" }),
      symbol: "BTC/USD",
      qty: 0.01,
    },
  });
  assert.equal(crypto.status, 422);
  assert.match((await crypto.json()).error.message, /Crypto trades around the clock: use gtc\./);
  // Other types take no trail.
  const limit = await api.request("/api/orders", {
    cookie,
    body: { symbol: "AAPL", side: "buy", type: "limit", limitPrice: 1, qty: 1, trailPercent: 2 },
  });
  assert.equal(limit.status, 422);
  assert.match((await limit.json()).error.message, /A limit order takes no trail/);

  const { orders } = await api.call("/api/orders?status=all", { cookie });
  assert.deepEqual(orders.map((o: { type: string }) => o.type), ["market"], "only the buy");
  const { accounts } = await api.call("/api/accounts", { cookie });
  assert.equal(accounts[0].buyingPower, accounts[0].cash, "nothing held");
});

Deno.test("[trailing stop api] placed, shown with its best price and stop, replaced with a new trail; nobody else's", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const ada = await api.trader("ada@example.com");
  const bob = await api.trader("bob@example.com");
  await api.order(ada.cookie, { symbol: "AAPL", side: "buy", qty: 10 });
  const placed = await api.order(ada.cookie, trailing("sell", { trailPercent: 5 }));
  assert.equal(placed.type, "trailing_stop");
  assert.equal(placed.status, "new");
  assert.equal(placed.trailPercent, "5");
  assert.equal(placed.trailPrice, null);
  const hwm = parseFixed(placed.hwm, 2);
  const percent = { trailPercent: parseFixed("5", 2), trailPrice: null };
  assert.equal(placed.stopPrice, formatFixed(trailingStopPrice("sell", hwm, percent, 2)));
  assert.deepEqual(await api.call(`/api/orders/${placed.id}`, { cookie: ada.cookie }), placed);

  const replaced = await api.call(`/api/orders/${placed.id}`, {
    cookie: ada.cookie,
    method: "PATCH",
    body: { trailPrice: "2.25" },
  });
  assert.deepEqual([replaced.trailPercent, replaced.trailPrice], [null, "2.25"]);
  assert.equal(
    replaced.stopPrice,
    formatFixed(parseFixed(replaced.hwm, 2) - parseFixed("2.25", 2)),
  );
  const both = await api.request(`/api/orders/${placed.id}`, {
    cookie: ada.cookie,
    method: "PATCH",
    body: { trailPrice: "1", trailPercent: "1" },
  });
  assert.equal(both.status, 422);
  assert.deepEqual(await api.call(`/api/orders/${placed.id}`, { cookie: ada.cookie }), replaced);

  for (const method of ["GET", "PATCH", "DELETE"]) {
    const res = await api.request(`/api/orders/${placed.id}`, {
      cookie: bob.cookie,
      method,
      body: method === "PATCH" ? { trailPercent: 1 } : undefined,
    });
    assert.equal(res.status, 404, method);
    await res.body?.cancel();
  }
  const stored = (await t.deps.store.get<Order>("orders", placed.id))!;
  assert.equal(stored.trailPrice, "2.25", "untouched by the other user");
});

Deno.test("[trailing stop pages] the ticket offers a trailing stop with its trail; the orders page shows and changes it", async () => {
  await using t = await testApp();
  const b = testBrowser(t);
  await b.post("/sign-up", { name: "Ada", email: "ada@example.com", password: TEST_PASSWORD });
  assert.equal(
    (await b.post("/sign-in", { email: "ada@example.com", password: TEST_PASSWORD })).status,
    303,
  );
  const page = await b.page("/trade/AAPL");
  assert.match(page, /<option value="trailing_stop" ?>Trailing stop<\/option>/);
  assert.match(page, /class="field for-trail"><label for="t-trail-percent">Trail \(%\)<\/label>/);
  assert.match(page, /<label for="t-trail-price">Trail \(\$\)<\/label>/);
  const key = page.match(/name="idempotencyKey" value="([^"]+)"/)![1];
  const ticket = {
    symbol: "AAPL",
    idempotencyKey: key,
    side: "buy",
    type: "trailing_stop",
    qty: "2",
    trailPercent: "1.5",
    trailPrice: "",
    // Left over from another type: ignored, as the ticket ignores every unused price.
    stopPrice: "999",
    timeInForce: "gtc",
  };
  const review = await b.post("/trade", { ...ticket, intent: "review" });
  assert.equal(review.status, 200);
  const reviewHtml = await review.text();
  assert.match(reviewHtml, /Buy<\/strong> 2 AAPL · Trailing stop · Until cancelled/);
  assert.match(reviewHtml, /<dt>Trail<\/dt><dd>1\.5%<\/dd><dt>Stop now<\/dt><dd>\$[\d,.]+<\/dd>/);
  assert.match(reviewHtml, /when the last price crosses it, the order fills at market/);

  const placed = await b.post("/trade", { ...ticket, intent: "place" });
  assert.equal(placed.status, 303);
  const [order] = (await t.deps.store.find<Order>("orders", { limit: 10 })).items;
  assert.deepEqual([order.type, order.trailPercent, order.stopPrice !== "999"], [
    "trailing_stop",
    "1.5",
    true,
  ]);
  const orders = await b.page("/orders");
  assert.ok(
    orders.includes(`trail 1.5% from ${price(order.hwm!)}`),
    "the trail and the best price it follows",
  );
  assert.ok(orders.includes(price(order.stopPrice!)), "the current stop");
  assert.match(orders, new RegExp(`id="r-${order._id}-trail-percent"[^>]* value="1.5"`));
  assert.doesNotMatch(orders, new RegExp(`id="r-${order._id}-stop"`), "its stop is not typed");

  const changed = await b.post(`/orders/${order._id}/replace`, {
    qty: "2",
    trailPercent: "",
    trailPrice: "0.75",
    next: "/orders",
  });
  assert.equal(changed.status, 303);
  assert.match(await b.page("/orders"), /Order changed: BUY 2 AAPL trailing \$0\.75 stop \$/);
  const after = (await t.deps.store.get<Order>("orders", order._id))!;
  assert.deepEqual([after.trailPercent, after.trailPrice], [null, "0.75"]);
});
