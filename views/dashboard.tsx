/**
 * The dashboard: the account at a glance, positions, open orders and the first watchlist; and the
 * page that resets the demo account, reached from the settings page rather than from here.
 */
import type { MarketPhase } from "../lib/market/clock.ts";
import type { Quote } from "../lib/market/simulator.ts";
import type { OrderJson } from "../lib/trading/orders.ts";
import type { accountSnapshot } from "../lib/trading/portfolio.ts";
import { OrdersTable } from "./orders.tsx";
import { cellId, Live, LiveBlock, type LiveCell, LiveConnection } from "./live.tsx";
import { MarketBadge, pnlCell, PositionsTable, QuotesTable, usd } from "./trading.tsx";
import type { Child } from "hono/jsx";

export type Snapshot = Awaited<ReturnType<typeof accountSnapshot>>;

export function DashboardPage(props: {
  snapshot: Snapshot;
  openOrders: OrderJson[];
  watchlist: { name: string; quotes: Quote[] };
  marketPhase: MarketPhase;
  /** The page's live stream (routes/live/page_stream.ts). */
  live: string;
}) {
  const { account, positions } = props.snapshot;
  return (
    <div class="page">
      <div class="title-row">
        <h1>Dashboard</h1>
        <MarketBadge phase={props.marketPhase} />
      </div>
      <LiveConnection stream={props.live} />
      <AccountSummary account={account} />
      <section aria-labelledby="positions-h">
        <h2 id="positions-h">Positions</h2>
        <LiveBlock id="positions-live" name="positions" from="/dashboard">
          <PositionsTable positions={positions} />
        </LiveBlock>
      </section>
      <section aria-labelledby="orders-h">
        <h2 id="orders-h">Open orders</h2>
        <LiveBlock id="orders-live" name="orders" from="/dashboard">
          <OrdersTable orders={props.openOrders} next="/dashboard" empty="No open orders." />
          {props.openOrders.length > 0 && <a href="/orders">All orders</a>}
        </LiveBlock>
      </section>
      <section aria-labelledby="watchlist-h">
        <h2 id="watchlist-h">{props.watchlist.name}</h2>
        {props.watchlist.quotes.length > 0
          ? (
            <QuotesTable
              label={`Quotes in ${props.watchlist.name}`}
              quotes={props.watchlist.quotes}
              prefix={DASHBOARD_WATCHLIST}
            />
          )
          : <p class="muted">This watchlist is empty.</p>}
        <a href="/watchlist">Edit watchlists</a>
      </section>
    </div>
  );
}

/** The ids of the dashboard's watchlist figures start with this. */
export const DASHBOARD_WATCHLIST = "wl0";

/**
 * The account's figures that move with prices and orders, kept current by the live stream. Each
 * page shows some of them: `DASHBOARD_FIGURES`, `POSITIONS_FIGURES`.
 */
export function accountCells(account: Snapshot["account"], unrealized = "0") {
  const cell = (name: string, content: Child): LiveCell => ({ id: cellId("acct", name), content });
  return {
    equity: cell("equity", usd(account.equity)),
    today: pnlCell(cellId("acct", "today"), account.todayPnl, account.todayPnlPercent),
    cash: cell("cash", usd(account.cash)),
    buyingPower: cell("bp", usd(account.buyingPower)),
    held: cell("held", usd(account.heldForOrders)),
    positionsValue: cell("mv", usd(account.positionsValue)),
    unrealized: pnlCell(cellId("acct", "unrealized"), unrealized),
  };
}

export type AccountFigure = keyof ReturnType<typeof accountCells>;
export const DASHBOARD_FIGURES: AccountFigure[] = [
  "equity",
  "today",
  "cash",
  "buyingPower",
  "held",
];
export const POSITIONS_FIGURES: AccountFigure[] = [
  "positionsValue",
  "unrealized",
  "today",
  "cash",
  "equity",
];

/** What each account figure is called on a page. */
const FIGURE_LABELS: Record<AccountFigure, string> = {
  equity: "Equity",
  today: "Today's P&L",
  cash: "Cash",
  buyingPower: "Buying power",
  held: "Held for orders",
  positionsValue: "Market value",
  unrealized: "Unrealized P&L",
};

/**
 * Some of the account's figures as a list, each a live cell: the same `figures` the page's stream
 * keeps current (routes/live/page_stream.tsx), so the two cannot name different ones. The first
 * `big` are shown large.
 */
export function AccountFigures(props: {
  account: Snapshot["account"];
  unrealized?: string;
  figures: readonly AccountFigure[];
  big?: number;
  class: string;
}) {
  const cells = accountCells(props.account, props.unrealized);
  return (
    <dl class={props.class}>
      {props.figures.map((figure, n) => (
        <div class={n < (props.big ?? 0) ? "big" : undefined}>
          <dt>{FIGURE_LABELS[figure]}</dt>
          <dd>
            <Live cell={cells[figure]} />
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** Equity and today's P&L first and large, then cash, buying power and holds of the active account. */
export function AccountSummary(props: { account: Snapshot["account"] }) {
  const { account } = props;
  return (
    <section class="card" aria-labelledby="account-h">
      <h2 id="account-h">
        {account.name} <span class="muted">{account.number}</span>
      </h2>
      <AccountFigures account={account} figures={DASHBOARD_FIGURES} big={2} class="stats lead" />
    </section>
  );
}
