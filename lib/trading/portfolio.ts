/**
 * What an account is worth now, derived on every read from the ledger, the working orders, the
 * positions and live quotes; nothing here is stored. Today's P&L compares with the previous close
 * (or, for a holding opened today, with its cost), plus what sells realized today.
 */
import {
  divFixed,
  type Fixed,
  formatFixed,
  mulFixed,
  parseFixed,
  roundFixed,
  sumFixed,
} from "../money.ts";
import { findAll } from "../store/find_all.ts";
import type { Store } from "../store/port.ts";
import { type Account, accountName } from "./accounts.ts";
import { currentCash } from "./ledger.ts";
import { type LiveQuote, liveQuotes, type Market } from "./market.ts";
import type { TradingContext } from "./orders.ts";
import { MAX_OPEN_ORDERS, openTotals, workingOrders } from "./open_orders.ts";
import { averageEntryPrice, type Position, positionState } from "./positions.ts";

/** The open positions of an account. */
export async function openPositions(store: Store, accountId: string): Promise<Position[]> {
  const all = await findAll<Position>(store, "positions", { where: { accountId } });
  return all.filter((p) => p.status === "open").sort((a, b) => a.symbol.localeCompare(b.symbol));
}

/** One position valued at a quote. */
export function positionView(
  position: Position,
  quote: LiveQuote,
  priceDecimals: number,
  sessionStart: Date,
) {
  const state = positionState(position);
  // Money shown is in cents; the cost basis keeps more places only so the average price is exact.
  const costBasis = roundFixed(state.costBasis, 2);
  const marketValue = mulFixed(state.qty, quote.last, 2);
  const unrealized = marketValue - costBasis;
  // A holding opened before today's session is measured from the previous close, one opened today from its cost.
  const dayBasis = position.openedAt < sessionStart
    ? mulFixed(state.qty, quote.prevClose, 2)
    : costBasis;
  const today = marketValue - dayBasis;
  return {
    symbol: position.symbol,
    accountId: position.accountId,
    qty: position.qty,
    avgEntryPrice: formatFixed(averageEntryPrice(state, Math.max(priceDecimals, 2))),
    costBasis: formatFixed(costBasis),
    lastPrice: formatFixed(quote.last),
    prevClose: formatFixed(quote.prevClose),
    marketValue: formatFixed(marketValue),
    unrealizedPnl: formatFixed(unrealized),
    unrealizedPnlPercent: percent(unrealized, costBasis),
    todayPnl: formatFixed(today),
    todayPnlPercent: percent(today, dayBasis),
    realizedPnl: formatFixed(state.realizedPnl),
    openedAt: position.openedAt.toISOString(),
    _amounts: { marketValue, today },
  };
}

export type PositionView = Omit<ReturnType<typeof positionView>, "_amounts">;

/** The account's numbers and positions, valued now. */
export async function accountSnapshot(ctx: TradingContext, account: Account, now = new Date()) {
  const { store, market } = ctx;
  // The running totals answer without reading the working orders; only an account written before
  // they existed (and not yet traded since) needs its orders summed here.
  const totals = account.status === "active" ? openTotals(account) : { openOrders: 0, held: 0n };
  const [cash, open, positions] = await Promise.all([
    currentCash(store, account),
    totals ?? workingOrders(store, account._id).then((working) => ({
      openOrders: working.length,
      held: sumFixed(working.map((o) => parseFixed(o.holdAmount, 2))),
    })),
    openPositions(store, account._id),
  ]);
  const securities = positions.map((p) => market.catalog.get(p.symbol)!);
  const quotes = await liveQuotes(market, securities, now);
  const sessionStart = sessionStartOf(market, now);
  const views = positions.map((p, n) =>
    positionView(p, quotes[n], securities[n].priceDecimals, sessionStart)
  );
  const held = open.held;
  const positionsValue = sumFixed(views.map((v) => v._amounts.marketValue));
  const realizedToday = await realizedSince(store, account._id, sessionStart);
  const todayPnl = sumFixed(views.map((v) => v._amounts.today)) + realizedToday;
  const equity = cash + positionsValue;
  return {
    account: {
      id: account._id,
      name: accountName(account),
      number: account.number,
      type: account.type,
      currency: account.currency,
      status: account.status,
      cash: formatFixed(cash),
      heldForOrders: formatFixed(held),
      buyingPower: formatFixed(cash - held),
      positionsValue: formatFixed(positionsValue),
      equity: formatFixed(equity),
      todayPnl: formatFixed(todayPnl),
      todayPnlPercent: percent(todayPnl, equity - todayPnl),
      startingCash: account.startingCash,
      /** Working orders, and the most the account may have (open_orders.ts). */
      openOrders: open.openOrders,
      openOrderLimit: MAX_OPEN_ORDERS,
      /** The order in which sells close tax lots (lots.ts). */
      lotMethod: account.lotMethod ?? "fifo",
      createdAt: account.createdAt.toISOString(),
      closedAt: account.closedAt?.toISOString() ?? null,
    },
    positions: views.map(({ _amounts: _, ...view }) => view),
    openOrders: open.openOrders,
  };
}

/** When "today" began for P&L: the current or latest US equity session's open. */
function sessionStartOf(market: Market, now: Date): Date {
  return (market.clock.sessionOn(now) ?? market.clock.previousSession(now)).open;
}

async function realizedSince(store: Store, accountId: string, since: Date): Promise<Fixed> {
  let total = 0n;
  let cursor: string | undefined;
  do {
    const page = await store.find<{ _id: string; _v: number; realizedPnl: string | null }>(
      "trades",
      {
        where: { accountId },
        sort: { field: "executedAt", direction: -1 },
        range: { gte: since },
        limit: 500,
        cursor,
      },
    );
    for (const t of page.items) if (t.realizedPnl) total += parseFixed(t.realizedPnl, 2);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return total;
}

/** part ÷ whole as a percentage with 2 decimals ("1.25"), "0.00" when whole is 0. */
function percent(part: Fixed, whole: Fixed): string {
  if (whole === 0n) return "0.00";
  return formatFixed(divFixed(part * 100n, whole < 0n ? -whole : whole, 2));
}
