/** The trade page's chart: ranges and views as plain links and as htmx swaps, its colour, its byte budget. */
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { testApp, testBrowser } from "./testing.ts";

const PASSWORD = "vivid-otter-planet-42";
const htmx = { "HX-Request": "true" };
type App = Awaited<ReturnType<typeof testApp>>;

async function signedIn(t: App) {
  const b = testBrowser(t);
  await b.post("/sign-up", { name: "Ada", email: "ada@example.com", password: PASSWORD });
  assert.equal(
    (await b.post("/sign-in", { email: "ada@example.com", password: PASSWORD })).status,
    303,
  );
  return b;
}

const compressed = (text: string) => {
  const bytes = new TextEncoder().encode(text);
  return {
    br: zlib.brotliCompressSync(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } })
      .byteLength,
    gzip: zlib.gzipSync(bytes).byteLength,
  };
};
const current = (html: string, label: string) =>
  html.match(new RegExp(`<nav class="seg" aria-label="${label}">.*?</nav>`))![0]
    .match(/<a [^>]*aria-current="page"[^>]*>([^<]+)</)![1];

Deno.test("[chart] the 1D chart: prices, times, the previous close, coloured like the day's change", async () => {
  await using t = await testApp();
  const b = await signedIn(t);
  for (const symbol of ["AAPL", "BTC%2FUSD"]) {
    const html = await b.page(`/trade/${symbol}`);
    const chart = html.match(/<section id="chart".*?<\/section>/)?.[0];
    assert.ok(chart, "a chart section");
    assert.equal(current(chart, "Chart range"), "1D");
    assert.equal(current(chart, "Chart type"), "Line");
    assert.match(chart, /<polyline class="ln" points="(\d+,\d+ ){10,}/, "a line of many points");
    assert.match(chart, /<path class="ref" d="M0 \d+H600"/, "the previous close, dashed");
    assert.match(chart, />\$[\d,]+\.\d\d<\/text>/, "price labels");
    assert.match(chart, />\d\d:00<\/text>/, "hour labels");
    assert.match(chart, /<div class="sr"><table>.*<td>\$[\d,.]+<\/td>/, "the points as a table");
    // The line's colour is the quote's day change colour (no change: neutral on both).
    const dayChange = html.match(
      /<dt>Change<\/dt><dd><span id="t-change"(?: class="(up|down)")?>/,
    )!;
    const line = chart.match(/<svg viewBox="0 0 600 236" class="(up|down|flat)"/)![1];
    assert.equal(line, dayChange[1] ?? "flat", symbol);
    assert.ok(html.includes('<script src="/static/chart.'), "the readout script, from our origin");
  }
});

Deno.test("[chart] range tabs and the view toggle work as plain links and as htmx swaps", async () => {
  await using t = await testApp();
  const b = await signedIn(t);
  // Without JavaScript: a plain GET of the link shows the whole page with a 1Y chart.
  const page = await b.page("/trade/AAPL?range=1Y");
  assert.ok(page.includes("<html"));
  assert.ok(page.includes('id="ticket"'), "the rest of the page is there");
  assert.equal(current(page, "Chart range"), "1Y");
  assert.ok(page.includes('href="/trade/AAPL?range=5Y&amp;view=line"'), "links keep the view");
  assert.doesNotMatch(page, /class="ref"/, "the previous close is a 1D line");
  assert.match(page, />[A-Z][a-z]{2} \d\d<\/text>/, "month labels");
  const rows = page.match(/<div class="sr"><table>.*?<\/table>/)![0].match(/<tr>/g)!.length - 1;
  assert.ok(rows >= 100 && rows <= 180, `${rows} points for a year of days, thinned`);

  // With htmx: the same address answers with the chart section only, which replaces itself.
  const res = await b.get("/trade/AAPL?range=1Y&view=candle", htmx);
  assert.equal(res.status, 200);
  const fragment = await res.text();
  assert.match(fragment, /^<section id="chart"/);
  assert.ok(!fragment.includes("<html") && !fragment.includes('id="ticket"'));
  assert.match(fragment, /hx-target:inherited="#chart" hx-swap:inherited="outerHTML"/);
  assert.match(fragment, /hx-push-url:inherited="true"/);
  assert.equal(current(fragment, "Chart type"), "Candles");
  assert.match(fragment, /<g class="cd up"><path d="(M\d+\.5 \d+V\d+)+"/, "candle wicks");
  assert.match(fragment, /hx-get="\/trade\/AAPL\?range=1D&amp;view=candle"/);

  // The 1D chart reloads itself when the live stream says its next minute has come.
  const day = await (await b.get("/trade/AAPL?range=1D&view=line", htmx)).text();
  assert.match(
    day,
    /^<section id="chart"[^>]* hx-get="\/trade\/AAPL\?range=1D&amp;view=line" hx-trigger="chart from:body"/,
  );
  assert.doesNotMatch(fragment, /hx-trigger="chart/, "other ranges do not move by the minute");

  // A range the page never links to is a clear 422.
  const bad = await b.get("/trade/AAPL?range=2D");
  assert.equal(bad.status, 422);
  assert.match(await bad.text(), /Use one of 1D, 1W, 1M, 3M, 1Y, 5Y/);
});

Deno.test("[chart] the 1D chart fragment is at most 4 KB compressed", async () => {
  await using t = await testApp();
  const b = await signedIn(t);
  for (const symbol of ["AAPL", "BTC%2FUSD", "DOGE%2FUSD"]) {
    for (const view of ["line", "candle"]) {
      const fragment = await (await b.get(`/trade/${symbol}?range=1D&view=${view}`, htmx)).text();
      const size = compressed(fragment);
      console.log(`${symbol} 1D ${view}: ${JSON.stringify(size)} bytes compressed`);
      assert.ok(size.br <= 4096 && size.gzip <= 4096, `${symbol} ${view}: ${JSON.stringify(size)}`);
    }
  }
});

Deno.test("[chart] positions and watchlist rows get a 1D sparkline coloured like the day's change", async () => {
  await using t = await testApp();
  const b = await signedIn(t);
  const html = await b.page("/trade/AAPL");
  const idempotencyKey = html.match(/name="idempotencyKey" value="([^"]+)"/)![1];
  const placed = await b.post("/trade", {
    symbol: "AAPL",
    side: "buy",
    type: "market",
    qty: "2",
    timeInForce: "day",
    idempotencyKey,
  });
  assert.equal(placed.status, 303);
  const [quote] = await t.deps.trading.market.provider.quotes(
    [t.deps.trading.market.catalog.get("AAPL")!],
    new Date(),
  );
  const move = Number(quote.last) - Number(quote.prevClose);
  for (const path of ["/positions", "/dashboard", "/watchlist"]) {
    const page = await b.page(path);
    const sparks = page.match(
      /<svg class="sl [^"]*"[^>]*><polyline points="[^"]*"><\/polyline><\/svg>/g,
    );
    assert.ok(sparks, `${path}: sparklines`);
    for (const spark of sparks) {
      assert.match(spark, /aria-hidden="true"/);
      const bytes = new TextEncoder().encode(spark).byteLength;
      assert.ok(bytes <= 300, `${path}: ${bytes} bytes for one sparkline`);
    }
    if (path !== "/watchlist") {
      const row = page.match(/<a href="\/trade\/AAPL">AAPL<\/a>.*?<\/tr>/)![0];
      const tone = row.match(/<svg class="sl (up|down|flat)"/)![1];
      assert.equal(tone, move === 0 ? "flat" : move > 0 ? "up" : "down", path);
    }
  }
});

Deno.test("[chart] times on the chart are in the trader's zone, named", async () => {
  await using t = await testApp();
  const b = await signedIn(t);
  b.jar.set("orion_tz", "America/New_York");
  const html = await b.page("/trade/AAPL");
  const chart = html.match(/<section id="chart".*?<\/section>/)![0];
  assert.match(chart, /times in America\/New_York<\/caption>/);
  // The readout names the zone; the axis starts at the session's 04:00 in New York, not UTC.
  assert.match(
    chart,
    /<p class="readout"[^>]*><span>[A-Z][a-z]{2} \d{1,2}, \d\d:\d\d (EST|EDT)<\/span>/,
  );
  b.jar.set("orion_tz", "UTC");
  const utc = (await b.page("/trade/AAPL")).match(/<section id="chart".*?<\/section>/)![0];
  assert.match(utc, /<span>[A-Z][a-z]{2} \d{1,2}, \d\d:\d\d UTC<\/span>/);
  assert.notEqual(
    chart.match(/<text[^>]*text-anchor="middle">([^<]+)</)![1],
    utc.match(/<text[^>]*text-anchor="middle">([^<]+)</)![1],
    "the hour labels move with the zone",
  );
});
