/**
 * Several demo accounts: opening (named, own starting cash, at most five, also when asked at
 * once), isolation of cash, orders, positions and history, reset and close (confirmed, never the
 * last one, also when asked at once), and the pages' switcher.
 */
import assert from "node:assert/strict";
import { checkIntegrity } from "../lib/trading/integrity.ts";
import type { Order } from "../lib/trading/orders.ts";
import { TEST_PASSWORD, testApi, testApp, testBrowser } from "./testing.ts";

type Api = ReturnType<typeof testApi>;
type AccountJson = {
  id: string;
  name: string;
  number: string;
  status: string;
  cash: string;
  equity: string;
  startingCash: string;
  openOrders: number;
};

async function accounts(api: Api, cookie: string, status = "open"): Promise<AccountJson[]> {
  return (await api.call(`/api/accounts?status=${status}`, { cookie })).accounts;
}

async function open(api: Api, cookie: string, body: unknown) {
  const res = await api.request("/api/accounts", { cookie, body });
  return { status: res.status, body: await res.json() };
}

Deno.test("[accounts] opening: named, its own starting cash, clear 422s, at most five", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const ada = await api.trader("ada@example.com");

  const growth = await open(api, ada.cookie, { name: "  Growth  ", startingCash: "25000" });
  assert.equal(growth.status, 201);
  assert.equal(growth.body.account.name, "Growth", "trimmed");
  assert.equal(growth.body.account.startingCash, "25000.00");
  assert.equal(growth.body.account.cash, "25000.00", "funded by its own deposit");
  assert.equal(growth.body.account.equity, "25000.00");
  assert.equal(growth.body.account.status, "active");

  const listed = await accounts(api, ada.cookie);
  assert.deepEqual(listed.map((a) => a.name), ["Main", "Growth"], "the default first");
  assert.equal(listed[0].cash, "100000.00", "the first account is untouched");

  const bad: [unknown, string][] = [
    [{ startingCash: "5000" }, "name"],
    [{ name: "", startingCash: "5000" }, "name"],
    [{ name: "x".repeat(41) }, "name"],
    [{ name: "tab\there" }, "name"],
    [{ name: "Tiny", startingCash: "999.99" }, "startingCash"],
    [{ name: "Huge", startingCash: "10000000.01" }, "startingCash"],
    [{ name: "Cents", startingCash: "1000.001" }, "startingCash"],
    [{ name: "Words", startingCash: "lots" }, "startingCash"],
    [{ name: "Negative", startingCash: -5000 }, "startingCash"],
  ];
  for (const [body, field] of bad) {
    const res = await open(api, ada.cookie, body);
    assert.equal(res.status, 422, JSON.stringify(body));
    assert.ok(res.body.error.details.fields[field], `${JSON.stringify(body)} names ${field}`);
  }
  const edges = await Promise.all([
    open(api, ada.cookie, { name: "Floor", startingCash: 1000 }),
    open(api, ada.cookie, { name: "Ceiling", startingCash: "10,000,000" }),
  ]);
  assert.deepEqual(edges.map((r) => r.body.account.startingCash), ["1000.00", "10000000.00"]);
  assert.equal((await accounts(api, ada.cookie)).length, 4, "the refused ones opened nothing");

  // Without a starting cash, the house default.
  const fifth = await open(api, ada.cookie, { name: "Default cash" });
  assert.equal(fifth.body.account.startingCash, "100000.00");
  const sixth = await open(api, ada.cookie, { name: "One too many", startingCash: "5000" });
  assert.equal(sixth.status, 409);
  assert.equal(sixth.body.error.code, "account_limit");
  assert.match(sixth.body.error.message, /5 open accounts/);

  const audit = await t.deps.store.find<{ _id: string; _v: number; details: unknown }>(
    "audit_logs",
    { where: { action: "account.opened" }, limit: 20 },
  );
  assert.equal(audit.items.length, 4, "each opening is audited");
  assert.equal((await checkIntegrity(t.deps.store)).problems.length, 0);
});

Deno.test("[accounts] eight openings at once: exactly the four places left are taken", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const ada = await api.trader("ada@example.com");
  const results = await Promise.all(
    Array.from({ length: 8 }, (_, n) => open(api, ada.cookie, { name: `Race ${n}` })),
  );
  const statuses = results.map((r) => r.status).sort();
  assert.deepEqual(statuses, [201, 201, 201, 201, 409, 409, 409, 409], JSON.stringify(results));
  assert.equal((await accounts(api, ada.cookie)).length, 5);
  const report = await checkIntegrity(t.deps.store);
  assert.deepEqual(report.problems, []);
});

Deno.test("[accounts] each account keeps its own cash, orders, positions and history", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const ada = await api.trader("ada@example.com");
  const main = ada.accountId;
  const second = (await open(api, ada.cookie, { name: "Crypto", startingCash: "5000" })).body
    .account as AccountJson;

  // A fill on the second account moves its cash alone.
  await api.order(ada.cookie, { accountId: second.id, symbol: "AAPL", side: "buy", qty: "2" });
  // A resting order on the default account (no accountId) stays there.
  const resting = await api.order(ada.cookie, {
    symbol: "MSFT",
    side: "buy",
    qty: "1",
    type: "limit",
    limitPrice: "1.00",
    timeInForce: "gtc",
  });
  const [a, b] = await accounts(api, ada.cookie);
  assert.equal(a.id, main);
  assert.equal(a.cash, "100000.00");
  assert.equal(a.openOrders, 1);
  assert.ok(Number(b.cash) < 5000 && Number(b.cash) > 4000, b.cash);
  assert.equal(b.openOrders, 0);

  const positions = async (id?: string) =>
    (await api.call(`/api/positions${id ? `?accountId=${id}` : ""}`, { cookie: ada.cookie }))
      .positions.map((p: { symbol: string }) => p.symbol);
  assert.deepEqual(await positions(), []);
  assert.deepEqual(await positions(second.id), ["AAPL"]);

  const orderIds = async (query: string) =>
    (await api.call(`/api/orders?status=all${query}`, { cookie: ada.cookie })).orders.map((
      o: { id: string },
    ) => o.id);
  assert.deepEqual(await orderIds(""), [resting.id], "the default account's orders");
  assert.equal((await orderIds(`&accountId=${second.id}`)).length, 1);
  assert.ok(!(await orderIds(`&accountId=${second.id}`)).includes(resting.id));
  const fills = await api.call(`/api/trades?accountId=${second.id}`, { cookie: ada.cookie });
  assert.equal(fills.trades.length, 1);
  assert.equal((await api.call("/api/trades", { cookie: ada.cookie })).trades.length, 0);

  // Performance is per account: each starts from its own deposit.
  const history = async (id: string) =>
    await api.call(`/api/portfolio/performance?period=1M&accountId=${id}`, { cookie: ada.cookie });
  assert.equal((await history(main)).endEquity, "100000.00");
  const theirs = Number((await history(second.id)).endEquity);
  assert.ok(theirs > 4000 && theirs <= 5000, `the second account's own equity: ${theirs}`);

  // Resetting the second touches nothing of the first; the new one keeps name, cash and place.
  const reset = await api.call(`/api/accounts/${second.id}/reset`, {
    cookie: ada.cookie,
    body: { confirm: second.number },
  });
  assert.equal(reset.account.name, "Crypto");
  assert.equal(reset.account.startingCash, "5000.00");
  assert.equal(reset.account.cash, "5000.00");
  const after = await accounts(api, ada.cookie);
  assert.deepEqual(after.map((x) => x.name), ["Main", "Crypto"], "in the same place");
  assert.equal(after[0].cash, "100000.00");
  assert.equal(after[0].openOrders, 1, "the first account's order still works");
  assert.equal(
    (await t.deps.store.get<Order>("orders", resting.id))!.status,
    "new",
    "untouched by the other's reset",
  );
  // A reset may choose a new starting cash, within the same bounds.
  const bigger = await api.request(`/api/accounts/${reset.account.id}/reset`, {
    cookie: ada.cookie,
    body: { confirm: reset.account.number, startingCash: "500" },
  });
  assert.equal(bigger.status, 422);
  assert.equal((await accounts(api, ada.cookie))[1].id, reset.account.id, "refused: no reset");

  // Another user sees none of it.
  const bob = await api.trader("bob@example.com");
  for (
    const path of [
      `/api/orders?accountId=${second.id}`,
      `/api/positions?accountId=${main}`,
      `/api/portfolio/history?accountId=${main}`,
    ]
  ) {
    assert.equal((await api.request(path, { cookie: bob.cookie })).status, 404, path);
  }
  assert.equal(
    (await api.request(`/api/accounts/${main}/close`, { cookie: bob.cookie, body: {} })).status,
    404,
  );
  assert.deepEqual((await checkIntegrity(t.deps.store)).problems, []);
});

Deno.test("[accounts] closing: confirmed, ends its orders, never the last one, also at once", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const ada = await api.trader("ada@example.com");
  const side = (await open(api, ada.cookie, { name: "Side", startingCash: "20000" })).body
    .account as AccountJson;
  const resting = await api.order(ada.cookie, {
    accountId: side.id,
    symbol: "AAPL",
    side: "buy",
    qty: "1",
    type: "limit",
    limitPrice: "1.00",
    timeInForce: "gtc",
  });

  const unconfirmed = await api.request(`/api/accounts/${side.id}/close`, {
    cookie: ada.cookie,
    method: "POST",
  });
  assert.equal(unconfirmed.status, 422);
  assert.match((await unconfirmed.json()).error.message, /to confirm closing it/);
  assert.equal((await accounts(api, ada.cookie)).length, 2, "nothing changed");

  const closed = await api.call(`/api/accounts/${side.id}/close`, {
    cookie: ada.cookie,
    body: { confirm: side.number },
  });
  assert.equal(closed.account.status, "closed");
  assert.equal((await t.deps.store.get<Order>("orders", resting.id))!.status, "cancelled");
  assert.deepEqual((await accounts(api, ada.cookie)).map((a) => a.name), ["Main"]);
  assert.deepEqual((await accounts(api, ada.cookie, "closed")).map((a) => a.id), [side.id]);
  const onClosed = await api.request("/api/orders", {
    cookie: ada.cookie,
    body: { accountId: side.id, symbol: "AAPL", side: "buy", qty: "1", type: "market" },
  });
  assert.equal(onClosed.status, 422);
  assert.equal((await onClosed.json()).error.code, "account_closed");
  // Its history stays readable.
  assert.equal(
    (await api.request(`/api/portfolio/history?accountId=${side.id}`, { cookie: ada.cookie }))
      .status,
    200,
  );

  const last = await api.request(`/api/accounts/${ada.accountId}/close`, {
    cookie: ada.cookie,
    body: { confirm: ada.number },
  });
  assert.equal(last.status, 409);
  assert.equal((await last.json()).error.code, "last_account");

  // Two accounts, both closed at once: one stays open whatever the timing.
  const other = (await open(api, ada.cookie, { name: "Other" })).body.account as AccountJson;
  const both = await Promise.all([
    api.request(`/api/accounts/${ada.accountId}/close`, {
      cookie: ada.cookie,
      body: { confirm: ada.number },
    }),
    api.request(`/api/accounts/${other.id}/close`, {
      cookie: ada.cookie,
      body: { confirm: other.number },
    }),
  ]);
  assert.deepEqual(both.map((r) => r.status).sort(), [200, 409]);
  assert.equal((await accounts(api, ada.cookie)).length, 1);
  const audit = await t.deps.store.find<{ _id: string; _v: number; outcome: string }>(
    "audit_logs",
    { where: { action: "account.closed" }, limit: 20 },
  );
  assert.deepEqual(audit.items.map((e) => e.outcome).sort(), ["failure", "success", "success"]);
  assert.deepEqual((await checkIntegrity(t.deps.store)).problems, []);
});

Deno.test("[accounts] pages: open from the form, switch in the header, trade on the account shown", async () => {
  await using t = await testApp();
  const api = testApi(t);
  await api.trader("ada@example.com");
  const b = testBrowser(t);
  assert.equal(
    (await b.post("/sign-in", { email: "ada@example.com", password: TEST_PASSWORD })).status,
    303,
  );
  const single = await b.page("/dashboard");
  assert.ok(!single.includes('class="acct"'), "one account: nothing to switch");
  assert.match(single, /<a href="\/accounts" ?>Accounts<\/a>/, "under More");

  const refused = await b.post("/accounts", { name: "Swing", startingCash: "50" });
  assert.equal(refused.status, 422);
  assert.match(await refused.text(), /Choose a starting cash from \$1,000 to \$10,000,000/);

  const opened = await b.post("/accounts", { name: "Swing <b>", startingCash: "30000" });
  assert.equal(opened.status, 303);
  const dashboard = await b.page("/dashboard");
  assert.match(dashboard, /Swing &lt;b&gt; \(PA\d{8}\) is open with \$30,000\.00/);
  assert.match(dashboard, /Swing &lt;b&gt; <span class="muted">PA\d{8}<\/span>/, "shown now");
  assert.match(dashboard, /<span class="name">Swing &lt;b&gt;<\/span>/, "named in the switcher");
  const main = dashboard.match(/name="accountId" value="([^"]+)">Main<\/button>/)![1];

  // The ticket places on the account shown.
  const html = await b.page("/trade/AAPL");
  const idempotencyKey = html.match(/name="idempotencyKey" value="([^"]+)"/)![1];
  const placed = await b.post("/trade", {
    symbol: "AAPL",
    side: "buy",
    type: "market",
    timeInForce: "day",
    qty: "1",
    idempotencyKey,
  });
  assert.equal(placed.status, 303);
  const [swing] = (await t.deps.store.find<Order>("orders", {
    where: { symbol: "AAPL" },
    limit: 5,
  })).items;
  assert.notEqual(swing.accountId, main, "not the default account");
  assert.match(await b.page("/orders?status=all"), /AAPL/);

  // Switching back: the pages show Main, whose orders list is empty.
  const switched = await b.post("/accounts/switch", { accountId: main, next: "/orders" });
  assert.equal(switched.status, 303);
  assert.equal(switched.headers.get("Location"), "/orders");
  const orders = await b.page("/orders?status=all");
  assert.match(orders, /Showing Main/);
  assert.ok(!orders.includes(swing._id), "the other account's order is not listed");

  // Another user's account is a 404, and a forged cookie just shows the user's own default.
  const bob = await api.trader("bob@example.com");
  assert.equal((await b.post("/accounts/switch", { accountId: bob.accountId })).status, 404);
  b.jar.set("orion_account", encodeURIComponent(bob.accountId));
  const forged = await b.page("/dashboard");
  assert.ok(!forged.includes(bob.number), "never another user's account");
  assert.match(forged, /Main <span class="muted">/);

  // The accounts page lists both, and closes one after the number is typed back.
  const list = await b.page("/accounts");
  assert.match(list, /<h2 id="open-h">Open accounts<\/h2>/);
  const swingId = swing.accountId;
  const close = `/accounts/${encodeURIComponent(swingId)}/close`;
  assert.ok(list.includes(`href="${close}"`));
  const number = (await t.deps.store.get<{ _id: string; _v: number; number: string }>(
    "accounts",
    swingId,
  ))!.number;
  assert.equal((await b.post(close, { confirm: "nope" })).status, 422);
  const done = await b.post(close, { confirm: number });
  assert.equal(done.status, 303);
  const afterClose = await b.page("/accounts");
  assert.match(afterClose, /is closed; its history stays readable/);
  assert.match(afterClose, /<h2 id="closed-h">Closed accounts<\/h2>/);
  assert.ok(!(await b.page("/dashboard")).includes('class="acct"'), "one open account again");
  assert.equal((await b.get(close)).status, 404, "a closed account cannot be closed again");
});
