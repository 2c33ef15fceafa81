/** Tax lots over HTTP: the lot method, GET /api/realized-gains, and the pages that show lots. */
import assert from "node:assert/strict";
import { testApi, testApp, testBrowser } from "./testing.ts";

async function setUp() {
  const t = await testApp({ ORDERS_PER_SECOND: "1000" });
  const api = testApi(t);
  const me = await api.trader("a@example.com");
  const other = await api.trader("b@example.com");
  const b = testBrowser(t);
  const [name, value] = me.cookie.split("=");
  b.jar.set(name, value);
  return { t, api, me, other, b };
}

async function errorOf(res: Response) {
  const body = await res.json();
  return { status: res.status, code: body.error?.code, fields: body.error?.details?.fields };
}

const year = () =>
  Number(
    new Intl.DateTimeFormat("en-CA", { timeZone: "America/New_York", year: "numeric" }).format(
      new Date(),
    ),
  );

Deno.test("[lots api] realized gains by tax lot: totals by term, rows, method, paging", async () => {
  const { t, api, me } = await setUp();
  await using _ = t;
  await api.order(me.cookie, { symbol: "F", side: "buy", qty: 10 });
  await api.order(me.cookie, { symbol: "F", side: "buy", qty: 5 });
  const sell = await api.order(me.cookie, { symbol: "F", side: "sell", qty: 12 });
  const y = year();
  const body = await api.call(`/api/realized-gains?year=${y}`, { cookie: me.cookie });
  assert.equal(body.year, y);
  assert.equal(body.method, "fifo");
  assert.equal(body.items.length, 2);
  assert.deepEqual(body.items.map((i: { qty: string }) => i.qty).sort(), ["10", "2"]);
  for (const item of body.items) {
    assert.equal(item.tradeId, `${sell.id}:1`);
    assert.equal(item.term, "short");
    assert.equal(item.symbol, "F");
    assert.equal(
      Number(item.gain).toFixed(2),
      (Number(item.proceeds) - Number(item.cost)).toFixed(2),
    );
  }
  const proceeds = body.items.reduce(
    (s: number, i: { proceeds: string }) => s + Number(i.proceeds),
    0,
  );
  assert.equal(body.shortTerm.proceeds, proceeds.toFixed(2));
  const { trades } = await api.call("/api/trades", { cookie: me.cookie });
  const sold = trades.find((tr: { id: string }) => tr.id === `${sell.id}:1`);
  assert.equal(body.shortTerm.proceeds, sold.gross, "the sell's cash (no commission set)");
  assert.deepEqual(body.longTerm, { proceeds: "0.00", cost: "0.00", gain: "0.00" });

  const page = await api.call(`/api/realized-gains?year=${y}&limit=1`, { cookie: me.cookie });
  assert.equal(page.items.length, 1);
  assert.ok(page.nextCursor);
  const next = await api.call(
    `/api/realized-gains?year=${y}&limit=1&cursor=${encodeURIComponent(page.nextCursor)}`,
    { cookie: me.cookie },
  );
  assert.equal(next.items.length, 1);
  assert.notEqual(next.items[0].lotId, page.items[0].lotId);
  assert.equal(next.nextCursor, null);
  assert.deepEqual(next.shortTerm, body.shortTerm, "totals cover the whole year on every page");

  const empty = await api.call(`/api/realized-gains?year=${y - 1}`, { cookie: me.cookie });
  assert.deepEqual(empty.items, []);
});

Deno.test("[lots api] a bad year is 422, another user's account 404, no session 401", async () => {
  const { t, api, me, other } = await setUp();
  await using _ = t;
  for (const bad of ["", "abc", "20.5", "1999", "3000"]) {
    const res = await api.request(`/api/realized-gains?year=${bad}`, { cookie: me.cookie });
    const error = await errorOf(res);
    assert.equal(error.status, 422, `year=${bad}`);
    assert.ok(error.fields.year, `year=${bad} names the field`);
  }
  const theirs = await api.request(
    `/api/realized-gains?year=2026&accountId=${encodeURIComponent(other.accountId)}`,
    { cookie: me.cookie },
  );
  assert.equal(theirs.status, 404);
  assert.equal((await api.request("/api/realized-gains?year=2026")).status, 401);
});

Deno.test("[lots api] PATCH the lot method: applied, audited, validated, owner only", async () => {
  const { t, api, me, other } = await setUp();
  await using _ = t;
  const path = `/api/accounts/${encodeURIComponent(me.accountId)}`;
  const changed = await api.call(path, {
    method: "PATCH",
    cookie: me.cookie,
    body: { lotMethod: "hifo" },
  });
  assert.equal(changed.account.lotMethod, "hifo");
  const { accounts } = await api.call("/api/accounts", { cookie: me.cookie });
  assert.equal(accounts[0].lotMethod, "hifo");
  const audit = await t.deps.store.find<{ _id: string; _v: number; details: unknown }>(
    "audit_logs",
    { where: { action: "account.lot_method_changed" }, limit: 10 },
  );
  assert.equal(audit.items.length, 1);
  assert.deepEqual(
    audit.items[0].details as { from: string; to: string },
    { account: me.number, from: "fifo", to: "hifo" },
  );

  for (const body of [{ lotMethod: "average" }, {}, { lotMethod: "fifo", extra: 1 }]) {
    const res = await api.request(path, { method: "PATCH", cookie: me.cookie, body });
    assert.equal(res.status, 422, JSON.stringify(body));
  }
  const theirs = await api.request(`/api/accounts/${encodeURIComponent(other.accountId)}`, {
    method: "PATCH",
    cookie: me.cookie,
    body: { lotMethod: "lifo" },
  });
  assert.equal(theirs.status, 404);
  const { accounts: still } = await api.call("/api/accounts", { cookie: other.cookie });
  assert.equal(still[0].lotMethod, "fifo", "the other user's account is unchanged");
});

Deno.test("[lots pages] the gains page, a position's open lots and the settings form render", async () => {
  const { t, api, me, b } = await setUp();
  await using _ = t;
  await api.order(me.cookie, { symbol: "F", side: "buy", qty: 10 });
  await api.order(me.cookie, { symbol: "F", side: "buy", qty: 5 });
  await api.order(me.cookie, { symbol: "F", side: "sell", qty: 12 });

  const gains = await b.page("/history/gains");
  assert.match(gains, /<h1>Realized gains \d{4}<\/h1>/);
  assert.match(gains, /Short term/);
  assert.equal((gains.match(/data-label="Term">Short term</g) ?? []).length, 2, "two rows");
  assert.match(await b.page("/history"), /href="\/history\/gains"/);
  assert.equal((await b.get("/history/gains?year=abc")).status, 422);

  const position = await b.page("/positions/F");
  assert.match(position, /<h1>F position<\/h1>/);
  assert.equal((position.match(/data-label="Cost\/share"/g) ?? []).length, 1, "one open lot");
  assert.match(position, /data-label="Qty">3</);
  assert.match(await b.page("/positions"), /href="\/positions\/F"/);
  assert.equal((await b.get("/positions/MSFT")).status, 404);

  const settings = await b.page("/settings");
  assert.match(settings, /id="lot-method-form"/);
  const saved = await b.post("/settings/lot-method", { lotMethod: "lifo" });
  assert.equal(saved.status, 303);
  assert.match(await b.page("/settings"), /<option value="lifo" selected/);
  const refused = await b.post("/settings/lot-method", { lotMethod: "nope" });
  assert.equal(refused.status, 422);
  assert.match(await refused.text(), /Use fifo, lifo or hifo/);
});
