/** GET /live: the live pages' stream of out-of-band swaps, as a page opens it. */
import assert from "node:assert/strict";
import { runExecutionPass } from "../../lib/trading/worker.ts";
import { runDispatchPass } from "../../lib/notify/dispatch.ts";
import { type SseEvent, sseReader } from "../../tests/support/sse.ts";
import { TEST_ORIGIN, testApi, testApp } from "../testing.ts";

type App = Awaited<ReturnType<typeof testApp>>;

/** A page as a signed-in browser gets it. */
async function page(t: App, cookie: string, path: string, headers: Record<string, string> = {}) {
  const res = await t.app.request(`${TEST_ORIGIN}${path}`, {
    headers: { Cookie: cookie, ...headers },
  });
  assert.equal(res.status, 200, path);
  return await res.text();
}

/** The stream address a page names in its `hx-sse:connect`. */
function liveAddressIn(html: string): string {
  const match = /hx-sse:connect="([^"]+)"/.exec(html);
  assert.ok(match, "the page opens a live stream");
  return match[1].replaceAll("&amp;", "&");
}

function open(t: App, cookie: string, address: string, referer = `${TEST_ORIGIN}/dashboard`) {
  return t.app.request(`${TEST_ORIGIN}${address}`, {
    headers: { Cookie: cookie, Referer: referer, Accept: "text/event-stream" },
  });
}

/** The ids an update message swaps, and the markup of each. */
function swaps(event: SseEvent): Map<string, string> {
  const out = new Map<string, string>();
  for (
    const m of event.data.matchAll(
      /<(span|div) id="([^"]+)"(?: class="\w+")? hx-swap-oob="true">(.*?)<\/\1>(?=<span id=|<div id=|$)/g,
    )
  ) {
    out.set(m[2], m[3]);
  }
  return out;
}

const isUpdate = (e: SseEvent) => e.event === "message";

Deno.test("[live] the dashboard's stream sends changed figures only, each as an out-of-band swap of its id", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("a@example.com");
  await api.order(cookie, { symbol: "BTCUSD", side: "buy", qty: "0.5", timeInForce: "gtc" });
  const html = await page(t, cookie, "/dashboard");
  const address = liveAddressIn(html);
  assert.match(address, /^\/live\?page=dashboard&v=\d+&at=\d+$/);
  // The figures the stream keeps are on the page under the same ids.
  for (
    const id of ["acct-equity", "acct-today", "acct-cash", "pos-BTC_USD-last", "wl0-BTC_USD-bid"]
  ) {
    assert.match(html, new RegExp(`<span id="${id}"[ >]`), id);
  }
  const events = sseReader(await open(t, cookie, address));
  try {
    const update = await events.until(isUpdate, 8_000);
    const changed = swaps(update);
    assert.ok(changed.size > 0);
    for (const [id] of changed) {
      assert.match(html, new RegExp(`id="${id}"`), `${id} is on the page`);
    }
    // Bitcoin trades around the clock and its price moves each second: its figures come, and
    // only figures that moved — a figure never repeats the value the page already has.
    const later = await events.until((e) => isUpdate(e) && swaps(e).has("pos-BTC_USD-last"), 8_000);
    const updates = events.seen.filter(isUpdate);
    for (let n = 1; n < updates.length; n++) {
      for (const [id, markup] of swaps(updates[n])) {
        const before = updates.slice(0, n).findLast((u) => swaps(u).has(id));
        if (before) assert.notEqual(swaps(before).get(id), markup, `${id} sent unchanged`);
      }
    }
    // One changed symbol costs at most 300 bytes (issue 10, point 9).
    const symbolBytes = [...later.data.matchAll(/<span id="pos-BTC_USD-.*?<\/span>/g)]
      .reduce((n, [element]) => n + new TextEncoder().encode(element).length, 0);
    assert.ok(symbolBytes <= 300, `a position's update is ${symbolBytes} bytes`);
  } finally {
    await events.close();
  }
});

Deno.test("[live] an order that fills in the background shows as filled on the orders page, and a new position reloads the positions", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("a@example.com");
  const resting = await api.order(cookie, {
    symbol: "AAPL",
    side: "buy",
    qty: 2,
    type: "limit",
    limitPrice: "1.00",
    timeInForce: "gtc",
  });
  const ordersHtml = await page(t, cookie, "/orders?status=open");
  assert.match(
    ordersHtml,
    new RegExp(`<span id="ord-${resting.id}-status"><span class="status new">`),
  );
  const orders = sseReader(await open(t, cookie, liveAddressIn(ordersHtml)));
  const positions = sseReader(
    await open(t, cookie, liveAddressIn(await page(t, cookie, "/positions"))),
  );
  try {
    // The order becomes marketable (changed from another tab, or a script) and the worker fills it.
    await api.call(`/api/orders/${resting.id}`, {
      cookie,
      method: "PATCH",
      body: { limitPrice: "1000.00" },
    });
    await runExecutionPass(t.deps.trading);
    const filled = await orders.until(
      (e) => isUpdate(e) && /status filled/.test(swaps(e).get(`ord-${resting.id}-status`) ?? ""),
      8_000,
    );
    const cells = swaps(filled);
    assert.equal(cells.get(`ord-${resting.id}-filled`), "2");
    assert.equal(cells.get(`ord-${resting.id}-act`), "", "no Cancel or Change on a filled order");
    // A position that did not exist when the page loaded: the table reloads itself.
    const reload = await positions.until((e) => e.event === "positions", 8_000);
    assert.equal(reload.data, "positions");
  } finally {
    await orders.close();
    await positions.close();
  }
});

Deno.test("[live] with Save-Data there is no stream, only a refresh link", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("a@example.com");
  for (const path of ["/dashboard", "/positions", "/orders", "/watchlist", "/trade/AAPL"]) {
    const html = await page(t, cookie, path, { "Save-Data": "on" });
    assert.doesNotMatch(html, /hx-sse:connect/, path);
    assert.match(html, /Data saver is on[^<]*<a href="[^"]+">Refresh<\/a>/, path);
    const normal = await page(t, cookie, path);
    assert.match(normal, /hx-sse:connect="\/live\?page=/, path);
  }
});

Deno.test("[live] signing out puts a notice on the page and closes the stream", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("a@example.com");
  const events = sseReader(
    await open(
      t,
      cookie,
      liveAddressIn(await page(t, cookie, "/positions")),
      `${TEST_ORIGIN}/positions`,
    ),
  );
  try {
    await api.call("/api/auth/sign-out", { cookie, body: {} });
    const ended = await events.until((e) => e.event === "session_ended", 10_000);
    const notice = events.seen[events.seen.indexOf(ended) - 1];
    assert.match(notice.data, /id="live-status"[^>]*hx-swap-oob="true"/);
    assert.match(notice.data, /session has ended/);
    assert.match(notice.data, /href="\/sign-in\?next=%2Fpositions"/);
    assert.ok(await events.ended(2_000), "the server closes the stream");
  } finally {
    await events.close();
  }
});

Deno.test("[live] bad stream requests are refused: signed out 401, unknown page or symbol 4xx", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("a@example.com");
  const cases: [string, string, number, string][] = [
    ["", "/live?page=dashboard", 401, "unauthenticated"],
    [cookie, "/live?page=admin", 422, "validation_failed"],
    [cookie, "/live", 422, "validation_failed"],
    [cookie, "/live?page=trade&symbol=NOPE", 422, "unknown_symbol"],
  ];
  for (const [who, address, status, code] of cases) {
    const res = await t.app.request(`${TEST_ORIGIN}${address}`, {
      headers: { Cookie: who, Accept: "application/json" },
    });
    assert.equal(res.status, status, address);
    assert.equal((await res.json()).error.code, code, address);
  }
});

Deno.test("[live] while every market on the page is closed, nothing streams after the page is brought up to date", async () => {
  // A Saturday, as time goes by: US equities are closed all day; the watchlist holds only them.
  const started = Date.now();
  const saturday = Date.parse("2026-12-05T15:00:00Z");
  await using t = await testApp({ MARKET_HOURS: "nyse" }, {
    streamClock: () => new Date(saturday + Date.now() - started),
  });
  const api = testApi(t);
  const { cookie } = await api.trader("a@example.com");
  const { watchlists } = await api.call("/api/watchlists", { cookie });
  await api.call(`/api/watchlists/${watchlists[0].id}/symbols/${encodeURIComponent("BTC/USD")}`, {
    cookie,
    method: "DELETE",
  });
  const html = await page(t, cookie, "/watchlist");
  assert.doesNotMatch(html, /id="wl0-BTC_USD-last"/);
  const events = sseReader(await open(t, cookie, liveAddressIn(html)));
  try {
    // The page was rendered at another time than the stream's Saturday: one catch-up message,
    // then silence, since no price on it moves while its market is closed.
    await events.until(isUpdate, 5_000);
    await assert.rejects(events.until(() => true, 3_500), /no matching event/);
  } finally {
    await events.close();
  }
});

Deno.test("[live] the bell's count follows a notification that arrives while the page is open", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("a@example.com");
  const html = await page(t, cookie, "/watchlist");
  assert.match(html, /<span id="bell"><\/span>/, "nothing unread when the page was rendered");
  const events = sseReader(await open(t, cookie, liveAddressIn(html)));
  try {
    // A fill made elsewhere (a script, another tab), dispatched by the worker's pass.
    await api.order(cookie, { symbol: "AAPL", side: "buy", qty: "1" });
    await runDispatchPass(t.deps.store);
    const rung = await events.until((e) => isUpdate(e) && swaps(e).has("bell"), 8_000);
    assert.equal(swaps(rung).get("bell"), "1");
    // Read elsewhere: the next tick clears it.
    await api.call("/api/notifications/read", { cookie, body: { all: true } });
    const cleared = await events.until(
      (e) => isUpdate(e) && swaps(e).get("bell") === "",
      8_000,
    );
    assert.ok(cleared);
  } finally {
    await events.close();
  }
});
