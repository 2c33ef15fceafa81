/**
 * Price alerts over HTTP: the JSON API (create, list, read, delete, every refusal a 422 that
 * changes nothing, another user's alert a 404, the cap under 60 concurrent creates), the alerts
 * page without JavaScript, and the trade page's "Alert me" link.
 */
import assert from "node:assert/strict";
import { formatFixed } from "../lib/money.ts";
import { type Alert, createAlert, runAlertPass } from "../lib/trading/alerts.ts";
import { liveQuote } from "../lib/trading/market.ts";
import { TEST_PASSWORD, testApi, testApp, testBrowser } from "./testing.ts";

type App = Awaited<ReturnType<typeof testApp>>;

async function lastOf(t: App, symbol: string, at = new Date()) {
  const market = t.deps.trading.market;
  return (await liveQuote(market, market.catalog.get(symbol)!, at)).last;
}

/** A level far above the price now, that no test run reaches. */
const farAbove = async (t: App, symbol: string) => formatFixed((await lastOf(t, symbol)) * 3n);

Deno.test("[alerts api] create, list, read and delete an alert", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("ada@example.com");
  const price = await farAbove(t, "AAPL");
  const res = await api.request("/api/alerts", {
    cookie,
    body: { symbol: "aapl", condition: "above", price, note: "  sell some  " },
  });
  assert.equal(res.status, 201);
  const alert = await res.json();
  assert.equal(alert.symbol, "AAPL");
  assert.equal(alert.condition, "above");
  assert.equal(alert.price, price);
  assert.equal(alert.note, "sell some");
  assert.equal(alert.status, "active");
  assert.equal(alert.triggeredAt, null);
  assert.equal(alert.triggeredPrice, null);

  const below = await api.call("/api/alerts", {
    cookie,
    body: { symbol: "BTC/USD", condition: "below", price: 1 },
  });
  assert.equal(below.price, "1.00");
  assert.equal(below.note, null);

  const all = await api.call("/api/alerts", { cookie });
  assert.deepEqual(all.alerts.map((a: { id: string }) => a.id), [below.id, alert.id]);
  assert.equal(all.nextCursor, null);
  const active = await api.call("/api/alerts?status=active&limit=1", { cookie });
  assert.equal(active.alerts.length, 1);
  assert.notEqual(active.nextCursor, null);
  const triggered = await api.call("/api/alerts?status=triggered", { cookie });
  assert.deepEqual(triggered.alerts, []);
  assert.deepEqual(await api.call(`/api/alerts/${alert.id}`, { cookie }), alert);

  const deleted = await api.request(`/api/alerts/${alert.id}`, { cookie, method: "DELETE" });
  assert.equal(deleted.status, 204);
  assert.equal((await api.request(`/api/alerts/${alert.id}`, { cookie })).status, 404);
  assert.equal(
    (await api.request(`/api/alerts/${alert.id}`, { cookie, method: "DELETE" })).status,
    404,
  );
  assert.equal((await api.call("/api/alerts", { cookie })).alerts.length, 1);
  assert.equal((await api.request("/api/alerts")).status, 401, "signed out");
});

Deno.test("[alerts api] bad input is a 422 naming the field, and changes nothing", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("ada@example.com");
  const last = await lastOf(t, "AAPL");
  const ok = { symbol: "AAPL", condition: "above", price: await farAbove(t, "AAPL") };
  const cases: [Record<string, unknown>, string, string][] = [
    [{ ...ok, symbol: "NOPE" }, "unknown_symbol", "symbol"],
    [{ ...ok, symbol: "" }, "validation_failed", "symbol"],
    [{ ...ok, condition: "sideways" }, "validation_failed", "condition"],
    [{ ...ok, condition: undefined }, "validation_failed", "condition"],
    [{ ...ok, price: "0" }, "validation_failed", "price"],
    [{ ...ok, price: -5 }, "validation_failed", "price"],
    [{ ...ok, price: "abc" }, "validation_failed", "price"],
    [{ ...ok, price: undefined }, "validation_failed", "price"],
    [{ ...ok, price: "187.123" }, "validation_failed", "price"],
    [{ ...ok, note: "x".repeat(201) }, "validation_failed", "note"],
    [{ ...ok, note: 7 }, "validation_failed", "note"],
    // Already past the level: it could never cross it.
    [{ ...ok, price: formatFixed(last / 2n) }, "validation_failed", "price"],
    [{ ...ok, condition: "below", price: formatFixed(last * 2n) }, "validation_failed", "price"],
  ];
  for (const [body, code, field] of cases) {
    const res = await api.request("/api/alerts", { cookie, body });
    const json = await res.json();
    assert.equal(res.status, 422, JSON.stringify(body));
    assert.equal(json.error.code, code, JSON.stringify(body));
    assert.ok(json.error.details.fields[field], `${JSON.stringify(body)} names ${field}`);
  }
  const decimals = await (await api.request("/api/alerts", {
    cookie,
    body: { ...ok, price: "187.123" },
  })).json();
  assert.match(decimals.error.message, /at most 2 decimal places/);
  assert.equal((await api.request("/api/alerts?status=nope", { cookie })).status, 422);
  assert.deepEqual((await api.call("/api/alerts", { cookie })).alerts, []);
  assert.equal((await t.deps.store.find("alert_slots", { limit: 10 })).items.length, 0);
});

Deno.test("[alerts api] another user's alert is a 404 and stays", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const ada = await api.trader("ada@example.com");
  const bob = await api.trader("bob@example.com");
  const alert = await api.call("/api/alerts", {
    cookie: ada.cookie,
    body: { symbol: "MSFT", condition: "above", price: await farAbove(t, "MSFT") },
  });
  for (const method of ["GET", "DELETE"]) {
    const res = await api.request(`/api/alerts/${alert.id}`, { cookie: bob.cookie, method });
    assert.equal(res.status, 404, method);
  }
  assert.deepEqual((await api.call("/api/alerts", { cookie: bob.cookie })).alerts, []);
  assert.equal((await api.call(`/api/alerts/${alert.id}`, { cookie: ada.cookie })).id, alert.id);
});

Deno.test("[alerts api] 60 simultaneous creates: exactly 50 active, the rest too_many_alerts", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("ada@example.com");
  const base = (await lastOf(t, "KO")) * 3n;
  const responses = await Promise.all(
    Array.from({ length: 60 }, (_, n) =>
      api.request("/api/alerts", {
        cookie,
        body: {
          symbol: "KO",
          condition: "above",
          price: formatFixed(base + BigInt(n) * 1_000_000n),
        },
      })),
  );
  const statuses = responses.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 201).length, 50, statuses.join(","));
  const refused = responses.filter((r) => r.status !== 201);
  assert.equal(refused.length, 10);
  for (const res of refused) {
    assert.equal(res.status, 422);
    assert.equal((await res.json()).error.code, "too_many_alerts");
  }
  for (const res of responses.filter((r) => r.status === 201)) await res.body?.cancel();
  const active = await api.call("/api/alerts?status=active&limit=200", { cookie });
  assert.equal(active.alerts.length, 50);
});

Deno.test("[alerts pages] the form works without JavaScript; active and triggered alerts are listed", async () => {
  await using t = await testApp();
  const b = testBrowser(t);
  const email = "ada@example.com";
  await b.post("/sign-up", { name: "Ada", email, password: TEST_PASSWORD });
  assert.equal((await b.post("/sign-in", { email, password: TEST_PASSWORD })).status, 303);
  const user = await t.deps.store.findOne<{ _id: string; _v: number }>("users", { email });

  // "Alert me" on the trade page leads here with the symbol filled in.
  const trade = await b.page("/trade/AAPL");
  assert.match(trade, /<a href="\/alerts\?symbol=AAPL">Alert me<\/a>/);
  assert.match(await b.page("/trade/BTC%2FUSD"), /href="\/alerts\?symbol=BTC%2FUSD">Alert me</);
  const blank = await b.page("/alerts?symbol=aapl");
  assert.match(blank, /<h1>Price alerts<\/h1>/);
  assert.match(blank, /name="symbol"[^>]*value="AAPL"/);
  assert.match(blank, /AAPL last \d+\.\d\d/);
  assert.match(blank, /<a href="\/alerts"[^>]*>Alerts<\/a>/, "in the More menu");
  assert.match(blank, /No active alerts\./);

  // A refused form comes back with its error and what was typed, and creates nothing.
  const refused = await b.post("/alerts", {
    symbol: "AAPL",
    condition: "above",
    price: "0",
    note: "",
  });
  assert.equal(refused.status, 422);
  const refusedHtml = await refused.text();
  assert.match(refusedHtml, /Price must be greater than zero\./);
  assert.match(refusedHtml, /name="symbol"[^>]*value="AAPL"/);
  assert.match(refusedHtml, /No active alerts\./);

  // With htmx the refused form alone comes back, to swap in place.
  const partial = await b.post("/alerts", {
    symbol: "NOPE",
    condition: "above",
    price: "5",
  }, { "HX-Request": "true" });
  assert.equal(partial.status, 422);
  const partialHtml = await partial.text();
  assert.match(partialHtml, /^<form id="new-alert"/);
  assert.match(partialHtml, /There is no security with the symbol NOPE\./);

  const price = await farAbove(t, "AAPL");
  const created = await b.post("/alerts", {
    symbol: "AAPL",
    condition: "above",
    price,
    note: "take profit",
  });
  assert.equal(created.status, 303);
  assert.equal(created.headers.get("Location"), "/alerts");
  const listed = await b.page("/alerts");
  assert.match(listed, new RegExp(`Alert set: AAPL rises to ${price.replace(".", "\\.")}\\.`));
  assert.match(listed, /Active \(1\)/);
  assert.match(listed, /take profit/);
  assert.match(listed, /None has fired yet\./);

  // One that fired: set a cent above the price at a fixed time, fired by the pass that sees it.
  const ctx = t.deps.trading;
  const start = new Date("2026-06-02T15:00:00.250Z");
  const level = (await lastOf(t, "XOM", start)) + 1_000_000n;
  let second = 0;
  for (let s = 1; s <= 600 && !second; s++) {
    if (await lastOf(t, "XOM", new Date(start.getTime() + s * 1000)) >= level) second = s;
  }
  assert.ok(second > 0);
  const fired = await createAlert(ctx, user!._id, {
    symbol: "XOM",
    condition: "above",
    price: formatFixed(level / 1_000_000n * 1_000_000n),
  }, start);
  assert.equal(
    (await runAlertPass(ctx, new Date(start.getTime() + second * 1000))).fired,
    1,
  );
  const stored = (await t.deps.store.get<Alert>("alerts", fired._id))!;
  const page = await b.page("/alerts");
  const triggeredSection = page.slice(page.indexOf('id="triggered-alerts-h"'));
  assert.match(triggeredSection, /XOM/);
  assert.match(triggeredSection, new RegExp(stored.triggeredPrice!.replace(".", "\\.")));
  assert.match(page, /Active \(1\)/, "the fired alert is no longer active");

  // Deleting with the plain form; another user's alert is a 404.
  const deleted = await b.post(`/alerts/${fired._id}/delete`, {});
  assert.equal(deleted.status, 303);
  assert.equal(await t.deps.store.get("alerts", fired._id), null);
  const other = await createAlert(ctx, "someone-else", {
    symbol: "KO",
    condition: "below",
    price: "1.00",
  });
  assert.equal((await b.post(`/alerts/${other._id}/delete`, {})).status, 404);
  assert.ok(await t.deps.store.get("alerts", other._id));
});
