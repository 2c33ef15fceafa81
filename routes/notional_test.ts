/** Dollar orders (issue 11, point 4): `notional` instead of `qty` for market orders. */
import assert from "node:assert/strict";
import { parseFixed } from "../lib/money.ts";
import { testApi, testApp } from "./testing.ts";

Deno.test("[notional] $100 of a stock buys the fraction the ask allows, and never costs more than $100", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("a@example.com");
  const order = await api.order(cookie, { symbol: "AAPL", side: "buy", notional: "100" });
  assert.equal(order.status, "filled");
  assert.equal(order.notional, "100.00");
  assert.match(order.qty, /^0\.\d{1,6}$/);
  const qty = parseFixed(order.qty, 6);
  const price = parseFixed(order.filledAvgPrice, 8);
  const unit = parseFixed("1", 0);
  // The quantity is the amount at the fill price rounded down to the millionth of a share.
  assert.ok(qty * price / unit <= parseFixed("100", 2), "at most $100 worth");
  assert.ok((qty + parseFixed("0.000001", 6)) * price / unit > parseFixed("100", 2), "the most");
  const { accounts } = await api.call("/api/accounts", { cookie });
  const spent = parseFixed("100000", 2) - parseFixed(accounts[0].cash, 2);
  assert.ok(spent <= parseFixed("100", 2), `spent ${accounts[0].cash}`);

  // Selling $50 of it: proceeds at most $50.
  const sold = await api.order(cookie, { symbol: "AAPL", side: "sell", notional: "50.00" });
  assert.equal(sold.status, "filled");
  assert.ok(
    parseFixed(sold.qty, 6) * parseFixed(sold.filledAvgPrice, 8) / unit <= parseFixed("50", 2),
  );
  // Crypto takes dollars too, as a gtc market order.
  const btc = await api.order(cookie, {
    symbol: "BTCUSD",
    side: "buy",
    notional: "25",
    timeInForce: "gtc",
  });
  assert.equal(btc.status, "filled");
  assert.match(btc.qty, /^0\.\d{1,8}$/);
});

Deno.test("[notional] bad dollar orders are 422s that change nothing; a retry with the same clientOrderId replays", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("a@example.com");
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ notional: "100", qty: "1" }, "notional", /not both/],
    [{ notional: "0.99" }, "notional", /at least \$1\.00/],
    [{ notional: "10.001" }, "notional", /at most 2 decimal places/],
    [{ notional: "100", type: "limit", limitPrice: "1.00" }, "notional", /market orders/],
    [{ notional: "100", timeInForce: "gtc" }, "timeInForce", /day orders/],
    [{ symbol: "BTCUSD", notional: "100", timeInForce: "fok" }, "timeInForce", /gtc or ioc/],
    // F trades in whole shares: $10 buys none.
    [{ symbol: "F", notional: "10" }, "notional", /less than the smallest quantity of F/],
  ];
  for (const [body, field, message] of cases) {
    const res = await api.request("/api/orders", {
      cookie,
      body: { symbol: "AAPL", side: "buy", type: "market", timeInForce: "day", ...body },
    });
    assert.equal(res.status, 422, JSON.stringify(body));
    const { error } = await res.json();
    assert.match(error.details.fields[field], message, JSON.stringify(body));
  }
  const { orders } = await api.call("/api/orders?status=all", { cookie });
  assert.equal(orders.length, 0, "nothing was placed");

  // The same dollar order sent twice with one clientOrderId is one order, whatever the price did between.
  const send = () =>
    api.request("/api/orders", {
      cookie,
      body: {
        symbol: "AAPL",
        side: "buy",
        type: "market",
        timeInForce: "day",
        notional: "20",
        clientOrderId: "dollars-1",
      },
    });
  const first = await send();
  assert.equal(first.status, 201);
  await new Promise((r) => setTimeout(r, 1100));
  const again = await send();
  assert.equal(again.status, 200);
  assert.equal(again.headers.get("Idempotent-Replayed"), "true");
  assert.equal((await again.json()).id, (await first.json()).id);
});
