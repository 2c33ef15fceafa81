/**
 * Brackets, OCO and OTO through the JSON API: a placed bracket answers with its legs, lists and
 * reads show them (legs on the entry, `parentId` on each leg), a replayed request answers the
 * same, bad shapes are 422s naming the nested field, another user's leg is a 404, and cancelling
 * the entry cancels its exits.
 */
import assert from "node:assert/strict";
import { TEST_PASSWORD, testApi, testApp, testBrowser } from "./testing.ts";

type Json = Record<string, unknown> & { id: string; legs: Json[] | null; status: string };

Deno.test("[order classes api] a bracket with its legs: placed, listed, read, replayed, cancelled; nobody else's", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const ada = await api.trader("ada@example.com");
  const bob = await api.trader("bob@example.com");
  const { quotes: [{ last }] } = await api.call("/api/quotes?symbols=AAPL", { cookie: ada.cookie });
  const body = {
    symbol: "AAPL",
    side: "buy",
    type: "limit",
    limitPrice: (Number(last) - 20).toFixed(2),
    qty: 5,
    timeInForce: "gtc",
    orderClass: "bracket",
    takeProfit: { limitPrice: (Number(last) - 10).toFixed(2) },
    stopLoss: {
      stopPrice: (Number(last) - 30).toFixed(2),
      limitPrice: (Number(last) - 31).toFixed(2),
    },
  };
  const res = await api.request("/api/orders", {
    cookie: ada.cookie,
    body: { ...body, clientOrderId: "bracket-1" },
  });
  assert.equal(res.status, 201);
  const placed: Json = await res.json();
  assert.equal(placed.orderClass, "bracket");
  assert.equal(placed.parentId, null);
  assert.deepEqual(
    placed.legs!.map((l) => [l.type, l.side, l.status, l.qty, l.parentId, l.timeInForce]),
    [
      ["limit", "sell", "held", "5", placed.id, "gtc"],
      ["stop_limit", "sell", "held", "5", placed.id, "gtc"],
    ],
  );
  assert.equal(placed.legs![0].limitPrice, body.takeProfit.limitPrice);
  assert.deepEqual(
    [placed.legs![1].stopPrice, placed.legs![1].limitPrice],
    [body.stopLoss.stopPrice, body.stopLoss.limitPrice],
  );

  // The same clientOrderId and body: the first answer again, legs and all.
  const again = await api.request("/api/orders", {
    cookie: ada.cookie,
    body: { ...body, clientOrderId: "bracket-1" },
  });
  assert.equal(again.status, 200);
  assert.deepEqual(await again.json(), placed);

  const { orders } = await api.call("/api/orders?status=open", { cookie: ada.cookie });
  const entry = orders.find((o: Json) => o.id === placed.id);
  assert.deepEqual(entry.legs.map((l: Json) => l.id), placed.legs!.map((l) => l.id));
  const leg = orders.find((o: Json) => o.id === placed.legs![1].id);
  assert.equal(leg.parentId, placed.id, "legs are listed too, naming their entry");
  assert.deepEqual(
    await api.call(`/api/orders/${placed.id}`, { cookie: ada.cookie }),
    entry,
  );

  for (const method of ["GET", "PATCH", "DELETE"]) {
    const other = await api.request(`/api/orders/${placed.legs![0].id}`, {
      cookie: bob.cookie,
      method,
      body: method === "PATCH" ? { limitPrice: "1.00" } : undefined,
    });
    assert.equal(other.status, 404, method);
  }

  const cancelled: Json = await api.call(`/api/orders/${placed.id}`, {
    cookie: ada.cookie,
    method: "DELETE",
  });
  assert.equal(cancelled.status, "cancelled");
  assert.deepEqual(cancelled.legs!.map((l) => l.status), ["cancelled", "cancelled"]);
  const { accounts } = await api.call("/api/accounts", { cookie: ada.cookie });
  assert.equal(accounts[0].buyingPower, accounts[0].cash, "nothing held any more");
});

Deno.test("[order classes api] malformed exits are 422s naming the nested field; nothing is placed", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const ada = await api.trader("ada@example.com");
  const base = { symbol: "AAPL", side: "buy", type: "market", qty: 1, orderClass: "bracket" };
  const cases: [Record<string, unknown>, string][] = [
    [{ takeProfit: "200", stopLoss: { stopPrice: "1" } }, "takeProfit"],
    [{ takeProfit: { limitPrice: "2000" }, stopLoss: { stopPrice: "1", extra: 1 } }, "stopLoss"],
    [{ takeProfit: { limitPrice: "2000" }, stopLoss: { stopPrice: "-1" } }, "stopLoss.stopPrice"],
  ];
  for (const [extra, field] of cases) {
    const res = await api.request("/api/orders", {
      cookie: ada.cookie,
      body: { ...base, ...extra },
    });
    const error = (await res.json()).error;
    assert.equal(res.status, 422, JSON.stringify(extra));
    assert.ok(
      Object.keys(error.details.fields).some((f) => f === field || f.startsWith(`${field}.`)),
      `${JSON.stringify(extra)} → ${JSON.stringify(error)}`,
    );
  }
  const { orders } = await api.call("/api/orders?status=all", { cookie: ada.cookie });
  assert.deepEqual(orders, []);
});

Deno.test("[order classes pages] the ticket's exits: reviewed, placed as a bracket, shown on the orders page; a wrong exit comes back on its field", async () => {
  await using t = await testApp();
  const b = testBrowser(t);
  await b.post("/sign-up", { name: "Ada", email: "ada@example.com", password: TEST_PASSWORD });
  await b.post("/sign-in", { email: "ada@example.com", password: TEST_PASSWORD });
  const page = await b.page("/trade/AAPL");
  assert.match(page, /<summary>Take profit \/ stop loss<\/summary>/);
  const key = () => crypto.randomUUID();
  const last = Number(
    (await t.deps.trading.market.provider.quotes(
      [t.deps.trading.market.catalog.get("AAPL")!],
      new Date(),
    ))[0].last,
  );
  const form = {
    symbol: "AAPL",
    side: "buy",
    type: "market",
    timeInForce: "gtc",
    qty: "3",
    takeProfitPrice: (last + 20).toFixed(2),
    stopLossPrice: (last - 20).toFixed(2),
  };
  const review =
    await (await b.post("/trade", { ...form, idempotencyKey: key(), intent: "review" }))
      .text();
  assert.match(review, /<dt>Take profit<\/dt><dd>\$[\d,.]+<\/dd>/);
  assert.match(review, /when one exit fills, the other is cancelled/);

  const wrong = await b.post("/trade", {
    ...form,
    takeProfitPrice: (last - 30).toFixed(2),
    idempotencyKey: key(),
    intent: "place",
  });
  assert.equal(wrong.status, 422);
  const wrongHtml = await wrong.text();
  assert.match(wrongHtml, /id="t-tp-error"[^>]*>[^<]*take-profit must be above the entry price/);
  assert.match(wrongHtml, /<details class="exits" open/, "the exits stay open with the error");

  const placed = await b.post("/trade", { ...form, idempotencyKey: key(), intent: "place" });
  assert.equal(placed.status, 303);
  const orders = await b.page("/orders?status=all");
  assert.match(orders, /bracket entry/);
  assert.match(orders, /take profit · BRACKET/);
  assert.match(orders, /stop loss · BRACKET/);
});
