/** The trade page: symbol search, a live quote, the price chart, and the order ticket with its review. */
import type { Child } from "hono/jsx";
import type { Security } from "../lib/market/securities.ts";
import type { MarketPhase } from "../lib/market/clock.ts";
import type { Quote } from "../lib/market/simulator.ts";
import { defaultTimeInForce, ORDER_TYPES, TIME_IN_FORCE } from "../lib/trading/order_rules.ts";
import { useRequestContext } from "hono/jsx-renderer";
import type { AppEnv } from "../routes/env.ts";
import { PriceChart, type PriceChartProps } from "./chart.tsx";
import { Field, FormError, type FormState, HxForm } from "./form.tsx";
import { cellId, Live, type LiveCell, LiveConnection } from "./live.tsx";
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
    /** qty × price as a fill books it: rounded up for a buy, down for a sell (fillCash). */
    value: string;
    commission: string;
    /** Cost of a buy (value + commission), proceeds of a sell (value − commission). */
    total: string;
    buyingPower: string;
    /** The buying power once this order is placed and filled at the estimate. */
    buyingPowerAfter: string;
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
  /** This symbol held now (quantity and market value), or null. */
  holding: { qty: string; value: string } | null;
  buyingPower: string;
  /** The last trade price, shown large on the ticket and kept fresh by the live stream. */
  last: string;
};

export type TradePageProps = {
  q: string;
  results: readonly Security[];
  /** The symbol in the address that is not in the catalog. */
  unknown?: string;
  chosen?: {
    quote: Quote;
    chart: PriceChartProps;
    phase: MarketPhase;
    ticket: TicketProps;
    /** The page's live stream (routes/live/page_stream.ts). */
    live: string;
  };
  /** What stands in the ticket's place: the ticket, or the review of it. */
  form?: Child;
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
        <MarketBadge phase={chosen.phase} />
      </div>
      <LiveConnection stream={chosen.live} />
      {/* On a wide screen the quote and chart sit beside the ticket (app.css, .trade-grid). */}
      <div class="trade-grid">
        <div class="trade-market">
          <section class="card" aria-label="Quote">
            <dl class="quote">
              <QuoteNumbers quote={chosen.quote} />
            </dl>
          </section>
          {/* Charts (issue 10, point 4): the chart section and its small readout script. */}
          <PriceChart {...chosen.chart} />
          <ChartScript />
        </div>
        {props.form ?? <OrderTicket {...chosen.ticket} />}
      </div>
      {/* The search lives on /trade (the Trade tab): a symbol's page stays within its 4 KB. */}
      <p>
        <a href="/trade">Trade something else</a> ·{" "}
        <a href={`/alerts?symbol=${encodeURIComponent(security.symbol)}`}>Alert me</a>
      </p>
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
            // rough edges: the query goes into the address (/trade?q=…), so Back from a result
            // and a reload show it again. Replace, not push: one history entry per typed letter
            // would make Back step through the letters.
            hx-replace-url="true"
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

/** The trade page's quote, kept current by the live stream. */
export function tradeQuoteCells(quote: Quote) {
  const cell = (name: string, content: Child): LiveCell => ({ id: cellId("t", name), content });
  const change = changeOf(quote);
  return {
    last: cell("last", price(quote.last)),
    change: {
      id: cellId("t", "change"),
      content: `${signedPrice(change.amount)} (${percent(change.percent)})`,
      tone: trend(change.amount),
    },
    bid: cell("bid", price(quote.bid)),
    ask: cell("ask", price(quote.ask)),
    prevClose: cell("prev", price(quote.prevClose)),
  };
}

/** The ticket's side of the account, kept current by the live stream. */
export function ticketCells(
  ticket: Pick<TicketProps, "holding" | "buyingPower" | "last"> & { symbol: string },
) {
  const cell = (name: string, content: Child): LiveCell => ({ id: cellId("t", name), content });
  const { holding } = ticket;
  return {
    last: cell("ticket-last", price(ticket.last)),
    holding: cell(
      "holding",
      holding
        ? `${quantity(holding.qty)} ${ticket.symbol} · ${usd(holding.value)}`
        : "You don't own any",
    ),
    buyingPower: cell("bp", usd(ticket.buyingPower)),
  };
}

/** The quote's numbers. */
function QuoteNumbers(props: { quote: Quote }) {
  const cells = tradeQuoteCells(props.quote);
  return (
    <>
      <dt>Last</dt>
      <dd>
        <Live cell={cells.last} />
      </dd>
      <dt>Change</dt>
      <dd>
        <Live cell={cells.change} />
      </dd>
      <dt>Bid</dt>
      <dd>
        <Live cell={cells.bid} />
      </dd>
      <dt>Ask</dt>
      <dd>
        <Live cell={cells.ask} />
      </dd>
      <dt>Prev close</dt>
      <dd>
        <Live cell={cells.prevClose} />
      </dd>
    </>
  );
}

/** The chart's readout script: progressive enhancement, served from our origin under the CSP. */
function ChartScript() {
  const assets = useRequestContext<AppEnv>().get("assets").byName;
  return <script src={assets.get("chart.js")!.url} defer />;
}

// ---- Order ticket (issue 10, point 6): side toggle, fields per type, review before placing ----

const SIDE_LABELS = { buy: "Buy", sell: "Sell" } as const;
const TYPE_LABELS: Record<(typeof ORDER_TYPES)[number], string> = {
  market: "Market",
  limit: "Limit",
  stop: "Stop",
  stop_limit: "Stop limit",
  trailing_stop: "Trailing stop",
};
const TIF_LABELS: Record<(typeof TIME_IN_FORCE)[number], string> = {
  day: "Day",
  gtc: "Until cancelled",
  ioc: "Now or cancel",
  fok: "All or nothing",
};

/** A fresh ticket's choices. */
export function ticketDefaults(security: Security): Record<string, string> {
  return { side: "buy", type: "market", timeInForce: defaultTimeInForce(security) };
}

/**
 * The ticket's values with the prices its order type does not use dropped: without JavaScript
 * (or without CSS :has()) every field shows, so a limit price typed before switching to a market
 * order must not make the order invalid. The JSON API stays strict.
 */
export function relevantTicketValues(values: Record<string, string>): Record<string, string> {
  const type = values.type ?? "";
  const out = { ...values };
  if (type !== "limit" && type !== "stop_limit") delete out.limitPrice;
  if (type !== "stop" && type !== "stop_limit") delete out.stopPrice;
  if (type !== "trailing_stop") {
    delete out.trailPercent;
    delete out.trailPrice;
  }
  if (type !== "market") delete out.notional;
  if (type !== "market" && type !== "limit") {
    delete out.takeProfitPrice;
    delete out.stopLossPrice;
  }
  if (type !== "limit" || values.timeInForce !== "day") delete out.extendedHours;
  return out;
}

/**
 * The ticket's exits as the API's order class: a buy with both is a bracket, with one an OTO; a
 * (limit) sell with both is an OCO on the shares held. No exits: a simple order.
 */
export function ticketClass(
  values: { side?: string; takeProfitPrice?: string; stopLossPrice?: string },
) {
  const tp = values.takeProfitPrice?.trim() || undefined;
  const sl = values.stopLossPrice?.trim() || undefined;
  if (!tp && !sl) return {};
  return {
    orderClass: values.side === "sell" ? "oco" : tp && sl ? "bracket" : "oto",
    takeProfit: tp ? { limitPrice: tp } : undefined,
    stopLoss: sl ? { stopPrice: sl } : undefined,
  };
}

/** The customer's side of the ticket: what they hold of this symbol and what they can spend. */
function TicketAccount(props: { ticket: TicketProps }) {
  const cells = ticketCells({ ...props.ticket, symbol: props.ticket.security.symbol });
  return (
    <dl class="ticket-account">
      <div class="ticket-last">
        <dt>Last price</dt>
        <dd>
          <Live cell={cells.last} />
        </dd>
      </div>
      <div>
        <dt>Your position</dt>
        <dd>
          <Live cell={cells.holding} />
        </dd>
      </div>
      <div>
        <dt>Buying power</dt>
        <dd>
          <Live cell={cells.buyingPower} />
        </dd>
      </div>
    </dl>
  );
}

/**
 * The order ticket: a plain POST form whose submit shows a review (a page without JavaScript, the
 * ticket swapped for the review with htmx); it comes back with errors and the values kept.
 */
export function OrderTicket(props: TicketProps) {
  const { security, state } = props;
  const crypto = security.assetClass === "crypto";
  const ticketState = { ...state, values: { ...ticketDefaults(security), ...state?.values } };
  const side = ticketState.values.side === "sell" ? "sell" : "buy";
  return (
    <HxForm id="ticket" action="/trade" class="card ticket">
      <h2>Order ticket</h2>
      <TicketAccount ticket={props} />
      <FormError state={state} />
      <input type="hidden" name="symbol" value={security.symbol} />
      <input type="hidden" name="idempotencyKey" value={props.idempotencyKey} />
      <fieldset class="side-toggle">
        <legend>Side</legend>
        {(["buy", "sell"] as const).map((s) => (
          <label class={`side-${s}`}>
            <input type="radio" name="side" value={s} checked={s === side} />
            <span>{SIDE_LABELS[s]}</span>
          </label>
        ))}
      </fieldset>
      {ticketState.fields?.side && <small class="error">{ticketState.fields.side}</small>}
      <div class="grid2">
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
          inputmode={security.qtyDecimals > 0 ? "decimal" : "numeric"}
          maxlength={24}
          hint={crypto
            ? "Fractions allowed"
            : security.qtyDecimals > 0
            ? "Fractions for market and limit day orders"
            : "Whole shares"}
          required={false}
          state={ticketState}
        />
        <Field
          autocomplete="off"
          id="t-notional"
          label="Or amount ($)"
          name="notional"
          class="for-market"
          inputmode="decimal"
          required={false}
          maxlength={24}
          hint="Instead of a quantity"
          state={ticketState}
        />
        <Field
          autocomplete="off"
          id="t-limit"
          label="Limit price"
          name="limitPrice"
          class="for-limit"
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
          class="for-stop"
          inputmode="decimal"
          required={false}
          maxlength={24}
          hint="Stop and stop limit"
          state={ticketState}
        />
        <Field
          autocomplete="off"
          id="t-trail-percent"
          label="Trail (%)"
          name="trailPercent"
          class="for-trail"
          inputmode="decimal"
          required={false}
          maxlength={24}
          hint="Percent behind the best price"
          state={ticketState}
        />
        <Field
          autocomplete="off"
          id="t-trail-price"
          label="Trail ($)"
          name="trailPrice"
          class="for-trail"
          inputmode="decimal"
          required={false}
          maxlength={24}
          hint="Or dollars behind it"
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
      </div>
      {/* Exits make a bracket or OTO of a buy, an OCO of a limit sell (ticketClass). */}
      <details
        class="exits"
        open={Boolean(ticketState.values.takeProfitPrice || ticketState.values.stopLossPrice) ||
          undefined}
      >
        <summary>Take profit / stop loss</summary>
        <div class="grid2">
          <Field
            autocomplete="off"
            id="t-tp"
            label="Take profit"
            name="takeProfitPrice"
            inputmode="decimal"
            required={false}
            maxlength={24}
            state={ticketState}
          />
          <Field
            autocomplete="off"
            id="t-sl"
            label="Stop loss"
            name="stopLossPrice"
            inputmode="decimal"
            required={false}
            maxlength={24}
            state={ticketState}
          />
        </div>
      </details>
      {!crypto && (
        <div class="field check for-ext">
          <input
            type="checkbox"
            id="t-ext"
            name="extendedHours"
            value="true"
            checked={ticketState.values.extendedHours === "true"}
          />
          <label for="t-ext">Extended hours (4:00–20:00 ET)</label>
          {ticketState.fields?.extendedHours && (
            <small class="error">{ticketState.fields.extendedHours}</small>
          )}
        </div>
      )}
      {/* Hidden where CSS :has() hides the unused fields; shown where every field shows. */}
      <p class="hint all-fields-note">
        Prices the order type does not use are ignored.
      </p>
      {
        /* One preview per edit: `changed` keeps the change on blur from repeating what typing fetched.
          `queue last`: edits made while a preview is in flight run once it answers, the newest one
          only; htmx's default keeps the first and drops the rest, leaving a stale estimate.
          `ticket`: the live stream's nudge when prices or buying power moved. */
      }
      <p
        class="estimate"
        aria-live="polite"
        hx-post="/trade/preview"
        hx-trigger="change changed from:'closest form', input changed delay:500ms from:'closest form', ticket from:body"
        hx-sync="queue last"
      >
        <EstimateText estimate={props.estimate} />
      </p>
      <div class="actions">
        <button type="submit" name="intent" value="review" class="review-button">
          <span class="label-any">Review order</span>
          <span class="label-buy">Review buy</span>
          <span class="label-sell">Review sell</span>
        </button>
      </div>
    </HxForm>
  );
}

/** The review of a valid ticket: what will be placed, what it costs, and the buying power after. */
export type ReviewProps = {
  security: Security;
  idempotencyKey: string;
  /** The ticket's fields, the unused prices already dropped; posted again by both buttons. */
  values: Record<string, string>;
  estimate: Extract<Estimate, { side: string }>;
};

/**
 * The review step: the same form id as the ticket, so htmx swaps it in place and "Edit" swaps the
 * ticket back; "Place order" posts the ticket's one-time key, so a double submit places one order.
 */
export function OrderReview(props: ReviewProps) {
  const { security, values, estimate: e } = props;
  const buy = e.side === "buy";
  const type = values.type as (typeof ORDER_TYPES)[number];
  const tif = values.timeInForce as (typeof TIME_IN_FORCE)[number];
  return (
    <HxForm id="ticket" action="/trade" class={`card ticket review side-${e.side}`}>
      <h2>Review your order</h2>
      {Object.entries(values).filter(([k]) => REVIEW_FIELDS.includes(k)).map(([k, v]) => (
        <input type="hidden" name={k} value={v} />
      ))}
      <input type="hidden" name="idempotencyKey" value={props.idempotencyKey} />
      <p class="review-order">
        <strong class={buy ? "up" : "down"}>{buy ? "Buy" : "Sell"}</strong> {quantity(e.qty)}{" "}
        {security.symbol} · {TYPE_LABELS[type] ?? type} · {TIF_LABELS[tif] ?? tif}
        {values.extendedHours === "true" && " · Extended hours"}
      </p>
      <dl class="review-lines">
        {values.limitPrice && (
          <>
            <dt>Limit price</dt>
            <dd>{price(values.limitPrice)}</dd>
          </>
        )}
        {values.stopPrice && (
          <>
            <dt>Stop price</dt>
            <dd>{price(values.stopPrice)}</dd>
          </>
        )}
        {values.takeProfitPrice && (
          <>
            <dt>Take profit</dt>
            <dd>{price(values.takeProfitPrice)}</dd>
          </>
        )}
        {values.stopLossPrice && (
          <>
            <dt>Stop loss</dt>
            <dd>{price(values.stopLossPrice)}</dd>
          </>
        )}
        {type === "trailing_stop" && (
          <>
            <dt>Trail</dt>
            <dd>
              {values.trailPercent ? `${values.trailPercent}%` : price(values.trailPrice ?? "0")}
            </dd>
            <dt>Stop now</dt>
            <dd>{price(e.price)}</dd>
          </>
        )}
        <dt>Estimated price</dt>
        <dd>{price(e.price)}</dd>
        <dt>{buy ? "Value (rounded up to the cent)" : "Value (rounded down to the cent)"}</dt>
        <dd>{usd(e.value)}</dd>
        <dt>Commission</dt>
        <dd>{usd(e.commission)}</dd>
        <dt>{buy ? "Estimated cost" : "Estimated proceeds"}</dt>
        <dd class="review-total">{usd(e.total)}</dd>
        <dt>Buying power after</dt>
        <dd>
          {usd(e.buyingPowerAfter)} <span class="muted">(now {usd(e.buyingPower)})</span>
        </dd>
      </dl>
      {e.exceeds && (
        <p class="form-error" role="alert">
          {buy ? "This is more than your buying power." : `You hold ${quantity(e.held)}.`}
        </p>
      )}
      {(values.takeProfitPrice || values.stopLossPrice) && (
        <p class="hint">
          {buy
            ? "Once the buy fills, its exits work for the shares it bought; when one exit fills, the other is cancelled."
            : "Two sells of the same shares: when one fills, the other is cancelled."}
        </p>
      )}
      <p class="hint">
        {type === "market"
          ? "A market order fills at the best price when it is placed, so the amount can differ."
          : type === "trailing_stop"
          ? `The stop follows the best price since placing (the ${
            buy ? "lowest" : "highest"
          }) by your trail; when the last price crosses it, the order fills at market.`
          : "The order fills only at your price or better."}
      </p>
      <div class="actions">
        <button type="submit" name="intent" value="place" class="review-button">
          Place order
        </button>
        <button type="submit" name="intent" value="edit" class="secondary" formnovalidate>
          Edit
        </button>
      </div>
    </HxForm>
  );
}

/** The order's fields on the ticket: what a link may prefill and the review posts again. */
export const TICKET_FIELDS = [
  "side",
  "type",
  "qty",
  "notional",
  "limitPrice",
  "stopPrice",
  "trailPercent",
  "trailPrice",
  "timeInForce",
  "takeProfitPrice",
  "stopLossPrice",
  "extendedHours",
] as const;
const REVIEW_FIELDS: readonly string[] = ["symbol", ...TICKET_FIELDS];

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
