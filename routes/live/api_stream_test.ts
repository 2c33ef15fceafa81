/** GET /api/stream: order, account and quote events for programs, replay after a reconnect. */
import assert from "node:assert/strict";
import { pruneAccountEvents } from "../../lib/trading/events.ts";
import { type SseEvent, sseReader } from "../../tests/support/sse.ts";
import { TEST_ORIGIN, testApi, testApp } from "../testing.ts";

type App = Awaited<ReturnType<typeof testApp>>;

function stream(t: App, cookie: string, query = "", headers: Record<string, string> = {}) {
  return t.app.request(`${TEST_ORIGIN}/api/stream${query}`, {
    headers: { Cookie: cookie, Origin: TEST_ORIGIN, ...headers },
  });
}

const json = (event: SseEvent) => JSON.parse(event.data);
const isOrder = (kind: string) => (e: SseEvent) => e.event === "order" && json(e).event === kind;

Deno.test("[api-stream] a fill arrives as order events with price, qty and the position, then the account moves", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie, accountId } = await api.trader("a@example.com");
  const res = await stream(t, cookie, "?symbols=BTCUSD");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("Content-Type")!, /^text\/event-stream/);
  const events = sseReader(res);
  try {
    const first = await events.until((e) => e.event === "account");
    assert.deepEqual(json(first), {
      accountId,
      status: "active",
      cash: "100000.00",
      equity: "100000.00",
      buyingPower: "100000.00",
    });
    assert.match(first.id!, new RegExp(`^${accountId}:0\\.\\d+$`));
    const quote = json(await events.until((e) => e.event === "quote"));
    assert.equal(quote.symbol, "BTC/USD");
    for (const field of ["bid", "ask", "last"]) assert.match(quote[field], /^\d+\.\d+$/);
    assert.ok(!Number.isNaN(Date.parse(quote.ts)));

    const placed = await api.order(cookie, { symbol: "AAPL", side: "buy", qty: 3 });
    const created = await events.until(isOrder("new"));
    assert.equal(json(created).order.id, placed.id);
    assert.equal(created.id, `${accountId}:1`);
    const fill = await events.until(isOrder("fill"));
    const body = json(fill);
    assert.equal(fill.id, `${accountId}:2`);
    assert.equal(body.order.id, placed.id);
    assert.equal(body.order.status, "filled");
    assert.equal(body.qty, "3");
    assert.equal(body.positionQty, "3");
    assert.equal(body.price, body.order.filledAvgPrice);
    // The account event after the fill shows the cash the fill took.
    const after = json(await events.until((e) => e.event === "account"));
    assert.notEqual(after.cash, "100000.00");
    const { accounts } = await api.call("/api/accounts", { cookie });
    assert.equal(after.cash, accounts[0].cash);
  } finally {
    await events.close();
  }
});

Deno.test("[api-stream] reconnecting with Last-Event-ID replays exactly the order events missed", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie, accountId } = await api.trader("a@example.com");
  await api.order(cookie, { symbol: "AAPL", side: "buy", qty: 1 });
  let events = sseReader(await stream(t, cookie));
  await events.until((e) => e.event === "account");
  // Nothing from before connecting is replayed without a Last-Event-ID.
  assert.equal(events.seen.filter((e) => e.event === "order").length, 0);
  await api.order(cookie, { symbol: "MSFT", side: "buy", qty: 2 });
  const seenFill = await events.until(isOrder("fill"));
  assert.equal(json(seenFill).order.symbol, "MSFT");
  await events.close();

  // While disconnected: a fill and a resting order that is then cancelled.
  await api.order(cookie, { symbol: "NVDA", side: "buy", qty: 1 });
  const resting = await api.order(cookie, {
    symbol: "KO",
    side: "buy",
    qty: 1,
    type: "limit",
    limitPrice: "1.00",
  });
  await api.call(`/api/orders/${resting.id}`, { cookie, method: "DELETE" });

  events = sseReader(await stream(t, cookie, "", { "Last-Event-ID": seenFill.id! }));
  try {
    await events.until(isOrder("canceled"));
    const replayed = events.seen.filter((e) => e.event === "order").map((e) => {
      const body = json(e);
      return `${e.id} ${body.event} ${body.order.symbol}`;
    });
    assert.deepEqual(replayed, [
      `${accountId}:5 new NVDA`,
      `${accountId}:6 fill NVDA`,
      `${accountId}:7 new KO`,
      `${accountId}:8 canceled KO`,
    ]);
    // Then the account as it is now.
    await events.until((e) => e.event === "account");
  } finally {
    await events.close();
  }
});

Deno.test("[api-stream] simultaneous orders give gap-free, ordered events on one stream", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie, accountId } = await api.trader("a@example.com");
  const events = sseReader(await stream(t, cookie));
  try {
    await events.until((e) => e.event === "account");
    const placed = await Promise.all(
      Array.from({ length: 12 }, (_, n) =>
        api.order(cookie, {
          symbol: "KO",
          side: "buy",
          qty: 1,
          type: "limit",
          limitPrice: "1.00",
          clientOrderId: `burst-${n}`,
        })),
    );
    await events.until(() => events.seen.filter((e) => e.event === "order").length === 12, 8_000);
    const orders = events.seen.filter((e) => e.event === "order");
    assert.deepEqual(
      orders.map((e) => e.id),
      Array.from({ length: 12 }, (_, n) => `${accountId}:${n + 1}`),
    );
    assert.deepEqual(
      new Set(orders.map((e) => json(e).order.id)),
      new Set(placed.map((o) => o.id)),
    );
  } finally {
    await events.close();
  }
});

Deno.test("[api-stream] bad requests are refused before streaming; another user's account is a 404", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const a = await api.trader("a@example.com");
  const b = await api.trader("b@example.com");
  const cases: [string, string, number, string][] = [
    ["", "", 401, "unauthenticated"],
    [a.cookie, "?symbols=NOPE", 422, "unknown_symbol"],
    [
      a.cookie,
      `?symbols=${Array.from({ length: 51 }, (_, n) => `S${n}`).join(",")}`,
      422,
      "validation_failed",
    ],
    [a.cookie, `?accountId=${b.accountId}`, 404, "not_found"],
  ];
  for (const [cookie, query, status, code] of cases) {
    const res = await stream(t, cookie, query);
    assert.equal(res.status, status, query);
    assert.match(res.headers.get("Content-Type")!, /application\/json/);
    assert.equal((await res.json()).error.code, code);
  }
});

Deno.test("[api-stream] at most 10 streams per user at once; closing one frees its place", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("a@example.com");
  const opened = await Promise.all(Array.from({ length: 12 }, () => stream(t, cookie)));
  const statuses = opened.map((r) => r.status).sort();
  assert.deepEqual(statuses, [...Array(10).fill(200), 429, 429]);
  const refused = opened.find((r) => r.status === 429)!;
  assert.equal((await refused.json()).error.code, "too_many_streams");
  assert.ok(refused.headers.get("Retry-After"));
  const open = opened.filter((r) => r.status === 200);
  await open[0].body!.cancel();
  // The loop notices the cancel at its next write or tick.
  let again: Response | undefined;
  for (let i = 0; i < 30 && again?.status !== 200; i++) {
    await again?.body?.cancel();
    await new Promise((r) => setTimeout(r, 100));
    again = await stream(t, cookie);
  }
  assert.equal(again!.status, 200);
  await again!.body!.cancel();
  for (const r of open.slice(1)) await r.body!.cancel();
});

Deno.test("[api-stream] signing out ends the stream with session_ended", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("a@example.com");
  const events = sseReader(await stream(t, cookie));
  try {
    await events.until((e) => e.event === "account");
    await api.call("/api/auth/sign-out", { cookie, body: {} });
    const ended = await events.until((e) => e.event === "session_ended", 8_000);
    assert.match(json(ended).message, /sign in again/);
    assert.ok(await events.ended(2_000), "the server closes the stream");
  } finally {
    await events.close();
  }
});

Deno.test("[api-stream] asked to replay from before the kept events, the stream says resync first", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie, accountId } = await api.trader("a@example.com");
  await api.order(cookie, { symbol: "AAPL", side: "buy", qty: 1 });
  // The hourly prune has removed those events by the time the program reconnects.
  await pruneAccountEvents(t.deps.store, new Date(Date.now() + 1000));
  await api.order(cookie, { symbol: "MSFT", side: "buy", qty: 1 });
  const events = sseReader(await stream(t, cookie, "", { "Last-Event-ID": `${accountId}:1` }));
  try {
    await events.until(isOrder("fill"));
    const kinds = events.seen.map((e) => e.event === "order" ? json(e).event : e.event);
    assert.deepEqual(kinds.slice(0, 3), ["resync", "new", "fill"]);
    assert.deepEqual(
      { missedAfter: json(events.seen[0]).missedAfter, resumesAt: json(events.seen[0]).resumesAt },
      { missedAfter: 1, resumesAt: 3 },
    );
  } finally {
    await events.close();
  }
});
