/** GET /api/bars/:symbol: computed history, ascending and deterministic; precise 404/422s; public like /api/quotes. */
import assert from "node:assert/strict";
import { testApp } from "./testing.ts";

const ORIGIN = "http://localhost:8000";
type Bars = { bars: { t: string; o: string; h: string; l: string; c: string; v: number }[] };

function get(t: Awaited<ReturnType<typeof testApp>>, path: string) {
  return t.app.request(`${ORIGIN}/api${path}`, { headers: { Origin: ORIGIN } });
}

Deno.test("[bars-api] bars are ascending decimal strings, the same on every call, five years deep", async () => {
  await using t = await testApp();
  const res = await get(t, "/bars/AAPL?timeframe=1Day&start=2021-01-01&end=2026-01-01&limit=1000");
  assert.equal(res.status, 200, "public market data, like /api/quotes: no sign-in");
  const body: Bars = await res.json();
  // Always-open test clock: one bar per UTC day, and 1000 is the cap.
  assert.equal(body.bars.length, 1000);
  assert.equal(body.bars.at(-1)!.t, "2025-12-31T00:00:00.000Z");
  const times = body.bars.map((b) => Date.parse(b.t));
  assert.ok(times.every((time, n) => n === 0 || time > times[n - 1]), "ascending");
  for (const bar of body.bars) {
    assert.deepEqual(Object.keys(bar), ["t", "o", "h", "l", "c", "v"]);
    for (const p of [bar.o, bar.h, bar.l, bar.c]) assert.match(p, /^\d+\.\d{2}$/);
    assert.ok(Number(bar.l) <= Number(bar.o) && Number(bar.o) <= Number(bar.h));
  }
  const again: Bars = await (await get(
    t,
    "/bars/AAPL?timeframe=1Day&start=2021-01-01&end=2026-01-01&limit=1000",
  )).json();
  assert.deepEqual(again, body, "deterministic");

  const crypto: Bars = await (await get(t, "/bars/BTC/USD?timeframe=5Min&limit=288")).json();
  assert.equal(crypto.bars.length, 288, "a day of 5-minute bars up to now");
  assert.ok(Date.now() - Date.parse(crypto.bars.at(-1)!.t) < 5 * 60_000);
  const older: Bars = await (await get(
    t,
    `/bars/BTC/USD?timeframe=1Min&end=${
      new Date(Date.now() - 29 * 86_400_000).toISOString()
    }&limit=5`,
  )).json();
  assert.equal(older.bars.length, 5, "intraday 29 days back");
});

Deno.test("[bars-api] unknown symbol 404; bad timeframe, dates and limit 422 naming the field", async () => {
  await using t = await testApp();
  const unknown = await get(t, "/bars/ZZZZ");
  assert.equal(unknown.status, 404);
  const cases: [string, string, RegExp][] = [
    ["timeframe=2Min", "timeframe", /1Min, 5Min, 15Min, 1Hour, 1Day/],
    ["start=yesterday", "start", /ISO 8601/],
    ["end=2026-13-01", "end", /ISO 8601/],
    ["limit=0", "limit", /1 to 1000/],
    ["limit=1001", "limit", /1 to 1000/],
    ["limit=ten", "limit", /1 to 1000/],
    ["start=2026-02-01&end=2026-01-01", "start", /not be after the end/],
  ];
  for (const [query, field, message] of cases) {
    const res = await get(t, `/bars/AAPL?${query}`);
    assert.equal(res.status, 422, query);
    const { error } = await res.json();
    assert.equal(error.code, "validation_failed");
    assert.match(error.details.fields[field], message, query);
  }
});

Deno.test("[bars-api] Finnhub unreachable with nothing cached: 503 market_data_unavailable, not a 500", async () => {
  // A port that was just open and is now closed: the connection is refused at once.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  await using t = await testApp({
    MARKET_DATA_API_KEY: "fh-test-key",
    MARKET_DATA_BASE_URL: `http://127.0.0.1:${port}`,
  });
  const res = await get(t, "/bars/AAPL?timeframe=5Min&limit=10");
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("Retry-After"), "5");
  const { error } = await res.json();
  assert.equal(error.code, "market_data_unavailable");
  assert.match(error.message, /No market data for AAPL right now/);
});
