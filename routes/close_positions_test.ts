/** Closing positions through the API: all, part, everything; reserved shares; bad input; races. */
import assert from "node:assert/strict";
import { testApi, testApp, testBrowser } from "./testing.ts";

type App = Awaited<ReturnType<typeof testApp>>;

async function setUp() {
  const t = await testApp({ ORDERS_PER_SECOND: "1000" });
  const api = testApi(t);
  const me = await api.trader("a@example.com");
  const close = (path: string) =>
    api.request(`/api/positions${path}`, { cookie: me.cookie, method: "DELETE" });
  const positions = async () =>
    Object.fromEntries(
      (await api.call("/api/positions", { cookie: me.cookie })).positions.map((
        p: { symbol: string; qty: string },
      ) => [p.symbol, p.qty]),
    );
  return { t, api, me, close, positions };
}

async function errorOf(res: Response) {
  const body = await res.json();
  return { status: res.status, code: body.error?.code, message: body.error?.message, body };
}

Deno.test("[close positions] part by qty, part by percentage (rounded down), then the rest", async () => {
  const { t, api, me, close, positions } = await setUp();
  await using _ = t;
  await api.order(me.cookie, { symbol: "F", side: "buy", qty: 10 });
  let res = await close("/F?qty=3");
  assert.equal(res.status, 200);
  const first = await res.json();
  assert.deepEqual(
    [first.side, first.type, first.qty, first.status, first.timeInForce],
    ["sell", "market", "3", "filled", "day"],
  );
  assert.deepEqual(await positions(), { F: "7" });
  res = await close("/F?percentage=50");
  assert.equal(
    (await res.json()).qty,
    "3",
    "50% of 7 is 3.5: rounded down to whole shares (F is not fractionable)",
  );
  assert.deepEqual(await positions(), { F: "4" });
  res = await close("/F");
  assert.equal((await res.json()).qty, "4");
  assert.deepEqual(await positions(), {});
  const gone = await errorOf(await close("/F"));
  assert.deepEqual([gone.status, gone.code], [404, "not_found"]);
});

Deno.test("[close positions] shares reserved by a working sell: refused and unchanged, or cancelled on request", async () => {
  const { t, api, me, close, positions } = await setUp();
  await using _ = t;
  await api.order(me.cookie, { symbol: "KO", side: "buy", qty: 10 });
  const resting = await api.order(me.cookie, {
    symbol: "KO",
    side: "sell",
    qty: 6,
    type: "limit",
    limitPrice: "9999.00",
    timeInForce: "gtc",
  });
  const refused = await errorOf(await close("/KO"));
  assert.deepEqual([refused.status, refused.code], [422, "position_reserved"]);
  assert.match(refused.message, /6 of your 10 KO are reserved/);
  assert.deepEqual(refused.body.error.details, { reserved: "6", held: "10" });
  assert.deepEqual(await positions(), { KO: "10" });
  const open = await api.call("/api/orders?status=open", { cookie: me.cookie });
  assert.deepEqual(open.orders.map((o: { id: string }) => o.id), [resting.id], "nothing changed");

  // What is not reserved can be closed without touching the working sell.
  assert.equal((await (await close("/KO?qty=4")).json()).qty, "4");
  assert.deepEqual(await positions(), { KO: "6" });
  const all = await close("/KO?cancelOrders=true");
  assert.equal(all.status, 200);
  assert.equal((await all.json()).qty, "6");
  const cancelled = await api.call(`/api/orders/${resting.id}`, { cookie: me.cookie });
  assert.equal(cancelled.status, "cancelled");
  assert.deepEqual(await positions(), {});
});

Deno.test("[close positions] DELETE /api/positions closes each, reporting the one it could not", async () => {
  const { t, api, me, close, positions } = await setUp();
  await using _ = t;
  await api.order(me.cookie, { symbol: "AAPL", side: "buy", qty: 2 });
  await api.order(me.cookie, { symbol: "BTC/USD", side: "buy", qty: "0.01", timeInForce: "gtc" });
  await api.order(me.cookie, { symbol: "KO", side: "buy", qty: 5 });
  await api.order(me.cookie, {
    symbol: "KO",
    side: "sell",
    qty: 5,
    type: "limit",
    limitPrice: "9999.00",
    timeInForce: "gtc",
  });
  const res = await close("");
  assert.equal(res.status, 200);
  const { results } = await res.json();
  const bySymbol = Object.fromEntries(
    results.map((
      r: {
        symbol: string;
        status: number;
        order?: { timeInForce: string };
        error?: { code: string };
      },
    ) => [
      r.symbol,
      r.status === 200 ? `${r.status} ${r.order!.timeInForce}` : `${r.status} ${r.error!.code}`,
    ]),
  );
  assert.deepEqual(bySymbol, {
    AAPL: "200 day",
    "BTC/USD": "200 gtc",
    KO: "422 position_reserved",
  });
  assert.deepEqual(await positions(), { KO: "5" });
  const again = await (await close("?cancelOrders=true")).json();
  assert.deepEqual(again.results.map((r: { status: number }) => r.status), [200]);
  assert.deepEqual(await positions(), {});
});

Deno.test("[close positions] bad input is a 4xx naming the field, and changes nothing", async () => {
  const { t, api, me, close, positions } = await setUp();
  await using _ = t;
  await api.order(me.cookie, { symbol: "F", side: "buy", qty: 5 });
  const other = await api.trader("b@example.com");
  const cases: [string, number, string, string?][] = [
    ["/F?qty=2&percentage=10", 422, "validation_failed", "qty"],
    ["/F?qty=1.5", 422, "validation_failed", "qty"],
    ["/F?qty=0", 422, "validation_failed", "qty"],
    ["/F?qty=6", 422, "validation_failed", "qty"],
    ["/F?qty=abc", 422, "validation_failed", "qty"],
    ["/F?percentage=0", 422, "validation_failed", "percentage"],
    ["/F?percentage=101", 422, "validation_failed", "percentage"],
    ["/F?percentage=10", 422, "validation_failed", "percentage"], // 0.5 of a share
    ["/F?cancelOrders=yes", 422, "validation_failed", "cancelOrders"],
    [`/F?accountId=${other.accountId}`, 404, "not_found"],
    ["/NOPE", 404, "not_found"],
    ["/MSFT", 404, "not_found"],
  ];
  for (const [path, status, code, field] of cases) {
    const error = await errorOf(await close(path));
    assert.deepEqual([error.status, error.code], [status, code], path);
    if (field) assert.ok(error.body.error.details.fields[field], `${path} names ${field}`);
  }
  assert.deepEqual(await positions(), { F: "5" });
  const orders = await api.call("/api/orders?status=all", { cookie: me.cookie });
  assert.equal(orders.orders.length, 1, "only the buy");
});

Deno.test("[close positions] two simultaneous closes of the whole position sell it once", async () => {
  const { t, api, me, close, positions } = await setUp();
  await using _ = t;
  await api.order(me.cookie, { symbol: "AAPL", side: "buy", qty: 10 });
  const answers = await Promise.all(Array.from({ length: 4 }, () => close("/AAPL")));
  const statuses = answers.map((r) => r.status).sort();
  assert.equal(statuses.filter((s) => s === 200).length, 1, JSON.stringify(statuses));
  for (const r of answers.filter((r) => r.status !== 200)) {
    const error = await errorOf(r);
    assert.ok([404, 422].includes(error.status), `${error.status} ${error.code}`);
  }
  assert.deepEqual(await positions(), {});
});

Deno.test("[close positions] the page: confirm, refused while reserved, then closed with the cancel box", async () => {
  const { t, api, me, positions } = await setUp();
  await using _ = t;
  await api.order(me.cookie, { symbol: "KO", side: "buy", qty: 8 });
  await api.order(me.cookie, {
    symbol: "KO",
    side: "sell",
    qty: 3,
    type: "limit",
    limitPrice: "9999.00",
    timeInForce: "gtc",
  });
  const browser = testBrowser(t);
  browser.jar.set("orion_session", me.cookie.split("=")[1]);
  const list = await browser.page("/positions");
  assert.match(list, /href="\/positions\/close\?symbol=KO"/);
  const page = await browser.page("/positions/close?symbol=KO");
  assert.match(page, /<h1>Close KO<\/h1>/);
  assert.match(page, /name="qty"[^>]*value="8"/);
  assert.match(page, /open sell orders reserve 3/);
  assert.match(page, /name="cancelOrders"/);

  const refused = await browser.post("/positions/close", { symbol: "KO", qty: "8" });
  assert.equal(refused.status, 422);
  assert.match(await refused.text(), /3 of your 8 KO are reserved/);
  assert.deepEqual(await positions(), { KO: "8" });

  const done = await browser.post("/positions/close", {
    symbol: "KO",
    qty: "8",
    cancelOrders: "on",
  });
  assert.equal(done.status, 303);
  assert.equal(done.headers.get("Location"), "/positions");
  assert.match(await browser.page("/positions"), /Market sell of 8 KO placed: filled/);
  assert.deepEqual(await positions(), {});
  const missing = await browser.get("/positions/close?symbol=KO");
  assert.equal(missing.status, 404);
});
