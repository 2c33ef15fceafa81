/** The dashboard: the account at a glance, positions, open orders, the first watchlist, and a reset. */
import type { Quote } from "../lib/market/simulator.ts";
import type { OrderJson } from "../lib/trading/orders.ts";
import type { accountSnapshot } from "../lib/trading/portfolio.ts";
import { FormError, type FormState, HxForm } from "./form.tsx";
import { OrdersTable } from "./orders.tsx";
import { MarketBadge, Pnl, PositionsTable, QuotesTable, usd } from "./trading.tsx";

export type Snapshot = Awaited<ReturnType<typeof accountSnapshot>>;

export function DashboardPage(props: {
  snapshot: Snapshot;
  openOrders: OrderJson[];
  watchlist: { name: string; quotes: Quote[] };
  marketOpen: boolean;
  reset?: FormState;
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
          ? <QuotesTable label={props.watchlist.name} quotes={props.watchlist.quotes} />
          : <p class="muted">This watchlist is empty.</p>}
        <a href="/watchlist">Edit watchlists</a>
      </section>
      <section class="card" aria-labelledby="reset-h">
        <h2 id="reset-h">Start over</h2>
        <ResetForm
          accountNumber={account.number}
          startingCash={account.startingCash}
          state={props.reset}
        />
      </section>
    </div>
  );
}

/** Equity, today's P&L, cash, buying power and holds of the active account. */
export function AccountSummary(props: { account: Snapshot["account"] }) {
  const { account } = props;
  return (
    <section class="card" aria-labelledby="account-h">
      <h2 id="account-h">
        Demo account <span class="muted">{account.number}</span>
      </h2>
      <dl class="stats">
        <div>
          <dt>Equity</dt>
          <dd>{usd(account.equity)}</dd>
        </div>
        <div>
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

/** Closing the account and opening a fresh one, confirmed with a checkbox rather than a script. */
export function ResetForm(
  props: { accountNumber: string; startingCash: string; state?: FormState },
) {
  const error = props.state?.fields?.confirm;
  return (
    <HxForm id="reset-form" action="/dashboard/reset">
      <FormError state={props.state} />
      <p>
        Cancels the open orders of account{" "}
        {props.accountNumber}, closes it (its history stays) and opens a new demo account with{" "}
        {usd(props.startingCash)}.
      </p>
      <div class={error ? "field check invalid" : "field check"}>
        <label>
          <input
            type="checkbox"
            name="confirm"
            value="yes"
            required
            aria-invalid={error ? "true" : undefined}
            aria-describedby={error ? "reset-confirm-error" : undefined}
          />{" "}
          I understand this closes my current demo account
        </label>
        {error && <small id="reset-confirm-error" class="error">{error}</small>}
      </div>
      <button type="submit" class="danger">Reset demo account</button>
    </HxForm>
  );
}
