/**
 * Portfolio history, performance and allocation through the JSON API and the page: Alpaca's
 * history shape, 422s naming the field, another user's account a 404, and a page that renders the
 * chart with its table and the allocation.
 */
import assert from "node:assert/strict";
import { recordEquityPoints } from "../lib/trading/equity_history.ts";
import { TEST_PASSWORD, testApi, testApp, testBrowser } from "./testing.ts";

Deno.test("[portfolio api] history, performance and allocation; bad input is a 422, another user's account a 404", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const ada = await api.trader("ada@example.com");
  const bob = await api.trader("bob@example.com");
  await api.order(ada.cookie, { symbol: "AAPL", side: "buy", qty: 5 });
  await recordEquityPoints(t.deps.trading, new Date());

  const history = await api.call("/api/portfolio/history?period=1D", { cookie: ada.cookie });
  assert.equal(history.timeframe, "5Min");
  assert.ok(history.timestamps.length >= 2, "the opening or a point, and now");
  for (const key of ["equity", "profitLoss", "profitLossPct"]) {
    assert.equal(history[key].length, history.timestamps.length, key);
    assert.ok(history[key].every((v: unknown) => typeof v === "string"), `${key}: decimal strings`);
  }
  assert.match(history.baseValue, /^\d+\.\d{2}$/);

  for (
    const [query, field] of [
      ["period=2D", "period"],
      ["period=1Y&timeframe=5Min", "timeframe"],
      ["timeframe=1Sec", "timeframe"],
    ]
  ) {
    const res = await api.request(`/api/portfolio/history?${query}`, { cookie: ada.cookie });
    assert.equal(res.status, 422, query);
    assert.ok(field in (await res.json()).error.details.fields, query);
  }
  const foreign = await api.request(
    `/api/portfolio/history?accountId=${encodeURIComponent(bob.accountId)}`,
    { cookie: ada.cookie },
  );
  assert.equal(foreign.status, 404);
  assert.equal((await api.request("/api/portfolio/history")).status, 401);

  const performance = await api.call("/api/portfolio/performance?period=1M&benchmark=QQQ", {
    cookie: ada.cookie,
  });
  assert.equal(performance.benchmark.symbol, "QQQ");
  assert.match(performance.timeWeightedReturn, /^-?\d+\.\d{2}$/);
  assert.ok("maxDrawdown" in performance && "volatility" in performance);
  const unknown = await api.request("/api/portfolio/performance?benchmark=NOPE", {
    cookie: ada.cookie,
  });
  assert.equal(unknown.status, 422);
  assert.ok("benchmark" in (await unknown.json()).error.details.fields);

  const allocation = await api.call("/api/portfolio/allocation", { cookie: ada.cookie });
  assert.deepEqual(allocation.byPosition.map((s: { name: string }) => s.name).sort(), [
    "AAPL",
    "Cash",
  ]);
});

Deno.test("[portfolio pages] the performance page: periods, figures, a chart with its table, allocation", async () => {
  await using t = await testApp();
  const b = testBrowser(t);
  await b.post("/sign-up", { name: "Ada", email: "ada@example.com", password: TEST_PASSWORD });
  await b.post("/sign-in", { email: "ada@example.com", password: TEST_PASSWORD });
  await recordEquityPoints(t.deps.trading, new Date());
  const html = await b.page("/performance?period=1W");
  assert.match(html, /<h1>Performance<\/h1>/);
  assert.match(html, /<a href="\/performance\?period=1W" aria-current="page">1W<\/a>/);
  assert.match(html, /Return \(time-weighted\)/);
  assert.match(
    html,
    /<svg viewBox="0 0 600 200" preserveAspectRatio="none" role="img" aria-label="Equity and SPY: /,
  );
  assert.match(html, /<caption>Equity by day<\/caption>/);
  assert.match(html, /<h3>By asset class<\/h3>/);
  assert.match(html, /Cash<\/span><span class="alloc-num">\$100,000\.00 · 100\.00%</);
  assert.match(html, /href="\/performance"[^>]*>Performance<\/a>/, "in the More menu");
  const bad = await b.get("/performance?period=5Y");
  assert.equal(bad.status, 422);
});
