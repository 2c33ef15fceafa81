/** Extended hours through the JSON API (issue 11, point 5): who may ask for them, and what an order shows. */
import assert from "node:assert/strict";
import { TEST_PASSWORD, testApi, testApp, testBrowser } from "./testing.ts";

Deno.test("[extended hours] only limit day orders for shares take extendedHours; the rest is a 422 that changes nothing", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("a@example.com");
  const limitDay = { symbol: "MSFT", type: "limit", limitPrice: "1.00", timeInForce: "day" };
  const resting = await api.order(cookie, {
    side: "buy",
    qty: "2",
    ...limitDay,
    extendedHours: true,
  });
  assert.equal(resting.status, "new");
  assert.equal(resting.extendedHours, true);
  const plain = await api.order(cookie, { side: "buy", qty: "2", ...limitDay });
  assert.equal(plain.extendedHours, false, "off unless asked for");

  const refused: [Record<string, unknown>, string, RegExp][] = [
    [{ type: "market" }, "extendedHours", /limit orders with timeInForce day/],
    [{ ...limitDay, timeInForce: "gtc" }, "extendedHours", /limit orders with timeInForce day/],
    [{ ...limitDay, type: "stop_limit", stopPrice: "1.00" }, "extendedHours", /limit orders/],
    [
      { symbol: "BTC/USD", type: "limit", limitPrice: "1.00", timeInForce: "gtc", qty: "0.01" },
      "extendedHours",
      /^Crypto trades around the clock: it has no extended hours\.$/,
    ],
    // A dollar amount is for market orders, extended hours for limits: never both.
    [{ notional: "50", qty: undefined }, "extendedHours", /limit orders/],
    [{ ...limitDay, extendedHours: "yes" }, "extendedHours", /^Use true or false\.$/],
  ];
  for (const [body, field, message] of refused) {
    const res = await api.request("/api/orders", {
      cookie,
      body: {
        symbol: "MSFT",
        side: "buy",
        type: "market",
        timeInForce: "day",
        qty: "1",
        extendedHours: true,
        ...body,
      },
    });
    assert.equal(res.status, 422, JSON.stringify(body));
    const { error } = await res.json();
    assert.equal(error.code, "validation_failed", JSON.stringify(body));
    assert.match(error.details.fields[field], message, JSON.stringify(body));
  }
  const { orders } = await api.call("/api/orders?status=all", { cookie });
  assert.equal(orders.length, 2, "refused orders changed nothing");
  assert.deepEqual(await api.call(`/api/orders/${resting.id}`, { cookie }), resting);
});

Deno.test("[extended hours] GET /api/clock and quotes name the session, and the clock the extended sessions (none in always mode)", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("a@example.com");
  const clock = await api.call("/api/clock", { cookie });
  assert.equal(clock.session, "regular");
  const { quotes } = await api.call("/api/quotes?symbols=AAPL,BTC/USD", { cookie });
  assert.deepEqual(quotes.map((q: { session: string }) => q.session), ["regular", "regular"]);
  assert.equal(clock.extendedHours, null);
  assert.equal(clock.isOpen, true);
});

Deno.test("[extended hours] the ticket: a checkbox for shares, kept through the review, dropped for other order types", async () => {
  await using t = await testApp();
  const b = testBrowser(t);
  await b.post("/sign-up", { name: "Ada", email: "ada@example.com", password: TEST_PASSWORD });
  await b.post("/sign-in", { email: "ada@example.com", password: TEST_PASSWORD });
  const page = await b.page("/trade/AAPL");
  assert.match(page, /<input type="checkbox" id="t-ext" name="extendedHours" value="true"/);
  assert.doesNotMatch(await b.page("/trade/BTC%2FUSD"), /name="extendedHours"/, "not for crypto");
  const key = page.match(/name="idempotencyKey" value="([^"]+)"/)![1];
  const form = {
    symbol: "AAPL",
    idempotencyKey: key,
    side: "buy",
    type: "limit",
    limitPrice: "1.00",
    qty: "2",
    timeInForce: "day",
    extendedHours: "true",
    intent: "review",
  };
  // A market order ignores a box left ticked, as it ignores a limit price (every field shows
  // without CSS :has()).
  const market = await (await b.post("/trade", { ...form, type: "market" })).text();
  assert.match(market, /AAPL · Market · Day\s*</);
  const review = await (await b.post("/trade", form)).text();
  assert.match(review, /AAPL · Limit · Day · Extended hours/);
  assert.match(review, /<input type="hidden" name="extendedHours" value="true">/);
  const placed = await b.post("/trade", { ...form, intent: "place" });
  assert.equal(placed.status, 303);
  const api = testApi(t);
  const cookie = [...b.jar].map(([k, v]) => `${k}=${v}`).join("; ");
  const { orders } = await api.call("/api/orders", { cookie });
  assert.equal(orders.length, 1);
  assert.equal(orders[0].extendedHours, true);
  assert.equal(orders[0].type, "limit");
});
