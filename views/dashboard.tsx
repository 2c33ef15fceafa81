/**
 * The dashboard: the account at a glance, positions, open orders and the first watchlist; and the
 * page that resets the demo account, reached from the settings page rather than from here.
 */
import type { Quote } from "../lib/market/simulator.ts";
import type { OrderJson } from "../lib/trading/orders.ts";
import type { accountSnapshot } from "../lib/trading/portfolio.ts";
import { Field, FormError, type FormState, HxForm } from "./form.tsx";
import { OrdersTable } from "./orders.tsx";
import { MarketBadge, Pnl, PositionsTable, QuotesTable, usd } from "./trading.tsx";

export type Snapshot = Awaited<ReturnType<typeof accountSnapshot>>;

export function DashboardPage(props: {
  snapshot: Snapshot;
  openOrders: OrderJson[];
  watchlist: { name: string; quotes: Quote[] };
  marketOpen: boolean;
}) {
  const { account, positions } = props.snapshot;
  return (
    <div class="page">
      <div class="title-row">
        <h1>Dashboard</h1>
        <MarketBadge open={props.marketOpen} />
      </div>
      <AccountSummary account={account} />
      <section aria-labelledby="positions-h">
        <h2 id="positions-h">Positions</h2>
        <PositionsTable positions={positions} />
      </section>
      <section aria-labelledby="orders-h">
        <h2 id="orders-h">Open orders</h2>
        <OrdersTable orders={props.openOrders} next="/dashboard" empty="No open orders." />
        {props.openOrders.length > 0 && <a href="/orders">All orders</a>}
      </section>
      <section aria-labelledby="watchlist-h">
        <h2 id="watchlist-h">{props.watchlist.name}</h2>
        {props.watchlist.quotes.length > 0
          ? (
            <QuotesTable
              label={`Quotes in ${props.watchlist.name}`}
              quotes={props.watchlist.quotes}
            />
          )
          : <p class="muted">This watchlist is empty.</p>}
        <a href="/watchlist">Edit watchlists</a>
      </section>
    </div>
  );
}

/** Equity and today's P&L first and large, then cash, buying power and holds of the active account. */
export function AccountSummary(props: { account: Snapshot["account"] }) {
  const { account } = props;
  return (
    <section class="card" aria-labelledby="account-h">
      <h2 id="account-h">
        Demo account <span class="muted">{account.number}</span>
      </h2>
      <dl class="stats lead">
        <div class="big">
          <dt>Equity</dt>
          <dd>{usd(account.equity)}</dd>
        </div>
        <div class="big">
          <dt>Today's P&amp;L</dt>
          <dd>
            <Pnl amount={account.todayPnl} percent={account.todayPnlPercent} />
          </dd>
        </div>
        <div>
          <dt>Cash</dt>
          <dd>{usd(account.cash)}</dd>
        </div>
        <div>
          <dt>Buying power</dt>
          <dd>{usd(account.buyingPower)}</dd>
        </div>
        <div>
          <dt>Held for orders</dt>
          <dd>{usd(account.heldForOrders)}</dd>
        </div>
      </dl>
    </section>
  );
}

/**
 * Resetting the demo account: what it ends, and the form that asks for the account number typed
 * back, so no single click or stray request wipes a portfolio.
 */
export function ResetPage(
  props: { account: Snapshot["account"]; positions: number; state?: FormState },
) {
  const { account } = props;
  return (
    <div class="page narrow">
      <h1>Reset demo account</h1>
      <section class="card" aria-labelledby="reset-h">
        <h2 id="reset-h">
          Demo account <span class="muted">{account.number}</span>
        </h2>
        <p>
          Equity {usd(account.equity)}, cash {usd(account.cash)},{" "}
          {props.positions === 1 ? "1 position" : `${props.positions} positions`}.
        </p>
        <ResetForm
          accountNumber={account.number}
          startingCash={account.startingCash}
          state={props.state}
        />
      </section>
    </div>
  );
}

/** The confirmation: the account number typed back, which works the same with JavaScript off. */
export function ResetForm(
  props: { accountNumber: string; startingCash: string; state?: FormState },
) {
  return (
    <HxForm id="reset-form" action="/dashboard/reset">
      <FormError state={props.state} />
      <p>
        A reset cancels the open orders of account{" "}
        {props.accountNumber}, closes it with its positions and cash (its history stays readable)
        and opens a new demo account with {usd(props.startingCash)}. It cannot be undone.
      </p>
      <Field
        label={`Type the account number, ${props.accountNumber}, to confirm`}
        name="confirm"
        state={props.state}
        autocomplete="off"
        maxlength={32}
      />
      <div class="actions">
        <button type="submit" class="danger">Reset demo account</button>
        <a href="/dashboard">Keep this account</a>
      </div>
    </HxForm>
  );
}
