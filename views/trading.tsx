/** Building blocks every trading page shares: money and quantity formats, P&L, tables, paging, fields. */
import { formatTime } from "../lib/time.ts";
import { requestTimeZone } from "../routes/middleware/time_zone.ts";
import type { Child } from "hono/jsx";
import type { MarketPhase } from "../lib/market/clock.ts";
import type { Quote } from "../lib/market/simulator.ts";
import { divFixed, formatFixed, formatPrice, formatQuantity, parseFixed } from "../lib/money.ts";
import type { PositionView } from "../lib/trading/portfolio.ts";
import { RowSpark } from "./chart.tsx";
import { cellId, Live, type LiveCell } from "./live.tsx";

// Amounts arrive as exact decimal strings; Intl formats such a string without a float in between.
const MONEY = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
const SIGNED_MONEY = new Intl.NumberFormat("en-US", {
  style: "currency",
  currency: "USD",
  signDisplay: "exceptZero",
});
/** Prices keep every decimal their security trades in (DOGE/USD has five). */
const SIGNED_PRICE = new Intl.NumberFormat("en-US", {
  style: "currency",
  currency: "USD",
  maximumFractionDigits: 8,
  signDisplay: "exceptZero",
});
const PERCENT = new Intl.NumberFormat("en-US", {
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
  signDisplay: "exceptZero",
});

const decimal = (value: string) => value as Intl.StringNumericLiteral;

/** Cash, to the cent: "$1,234.50". */
export const usd = (value: string) => MONEY.format(decimal(value));
/** A price at its own precision: "$0.14251". */
export const price = formatPrice;
export const quantity = formatQuantity;
/** "+$12.30", "-$4.00", "$0.00". */
export const signedUsd = (value: string) => SIGNED_MONEY.format(decimal(value));
/** A signed price move at its own precision: "+$0.00012". */
export const signedPrice = (value: string) => SIGNED_PRICE.format(decimal(value));
/** "+1.25%" from "1.25". */
export const percent = (value: string) => `${PERCENT.format(decimal(value))}%`;

/** The `.up`/`.down` class of a signed amount; nothing for zero, "-0.00" included (it shows as 0.00). */
export function trend(value: string): "up" | "down" | undefined {
  if (/^[+-]?0*(\.0*)?$/.test(value)) return undefined;
  return value.startsWith("-") ? "down" : "up";
}

/**
 * A P&L figure and its colour: the amount, and the percentage when there is one. The colour follows
 * the sign as shown, so an amount that rounds to $0.00 is never green or red.
 */
export function pnlText(amount: string, pct?: string): { text: string; tone?: "up" | "down" } {
  const shown = signedUsd(amount);
  const text = pct === undefined ? shown : `${shown} (${percent(pct)})`;
  return { text, tone: shown.startsWith("+") ? "up" : shown.startsWith("-") ? "down" : undefined };
}

/** A P&L figure in its colour (pnlText). */
export function Pnl(props: { amount: string; percent?: string }) {
  const { text, tone } = pnlText(props.amount, props.percent);
  return <span class={tone}>{text}</span>;
}

/** The move since the previous close, as amount and percentage (decimal strings). */
export function changeOf(quote: Pick<Quote, "last" | "prevClose">) {
  const last = parseFixed(quote.last, 8);
  const prevClose = parseFixed(quote.prevClose, 8);
  const change = last - prevClose;
  return {
    amount: formatFixed(change),
    percent: prevClose === 0n ? "0.00" : formatFixed(divFixed(change * 100n, prevClose, 2)),
  };
}

/** The trade page of a symbol; `BTC/USD` keeps its slash encoded. */
export function tradeHref(symbol: string, query?: Record<string, string>): string {
  const search = query ? `?${new URLSearchParams(query)}` : "";
  return `/trade/${encodeURIComponent(symbol)}${search}`;
}

/**
 * An instant as "2025-01-02 15:03 GMT+1", in the request's time zone with its name (lib/time.ts),
 * machine-readable in `datetime`. `precise` adds seconds and the full ISO time on hover.
 */
export function Time(props: { at: Date | string; precise?: boolean }) {
  const at = typeof props.at === "string" ? new Date(props.at) : props.at;
  const iso = at.toISOString();
  // Spread, so rows without a title carry no stray attribute space.
  const attributes = props.precise ? { datetime: iso, title: iso } : { datetime: iso };
  return (
    <time {...attributes}>{formatTime(at, requestTimeZone(), { seconds: props.precise })}</time>
  );
}

/** Which session US equities are in now (pre-market, open, after hours, closed); crypto is always open. */
export function MarketBadge(props: { phase: MarketPhase }) {
  switch (props.phase) {
    case "regular":
      return <span class="badge ok">Market open</span>;
    case "pre":
      return <span class="badge info">Pre-market</span>;
    case "post":
      return <span class="badge info">After hours</span>;
    default:
      return <span class="badge warn">Market closed</span>;
  }
}

/** A table that scrolls sideways on a narrow screen instead of squeezing its columns. */
export function Scroll(props: { label: string; children?: Child }) {
  return (
    <div class="scroll" role="region" aria-label={`${props.label} table`} tabindex={0}>
      {props.children}
    </div>
  );
}

/** The head of a row-actions column; on a phone the column stays in view while the rest scrolls. */
export function ActionsHeader() {
  return (
    <th class="act">
      <span class="sr">Actions</span>
    </th>
  );
}

/** The open positions with their value and P&L; `sell` adds a link that prefills a sell ticket. */
export function PositionsTable(props: { positions: PositionView[]; sell?: boolean }) {
  if (props.positions.length === 0) {
    return (
      <p class="muted">
        No positions yet. <a href="/trade">Find something to trade</a>.
      </p>
    );
  }
  return (
    <Scroll label="Positions">
      <table class="data cards">
        <thead>
          <tr>
            <th>Symbol</th>
            <th class="num">Qty</th>
            <th class="num">Avg price</th>
            <th class="num">Last</th>
            <th class="num">Market value</th>
            <th class="num">Unrealized P&amp;L</th>
            <th class="num">Today</th>
            {props.sell && <ActionsHeader />}
          </tr>
        </thead>
        <tbody>
          {props.positions.map((p) => {
            const cells = positionCells(p);
            return (
              <tr>
                <th scope="row">
                  <a href={tradeHref(p.symbol)}>{p.symbol}</a>
                </th>
                <td class="num" data-label="Qty">{quantity(p.qty)}</td>
                <td class="num" data-label="Avg price">{price(p.avgEntryPrice)}</td>
                <td class="num" data-label="Last">
                  <Live cell={cells.last} />
                </td>
                <td class="num" data-label="Value">
                  <Live cell={cells.value} />
                </td>
                <td class="num wide" data-label="Unrealized P&L">
                  <Live cell={cells.pnl} />
                </td>
                <td class="num wide" data-label="Today">
                  {/* Charts (issue 10): the day's sparkline beside today's P&L. */}
                  <RowSpark symbol={p.symbol} /> <Live cell={cells.today} />
                </td>
                {props.sell && (
                  <td class="act">
                    <a href={tradeHref(p.symbol, { side: "sell", qty: p.qty })}>
                      Sell<span class="sr">{p.symbol}</span>
                    </a>{" "}
                    <a href={`/positions/close?${new URLSearchParams({ symbol: p.symbol })}`}>
                      Close<span class="sr">{p.symbol} position</span>
                    </a>{" "}
                    <a href={`/positions/${encodeURIComponent(p.symbol)}`}>
                      Lots<span class="sr">of {p.symbol}</span>
                    </a>
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </Scroll>
  );
}

/** A position's figures that move with its price, kept current by the live stream. */
export function positionCells(p: PositionView) {
  const id = (name: string) => cellId("pos", p.symbol, name);
  return {
    last: { id: id("last"), content: price(p.lastPrice) },
    value: { id: id("value"), content: usd(p.marketValue) },
    pnl: pnlCell(id("pnl"), p.unrealizedPnl, p.unrealizedPnlPercent),
    today: pnlCell(id("today"), p.todayPnl, p.todayPnlPercent),
  } satisfies Record<string, LiveCell>;
}

/** A live P&L figure: its colour is the cell's own class, so an update is one element. */
export function pnlCell(id: string, amount: string, pct?: string): LiveCell {
  const { text, tone } = pnlText(amount, pct);
  return { id, content: text, tone };
}

/** A quote's figures in a table whose ids start with `prefix` (a symbol can be in two lists). */
export function quoteCells(prefix: string, q: Quote) {
  const id = (name: string) => cellId(prefix, q.symbol, name);
  const change = changeOf(q);
  return {
    last: { id: id("last"), content: price(q.last) },
    change: { id: id("change"), content: percent(change.percent), tone: trend(change.percent) },
    bid: { id: id("bid"), content: price(q.bid) },
    ask: { id: id("ask"), content: price(q.ask) },
  } satisfies Record<string, LiveCell>;
}

/**
 * Quotes of a list of symbols; `action` renders an extra cell per row (a remove button). `prefix`
 * names the live figures of this table on its page.
 */
export function QuotesTable(
  props: {
    label: string;
    quotes: Quote[];
    prefix: string;
    action?: (symbol: string) => Child;
  },
) {
  return (
    <Scroll label={props.label}>
      <table class="data cards">
        <thead>
          <tr>
            <th>Symbol</th>
            <th class="num">Last</th>
            <th class="num">Change</th>
            <th class="num">Bid</th>
            <th class="num">Ask</th>
            {props.action && <ActionsHeader />}
          </tr>
        </thead>
        <tbody>
          {props.quotes.map((q) => {
            const cells = quoteCells(props.prefix, q);
            return (
              <tr>
                <th scope="row">
                  <a href={tradeHref(q.symbol)}>{q.symbol}</a>
                </th>
                <td class="num" data-label="Last">
                  <Live cell={cells.last} />
                </td>
                <td class="num" data-label="Change">
                  {/* Charts (issue 10): the day's sparkline beside the day's change. */}
                  <RowSpark symbol={q.symbol} /> <Live cell={cells.change} />
                </td>
                <td class="num" data-label="Bid">
                  <Live cell={cells.bid} />
                </td>
                <td class="num" data-label="Ask">
                  <Live cell={cells.ask} />
                </td>
                {props.action && <td class="act">{props.action(q.symbol)}</td>}
              </tr>
            );
          })}
        </tbody>
      </table>
    </Scroll>
  );
}

/** "Newest" and "Older" links of a cursor-paged list. */
export function Pager(props: { newer?: string; older?: string; label: string }) {
  if (!props.newer && !props.older) return null;
  return (
    <nav class="pager" aria-label={props.label}>
      {props.newer && <a href={props.newer}>Newest</a>}
      {props.older && <a href={props.older}>Older</a>}
    </nav>
  );
}

/**
 * A form that is one button: it posts `values` (hidden fields, such as `next`) to `action`. Its
 * routes answer with a redirect (buttonAction), so with htmx the post is the same request: htmx
 * disables the button while it is in flight (no double cancel) and follows the HX-Redirect.
 */
export function PostButton(
  props: { action: string; label: Child; values?: Record<string, string>; class?: string },
) {
  return (
    <form
      method="post"
      action={props.action}
      class="inline"
      hx-post={props.action}
      hx-disable="find button"
    >
      {Object.entries(props.values ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <button type="submit" class={props.class ?? "link"}>{props.label}</button>
    </form>
  );
}
