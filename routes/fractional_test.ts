/** Fractional shares (issue 11, point 4): for fractionable stocks, in market and limit day orders. */
import assert from "node:assert/strict";
import { parseFixed } from "../lib/money.ts";
import { TEST_ORIGIN, testApi, testApp } from "./testing.ts";

Deno.test("[fractional] half a share of a fractionable stock fills, costs what it is worth, and can be sold in part", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("a@example.com");
  const security = await api.call("/api/securities/AAPL", { cookie });
  assert.equal(security.fractionable, true);
  assert.equal(security.qtyDecimals, 6);

  const bought = await api.order(cookie, { symbol: "AAPL", side: "buy", qty: "0.5" });
  assert.equal(bought.status, "filled");
  assert.equal(bought.filledQty, "0.5");
  const { positions } = await api.call("/api/positions", { cookie });
  assert.equal(positions[0].qty, "0.5");
  // The cash moved is the half share at the fill price, rounded up to the cent: never less.
  const { accounts } = await api.call("/api/accounts", { cookie });
  const spent = parseFixed("100000", 2) - parseFixed(accounts[0].cash, 2);
  // (Fixed-point amounts share one scale, so a product is divided by one unit.)
  const value = parseFixed(bought.filledAvgPrice, 8) * parseFixed("0.5", 6) / parseFixed("1", 0);
  assert.ok(spent >= value, "the cost covers the half share");
  assert.ok(spent - value < parseFixed("0.01", 2), "and is at most a cent more");

  const sold = await api.order(cookie, { symbol: "AAPL", side: "sell", qty: "0.123456" });
  assert.equal(sold.status, "filled");
  const after = await api.call("/api/positions", { cookie });
  assert.equal(after.positions[0].qty, "0.376544");
  // Closing half of what is left rounds down to the millionth, never selling more than asked.
  const closed = await api.call("/api/positions/AAPL?percentage=50", {
    cookie,
    method: "DELETE",
  });
  assert.equal(closed.qty, "0.188272");
});

Deno.test("[fractional] a limit day order may rest with a fraction; other orders and whole-share stocks say why not", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("a@example.com");
  const resting = await api.order(cookie, {
    symbol: "MSFT",
    side: "buy",
    type: "limit",
    limitPrice: "1.00",
    qty: "2.75",
  });
  assert.equal(resting.status, "new");
  assert.equal(resting.qty, "2.75");

  const refused: [Record<string, unknown>, RegExp][] = [
    [
      { symbol: "MSFT", type: "limit", limitPrice: "1.00", timeInForce: "gtc", qty: "1.5" },
      /Fractions of a share are for market and limit day orders/,
    ],
    [{ symbol: "MSFT", type: "stop", stopPrice: "9999.00", qty: "0.5" }, /Fractions of a share/],
    [{ symbol: "MSFT", qty: "0.1234567" }, /at most 6 decimals/],
    // A stock listed under $30 trades in whole shares.
    [{ symbol: "F", qty: "0.5" }, /^F trades in whole shares\.$/],
  ];
  for (const [body, message] of refused) {
    const res = await api.request("/api/orders", {
      cookie,
      body: { side: "buy", type: "market", timeInForce: "day", ...body },
    });
    assert.equal(res.status, 422, JSON.stringify(body));
    const { error } = await res.json();
    assert.equal(error.code, "validation_failed");
    assert.match(error.details.fields.qty, message);
  }
  const { orders } = await api.call("/api/orders?status=all", { cookie });
  assert.equal(orders.length, 1, "refused orders changed nothing");
  const whole = await api.call("/api/securities/F", { cookie });
  assert.equal(whole.fractionable, false);
});

Deno.test("[fractional] the ticket takes fractions for fractionable stocks and says so", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("a@example.com");
  const page = async (symbol: string) =>
    await (await t.app.request(`${TEST_ORIGIN}/trade/${symbol}`, { headers: { Cookie: cookie } }))
      .text();
  assert.match(
    await page("AAPL"),
    /inputmode="decimal"[^>]*\/><small id="t-qty-hint" class="hint">Fractions for market and limit day orders</,
  );
  assert.match(
    await page("F"),
    /inputmode="numeric"[^>]*\/><small id="t-qty-hint" class="hint">Whole shares</,
  );
});
