/** Tests of the integrity scan and its readiness check: a real trading session, then one corruption at a time. */
import assert from "node:assert/strict";
import { formatFixed, parseFixed } from "../money.ts";
import { runChecks } from "../readiness.ts";
import type { Doc, Fields, Query, Store } from "../store/port.ts";
import type { CollectionName } from "../store/schema.ts";
import { testApi as api, testApp } from "../../routes/testing.ts";
import { type Account, openAccountOps } from "./accounts.ts";
import { checkIntegrity } from "./integrity.ts";
import { alertSlotId, createAlert } from "./alerts.ts";
import { liveQuote } from "./market.ts";
import { type LedgerEntry, ledgerEntryId } from "./ledger.ts";
import type { Order } from "./orders.ts";
import { positionId } from "./positions.ts";
import { tradingChecks } from "./readiness.ts";
import { runExecutionPass } from "./worker.ts";

const DAY_MS = 86_400_000;
type App = Awaited<ReturnType<typeof testApp>>;

/**
 * Two traders and every path that moves money or shares: market buys and sells, resting limit and
 * stop orders, a cancel, a replace that the worker then fills, day orders the worker expires,
 * fractional crypto, a demo account reset with a working order in it, and a new watchlist.
 */
async function scenario() {
  const t = await testApp();
  const ada = await api(t).trader("ada@example.com");
  const bob = await api(t).trader("bob@example.com");

  await api(t).order(ada.cookie, { symbol: "INTC", side: "buy", qty: 10 });
  await api(t).order(ada.cookie, { symbol: "T", side: "buy", qty: "5" });
  await api(t).order(ada.cookie, { symbol: "INTC", side: "sell", qty: 3 });
  const resting = await api(t).order(ada.cookie, {
    symbol: "CSCO",
    side: "buy",
    type: "limit",
    limitPrice: "1.00",
    qty: 2,
    timeInForce: "gtc",
  });
  assert.equal(resting.status, "new");
  await api(t).order(ada.cookie, {
    symbol: "T",
    side: "buy",
    type: "stop",
    stopPrice: "9000",
    qty: 1,
    timeInForce: "gtc",
  });
  const cancelled = await api(t).order(ada.cookie, {
    symbol: "NFLX",
    side: "buy",
    type: "limit",
    limitPrice: "1.00",
    qty: 1,
  });
  await api(t).call(`/api/orders/${cancelled.id}`, { method: "DELETE", cookie: ada.cookie });
  await api(t).order(ada.cookie, {
    symbol: "INTC",
    side: "sell",
    type: "limit",
    limitPrice: "5000",
    qty: 2,
  });
  const replaced = await api(t).order(ada.cookie, {
    symbol: "DIS",
    side: "buy",
    type: "limit",
    limitPrice: "1.00",
    qty: 1,
    timeInForce: "gtc",
  });
  await api(t).call(`/api/orders/${replaced.id}`, {
    method: "PATCH",
    cookie: ada.cookie,
    body: { limitPrice: "5000" },
  });
  const now = new Date();
  assert.equal((await runExecutionPass(t.deps.trading, now)).filled, 1, "the replaced buy fills");
  // Two days on, the day orders are past their session's close.
  const later = await runExecutionPass(t.deps.trading, new Date(now.getTime() + 2 * DAY_MS));
  assert.equal(later.expired, 1, "the day sell expires");

  await api(t).order(bob.cookie, {
    symbol: "BTC/USD",
    side: "buy",
    qty: "0.0105",
    timeInForce: "gtc",
  });
  await api(t).order(bob.cookie, {
    symbol: "ETH/USD",
    side: "buy",
    type: "limit",
    limitPrice: "1.00",
    qty: 2,
    timeInForce: "gtc",
  });
  await api(t).call(`/api/accounts/${bob.accountId}/reset`, {
    cookie: bob.cookie,
    body: { confirm: bob.number },
  });
  await api(t).order(bob.cookie, { symbol: "INTC", side: "buy", qty: 1 });
  await api(t).call("/api/watchlists", { cookie: bob.cookie, body: { name: "Crypto" } });

  return {
    t,
    store: t.deps.store,
    ada,
    bob,
    [Symbol.asyncDispose]: () => t[Symbol.asyncDispose](),
  };
}

/** Writes a document as it is, behind the trading code's back. */
async function insert(store: Store, collection: CollectionName, doc: Fields & { _id: string }) {
  await store.commit([{ op: "insert", collection, doc }]);
}

async function ledgerOf(store: Store, accountId: string): Promise<LedgerEntry[]> {
  return (await store.find<LedgerEntry>("cash_ledger", {
    where: { accountId },
    sort: { field: "seq", direction: 1 },
    limit: 100,
  })).items;
}

/** The problems after a corruption; each must name what was corrupted, and no line an email. */
async function problemsOf(store: Store): Promise<string[]> {
  const report = await checkIntegrity(store);
  assert.ok(report.problems.length > 0, "the corruption is reported");
  for (const line of report.problems) assert.ok(!line.includes("@"), `no email in: ${line}`);
  return report.problems;
}

function someLine(problems: string[], pattern: RegExp) {
  assert.ok(problems.some((line) => pattern.test(line)), `${pattern} in:\n${problems.join("\n")}`);
}

Deno.test("[integrity] a real trading session keeps every invariant", async () => {
  await using s = await scenario();
  const report = await checkIntegrity(s.store);
  assert.deepEqual(report.problems, []);
  assert.deepEqual(report.warnings, []);
  assert.equal(report.users, 2);
  assert.equal(report.accounts, 3, "Bob's reset closed one account and opened another");
  assert.equal(report.orders, 11);
  assert.equal(report.trades, 6);
  assert.equal(report.positions, 5);
  const orders = (await s.store.find<Order>("orders", { limit: 100 })).items;
  const statuses = Object.fromEntries(
    Map.groupBy(orders, (o) => o.status).entries().map(([k, v]) => [k, v.length]),
  );
  assert.deepEqual(statuses, { filled: 6, new: 2, cancelled: 2, expired: 1 });
  // Deposits (3) plus one fill entry per trade; commission is 0 by default.
  assert.equal(report.ledgerEntries, 9);
});

Deno.test("[integrity] an edited ledger amount breaks the running balance and the sum", async () => {
  await using s = await scenario();
  const entry = (await ledgerOf(s.store, s.ada.accountId))[1];
  await s.store.update<LedgerEntry>("cash_ledger", entry._id, { amount: "-1.00" });
  const problems = await problemsOf(s.store);
  someLine(problems, new RegExp(`^account ${s.ada.number}: ledger entry 2 says the balance is`));
  someLine(problems, new RegExp(`^account ${s.ada.number}: cash is .* ledger entries sum to`));
});

Deno.test("[integrity] a deleted ledger entry is reported as missing", async () => {
  await using s = await scenario();
  await s.store.delete("cash_ledger", ledgerEntryId(s.ada.accountId, 3));
  const problems = await problemsOf(s.store);
  someLine(problems, new RegExp(`^account ${s.ada.number}: ledger entry 3 is missing$`));
});

Deno.test("[integrity] a second fill entry for one trade is a fill applied twice", async () => {
  await using s = await scenario();
  const entries = await ledgerOf(s.store, s.ada.accountId);
  const fill = entries.find((e) => e.type === "fill")!;
  const account = (await s.store.get<Account>("accounts", s.ada.accountId))!;
  const last = entries.at(-1)!;
  const seq = account.ledgerSeq + 1;
  // A perfect copy in every other respect: sequence, running balance and account all agree.
  const { _v, ...copy } = fill;
  await s.store.commit([
    {
      op: "insert",
      collection: "cash_ledger",
      doc: {
        ...copy,
        _id: ledgerEntryId(account._id, seq),
        seq,
        balanceAfter: formatFixed(parseFixed(last.balanceAfter, 2) + parseFixed(fill.amount, 2)),
      },
    },
    { op: "update", collection: "accounts", id: account._id, set: { ledgerSeq: seq } },
  ]);
  const problems = await problemsOf(s.store);
  assert.equal(problems.length, 1, problems.join("\n"));
  someLine(
    problems,
    new RegExp(`^trade ${fill.tradeId}: applied 2 times — ledger entries 2, ${seq}`),
  );
});

Deno.test("[integrity] a position that disagrees with its trades is reported", async () => {
  await using s = await scenario();
  await s.store.update("positions", positionId(s.ada.accountId, "INTC"), { qty: "8" });
  const problems = await problemsOf(s.store);
  someLine(
    problems,
    new RegExp(`^account ${s.ada.number}: position INTC: holds 8 but its trades net 7$`),
  );
});

Deno.test("[integrity] running totals that differ from the working orders are reported", async () => {
  await using s = await scenario();
  const account = (await s.store.get<Account>("accounts", s.ada.accountId))!;
  assert.deepEqual((await checkIntegrity(s.store)).problems, [], "the scenario kept them in step");
  const held = parseFixed(account.heldForOrders!, 2);
  await s.store.update<Account>("accounts", account._id, {
    openOrders: account.openOrders! + 1,
    heldForOrders: formatFixed(held + parseFixed("1", 2)),
  });
  await s.store.update("positions", positionId(s.ada.accountId, "INTC"), {
    reservedToSell: "2",
  });
  const problems = await problemsOf(s.store);
  assert.deepEqual(problems.sort(), [
    `account ${s.ada.number}: its running total counts ${
      account.openOrders! + 1
    } open orders, but ${account.openOrders} are working`,
    `account ${s.ada.number}: its running total holds ${
      formatFixed(held + parseFixed("1", 2))
    } for open orders, but their holds sum to ${formatFixed(held)}`,
    `account ${s.ada.number}: position INTC: reserves 2 for open sells, but they still have 0 to sell`,
  ]);
});

Deno.test("[integrity] a closed order that still holds cash is reported", async () => {
  await using s = await scenario();
  const closed = (await s.store.find<Order>("orders", {
    where: { accountId: s.ada.accountId, open: false },
    limit: 100,
  })).items.find((o) => o.status === "cancelled")!;
  await s.store.update<Order>("orders", closed._id, { holdAmount: "50.00" });
  const problems = await problemsOf(s.store);
  assert.deepEqual(problems, [`order ${closed._id}: cancelled but still holds 50.00`]);
});

Deno.test("[integrity] a trade without its order is reported", async () => {
  await using s = await scenario();
  const trade = (await s.store.find<Doc & { orderId: string }>("trades", {
    where: {
      orderId: (await s.store.find<Order>("orders", {
        where: { accountId: s.ada.accountId, open: false },
        limit: 100,
      })).items.find((o) => o.status === "filled")!._id,
    },
    limit: 1,
  })).items[0];
  const { _v, ...copy } = trade;
  await insert(s.store, "trades", {
    ...copy,
    _id: "01GHOST00000000000000000:1",
    orderId: "01GHOST",
  });
  const problems = await problemsOf(s.store);
  someLine(problems, /^trade 01GHOST00000000000000000:1: its order 01GHOST does not exist$/);
  someLine(problems, /^trade 01GHOST00000000000000000:1: no fill entry in the cash ledger/);
});

Deno.test("[integrity] working holds beyond cash, and orphans, are reported", async () => {
  await using s = await scenario();
  const open = (await s.store.find<Order>("orders", {
    where: { accountId: s.ada.accountId, open: true },
    limit: 100,
  })).items.find((o) => o.side === "buy")!;
  await s.store.update<Order>("orders", open._id, { holdAmount: "1000000.00" });
  await insert(s.store, "positions", {
    _id: positionId("nobody:1", "T"),
    userId: "nobody",
    accountId: "nobody:1",
    symbol: "T",
    qty: "0",
    costBasis: "0.00",
    realizedPnl: "0.00",
    status: "closed",
  });
  const problems = await problemsOf(s.store);
  someLine(
    problems,
    new RegExp(`^account ${s.ada.number}: open buy orders hold 1\\d{6}\\.\\d\\d but cash is`),
  );
  someLine(problems, /^account nobody:1: position T: its account nobody:1 does not exist$/);
});

Deno.test("[integrity] an order placed during the scan is a warning, not a problem", async () => {
  await using s = await scenario();
  let placed = false;
  // The order lands after the ledger was read and before the trades are: the first scan sees a
  // trade without its fill entry, the second sees both.
  const live = new Proxy(s.store, {
    get(target, prop) {
      if (prop === "find") {
        return async (collection: CollectionName, query: Query) => {
          if (collection === "trades" && !placed) {
            placed = true;
            await api(s.t).order(s.ada.cookie, { symbol: "T", side: "buy", qty: 1 });
          }
          return await target.find(collection, query);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const report = await checkIntegrity(live);
  assert.ok(placed);
  assert.deepEqual(report.problems, []);
  assert.ok(
    report.warnings.some((line) =>
      /^found by one of two scans \(a write in flight\?\): trade \w+:1: no fill entry/.test(line)
    ),
    report.warnings.join("\n"),
  );
});

Deno.test("[integrity] loose ends are warnings, not problems", async () => {
  await using s = await scenario();
  await insert(s.store, "users", { _id: "01LONELY", email: "carol@example.com", role: "USER" });
  // A reset that stopped between closing the account and ending its working orders.
  await s.store.update<Account>("accounts", s.ada.accountId, { status: "closed" });
  const report = await checkIntegrity(s.store);
  assert.deepEqual(report.problems, []);
  assert.equal(report.warnings.length, 3, report.warnings.join("\n"));
  assert.match(report.warnings[0], /^user 01LONELY has no trading account/);
  for (const line of report.warnings.slice(1)) {
    assert.match(line, new RegExp(`^order \\w+: still working on closed account ${s.ada.number}$`));
  }
  assert.ok(!report.warnings.join().includes("carol"));
});

Deno.test("[integrity] the readiness check passes with counts, warns, and fails with the first problems", async () => {
  await using s = await scenario();
  const run = async () => (await runChecks(tradingChecks, { env: {}, store: s.store }))[0];

  const clean = await run();
  assert.equal(clean.status, "pass");
  assert.equal(clean.group, "data integrity");
  assert.match(
    clean.detail,
    /^3 accounts, 9 ledger entries, 11 orders, 6 trades, 5 positions: all invariants hold$/,
  );

  await insert(s.store, "users", { _id: "01LONELY", email: "carol@example.com", role: "USER" });
  const warned = await run();
  assert.equal(warned.status, "warn");
  assert.match(warned.detail, /user 01LONELY has no trading account/);

  // Seven corrupted holds: five are listed and the rest counted.
  const closed = (await s.store.find<Order>("orders", { where: { open: false }, limit: 100 }))
    .items.slice(0, 7);
  for (const o of closed) await s.store.update<Order>("orders", o._id, { holdAmount: "1.00" });
  const failed = await run();
  assert.equal(failed.status, "fail");
  assert.match(
    failed.detail,
    /^7 problems: order .*; order .*; order .*; order .*; order .* \(\+2 more\)/,
  );

  const missing = (await runChecks(tradingChecks, { env: {} }))[0];
  assert.equal(missing.status, "fail");
});

/**
 * One trader with the orders whose quantities and prices have rules of their own: half a share,
 * a dollar order, whole shares of a name that is not fractionable, a fraction of a coin, and a
 * trailing stop resting on part of the position.
 */
async function unitsScenario() {
  const t = await testApp();
  const ada = await api(t).trader("ada@example.com");
  await api(t).order(ada.cookie, { symbol: "AAPL", side: "buy", qty: "0.5" });
  const dollars = await api(t).order(ada.cookie, { symbol: "AAPL", side: "buy", notional: "100" });
  await api(t).order(ada.cookie, { symbol: "AAPL", side: "buy", qty: 3 });
  await api(t).order(ada.cookie, { symbol: "F", side: "buy", qty: 4 });
  await api(t).order(ada.cookie, {
    symbol: "BTC/USD",
    side: "buy",
    qty: "0.0105",
    timeInForce: "gtc",
  });
  const trailing = await api(t).order(ada.cookie, {
    symbol: "AAPL",
    side: "sell",
    type: "trailing_stop",
    trailPercent: "5",
    qty: 2,
    timeInForce: "gtc",
  });
  const orders = (await t.deps.store.find<Order>("orders", { limit: 100 })).items;
  const bySymbol = (symbol: string, qty: string) =>
    orders.find((o) => o.symbol === symbol && o.qty === qty)!;
  return {
    store: t.deps.store,
    ada,
    dollars: dollars.id as string,
    trailing: trailing.id as string,
    half: bySymbol("AAPL", "0.5")._id,
    ford: bySymbol("F", "4")._id,
    [Symbol.asyncDispose]: () => t[Symbol.asyncDispose](),
  };
}

async function tradesOf(store: Store, orderId: string) {
  return (await store.find<Doc & { qty: string }>("trades", { where: { orderId }, limit: 10 }))
    .items;
}

Deno.test("[integrity] fractional shares, dollar orders, coins and trailing stops keep every invariant", async () => {
  await using s = await unitsScenario();
  const report = await checkIntegrity(s.store);
  assert.deepEqual(report.problems, []);
  assert.deepEqual(report.warnings, []);
  assert.equal(report.orders, 6);
  assert.equal((await s.store.get<Order>("orders", s.trailing))!.status, "new");
});

Deno.test("[integrity] a quantity finer than its security's unit is reported", async () => {
  await using s = await unitsScenario();
  await s.store.update("positions", positionId(s.ada.accountId, "F"), { qty: "4.5" });
  await s.store.update<Order>("orders", s.ford, { qty: "4.25", filledQty: "4.25" });
  const [halfTrade] = await tradesOf(s.store, s.half);
  await s.store.update("trades", halfTrade._id, { qty: "0.5000001" });
  const problems = await problemsOf(s.store);
  const position = `account ${s.ada.number}: position F`;
  someLine(problems, new RegExp(`^${position}: holds 4\\.5, but F trades in whole shares$`));
  someLine(problems, new RegExp(`^order ${s.ford}: qty 4\\.25, but F trades in whole shares$`));
  someLine(problems, new RegExp(`^order ${s.ford}: filledQty 4\\.25, but F trades in whole`));
  someLine(
    problems,
    new RegExp(`^trade ${halfTrade._id}: qty 0\\.5000001, but AAPL trades in up to 6 decimals$`),
  );
});

Deno.test("[integrity] a fraction of a share on an order kept past the day is reported", async () => {
  await using s = await unitsScenario();
  await s.store.update<Order>("orders", s.half, { timeInForce: "gtc" });
  assert.deepEqual(await problemsOf(s.store), [
    `order ${s.half}: 0.5 shares on a market gtc order; fractions of a share are for market and limit day orders`,
  ]);
});

Deno.test("[integrity] a dollar order whose fills cost more than its amount is reported", async () => {
  await using s = await unitsScenario();
  const order = (await s.store.get<Order>("orders", s.dollars))!;
  assert.equal(order.notional, "100.00");
  await s.store.update<Order>("orders", s.dollars, { notional: "50.00" });
  const problems = await problemsOf(s.store);
  assert.equal(problems.length, 1, problems.join("\n"));
  assert.match(
    problems[0],
    new RegExp(
      `^order ${s.dollars}: a dollar order for 50\\.00 whose fills cost (99\\.\\d\\d|100\\.00)$`,
    ),
  );
});

Deno.test("[integrity] a trail on another order type, and a best price off the tick, are reported", async () => {
  await using s = await unitsScenario();
  await s.store.update<Order>("orders", s.ford, { trailPercent: "5", hwm: "13.40" });
  assert.deepEqual(await problemsOf(s.store), [
    `order ${s.ford}: a market order carrying trailPercent, hwm`,
  ]);
  await s.store.update<Order>("orders", s.ford, { trailPercent: null, hwm: null });

  const trailing = (await s.store.get<Order>("orders", s.trailing))!;
  const offTick = `${trailing.hwm}001`;
  await s.store.update<Order>("orders", s.trailing, { hwm: offTick });
  someLine(
    await problemsOf(s.store),
    new RegExp(`^order ${s.trailing}: hwm ${offTick} is off the tick of AAPL \\(2 decimals\\)$`),
  );
  await s.store.update<Order>("orders", s.trailing, { hwm: "0" });
  someLine(await problemsOf(s.store), new RegExp(`^order ${s.trailing}: hwm 0 is not above zero$`));
});

Deno.test("[integrity] more open accounts than a user may hold is reported", async () => {
  await using s = await scenario();
  // Five open accounts pass; a sixth, opened around the limit's claim, is a problem.
  const { userId } = (await s.store.get<Account>("accounts", s.ada.accountId))!;
  for (let epoch = 2; epoch <= 6; epoch++) {
    const { ops } = openAccountOps(userId, epoch, "1000", new Date());
    await s.store.commit(ops);
    const { problems } = await checkIntegrity(s.store);
    const tooMany = problems.filter((p) => /open accounts \(at most 5\)/.test(p));
    assert.equal(tooMany.length, epoch <= 5 ? 0 : 1, `${epoch} open: ${problems.join("; ")}`);
  }
});

Deno.test("[integrity] an alert slot without its alert, or an active alert without its slot, is reported", async () => {
  await using t = await testApp();
  const { store } = t.deps;
  const ctx = t.deps.trading;
  const market = ctx.market;
  const last = (await liveQuote(market, market.catalog.get("AAPL")!, new Date())).last;
  const price = formatFixed(last * 3n);
  const kept = await createAlert(ctx, "u-alerts", { symbol: "AAPL", condition: "above", price });
  const lost = await createAlert(ctx, "u-alerts", { symbol: "AAPL", condition: "above", price });
  assert.deepEqual((await checkIntegrity(store)).problems, []);
  // One alert's slot is deleted; another slot is left behind by a deleted alert.
  await store.delete("alert_slots", alertSlotId("u-alerts", lost.slot!));
  await store.delete("alerts", kept._id);
  const problems = await problemsOf(store);
  someLine(problems, new RegExp(`alert ${lost._id}: active, but slot .* is not its own`));
  someLine(
    problems,
    new RegExp(`alert slot ${alertSlotId("u-alerts", kept.slot!)}: no active alert holds it`),
  );
});
