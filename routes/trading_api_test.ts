/** The trading JSON API: contract shapes, bad input that changes nothing, and other users' objects as 404. */
import assert from "node:assert/strict";
import { testApi, testApp } from "./testing.ts";

const ORIGIN = "http://localhost:8000";
type App = Awaited<ReturnType<typeof testApp>>;

async function member(t: App, email: string): Promise<string> {
  const headers = { Origin: ORIGIN, "Content-Type": "application/json" };
  const password = "vivid-otter-planet-42";
  await t.app.request(`${ORIGIN}/api/auth/sign-up`, {
    method: "POST",
    headers,
    body: JSON.stringify({ email, password, name: "T" }),
  });
  const res = await t.app.request(`${ORIGIN}/api/auth/sign-in`, {
    method: "POST",
    headers,
    body: JSON.stringify({ email, password }),
  });
  return res.headers.getSetCookie().find((c) => c.startsWith("orion_session="))!.split(";")[0];
}

function call(
  t: App,
  cookie: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  return t.app.request(`${ORIGIN}/api${path}`, {
    method,
    headers: {
      Origin: ORIGIN,
      Cookie: cookie,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

Deno.test("[trading-api] a new user has a funded demo account; orders, positions, fills and cash follow the contract", async () => {
  await using t = await testApp();
  const cookie = await member(t, "a@example.com");
  const accounts = (await (await call(t, cookie, "GET", "/accounts")).json()).accounts;
  assert.equal(accounts.length, 1);
  assert.equal(accounts[0].type, "demo");
  assert.equal(accounts[0].cash, "100000.00");
  assert.match(accounts[0].number, /^PA\d{8}$/);

  const placed = await call(t, cookie, "POST", "/orders", {
    symbol: "aapl",
    side: "buy",
    type: "market",
    qty: 3,
    timeInForce: "day",
  });
  assert.equal(placed.status, 201);
  const order = await placed.json();
  for (
    const field of [
      "id",
      "clientOrderId",
      "accountId",
      "symbol",
      "side",
      "type",
      "timeInForce",
      "qty",
      "filledQty",
      "filledAvgPrice",
      "limitPrice",
      "stopPrice",
      "status",
      "placedAt",
      "filledAt",
    ]
  ) {
    assert.ok(field in order, field);
  }
  assert.equal(order.symbol, "AAPL");
  assert.equal(order.status, "filled");
  assert.match(order.filledAvgPrice, /^\d+\.\d{2}$/, "a decimal string");

  const positions = (await (await call(t, cookie, "GET", "/positions")).json()).positions;
  assert.equal(positions[0].symbol, "AAPL");
  assert.equal(positions[0].qty, "3");
  const trades = (await (await call(t, cookie, "GET", "/trades")).json()).trades;
  assert.equal(trades[0].orderId, order.id);
  const activities = (await (await call(t, cookie, "GET", "/activities")).json()).activities;
  assert.deepEqual(activities.map((a: { type: string }) => a.type), ["fill", "deposit"]);
  const cost = BigInt(order.filledAvgPrice.replace(".", "")) * 3n;
  assert.equal(activities[0].amount, `-${cost / 100n}.${String(cost % 100n).padStart(2, "0")}`);

  const clock = await (await call(t, cookie, "GET", "/clock")).json();
  assert.equal(clock.isOpen, true);
  const quotes =
    (await (await call(t, cookie, "GET", "/quotes?symbols=AAPL,BTC/USD")).json()).quotes;
  assert.equal(quotes.length, 2);
  assert.ok(Number(quotes[0].bid) < Number(quotes[0].ask));
  assert.match(quotes[0].askSize, /^[1-9]\d*00$/, "stocks show round lots at the ask");
  assert.ok(Number(quotes[1].bidSize) > 0, "crypto shows a fractional size");
  const search = (await (await call(t, cookie, "GET", "/securities?q=micro")).json()).securities;
  assert.ok(search.some((s: { symbol: string }) => s.symbol === "MSFT"));
  assert.equal(
    (await (await call(t, cookie, "GET", "/securities/BTC%2FUSD")).json()).assetClass,
    "crypto",
  );
});

Deno.test("[trading-api] an order that names no time in force is day for shares and gtc for crypto", async () => {
  await using t = await testApp();
  const cookie = await member(t, "a@example.com");
  const place = async (body: Record<string, unknown>) => {
    const res = await call(t, cookie, "POST", "/orders", { side: "buy", ...body });
    return { status: res.status, body: await res.json() };
  };
  const shares = await place({ symbol: "AAPL", qty: "1" });
  assert.equal(shares.status, 201, JSON.stringify(shares.body));
  assert.equal(shares.body.timeInForce, "day");
  const coin = await place({ symbol: "BTC/USD", qty: "0.001" });
  assert.equal(coin.status, 201, JSON.stringify(coin.body));
  assert.equal(coin.body.timeInForce, "gtc");
  const dollars = await place({ symbol: "ETH/USD", notional: "25" });
  assert.equal(dollars.status, 201, JSON.stringify(dollars.body));
  assert.equal(dollars.body.timeInForce, "gtc");
  // Named, a day order on crypto is still refused with the reason.
  const day = await place({ symbol: "BTC/USD", qty: "0.001", timeInForce: "day" });
  assert.equal(day.status, 422);
  assert.match(day.body.error.message, /Crypto trades around the clock/);
});

Deno.test("[trading-api] bad input gets 422/400/413 with a reason and changes nothing", async () => {
  await using t = await testApp({ BODY_LIMIT_BYTES: "4096" });
  const cookie = await member(t, "a@example.com");
  const base = {
    symbol: "AAPL",
    side: "buy",
    type: "limit",
    limitPrice: "10.00",
    qty: "1",
    timeInForce: "gtc",
  };
  const cases: [Record<string, unknown>, string][] = [
    [{ qty: "-1" }, "validation_failed"],
    [{ qty: 0 }, "validation_failed"],
    [{ qty: "NaN" }, "validation_failed"],
    [{ qty: "1.5" }, "validation_failed"],
    [{ qty: true }, "validation_failed"],
    [{ qty: [1] }, "validation_failed"],
    [{ qty: null }, "validation_failed"],
    [{ limitPrice: "10.001" }, "validation_failed"],
    [{ limitPrice: "-5" }, "validation_failed"],
    [{ limitPrice: undefined }, "validation_failed"],
    [{ symbol: "NOPE" }, "unknown_symbol"],
    [{ symbol: 42 }, "validation_failed"],
    [{ side: "short" }, "validation_failed"],
    [{ type: "trailing" }, "validation_failed"],
    [{ timeInForce: "forever" }, "validation_failed"],
    [{ qty: "100001" }, "validation_failed"],
    [{ qty: "20000" }, "insufficient_buying_power"],
    [
      { symbol: "BTC/USD", timeInForce: "day", limitPrice: "10.00", qty: "0.123456789" },
      "validation_failed",
    ],
    // Worth $1,000 at its limit but a fraction of a cent at the ask it would fill at.
    [
      { symbol: "ETH/USD", timeInForce: "gtc", limitPrice: "99999999999", qty: "0.00000001" },
      "validation_failed",
    ],
    // A sell stop far above the market would trigger at once and sell for a cent.
    [
      {
        symbol: "BTC/USD",
        side: "sell",
        type: "stop",
        timeInForce: "gtc",
        stopPrice: "999999",
        qty: "0.000001",
      },
      "validation_failed",
    ],
  ];
  for (const [change, code] of cases) {
    const res = await call(t, cookie, "POST", "/orders", { ...base, ...change });
    const body = await res.json();
    assert.equal(res.status, 422, `${JSON.stringify(change)} → ${JSON.stringify(body)}`);
    assert.equal(body.error.code, code, JSON.stringify(change));
    assert.ok(body.error.message.length > 5);
  }
  const infinite = await call(
    t,
    cookie,
    "POST",
    "/orders",
    `{"symbol":"AAPL","side":"buy","type":"market","qty":1e309,"timeInForce":"day"}`,
  );
  assert.equal(infinite.status, 422, "1e309 parses to Infinity and is refused");
  const malformed = await call(t, cookie, "POST", "/orders", "{nope");
  assert.equal(malformed.status, 400);
  const huge = await call(t, cookie, "POST", "/orders", { ...base, pad: "x".repeat(10_000) });
  assert.equal(huge.status, 413);
  const badKeys: [string, string][] = [
    ["short", "Use at least 8 characters."],
    ["k".repeat(101), "Use at most 100 characters."],
    ["key\twith-tab", "Use printable ASCII only, no spaces."],
  ];
  for (const [key, reason] of badKeys) {
    const res = await call(t, cookie, "POST", "/orders", base, { "Idempotency-Key": key });
    assert.equal(res.status, 422, key);
    const { error } = await res.json();
    assert.equal(error.code, "validation_failed");
    assert.deepEqual(error.details.fields, { "Idempotency-Key": reason }, "named for the header");
    assert.equal(error.message, `Idempotency-Key: ${reason}`);
  }

  assert.equal(
    (await t.deps.store.find("orders", { limit: 10 })).items.length,
    0,
    "no order was stored",
  );
  const account = (await (await call(t, cookie, "GET", "/accounts")).json()).accounts[0];
  assert.equal(account.cash, "100000.00");
  assert.equal(account.buyingPower, "100000.00");
  const rejected = await t.deps.store.find("audit_logs", {
    where: { action: "order.rejected" },
    sort: { field: "at", direction: -1 },
    limit: 50,
  });
  assert.ok(rejected.items.length >= 10, "rejections are audited");
});

Deno.test("[trading-api] another user's orders, positions, accounts and watchlists are 404", async () => {
  await using t = await testApp();
  const alice = await member(t, "alice@example.com");
  const bob = await member(t, "bob@example.com");
  const order = await (await call(t, alice, "POST", "/orders", {
    symbol: "AAPL",
    side: "buy",
    type: "limit",
    limitPrice: "1.00",
    qty: 5,
    timeInForce: "gtc",
  })).json();
  const aliceAccount = (await (await call(t, alice, "GET", "/accounts")).json()).accounts[0];
  const list = await (await call(t, alice, "GET", "/watchlists")).json();
  for (
    const [method, path, body] of [
      ["GET", `/orders/${order.id}`],
      ["DELETE", `/orders/${order.id}`],
      ["PATCH", `/orders/${order.id}`, { qty: 1 }],
      ["GET", `/positions?accountId=${encodeURIComponent(aliceAccount.id)}`],
      ["GET", `/activities?accountId=${encodeURIComponent(aliceAccount.id)}`],
      ["POST", `/accounts/${encodeURIComponent(aliceAccount.id)}/reset`, {}],
      ["GET", `/watchlists/${list.watchlists[0].id}`],
      ["DELETE", `/watchlists/${list.watchlists[0].id}`],
    ] as [string, string, unknown?][]
  ) {
    const res = await call(t, bob, method, path, body);
    assert.equal(res.status, 404, `${method} ${path}`);
  }
  const bobOrders = (await (await call(t, bob, "GET", "/orders?status=all")).json()).orders;
  assert.equal(bobOrders.length, 0);
  assert.equal(
    (await call(t, alice, "GET", `/orders/${order.id}`)).status,
    200,
    "still there for its owner",
  );
  assert.equal((await call(t, "", "GET", "/orders")).status, 401);
});

Deno.test("[trading-api] cancel, cancel all, replace, and paging of the order list", async () => {
  await using t = await testApp();
  const cookie = await member(t, "a@example.com");
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) {
    const res = await call(t, cookie, "POST", "/orders", {
      symbol: "KO",
      side: "buy",
      type: "limit",
      limitPrice: `${1 + i}.00`,
      qty: 2,
      timeInForce: "gtc",
    });
    ids.push((await res.json()).id);
  }
  const replaced =
    await (await call(t, cookie, "PATCH", `/orders/${ids[0]}`, { qty: 3, limitPrice: "2.50" }))
      .json();
  assert.equal(replaced.qty, "3");
  assert.equal(replaced.limitPrice, "2.50");
  assert.equal(replaced.holdAmount, "7.50");
  const cancelled = await (await call(t, cookie, "DELETE", `/orders/${ids[1]}`)).json();
  assert.equal(cancelled.status, "cancelled");
  const again = await call(t, cookie, "DELETE", `/orders/${ids[1]}`);
  assert.equal(again.status, 422);
  assert.equal((await again.json()).error.code, "order_not_cancelable");

  const seen: string[] = [];
  let cursor = "";
  do {
    const page = await (await call(
      t,
      cookie,
      "GET",
      `/orders?status=all&limit=3${cursor ? `&cursor=${cursor}` : ""}`,
    )).json();
    seen.push(...page.orders.map((o: { id: string }) => o.id));
    cursor = page.nextCursor ?? "";
  } while (cursor);
  assert.deepEqual(seen, [...ids].reverse(), "newest first, each once");
  const all = await (await call(t, cookie, "DELETE", "/orders")).json();
  assert.equal(all.cancelled.length, 6);
  assert.equal(
    (await (await call(t, cookie, "GET", "/orders?status=open")).json()).orders.length,
    0,
  );
  const account = (await (await call(t, cookie, "GET", "/accounts")).json()).accounts[0];
  assert.equal(account.heldForOrders, "0.00");
  assert.equal((await call(t, cookie, "GET", "/orders?cursor=forged")).status, 400);
});

Deno.test("[trading-api] watchlists: create, add, remove, quotes beside the symbols", async () => {
  await using t = await testApp();
  const cookie = await member(t, "a@example.com");
  const made = await (await call(t, cookie, "POST", "/watchlists", { name: "Tech" })).json();
  assert.equal(
    (await call(t, cookie, "POST", `/watchlists/${made.id}/symbols`, { symbol: "nvda" })).status,
    201,
  );
  assert.equal(
    (await call(t, cookie, "POST", `/watchlists/${made.id}/symbols`, { symbol: "NOPE" })).status,
    422,
  );
  await call(t, cookie, "POST", `/watchlists/${made.id}/symbols`, { symbol: "eth-usd" });
  const list = await (await call(t, cookie, "GET", `/watchlists/${made.id}`)).json();
  assert.deepEqual(list.symbols, ["NVDA", "ETH/USD"]);
  assert.equal(list.quotes.length, 2);
  const removed =
    await (await call(t, cookie, "DELETE", `/watchlists/${made.id}/symbols/ETH%2FUSD`)).json();
  assert.deepEqual(removed.symbols, ["NVDA"]);
  assert.equal(
    (await (await call(t, cookie, "GET", "/watchlists")).json()).watchlists.length,
    2,
    "the default list and Tech",
  );
});

Deno.test("[trading-api] the watchlist cap holds when creates race; every list is listed", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("racer@example.com");
  await api.call("/api/watchlists", { cookie });
  for (let n = 1; n < 7; n++) {
    await api.call("/api/watchlists", { cookie, body: { name: `list ${n}` } });
  }
  const answers = await Promise.all(
    Array.from(
      { length: 30 },
      (_, n) => api.request("/api/watchlists", { cookie, body: { name: `race ${n}` } }),
    ),
  );
  const statuses = answers.map((res) => res.status);
  assert.equal(statuses.filter((s) => s === 201).length, 13, `answers: ${statuses}`);
  for (const res of answers.filter((r) => r.status !== 201)) {
    assert.equal(res.status, 422);
    assert.equal((await res.json()).error.code, "too_many_watchlists");
  }
  const { watchlists } = await api.call("/api/watchlists", { cookie });
  assert.equal(watchlists.length, 20);
  const page = await (await api.request("/watchlist", { cookie })).text();
  assert.equal(page.match(/<h2 id="wl\d+-h">/g)?.length, 20);
});

Deno.test("[trading-api] an unknown symbol in a path is 404; errors never echo a long symbol", async () => {
  await using t = await testApp();
  const cookie = await member(t, "a@example.com");
  const missing = await call(t, cookie, "GET", "/securities/ZZZZ");
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, "not_found");
  const long = "A".repeat(3000);
  const longPath = await call(t, cookie, "GET", `/securities/${long}`);
  assert.equal(longPath.status, 404);
  assert.ok(!(await longPath.text()).includes("AAAAAAAAAAAAA"), "the path is not echoed");

  const quotes = await call(t, cookie, "GET", "/quotes?symbols=ZZZZ");
  assert.equal(quotes.status, 422);
  const { error } = await quotes.json();
  assert.equal(error.code, "unknown_symbol");
  assert.equal(error.message, "There is no security with the symbol ZZZZ.");
  const cut = await (await call(t, cookie, "GET", `/quotes?symbols=${long}`)).json();
  assert.equal(cut.error.code, "unknown_symbol");
  assert.equal(cut.error.message, "There is no security with the symbol AAAAAAAAAAAA….");
  const odd = await (await call(t, cookie, "GET", "/quotes?symbols=%3Cb%3Ehi%3C%2Fb%3E")).json();
  assert.equal(odd.error.message, "There is no security with that symbol.");
});

Deno.test("[trading-api] symbols in paths are decoded once; a stray % is a clean 4xx", async () => {
  await using t = await testApp();
  const cookie = await member(t, "a@example.com");
  assert.equal((await call(t, cookie, "GET", "/securities/%25")).status, 404);
  assert.equal(
    (await call(t, cookie, "GET", "/securities/BTC%252FUSD")).status,
    404,
    "no double decoding",
  );
  assert.equal((await call(t, cookie, "GET", "/securities/BTC%2FUSD")).status, 200);
  const message = (await (await call(t, cookie, "POST", "/orders", {
    symbol: "AAPL",
    side: "buy",
    type: "limit",
    limitPrice: "10.00",
    qty: "20000",
    timeInForce: "gtc",
  })).json()).error.message;
  assert.match(message, /needs \$200,00\d\.\d\d and your buying power is \$100,000\.00/);
});

Deno.test("[trading-api] a reset needs the account number typed back; without it, 422 and nothing changes", async () => {
  await using t = await testApp();
  const cookie = await member(t, "a@example.com");
  const placed = await call(t, cookie, "POST", "/orders", {
    symbol: "KO",
    side: "buy",
    type: "limit",
    limitPrice: "1.00",
    qty: 5,
    timeInForce: "gtc",
  });
  assert.equal(placed.status, 201);
  const order = await placed.json();
  const [account] = (await (await call(t, cookie, "GET", "/accounts")).json()).accounts;
  const path = `/accounts/${encodeURIComponent(account.id)}/reset`;
  const other = account.number === "PA00000000" ? "PA00000001" : "PA00000000";
  for (
    const [body, reason] of [
      [undefined, "Type the account number"],
      ["", "Type the account number"],
      [{}, "Type the account number"],
      [{ confirm: "" }, "Type the account number"],
      [{ confirm: true }, "Type the account number"],
      [{ confirm: "yes" }, "That is not this account's number"],
      [{ confirm: other }, "That is not this account's number"],
      [{ confirm: account.id }, "That is not this account's number"],
    ] as [unknown, string][]
  ) {
    const res = await call(t, cookie, "POST", path, body);
    const { error } = await res.json();
    assert.equal(res.status, 422, JSON.stringify(body));
    assert.equal(error.code, "validation_failed");
    assert.ok(error.details.fields.confirm.startsWith(reason), error.details.fields.confirm);
    assert.ok(error.details.fields.confirm.includes(account.number), "it says what to type");
  }
  assert.equal((await call(t, cookie, "POST", path, "{nope")).status, 400);
  const unchanged = (await (await call(t, cookie, "GET", "/accounts")).json()).accounts;
  assert.deepEqual(unchanged, [account], "the same single account, cash and holds");
  assert.equal((await (await call(t, cookie, "GET", `/orders/${order.id}`)).json()).status, "new");

  const reset = await call(t, cookie, "POST", path, { confirm: account.number.toLowerCase() });
  assert.equal(reset.status, 201);
  const fresh = (await reset.json()).account;
  assert.notEqual(fresh.number, account.number);
  assert.equal(fresh.cash, "100000.00");
  assert.equal(
    (await (await call(t, cookie, "GET", `/orders/${order.id}`)).json()).status,
    "cancelled",
  );
});
