/**
 * CSV exports and the history page's filters: each file's columns and rows, hostile cells
 * neutralised and quoted (read back with csv-parse), negative amounts kept as numbers, inclusive
 * UTC days, 422s for bad ranges, 404 for another user's account, and a long file streamed a page
 * at a time.
 */
import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import { type Account, accountStep } from "../lib/trading/accounts.ts";
import { appendEntries, currentCash } from "../lib/trading/ledger.ts";
import { parseFixed } from "../lib/money.ts";
import { EXPORT_HEADERS, EXPORT_PAGE_SIZE } from "../lib/trading/exports.ts";
import type { AuditEntry } from "../lib/audit.ts";
import type { Query } from "../lib/store/port.ts";
import type { CollectionName } from "../lib/store/schema.ts";
import { TEST_PASSWORD, testApi, testApp, testBrowser } from "./testing.ts";

type App = Awaited<ReturnType<typeof testApp>>;

const HOSTILE = {
  hyperlink: '=HYPERLINK("http://x")',
  plus: "+1",
  minus: "-1+2",
  at: "@SUM(A1)",
};
const MESSY = 'Fee "waived", then\nre-charged=1';

/** Appends cash movements to the account's ledger as the domain does: at their time, in sequence. */
async function adjust(
  t: App,
  accountId: string,
  movements: { amount: string; description: string; at: Date }[],
) {
  for (const m of movements) {
    const account = (await t.deps.store.get<Account>("accounts", accountId))!;
    const cash = await currentCash(t.deps.store, account);
    const ledger = appendEntries(account, cash, [{
      type: "adjustment",
      amount: parseFixed(m.amount, 2),
      description: m.description,
    }], m.at);
    await t.deps.store.commit([...ledger.ops, accountStep(account, ledger.seq)]);
  }
}

async function csv(t: App, cookie: string, path: string) {
  const res = await testApi(t).request(path, { cookie });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const body = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  assert.equal(res.status, 200, body);
  assert.equal(res.headers.get("Content-Type"), "text/csv; charset=utf-8");
  // UTF-8 with its byte order mark, which spreadsheets need to read it as UTF-8.
  assert.deepEqual([...bytes.slice(0, 3)], [0xef, 0xbb, 0xbf]);
  const rows: string[][] = parse(body, { bom: true });
  return { res, body, header: rows[0], records: rows.slice(1) };
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

Deno.test("[exports] orders, fills, cash activity and realized gains: columns, rows, formulas neutralised, negatives numeric", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const a = await api.trader("a@example.com");
  const bought = await api.order(a.cookie, {
    symbol: "AAPL",
    side: "buy",
    qty: 3,
    clientOrderId: HOSTILE.hyperlink,
  });
  await api.order(a.cookie, { symbol: "MSFT", side: "buy", qty: 2, clientOrderId: HOSTILE.plus });
  const sold = await api.order(a.cookie, {
    symbol: "AAPL",
    side: "sell",
    qty: 1,
    clientOrderId: HOSTILE.minus,
  });
  await api.order(a.cookie, {
    symbol: "AAPL",
    side: "buy",
    type: "limit",
    limitPrice: "1.00",
    qty: 1,
    timeInForce: "gtc",
    clientOrderId: HOSTILE.at,
  });
  await adjust(t, a.accountId, [{ amount: "-187.25", description: MESSY, at: new Date() }]);
  const range = `from=${today()}&to=${today()}`;

  const orders = await csv(t, a.cookie, `/api/exports/orders.csv?${range}`);
  assert.deepEqual(orders.header, EXPORT_HEADERS.orders);
  assert.equal(
    orders.res.headers.get("Content-Disposition"),
    `attachment; filename="orion-orders-${today()}-to-${today()}.csv"`,
  );
  const col = (name: string) => orders.header.indexOf(name);
  assert.deepEqual(orders.records.map((r) => r[col("clientOrderId")]), [
    `'${HOSTILE.hyperlink}`,
    `'${HOSTILE.plus}`,
    `'${HOSTILE.minus}`,
    `'${HOSTILE.at}`,
  ]);
  // The quote inside the formula is doubled and the cell quoted, as RFC 4180 has it.
  assert.ok(orders.body.includes(`"'=HYPERLINK(""http://x"")"`));
  const first = orders.records[0];
  assert.equal(first[col("id")], bought.id);
  assert.equal(first[col("symbol")], "AAPL");
  assert.equal(first[col("qty")], "3");
  assert.equal(first[col("filledAvgPrice")], bought.filledAvgPrice);
  assert.equal(first[col("status")], "filled");
  assert.equal(first[col("orderClass")], "simple");
  assert.equal(first[col("placedAt")], bought.placedAt);
  const resting = orders.records[3];
  assert.deepEqual(
    [resting[col("type")], resting[col("limitPrice")], resting[col("status")]],
    ["limit", "1.00", "new"],
  );
  assert.equal(resting[col("filledAvgPrice")], "");

  const fills = await csv(t, a.cookie, `/api/exports/fills.csv?${range}`);
  assert.deepEqual(fills.header, EXPORT_HEADERS.fills);
  assert.deepEqual(fills.records.map((r) => [r[0], r[2], r[3], r[4], r[5]]), [
    [`${bought.id}:1`, bought.id, "AAPL", "buy", "3"],
    [fills.records[1][0], fills.records[1][2], "MSFT", "buy", "2"],
    [`${sold.id}:1`, sold.id, "AAPL", "sell", "1"],
  ]);
  const sale = fills.records[2];
  const realized = sale[EXPORT_HEADERS.fills.indexOf("realizedPnl")];
  assert.match(realized, /^-?\d+\.\d{2}$/);
  for (const r of fills.records) assert.match(r[1], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  const cash = await csv(t, a.cookie, `/api/exports/activities.csv?${range}`);
  assert.deepEqual(cash.header, EXPORT_HEADERS.activities);
  assert.deepEqual(cash.records.map((r) => [r[0], r[2]]), [
    ["1", "deposit"],
    ["2", "fill"],
    ["3", "fill"],
    ["4", "fill"],
    ["5", "adjustment"],
  ]);
  const adjustment = cash.records[4];
  // A negative amount stays a plain number a spreadsheet can sum; the description is text, so its
  // `=` (not at the start) is harmless and its quotes, comma and newline survive the round trip.
  assert.equal(adjustment[3], "-187.25");
  assert.equal(adjustment[5], MESSY);
  assert.equal(cash.records[1][3], `-${fills.records[0][7]}`);
  assert.equal(
    parseFixed(adjustment[4], 2),
    parseFixed(cash.records[3][4], 2) - parseFixed("187.25", 2),
  );

  const gains = await csv(t, a.cookie, `/api/exports/realized-gains.csv?${range}`);
  assert.deepEqual(gains.header, EXPORT_HEADERS["realized-gains"]);
  // One row per lot the sale closed: the 1 AAPL sold came out of the lot of the 3 bought.
  assert.equal(gains.records.length, 1);
  const [gain] = gains.records;
  assert.deepEqual(gain.slice(0, 6), [
    sale[1],
    sale[0],
    fills.records[0][0],
    "AAPL",
    "1",
    fills.records[0][1],
  ]);
  assert.equal(
    parseFixed(gain[8], 2),
    parseFixed(gain[6], 2) - parseFixed(gain[7], 2),
    "gain = proceeds − cost",
  );
  assert.deepEqual(gain.slice(9), ["short", "fifo"]);

  // Each download is audited with what was taken.
  const audits = await t.deps.store.find<AuditEntry>("audit_logs", {
    where: { action: "export.downloaded" },
    sort: { field: "at", direction: -1 },
    limit: 10,
  });
  assert.equal(audits.items.length, 4);
  assert.deepEqual(audits.items.map((e) => e.details.export).sort(), [
    "activities",
    "fills",
    "orders",
    "realized-gains",
  ]);
  assert.equal(audits.items[0].userId, a.accountId.split(":")[0]);
  assert.equal(audits.items[0].details.from, today());
});

Deno.test("[exports] a description that starts like a formula is neutralised; one that does not is left alone", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const a = await api.trader("a@example.com");
  const at = new Date();
  const hostile = ["=1+1", "+44 20", "-2", "@me", "\tTAB", "\rCR", "\uFF1D1", 'plain, "quoted"'];
  await adjust(t, a.accountId, hostile.map((description) => ({ amount: "1.00", description, at })));
  const { records } = await csv(t, a.cookie, "/api/exports/activities.csv");
  assert.deepEqual(records.slice(1).map((r) => r[5]), [
    "'=1+1",
    "'+44 20",
    "'-2",
    "'@me",
    "'\tTAB",
    "'\rCR",
    "'\uFF1D1",
    'plain, "quoted"',
  ]);
});

Deno.test("[exports] the range is whole UTC days, both included; bad ranges are 422 and change nothing", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const a = await api.trader("a@example.com");
  await adjust(t, a.accountId, [
    { amount: "-1.00", description: "before", at: new Date("2026-02-28T23:59:59.999Z") },
    { amount: "-2.00", description: "first instant", at: new Date("2026-03-01T00:00:00.000Z") },
    { amount: "-3.00", description: "last instant", at: new Date("2026-03-31T23:59:59.999Z") },
    { amount: "-4.00", description: "after", at: new Date("2026-04-01T00:00:00.000Z") },
  ]);
  const march = await csv(t, a.cookie, "/api/exports/activities.csv?from=2026-03-01&to=2026-03-31");
  assert.deepEqual(march.records.map((r) => [r[5], r[3]]), [
    ["first instant", "-2.00"],
    ["last instant", "-3.00"],
  ]);
  const oneDay = await csv(
    t,
    a.cookie,
    "/api/exports/activities.csv?from=2026-03-31&to=2026-03-31",
  );
  assert.deepEqual(oneDay.records.map((r) => r[5]), ["last instant"]);
  // Without a range: from the day the account opened (today) to today.
  const all = await csv(t, a.cookie, "/api/exports/activities.csv");
  assert.deepEqual(all.records.map((r) => r[5]), ["Demo account funding"]);
  assert.match(
    all.res.headers.get("Content-Disposition")!,
    new RegExp(`orion-activities-${today()}-to-${today()}\\.csv`),
  );
  const empty = await csv(t, a.cookie, "/api/exports/fills.csv?from=2020-01-01&to=2020-01-31");
  assert.deepEqual(empty.records, []);

  for (
    const [query, message] of [
      ["from=2026-04-01&to=2026-03-31", /start date is after the end date/],
      ["from=2020-01-01&to=2025-12-31", /at most 1830 days/],
      ["from=2026-02-30&to=2026-03-31", /from: Use a date like 2026-01-31/],
      ["from=2026-03-01&to=31.03.2026", /to: Use a date like/],
      ["from=2026-03-01T00:00&to=2026-03-31", /from: Use a date like/],
    ] as const
  ) {
    const res = await api.request(`/api/exports/activities.csv?${query}`, { cookie: a.cookie });
    assert.equal(res.status, 422, query);
    const body = await res.json();
    assert.equal(body.error.code, "validation_failed");
    assert.match(body.error.message, message);
  }
  const audits = await t.deps.store.find<AuditEntry>("audit_logs", {
    where: { action: "export.downloaded" },
    sort: { field: "at", direction: -1 },
    limit: 20,
  });
  assert.equal(audits.items.length, 4, "refused downloads are not recorded as downloads");
});

Deno.test("[exports] only the user's own accounts: another user's is 404, no session is 401, an unknown file 404", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const a = await api.trader("a@example.com");
  const b = await api.trader("b@example.com");
  await adjust(t, a.accountId, [{ amount: "5.00", description: "A's secret", at: new Date() }]);

  const stolen = await api.request(`/api/exports/activities.csv?accountId=${a.accountId}`, {
    cookie: b.cookie,
  });
  assert.equal(stolen.status, 404);
  assert.doesNotMatch(await stolen.text(), /secret/);
  assert.equal(
    (await api.request("/api/exports/activities.csv?accountId=nope", {
      cookie: b.cookie,
    })).status,
    404,
  );
  const own = await csv(t, a.cookie, `/api/exports/activities.csv?accountId=${a.accountId}`);
  assert.equal(own.records.at(-1)![5], "A's secret");

  assert.equal((await api.request("/api/exports/fills.csv")).status, 401);
  assert.equal((await api.request("/api/exports/trades.csv", { cookie: a.cookie })).status, 404);
  assert.equal((await api.request("/api/exports/fills.json", { cookie: a.cookie })).status, 404);
});

Deno.test("[exports] 20 000 entries stream out a page at a time: the first rows arrive after one page is read", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const a = await api.trader("a@example.com");
  const at = new Date();
  // Written as the domain appends them, in units small enough for one KV commit.
  const total = 20_000;
  for (let written = 0; written < total;) {
    const account = (await t.deps.store.get<Account>("accounts", a.accountId))!;
    const cash = await currentCash(t.deps.store, account);
    const batch = Array.from({ length: Math.min(90, total - written) }, (_, i) => ({
      type: "adjustment" as const,
      amount: parseFixed(i % 2 ? "-0.01" : "0.01", 2),
      description: `Entry ${written + i}`,
    }));
    const ledger = appendEntries(account, cash, batch, at);
    await t.deps.store.commit([...ledger.ops, accountStep(account, ledger.seq)]);
    written += batch.length;
  }

  // Counts the ledger pages the export asks the store for, through the real store.
  const store = t.deps.store;
  const find = store.find.bind(store);
  let pagesRead = 0;
  store.find = (collection: CollectionName, query: Query) => {
    if (collection === "cash_ledger") pagesRead++;
    return find(collection, query);
  };

  /** Waits until the store has not been asked for a page for 100 ms (at most 5 s). */
  const settled = async () => {
    for (let last = -1, waited = 0; last !== pagesRead && waited < 5000; waited += 100) {
      last = pagesRead;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return pagesRead;
  };
  const path = "/api/exports/activities.csv";

  // A reader that takes the first rows and stops: the server reads one page ahead and waits.
  const paused = await t.app.request(`http://localhost:8000${path}`, {
    headers: { Cookie: a.cookie },
  });
  const slow = paused.body!.getReader();
  const decoder = new TextDecoder();
  let head = "";
  while (head.split("\r\n").length < 3) {
    head += decoder.decode((await slow.read()).value!, { stream: true });
  }
  assert.ok(await settled() <= 2, `${pagesRead} pages read for a reader that took one`);
  // A reader that goes away stops the reading.
  await slow.cancel();
  const atCancel = pagesRead;
  assert.equal(await settled(), atCancel);

  // The whole file over a real connection, arriving a page at a time.
  pagesRead = 0;
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    t.app.fetch,
  );
  const res = await fetch(`http://127.0.0.1:${server.addr.port}${path}`, {
    headers: { Cookie: a.cookie },
  });
  assert.equal(res.status, 200);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let received = "";
  let biggestChunk = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    biggestChunk = Math.max(biggestChunk, value.split("\r\n").length - 1);
    received += value;
  }
  const rows: string[][] = parse(received, { bom: true });
  assert.equal(rows.length, 1 + 1 + total);
  assert.equal(rows.at(-1)![5], `Entry ${total - 1}`);
  assert.equal(rows.at(-1)![0], String(total + 1));
  assert.ok(biggestChunk <= EXPORT_PAGE_SIZE, `a chunk held ${biggestChunk} rows`);
  assert.equal(pagesRead, Math.ceil((total + 1) / EXPORT_PAGE_SIZE));
});

Deno.test("[history] filters by symbol, cash type and UTC days live in the URL; links keep them", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const a = await api.trader("a@example.com");
  await api.order(a.cookie, { symbol: "AAPL", side: "buy", qty: 1 });
  await api.order(a.cookie, { symbol: "MSFT", side: "buy", qty: 1 });
  await adjust(t, a.accountId, [
    { amount: "-7.00", description: "March fee", at: new Date("2026-03-15T12:00:00Z") },
  ]);
  const b = testBrowser(t);
  await b.post("/sign-in", { email: "a@example.com", password: TEST_PASSWORD });

  const fills = (page: string) =>
    [...page.matchAll(/<a href="\/trade\/([A-Z]+)">/g)].map((m) => m[1]);
  const cashTypes = (page: string) =>
    [...page.matchAll(/data-label="Type">(\w+)</g)].map((m) => m[1]);

  const all = await b.page("/history");
  assert.deepEqual(fills(all), ["MSFT", "AAPL"]);
  // Newest first by time: the March adjustment, appended last, is the oldest.
  assert.deepEqual(cashTypes(all), ["fill", "fill", "deposit", "adjustment"]);
  // The downloads name the account the page shows (the API's default may be another).
  assert.match(all, /href="\/api\/exports\/fills\.csv\?accountId=[^"&]+" download/);

  const aapl = await b.page("/history?symbol=aapl");
  assert.deepEqual(fills(aapl), ["AAPL"]);
  assert.match(aapl, /name="symbol" type="text" value="AAPL"/);

  const deposits = await b.page("/history?type=deposit");
  assert.deepEqual(cashTypes(deposits), ["deposit"]);
  assert.match(deposits, /<option value="deposit" selected>/);

  const march = await b.page("/history?from=2026-03-01&to=2026-03-31");
  assert.deepEqual(fills(march), []);
  assert.match(march, /No fills match\./);
  assert.deepEqual(cashTypes(march), ["adjustment"]);
  assert.match(
    march,
    /href="\/api\/exports\/orders\.csv\?accountId=[^"&]+&amp;from=2026-03-01&amp;to=2026-03-31"/,
  );
  assert.match(
    march,
    /href="\/api\/exports\/realized-gains\.csv\?accountId=[^"&]+&amp;from=2026-03-01&amp;to=2026-03-31"/,
  );

  const backwards = await b.get("/history?from=2026-04-01&to=2026-03-01");
  assert.equal(backwards.status, 422);
  const page = await backwards.text();
  assert.match(page, /The start date is after the end date\./);
  assert.match(page, /name="from" aria-invalid="true"/);
  assert.equal((await b.get("/history?type=interest")).status, 422);
});

Deno.test("[history] pages keep the filters: older fills of one symbol stay that symbol", async () => {
  // 27 orders in a row, faster than the per-account limit allows; the limit has tests of its own.
  await using t = await testApp({ ORDERS_PER_SECOND: "1000" });
  const api = testApi(t);
  const a = await api.trader("a@example.com");
  for (let i = 0; i < 26; i++) await api.order(a.cookie, { symbol: "AAPL", side: "buy", qty: 1 });
  await api.order(a.cookie, { symbol: "MSFT", side: "buy", qty: 1 });
  const b = testBrowser(t);
  await b.post("/sign-in", { email: "a@example.com", password: TEST_PASSWORD });
  const first = await b.page(`/history?symbol=AAPL&from=${today()}`);
  assert.equal(first.match(/href="\/trade\/AAPL"/g)?.length, 25);
  assert.doesNotMatch(first, /href="\/trade\/MSFT"/);
  const older = first.match(/<a href="(\/history\?[^"]+)">Older<\/a>/)![1].replaceAll("&amp;", "&");
  assert.match(older, new RegExp(`^/history\\?symbol=AAPL&from=${today()}&tradesCursor=`));
  const second = await b.page(older);
  assert.equal(second.match(/href="\/trade\/AAPL"/g)?.length, 1);
});
