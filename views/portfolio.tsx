/** The positions page and the history page (fills and cash activity). */
import { LEDGER_ENTRY_TYPES, type LedgerEntry } from "../lib/trading/ledger.ts";
import type { Trade } from "../lib/trading/history.ts";
import type { PositionView } from "../lib/trading/portfolio.ts";
import { AccountFigures, POSITIONS_FIGURES, type Snapshot } from "./dashboard.tsx";
import { LiveBlock, LiveConnection } from "./live.tsx";
import { Field, FormError, type FormState, HxForm } from "./form.tsx";
import {
  Pager,
  Pnl,
  PositionsTable,
  price,
  quantity,
  Scroll,
  Time,
  tradeHref,
  usd,
} from "./trading.tsx";

export function PositionsPage(
  props: { snapshot: Snapshot; unrealized: string; live: string },
) {
  const { account, positions } = props.snapshot;
  return (
    <div class="page">
      <h1>Positions</h1>
      <LiveConnection stream={props.live} />
      <AccountFigures
        account={account}
        unrealized={props.unrealized}
        figures={POSITIONS_FIGURES}
        class="stats card"
      />
      <LiveBlock id="positions-live" name="positions" from="/positions">
        <PositionsTable positions={positions} sell />
      </LiveBlock>
    </div>
  );
}

/** The history page's filters as typed (the days are UTC, both included). */
export type HistoryFilter = { symbol?: string; type?: string; from?: string; to?: string };

const TYPE_OPTIONS = [
  ["", "Any type"],
  ...LEDGER_ENTRY_TYPES.map((t) => [t, t] as const),
] as const;

const DOWNLOADS = [
  ["orders", "Orders"],
  ["fills", "Fills"],
  ["activities", "Cash activity"],
  ["realized-gains", "Realized gains"],
] as const;

export function HistoryPage(props: {
  /** The account shown: the downloads name it, as the API's default may be another. */
  accountId: string;
  filter: HistoryFilter;
  trades: Trade[];
  ledger: LedgerEntry[];
  tradesPages?: { newer?: string; older?: string };
  cashPages?: { newer?: string; older?: string };
  state?: FormState;
}) {
  const filtered = Object.values(props.filter).some(Boolean);
  const state = { ...props.state, values: { ...props.filter, ...props.state?.values } };
  // The downloads cover the chosen days; without them, the account's whole life (README, Exports).
  const download = new URLSearchParams(
    Object.entries({ accountId: props.accountId, from: props.filter.from, to: props.filter.to })
      .filter((e): e is [string, string] => !!e[1]),
  );
  return (
    <div class="page">
      <h1>History</h1>
      <p>
        <a href="/history/gains">Realized gains by tax lot</a>
      </p>
      <form
        method="get"
        action="/history"
        class="filters compact"
        aria-label="Filter the history"
      >
        <FormError state={props.state} />
        <Field
          label="Symbol (fills)"
          name="symbol"
          state={state}
          required={false}
          maxlength={20}
          autocomplete="off"
        />
        <Field
          label="Type (cash)"
          name="type"
          state={state}
          required={false}
          options={TYPE_OPTIONS}
        />
        <Field label="From (UTC)" name="from" type="date" state={state} required={false} />
        <Field label="Through (UTC)" name="to" type="date" state={state} required={false} />
        <div class="actions">
          <button type="submit">Filter</button>
          {filtered && <a href="/history">Clear</a>}
        </div>
      </form>
      <nav class="downloads" aria-label="Download CSV">
        Download CSV:{" "}
        {DOWNLOADS.map(([kind, label]) => (
          <a href={`/api/exports/${kind}.csv?${download}`} download>
            {label}
          </a>
        ))}
      </nav>
      <section aria-labelledby="fills-h">
        <h2 id="fills-h">Fills</h2>
        {props.trades.length === 0
          ? <p class="muted">{filtered ? "No fills match." : "No fills yet."}</p>
          : (
            <Scroll label="Fills">
              <table class="data cards">
                <thead>
                  <tr>
                    <th>Time</th>
                    <th>Symbol</th>
                    <th>Side</th>
                    <th class="num">Qty</th>
                    <th class="num">Price</th>
                    <th class="num">Value</th>
                    <th class="num">Commission</th>
                    <th class="num">Realized P&amp;L</th>
                  </tr>
                </thead>
                <tbody>
                  {props.trades.map((t) => (
                    <tr>
                      <td class="wide" data-label="Time">
                        <Time at={t.executedAt} />
                      </td>
                      <th scope="row">
                        <a href={tradeHref(t.symbol)}>{t.symbol}</a>
                      </th>
                      <td data-label="Side">{t.side.toUpperCase()}</td>
                      <td class="num" data-label="Qty">{quantity(t.qty)}</td>
                      <td class="num" data-label="Price">{price(t.price)}</td>
                      <td class="num" data-label="Amount">{usd(t.gross)}</td>
                      <td class="num" data-label="Commission">{usd(t.commission)}</td>
                      <td class="num" data-label="Realized P&L">
                        {t.realizedPnl === null ? "—" : <Pnl amount={t.realizedPnl} />}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Scroll>
          )}
        {props.tradesPages && <Pager {...props.tradesPages} label="Fill pages" />}
      </section>
      <section aria-labelledby="cash-h">
        <h2 id="cash-h">Cash activity</h2>
        {props.ledger.length === 0
          ? <p class="muted">{filtered ? "No cash activity matches." : "No cash activity yet."}</p>
          : (
            <Scroll label="Cash activity">
              <table class="data cards">
                <thead>
                  <tr>
                    <th>Time</th>
                    <th>Type</th>
                    <th>Description</th>
                    <th class="num">Amount</th>
                    <th class="num">Balance</th>
                  </tr>
                </thead>
                <tbody>
                  {props.ledger.map((e) => (
                    <tr>
                      <td class="wide" data-label="Time">
                        <Time at={e.at} />
                      </td>
                      <td class="title" data-label="Type">{e.type}</td>
                      <td class="wide" data-label="Description">{e.description}</td>
                      <td class="num wide" data-label="Amount">
                        <Pnl amount={e.amount} />
                      </td>
                      <td class="num wide" data-label="Balance">{usd(e.balanceAfter)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Scroll>
          )}
        {props.cashPages && <Pager {...props.cashPages} label="Cash activity pages" />}
      </section>
    </div>
  );
}

/**
 * Closing a position: what is held, a quantity prefilled with all of it, and the choice to cancel
 * the working sells that reserve part of it. A plain form (a confirmation step that works without
 * JavaScript); the JSON API takes `qty` or `percentage` (lib/trading/close_positions.ts).
 */
export function ClosePositionPage(props: {
  position: PositionView;
  reserved: string;
  state?: FormState;
}) {
  const p = props.position;
  return (
    <div class="page narrow">
      <h1>Close {p.symbol}</h1>
      <section class="card" aria-labelledby="close-h">
        <h2 id="close-h">Your position</h2>
        <PositionFigures position={p} price="last" />
        <ClosePositionForm position={p} reserved={props.reserved} state={props.state} />
      </section>
    </div>
  );
}

export function ClosePositionForm(
  props: { position: PositionView; reserved: string; state?: FormState },
) {
  const p = props.position;
  const reserved = props.reserved !== "0";
  const cancel = props.state?.values?.cancelOrders === "on";
  return (
    <HxForm id="close-form" action="/positions/close">
      <FormError state={props.state} />
      <input type="hidden" name="symbol" value={p.symbol} />
      <Field
        label="Quantity to sell"
        name="qty"
        value={p.qty}
        inputmode="decimal"
        maxlength={40}
        autocomplete="off"
        state={props.state}
        hint={reserved
          ? `You hold ${quantity(p.qty)}; open sell orders reserve ${
            quantity(props.reserved)
          } of them.`
          : `You hold ${quantity(p.qty)}. A market order sells at the bid.`}
      />
      {reserved && (
        <div class="field check">
          <input type="checkbox" id="f-cancelOrders" name="cancelOrders" checked={cancel} />
          <label for="f-cancelOrders">Cancel my open sell orders for {p.symbol} first</label>
        </div>
      )}
      <div class="actions">
        <button type="submit" class="danger">Sell at market</button>
        <a href="/positions">Keep it</a>
      </div>
    </HxForm>
  );
}

/**
 * A position's figures in a few words: quantity, a price (the last, or what was paid on average),
 * market value and unrealized P&L. The close page and the position page show the same.
 */
export function PositionFigures(
  props: { position: PositionView; price: "last" | "average"; class?: string },
) {
  const p = props.position;
  return (
    <dl class={props.class ? `stats ${props.class}` : "stats"}>
      <div>
        <dt>Quantity</dt>
        <dd>{quantity(p.qty)}</dd>
      </div>
      <div>
        <dt>{props.price === "last" ? "Last" : "Avg price"}</dt>
        <dd>{price(props.price === "last" ? p.lastPrice : p.avgEntryPrice)}</dd>
      </div>
      <div>
        <dt>Market value</dt>
        <dd>{usd(p.marketValue)}</dd>
      </div>
      <div>
        <dt>Unrealized P&amp;L</dt>
        <dd>
          <Pnl amount={p.unrealizedPnl} percent={p.unrealizedPnlPercent} />
        </dd>
      </div>
    </dl>
  );
}
