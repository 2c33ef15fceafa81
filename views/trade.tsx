/** The trade page: symbol search, a live quote, the price chart, and the order ticket with its estimate. */
import type { Security } from "../lib/market/securities.ts";
import type { Quote } from "../lib/market/simulator.ts";
import { ORDER_TYPES, TIME_IN_FORCE } from "../lib/trading/order_rules.ts";
import { useRequestContext } from "hono/jsx-renderer";
import type { AppEnv } from "../routes/env.ts";
import { PriceChart, type PriceChartProps } from "./chart.tsx";
import { Field, FormError, type FormState, HxForm } from "./form.tsx";
import {
  changeOf,
  MarketBadge,
  percent,
  price,
  quantity,
  signedPrice,
  tradeHref,
  trend,
  usd,
} from "./trading.tsx";

/** What an order would cost (or bring), or why it cannot be estimated yet. */
export type Estimate =
  | {
    side: "buy" | "sell";
    qty: string;
    /** The price per unit it is estimated at: the ask or bid, or the order's limit or stop. */
    price: string;
    commission: string;
    /** Cost of a buy (value + commission), proceeds of a sell (value − commission). */
    total: string;
    buyingPower: string;
    held: string;
    /** More than the buying power (buys) or the holding (sells) covers. */
    exceeds: boolean;
  }
  | { note: string };

export type TicketProps = {
  security: Security;
  /** One per rendering of a fresh ticket: a resubmit or double click places the order once. */
  idempotencyKey: string;
  estimate: Estimate;
  state?: FormState;
};

export type TradePageProps = {
  q: string;
  results: readonly Security[];
  /** The symbol in the address that is not in the catalog. */
  unknown?: string;
  chosen?: {
    quote: Quote;
    chart: PriceChartProps;
    open: boolean;
    ticket: TicketProps;
  };
};

export function TradePage(props: TradePageProps) {
  const chosen = props.chosen;
  if (!chosen) {
    return (
      <div class="page">
        <h1>Trade</h1>
        {props.unknown && (
          <p class="form-error" role="alert">
            There is no security with the symbol {props.unknown}. Search for it below.
          </p>
        )}
        <Search q={props.q} results={props.results} />
      </div>
    );
  }
  const { security } = chosen.ticket;
  return (
    <div class="page">
      <div class="title-row">
        <h1>
          {security.symbol} <small class="muted">{security.name}</small>
        </h1>
        <MarketBadge open={chosen.open} />
      </div>
      <section class="card" aria-label="Quote">
        <dl class="quote" hx-get={tradeHref(security.symbol)} hx-trigger="every 5s">
          <QuoteNumbers quote={chosen.quote} />
        </dl>
      </section>
      {/* Charts (issue 10, point 4): the chart section and its small readout script. */}
      <PriceChart {...chosen.chart} />
      <ChartScript />
      <OrderTicket {...chosen.ticket} />
      <section aria-labelledby="search-h">
        <h2 id="search-h">Trade something else</h2>
        <Search q={props.q} results={props.results} />
      </section>
    </div>
  );
}

/** A search form that works as a plain GET and, with htmx, lists matches as the user types. */
function Search(props: { q: string; results: readonly Security[] }) {
  return (
    <>
      <form method="get" action="/trade" role="search" class="row">
        <div class="field">
          <label for="q">Symbol or company</label>
          <input
            id="q"
            type="search"
            name="q"
            value={props.q}
            placeholder="e.g. AAPL or Apple"
            autocomplete="off"
            enterkeyhint="search"
            maxlength={40}
            hx-get="/trade"
            hx-trigger="input changed delay:300ms, search"
            hx-target="#search-results"
            hx-swap="outerHTML"
          />
        </div>
        <button type="submit">Search</button>
      </form>
      <SearchResults q={props.q} results={props.results} />
    </>
  );
}

/** The matches for a search: part of the page, and the whole htmx answer to a search. */
export function SearchResults(props: { q: string; results: readonly Security[] }) {
  return (
    <div id="search-results" aria-live="polite">
      {props.results.length > 0
        ? (
          <ul class="results">
            {props.results.map((s) => (
              <li>
                <a href={tradeHref(s.symbol)}>
                  <strong>{s.symbol}</strong> {s.name}
                </a>
              </li>
            ))}
          </ul>
        )
        : props.q.trim() && <p class="muted">Nothing matches “{props.q.trim()}”.</p>}
    </div>
  );
}

/** The quote's numbers only: what the poll fetches every few seconds, kept to a few bytes. */
export function QuoteNumbers(props: { quote: Quote }) {
  const { quote } = props;
  const change = changeOf(quote);
  return (
    <>
      <dt>Last</dt>
      <dd>{price(quote.last)}</dd>
      <dt>Change</dt>
      <dd class={trend(change.amount)}>
        {signedPrice(change.amount)} ({percent(change.percent)})
      </dd>
      <dt>Bid</dt>
      <dd>{price(quote.bid)}</dd>
      <dt>Ask</dt>
      <dd>{price(quote.ask)}</dd>
      <dt>Prev close</dt>
      <dd>{price(quote.prevClose)}</dd>
    </>
  );
}

/** The chart's readout script: progressive enhancement, served from our origin under the CSP. */
function ChartScript() {
  const assets = useRequestContext<AppEnv>().get("assets").byName;
  return <script src={assets.get("chart.js")!.url} defer />;
}

const SIDE_OPTIONS = [["buy", "Buy"], ["sell", "Sell"]] as const;
const TYPE_LABELS: Record<(typeof ORDER_TYPES)[number], string> = {
  market: "Market",
  limit: "Limit",
  stop: "Stop",
  stop_limit: "Stop limit",
};
const TIF_LABELS: Record<(typeof TIME_IN_FORCE)[number], string> = {
  day: "Day",
  gtc: "Until cancelled",
  ioc: "Now or cancel",
  fok: "All or nothing",
};

/** A fresh ticket's choices. */
export function ticketDefaults(security: Security): Record<string, string> {
  // Crypto trades around the clock, so a day order means nothing there.
  return {
    side: "buy",
    type: "market",
    timeInForce: security.assetClass === "crypto" ? "gtc" : "day",
  };
}

/** The order ticket: a plain POST form, swapped in place by htmx when it comes back with errors. */
export function OrderTicket(props: TicketProps) {
  const { security, state } = props;
  const crypto = security.assetClass === "crypto";
  const ticketState = { ...state, values: { ...ticketDefaults(security), ...state?.values } };
  return (
    <HxForm id="ticket" action="/trade" class="card ticket">
      <h2>Order ticket</h2>
      <FormError state={state} />
      <input type="hidden" name="symbol" value={security.symbol} />
      <input type="hidden" name="idempotencyKey" value={props.idempotencyKey} />
      <div class="grid2">
        <Field
          autocomplete="off"
          id="t-side"
          label="Side"
          name="side"
          options={SIDE_OPTIONS}
          state={ticketState}
        />
        <Field
          autocomplete="off"
          id="t-type"
          label="Order type"
          name="type"
          options={ORDER_TYPES.map((t) => [t, TYPE_LABELS[t]] as const)}
          state={ticketState}
        />
        <Field
          autocomplete="off"
          id="t-qty"
          label="Quantity"
          name="qty"
          inputmode={crypto ? "decimal" : "numeric"}
          maxlength={24}
          hint={crypto ? "Fractions allowed" : "Whole shares"}
          state={ticketState}
        />
        <Field
          autocomplete="off"
          id="t-tif"
          label="Time in force"
          name="timeInForce"
          options={TIME_IN_FORCE.filter((t) => !(crypto && t === "day")).map((t) =>
            [t, TIF_LABELS[t]] as const
          )}
          state={ticketState}
        />
        <Field
          autocomplete="off"
          id="t-limit"
          label="Limit price"
          name="limitPrice"
          inputmode="decimal"
          required={false}
          maxlength={24}
          hint="Limit and stop limit"
          state={ticketState}
        />
        <Field
          autocomplete="off"
          id="t-stop"
          label="Stop price"
          name="stopPrice"
          inputmode="decimal"
          required={false}
          maxlength={24}
          hint="Stop and stop limit"
          state={ticketState}
        />
      </div>
      {/* One preview per edit: `changed` keeps the change on blur from repeating what typing fetched. */}
      <p
        class="estimate"
        aria-live="polite"
        hx-post="/trade/preview"
        hx-trigger="change changed from:'closest form', input changed delay:500ms from:'closest form'"
      >
        <EstimateText estimate={props.estimate} />
      </p>
      <div class="actions">
        {/* First in order, so Enter in a field previews rather than places. */}
        <button type="submit" name="intent" value="preview" class="secondary">Preview</button>
        <button type="submit" name="intent" value="place">Place order</button>
      </div>
    </HxForm>
  );
}

/** The estimate line: the whole answer to an htmx preview. */
export function EstimateText(props: { estimate: Estimate }) {
  const e = props.estimate;
  if ("note" in e) return <span class="muted">{e.note}</span>;
  const buy = e.side === "buy";
  return (
    <>
      {buy ? "Estimated cost " : "Estimated proceeds "}
      <strong>{usd(e.total)}</strong>{" "}
      <span class="muted">
        ({quantity(e.qty)} × {price(e.price)}
        {e.commission !== "0.00" && ` ${buy ? "+" : "−"} ${usd(e.commission)} commission`})
      </span>
      <br />
      {buy ? `Buying power ${usd(e.buyingPower)}` : `You hold ${quantity(e.held)}`}
      {e.exceeds && (
        <strong class="down">
          {buy ? " · more than your buying power" : " · more than you hold"}
        </strong>
      )}
    </>
  );
}
