/**
 * Rounding goes against the customer: the harvesting probe repeated through the real order path,
 * the cost basis and P&L that follow the cash, and the integrity scan catching a fill booked in the
 * customer's favour.
 */
import assert from "node:assert/strict";
import { testApi, testApp } from "../../routes/testing.ts";
import {
  type Fixed,
  formatFixed,
  mulDownToCent,
  mulFixed,
  mulUpToCent,
  parseFixed,
  SCALE,
} from "../money.ts";
import { type Account, startingCashOf } from "./accounts.ts";
import type { Trade } from "./history.ts";
import { checkIntegrity } from "./integrity.ts";
import { currentCash, type LedgerEntry, ledgerEntryId } from "./ledger.ts";
import type { RealizedGain } from "./lots.ts";
import { liveQuote } from "./market.ts";
import { fillCash } from "./order_rules.ts";
import { placeOrder, type TradingContext } from "./orders.ts";
import { type Position, positionId, positionState } from "./positions.ts";

type App = Awaited<ReturnType<typeof testApp>>;

const SYMBOL = "DOGE/USD";
/** Products of two amounts have 16 places; a cent is 10^14 of those units. */
const CENT_16 = 10n ** BigInt(SCALE + SCALE - 2);
const ONE = 10n ** BigInt(SCALE);
/** Quantities with seven decimals, as the probe chose them. */
const QTY_STEP = 10n;

/** A signed-up trader (the integrity scan wants a real user) and their demo account. */
async function trader(t: App, email = "ada@example.com"): Promise<Account> {
  const { accountId } = await testApi(t).trader(email);
  return (await t.deps.store.get<Account>("accounts", accountId))!;
}

/**
 * The probe's choice: a quantity with 7 decimals worth about `cents` at `price` whose exact value
 * has a fraction of a cent in [from, to) — where rounding to the nearest cent goes the customer's
 * way (below half a cent for a buy, above it for a sell).
 */
function harvestingQty(price: Fixed, cents: bigint, from: number, to: number): Fixed {
  let qty = cents * ONE * ONE / 100n / price / QTY_STEP * QTY_STEP;
  for (let i = 0; i < 1_000_000; i++, qty += QTY_STEP) {
    const fraction = Number((qty * price) % CENT_16) / Number(CENT_16);
    if (fraction >= from && fraction < to) return qty;
  }
  throw new Error("no such quantity");
}

/** A market order for `qty` placed at `at`, filled whole at the quote of that second. */
async function trade(
  ctx: TradingContext,
  account: Account,
  side: "buy" | "sell",
  qty: Fixed,
  at: Date,
) {
  const { order } = await placeOrder(
    ctx,
    account.userId,
    {
      symbol: SYMBOL,
      side,
      type: "market",
      qty: formatFixed(qty, 0),
      timeInForce: "gtc",
    },
    {},
    at,
  );
  assert.equal(order.status, "filled", `${side} ${formatFixed(qty, 0)}`);
  return order;
}

async function tradesOf(t: App, account: Account): Promise<Trade[]> {
  return (await t.deps.store.find<Trade>("trades", {
    where: { accountId: account._id },
    limit: 1000,
  })).items;
}

Deno.test("[rounding] 40 DOGE fills chosen to round the customer's way earn them nothing", async () => {
  // 40 orders in a row from one account: over the per-account order rate, which is not the subject.
  await using t = await testApp({ ORDERS_PER_SECOND: "1000" });
  const ctx = t.deps.trading;
  const account = await trader(t);
  const security = ctx.market.catalog.get(SYMBOL)!;
  const start = Date.now();
  // 20 buys of about $2 whose exact cost is 0.1–0.5 ¢ over a cent (nearest-cent rounding would
  // charge less than the exact cost), then 20 sells of about $1.50 whose exact proceeds are
  // 0.5–0.9 ¢ over a cent (nearest-cent rounding would pay more), each at its own second's quote.
  for (let i = 0; i < 40; i++) {
    const at = new Date(start + i * 1000);
    const quote = await liveQuote(ctx.market, security, at);
    const buy = i < 20;
    const qty = buy
      ? harvestingQty(quote.ask, 200n, 0.1, 0.5)
      : harvestingQty(quote.bid, 150n, 0.5, 0.9);
    await trade(ctx, account, buy ? "buy" : "sell", qty, at);
  }

  const trades = await tradesOf(t, account);
  assert.equal(trades.length, 40);
  // Exact arithmetic, at 16 places: the starting cash less every exact cost plus every exact proceeds.
  let exact = startingCashOf(account) * ONE;
  for (const tr of trades) {
    const product = parseFixed(tr.qty, SCALE) * parseFixed(tr.price, SCALE);
    exact += tr.side === "buy" ? -product : product;
  }
  const cash = await currentCash(
    t.deps.store,
    (await t.deps.store.get<Account>("accounts", account._id))!,
  );
  const houseGain = exact - cash * ONE;
  assert.ok(
    houseGain >= 0n,
    `the customer holds ${formatFixed(cash)}, ${
      formatFixed(-houseGain / ONE, 2)
    } more than exact arithmetic gives`,
  );
  assert.ok(houseGain < 40n * CENT_16, "and less than a cent per fill goes to the house");

  // Cost basis and realized P&L follow the cash that moved: what is still on the books is what
  // the buys paid, less what the sells received, plus the P&L they realized.
  const position = await t.deps.store.get<Position>("positions", positionId(account._id, SYMBOL));
  const state = positionState(position);
  let paid = 0n, received = 0n, realized = 0n;
  for (const tr of trades) {
    if (tr.side === "buy") paid += parseFixed(tr.gross, 2);
    else {
      received += parseFixed(tr.gross, 2);
      realized += parseFixed(tr.realizedPnl!, 2);
    }
  }
  assert.equal(formatFixed(state.costBasis), formatFixed(paid - received + realized));
  assert.equal(formatFixed(state.realizedPnl), formatFixed(realized));

  const report = await checkIntegrity(t.deps.store);
  assert.deepEqual(report.problems, []);
});

/** The account's latest ledger entry. */
async function lastEntry(t: App, account: Account): Promise<LedgerEntry> {
  const fresh = (await t.deps.store.get<Account>("accounts", account._id))!;
  return (await t.deps.store.get<LedgerEntry>(
    "cash_ledger",
    ledgerEntryId(account._id, fresh.ledgerSeq),
  ))!;
}

/** Moves one more cent to the customer in the latest entry, keeping its running balance whole. */
async function oneCentMore(t: App, entry: LedgerEntry) {
  const cent = parseFixed("0.01", 2);
  await t.deps.store.update<LedgerEntry>("cash_ledger", entry._id, {
    amount: formatFixed(parseFixed(entry.amount, 2) + cent),
    balanceAfter: formatFixed(parseFixed(entry.balanceAfter, 2) + cent),
  });
}

Deno.test("[rounding] the integrity check reports a sale booked at the nearest cent instead of down", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const account = await trader(t);
  const security = ctx.market.catalog.get(SYMBOL)!;
  const at = new Date();
  const quote = await liveQuote(ctx.market, security, at);
  await trade(ctx, account, "buy", harvestingQty(quote.ask, 300n, 0, 1), at);
  // Exact proceeds 0.5–0.9 ¢ over a cent: the nearest cent is the customer's cent.
  const sold = await trade(ctx, account, "sell", harvestingQty(quote.bid, 150n, 0.5, 0.9), at);
  assert.deepEqual((await checkIntegrity(t.deps.store)).problems, [], "as booked, all is well");

  const tradeId = `${sold.id}:1`;
  const booked = (await t.deps.store.get<Trade>("trades", tradeId))!;
  const exact = parseFixed(booked.qty, SCALE) * parseFixed(booked.price, SCALE);
  const nearest = mulDownToCent(parseFixed(booked.qty, SCALE), parseFixed(booked.price, SCALE)) +
    parseFixed("0.01", 2);
  assert.ok(nearest * ONE > exact, "the corrupted amount pays out more than the exact proceeds");
  // The trade, its fill entry and the running balance all agree on the customer's cent.
  await t.deps.store.update<Trade>("trades", tradeId, { gross: formatFixed(nearest) });
  const entry = await lastEntry(t, account);
  assert.equal(entry.tradeId, tradeId);
  await oneCentMore(t, entry);
  // So does the tax lot the sale closed (lots.ts): its share of the proceeds and its gain.
  const [row] = (await t.deps.store.find<RealizedGain>("realized_gains", {
    where: { accountId: account._id },
    limit: 10,
  })).items.filter((g) => g.tradeId === tradeId);
  const cent = parseFixed("0.01", 2);
  await t.deps.store.update<RealizedGain>("realized_gains", row._id, {
    proceeds: formatFixed(parseFixed(row.proceeds, 2) + cent),
    gain: formatFixed(parseFixed(row.gain, 2) + cent),
  });

  const { problems } = await checkIntegrity(t.deps.store);
  assert.equal(problems.length, 1, problems.join("\n"));
  assert.match(
    problems[0],
    new RegExp(
      `^trade ${tradeId}: gross ${
        formatFixed(nearest)
      } is not qty × price rounded down to the cent`,
    ),
  );

  // The same amount on a trade booked before the rule (no marker) was its half-even rounding,
  // which stays valid history.
  const qty = parseFixed(booked.qty, SCALE);
  const price = parseFixed(booked.price, SCALE);
  assert.equal(mulFixed(qty, price, 2), nearest, "the nearest cent is the half-even one here");
  await t.deps.store.update<Trade>("trades", tradeId, { cashRounding: undefined });
  assert.deepEqual((await checkIntegrity(t.deps.store)).problems, []);
});

Deno.test("[rounding] the integrity check reports a commission booked short of the trade's", async () => {
  await using t = await testApp({ COMMISSION_PER_ORDER: "0.99" });
  const ctx = t.deps.trading;
  const account = await trader(t);
  const quote = await liveQuote(ctx.market, ctx.market.catalog.get(SYMBOL)!, new Date());
  const bought = await trade(ctx, account, "buy", harvestingQty(quote.ask, 300n, 0, 1), new Date());
  const entry = await lastEntry(t, account);
  assert.equal(entry.type, "commission");
  assert.equal(entry.amount, "-0.99");
  assert.deepEqual((await checkIntegrity(t.deps.store)).problems, []);

  await oneCentMore(t, entry);
  const { problems } = await checkIntegrity(t.deps.store);
  assert.deepEqual(problems, [
    `trade ${bought.id}:1: its commission is 0.99 but its commission entries moved -0.98`,
  ]);
});

Deno.test("[rounding] splitting a fill into parts never pays the customer more", () => {
  // Each part is rounded on its own and against the customer, so the parts cost at least the
  // whole and bring in at most the whole: splitting only ever costs cents, never earns them.
  const price = parseFixed("0.22835", 8);
  const whole = parseFixed("5.2791767", 8);
  for (const parts of [2n, 3n, 7n, 40n]) {
    const part = whole / parts / QTY_STEP * QTY_STEP;
    const sizes = [...Array(Number(parts) - 1).fill(part), whole - part * (parts - 1n)];
    const cost = sizes.reduce((sum, qty) => sum + fillCash("buy", qty, price), 0n);
    const proceeds = sizes.reduce((sum, qty) => sum + fillCash("sell", qty, price), 0n);
    assert.ok(cost >= mulUpToCent(whole, price), `${parts} buys cost ${formatFixed(cost)}`);
    assert.ok(
      proceeds <= mulDownToCent(whole, price),
      `${parts} sells bring in ${formatFixed(proceeds)}`,
    );
  }
  assert.equal(formatFixed(fillCash("sell", whole, price)), "1.20", "the probe's fill");
  assert.equal(formatFixed(fillCash("buy", whole, price)), "1.21");
});
