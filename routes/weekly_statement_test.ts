/**
 * The weekly statement: the opt-in on the settings page, and the job that emails it, on a week of
 * seeded equity points, fills and dividends whose figures are worked out by hand below.
 */
import assert from "node:assert/strict";
import { EmailError } from "../lib/email.ts";
import type { User } from "../lib/auth/users.ts";
import { type Account, openAccountOps } from "../lib/trading/accounts.ts";
import type { EquityPoint } from "../lib/trading/equity_history.ts";
import type { Trade } from "../lib/trading/history.ts";
import { ledgerEntryId } from "../lib/trading/ledger.ts";
import type { Doc, Fields } from "../lib/store/port.ts";
import { sendWeeklyStatements, type StatementClaim } from "../lib/trading/weekly_statement.ts";
import { TEST_PASSWORD, testApi, testApp, testBrowser } from "./testing.ts";

// testApp runs MARKET_HOURS=always: a session is a UTC day, its daily point stamped at the next
// midnight. The week of Monday 23 November 2026 runs from Sunday's close (Monday 00:00) to
// Friday's (Saturday 00:00).
const at = (iso: string) => new Date(iso);
const SATURDAY = at("2026-11-28T09:30:00Z");
const EVIL_NAME = `<script>alert("x")</script>`;

type Setup = Awaited<ReturnType<typeof setUp>>;

async function setUp(options: { failSends?: number } = {}) {
  let failures = options.failSends ?? 0;
  const t = await testApp({}, {
    mailer: (mailer) => ({
      ...mailer,
      async send(email) {
        if (/weekly statement/.test(email.subject) && failures > 0) {
          failures--;
          throw new EmailError("Resend did not accept the email (HTTP 503)");
        }
        await mailer.send(email);
      },
    }),
  });
  const api = testApi(t);
  const ada = await api.trader("ada@example.com");
  const bob = await api.trader("bob@example.com");
  const store = t.deps.store;
  const adaUser = (await store.findOne<User>("users", { email: "ada@example.com" }))!;
  // Ada's first account, opened long before the week and named by her.
  await store.update<Account & { name: string }>("accounts", ada.accountId, {
    createdAt: at("2026-11-01T12:00:00Z"),
    name: EVIL_NAME,
  });
  const points: [string, string][] = [
    ["2026-11-22T00:00:00Z", "90000.00"], // an older close: not the base
    ["2026-11-23T00:00:00Z", "100000.00"], // the base: Sunday's close
    ["2026-11-24T00:00:00Z", "101000.00"],
    ["2026-11-25T00:00:00Z", "99990.00"],
    ["2026-11-26T00:00:00Z", "100989.90"],
    ["2026-11-27T00:00:00Z", "100989.90"],
    ["2026-11-28T00:00:00Z", "102000.00"], // Friday's close: the value at week end
    ["2026-11-29T00:00:00Z", "500000.00"], // Saturday's: the next week
  ];
  for (const [instant, equity] of points) await seedPoint(t, ada.accountId, instant, equity);
  // Fills: seven inside the week (the largest five by amount are listed), one at the base's very
  // instant (last week) and one just after Friday's close (next week).
  const fills: [string, string, "buy" | "sell", string, string][] = [
    ["2026-11-23T00:00:00Z", "AAPL", "buy", "1000", "100"], // last week
    ["2026-11-23T14:00:00Z", "AAPL", "buy", "10", "187.25"], // 1872.50
    ["2026-11-24T15:00:00Z", "MSFT", "buy", "3", "410.10"], // 1230.30
    ["2026-11-24T16:00:00Z", "F", "buy", "100", "12.34"], // 1234.00
    ["2026-11-25T15:00:00Z", "NVDA", "sell", "20", "130.5"], // 2610.00
    ["2026-11-26T15:00:00Z", "BTC/USD", "buy", "0.015", "95123.45678"], // 1426.85
    ["2026-11-27T15:00:00Z", "F", "sell", "50", "12.4"], // 620.00
    ["2026-11-28T00:00:00Z", "AMZN", "buy", "1", "200.00"], // Friday's close exactly: 200.00
    ["2026-11-28T00:00:00.001Z", "TSLA", "buy", "500", "300"], // next week
  ];
  for (const [n, [instant, symbol, side, qty, price]] of fills.entries()) {
    await seedTrade(t, ada.accountId, adaUser._id, n, instant, symbol, side, qty, price);
  }
  // Dividends: two inside the week; one next week; a deposit inside the week is not one.
  const cash: [string, string, string][] = [
    ["2026-11-24T12:00:00Z", "dividend", "12.34"],
    ["2026-11-27T12:00:00Z", "dividend", "0.66"],
    ["2026-11-25T12:00:00Z", "deposit", "5000.00"],
    ["2026-11-30T12:00:00Z", "dividend", "99.00"],
  ];
  for (const [n, [instant, type, amount]] of cash.entries()) {
    await store.insert<Doc & Fields>("cash_ledger", {
      _id: ledgerEntryId(ada.accountId, 1000 + n),
      accountId: ada.accountId,
      userId: adaUser._id,
      seq: 1000 + n,
      type,
      amount,
      balanceAfter: "0.00",
      description: type,
      orderId: null,
      tradeId: null,
      at: at(instant),
    });
  }
  // A second active account, opened on Wednesday with $5,000 and worth $5,100 at Friday's close.
  const second = openAccountOps(adaUser._id, 2, "5000.00", at("2026-11-25T10:00:00Z"));
  await store.commit(second.ops);
  await seedPoint(t, second.account._id, "2026-11-28T00:00:00Z", "5100.00");
  return { t, api, ada, bob, adaUser, second: second.account };
}

async function seedPoint(
  t: Setup["t"],
  accountId: string,
  instant: string,
  equity: string,
) {
  await t.deps.store.insert<EquityPoint>("equity_points", {
    _id: `${accountId}:1Day:${at(instant).toISOString()}`,
    accountId,
    userId: accountId.split(":")[0],
    timeframe: "1Day",
    at: at(instant),
    equity,
    cash: equity,
    positionsValue: "0.00",
  });
}

async function seedTrade(
  t: Setup["t"],
  accountId: string,
  userId: string,
  n: number,
  instant: string,
  symbol: string,
  side: "buy" | "sell",
  qty: string,
  price: string,
) {
  const gross = (Math.round(Number(qty) * Number(price) * 100) / 100).toFixed(2);
  await t.deps.store.insert<Trade>("trades", {
    _id: `seeded-order-${n}:1`,
    userId,
    accountId,
    orderId: `seeded-order-${n}`,
    symbol,
    side,
    qty,
    price,
    gross,
    commission: "0.00",
    realizedPnl: null,
    executedAt: at(instant),
  });
}

/** SPY's return from Sunday's daily close to Friday's, read from the bars by their stamps. */
async function spyReturn(t: Setup["t"]): Promise<string> {
  const spy = t.deps.trading.market.catalog.get("SPY")!;
  const bars = await t.deps.trading.market.provider.bars(spy, {
    timeframe: "1Day",
    start: at("2026-11-15T00:00:00Z"),
    end: at("2026-11-28T00:00:00Z"),
    limit: 30,
  }, SATURDAY);
  const close = (t: string) => Number(bars.find((b) => b.t === t)!.c);
  const r = (close("2026-11-27T00:00:00.000Z") / close("2026-11-22T00:00:00.000Z") - 1) * 100;
  const text = r.toFixed(2);
  return text.startsWith("-") ? `−${text.slice(1)} %` : `+${text} %`;
}

const statements = (t: Setup["t"]) =>
  t.deps.mailer.mailbox!.list().filter((e) => /weekly statement/.test(e.subject));

const job = (t: Setup["t"], now: Date) =>
  sendWeeklyStatements(t.deps.trading, {
    mailer: t.deps.mailer,
    appUrl: () => t.deps.config.appUrl,
  }, now);

function browserFor(t: Setup["t"], cookie: string) {
  const b = testBrowser(t);
  const [name, value] = cookie.split("=");
  b.jar.set(name, value);
  return b;
}

Deno.test("[statement] the settings form turns the weekly statement on and off, audited", async () => {
  const { t, ada } = await setUp();
  await using _ = t;
  const b = browserFor(t, ada.cookie);
  const before = await b.page("/settings");
  assert.match(before, /Email me a weekly statement/);
  assert.doesNotMatch(before, /name="weeklyStatement" value="true" checked/);

  const on = await b.post("/settings/weekly-statement", { weeklyStatement: "true" });
  assert.equal(on.status, 303);
  assert.match(await b.page("/settings"), /name="weeklyStatement" value="true" checked/);
  const user = await t.deps.store.findOne<User>("users", { email: "ada@example.com" });
  assert.equal(user!.weeklyStatement, true);

  const refused = await b.post("/settings/weekly-statement", { weeklyStatement: "yes" });
  assert.equal(refused.status, 422);
  assert.match(await refused.text(), /Tick the box or leave it empty/);
  assert.equal(
    (await t.deps.store.findOne<User>("users", { email: "ada@example.com" }))!.weeklyStatement,
    true,
    "a refused form changes nothing",
  );

  // An unticked box sends nothing.
  assert.equal((await b.post("/settings/weekly-statement", {})).status, 303);
  assert.doesNotMatch(await b.page("/settings"), /value="true" checked/);
  const audits = await t.deps.store.find<{ _id: string; _v: number; details: { on: boolean } }>(
    "audit_logs",
    { where: { action: "user.weekly_statement_changed" }, limit: 10 },
  );
  assert.deepEqual(audits.items.map((a) => a.details.on).sort(), [false, true]);
});

Deno.test("[statement] one email per opted-in user, with the week's figures in both parts", async () => {
  const { t, ada, bob, second } = await setUp();
  await using _ = t;
  await browserFor(t, ada.cookie).post("/settings/weekly-statement", { weeklyStatement: "true" });
  // Carol opted in but never confirmed her address: no statement to an unconfirmed address.
  await testApi(t).call("/api/auth/sign-up", {
    body: { email: "carol@example.com", password: TEST_PASSWORD, name: "Carol" },
  });
  const carol = (await t.deps.store.findOne<User>("users", { email: "carol@example.com" }))!;
  await t.deps.store.update<User>("users", carol._id, { weeklyStatement: true });

  // Outside Saturday 09:00 UTC – Sunday, nothing goes out.
  assert.deepEqual(await job(t, at("2026-11-28T08:59:00Z")), { sent: 0, failed: 0 });
  assert.deepEqual(await job(t, at("2026-11-27T20:00:00Z")), { sent: 0, failed: 0 });
  assert.equal(statements(t).length, 0);

  // Two instances running the job at the same moment send it once.
  const runs = await Promise.all([job(t, SATURDAY), job(t, SATURDAY)]);
  assert.equal(runs[0].sent + runs[1].sent, 1);
  await job(t, at("2026-11-29T18:00:00Z"));
  const mails = statements(t);
  assert.equal(mails.length, 1, "once, whatever the runs");
  const [mail] = mails;
  assert.equal(mail.to, "ada@example.com");
  assert.equal(mail.subject, "Your Orion weekly statement: Mon, Nov 23 – Fri, Nov 27, 2026");
  assert.ok(!statements(t).some((m) => m.to === "bob@example.com"), "Bob did not opt in");
  assert.ok(!statements(t).some((m) => m.to === "carol@example.com"));

  // Worked by hand: $100,000.00 at Sunday's close to $102,000.00 at Friday's, no deposits, so
  // +$2,000.00 and a time-weighted return of 101000/100000 × 99990/101000 × 100989.90/99990 ×
  // 102000/100989.90 − 1 = +2.00 %. Seven fills in the week; the five largest by amount are
  // NVDA 2610.00, AAPL 1872.50, BTC/USD 1426.85, F 1234.00, MSFT 1230.30 (not F 620.00 or AMZN
  // 200.00). Dividends 12.34 + 0.66 = $13.00 in two payments. The second account: $5,000.00
  // deposited on Wednesday, $5,100.00 at Friday's close, +$100.00 and +2.00 %.
  const spy = await spyReturn(t);
  const figures = [
    `Account ${ada.number}`,
    "Value at the week's last close: $102,000.00",
    `This week: +$2,000.00, a time-weighted return of +2.00 %. SPY: ${spy}.`,
    "Fills: 7. The 5 largest:",
    "Dividends received: $13.00 (2 payments).",
    `Account ${second.number}`,
    "Value at the week's last close: $5,100.00",
    `This week: +$100.00, a time-weighted return of +2.00 %. SPY: ${spy}.`,
    "Fills: none.",
    "Dividends received: none.",
    "See your performance",
    "http://localhost:8000/performance",
    "http://localhost:8000/settings",
    "NVDA",
    "$130.50",
    "BTC/USD",
    "$95,123.45678",
    "0.015",
    "$187.25",
    "$12.34",
    "$410.10",
  ];
  for (const figure of figures) {
    assert.ok(mail.text.includes(figure), `text has ${figure}`);
    assert.ok(mail.html.includes(figure.replaceAll("'", "&#39;")), `html has ${figure}`);
  }
  for (const absent of ["AMZN", "TSLA", "$12.40", "$500,000.00", "99.00"]) {
    assert.ok(!mail.text.includes(absent), `text lacks ${absent}`);
    assert.ok(!mail.html.includes(absent), `html lacks ${absent}`);
  }
  // The largest first, in the text's table.
  const order = ["NVDA", "AAPL", "BTC/USD", "F ", "MSFT"].map((s) => mail.text.indexOf(s));
  assert.deepEqual([...order].sort((a, b) => a - b), order);
  // The account's name is the user's text: shown as typed in the text, escaped in the HTML.
  assert.ok(mail.text.includes(`Account ${ada.number} · ${EVIL_NAME}`));
  assert.ok(!mail.html.includes("<script"));
  assert.ok(mail.html.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));

  const claim = await t.deps.store.get<StatementClaim>(
    "weekly_statements",
    `${(await t.deps.store.findOne<User>("users", { email: "ada@example.com" }))!._id}:2026-11-23`,
  );
  assert.equal(claim!.status, "sent");
  assert.equal(claim!.attempts, 1);
  void bob;
});

Deno.test("[statement] a failed send is recorded and tried again later that weekend, then never again", async () => {
  const { t, ada } = await setUp({ failSends: 1 });
  await using _ = t;
  await browserFor(t, ada.cookie).post("/settings/weekly-statement", { weeklyStatement: "true" });
  assert.deepEqual(await job(t, SATURDAY), { sent: 0, failed: 1 });
  const id = `${ada.accountId.split(":")[0]}:2026-11-23`;
  const failed = await t.deps.store.get<StatementClaim>("weekly_statements", id);
  assert.equal(failed!.status, "failed");
  assert.match(failed!.error!, /HTTP 503/);
  assert.deepEqual(failed!.retryAt, at("2026-11-28T09:45:00Z"));

  // Not before its time; then once.
  assert.deepEqual(await job(t, at("2026-11-28T09:40:00Z")), { sent: 0, failed: 0 });
  assert.equal(statements(t).length, 0);
  assert.deepEqual(await job(t, at("2026-11-28T09:46:00Z")), { sent: 1, failed: 0 });
  assert.deepEqual(await job(t, at("2026-11-28T12:00:00Z")), { sent: 0, failed: 0 });
  assert.equal(statements(t).length, 1);
  const sent = await t.deps.store.get<StatementClaim>("weekly_statements", id);
  assert.equal(sent!.status, "sent");
  assert.equal(sent!.attempts, 2);
});

Deno.test("[statement] the preview shows this week's statement of the signed-in user only", async () => {
  const { t, ada, bob } = await setUp();
  await using _ = t;
  const mine = await browserFor(t, ada.cookie).get("/settings/statement-preview");
  assert.equal(mine.status, 200);
  assert.equal(mine.headers.get("Cache-Control"), "no-store");
  const html = await mine.text();
  assert.match(html, new RegExp(`Account ${ada.number}`));
  assert.match(html, /<h1>Weekly statement preview<\/h1>/, "inside the page, with its navigation");
  assert.ok(!html.includes("<script>") && !html.includes(" style="), "no inline script or style");
  const theirs = await (await browserFor(t, bob.cookie).get("/settings/statement-preview")).text();
  assert.match(theirs, new RegExp(`Account ${bob.number}`));
  assert.ok(!theirs.includes(ada.number), "never another user's account");
  assert.equal(statements(t).length, 0, "a preview sends nothing");
});
