/** Tax lots: a position's open lots, and a tax year's realized gains (lib/trading/lots.ts). */
import type { LotMethod } from "../lib/trading/lots.ts";
import { LOT_METHOD_LABELS } from "../lib/trading/lots.ts";
import type { PositionView } from "../lib/trading/portfolio.ts";
import { PositionFigures } from "./portfolio.tsx";
import { Pager, Pnl, price, quantity, Scroll, Time, tradeHref, usd } from "./trading.tsx";

const TERM_LABELS = { short: "Short term", long: "Long term" } as const;

/** One open lot as the position page shows it, valued at the last price. */
export type LotRow = {
  openedAt: Date;
  qty: string;
  unitCost: string;
  cost: string;
  gain: string;
  term: "short" | "long";
};

export function PositionLotsPage(props: {
  position: PositionView;
  lots: LotRow[];
  method: LotMethod;
  more: boolean;
}) {
  const p = props.position;
  const symbol = new URLSearchParams({ symbol: p.symbol });
  return (
    <div class="page">
      <h1>{p.symbol} position</h1>
      <PositionFigures position={p} price="average" class="card" />
      <section aria-labelledby="lots-h">
        <h2 id="lots-h">Open lots</h2>
        <p class="muted">
          Sells close them {LOT_METHOD_LABELS[props.method].toLowerCase()}{" "}
          (<a href="/settings#lots-h">change</a>). Gain and term are as if sold now at{" "}
          {price(p.lastPrice)}.
        </p>
        <Scroll label="Open lots">
          <table class="data cards">
            <thead>
              <tr>
                <th>Opened</th>
                <th class="num">Qty</th>
                <th class="num">Cost/share</th>
                <th class="num">Cost</th>
                <th class="num">Gain</th>
                <th>Term</th>
              </tr>
            </thead>
            <tbody>
              {props.lots.map((lot) => (
                <tr>
                  <th scope="row">
                    <Time at={lot.openedAt} />
                  </th>
                  <td class="num" data-label="Qty">{quantity(lot.qty)}</td>
                  <td class="num" data-label="Cost/share">{price(lot.unitCost)}</td>
                  <td class="num" data-label="Cost">{usd(lot.cost)}</td>
                  <td class="num" data-label="Gain">
                    <Pnl amount={lot.gain} />
                  </td>
                  <td data-label="Term">{TERM_LABELS[lot.term]}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
        {props.more && <p class="muted">Showing the oldest 100 lots.</p>}
      </section>
      <p class="actions">
        <a href={tradeHref(p.symbol)}>Trade {p.symbol}</a>
        <a href={`/positions/close?${symbol}`}>Close position</a>
        <a href="/history/gains">Realized gains</a>
      </p>
    </div>
  );
}

type Totals = { proceeds: string; cost: string; gain: string };

export function RealizedGainsPage(props: {
  year: number;
  years: number[];
  method: LotMethod;
  shortTerm: Totals;
  longTerm: Totals;
  total: Totals;
  items: {
    symbol: string;
    qty: string;
    openedAt: Date;
    closedAt: Date;
    proceeds: string;
    cost: string;
    gain: string;
    term: "short" | "long";
  }[];
  pages: { newer?: string; older?: string };
}) {
  const totals = [
    ["Short term", props.shortTerm],
    ["Long term", props.longTerm],
    ["Total", props.total],
  ] as const;
  return (
    <div class="page">
      <h1>Realized gains {props.year}</h1>
      <p>
        <a href="/history">Back to history</a>
      </p>
      <nav class="pager" aria-label="Tax years">
        {props.years.map((y) => (
          <a
            href={`/history/gains?year=${y}`}
            aria-current={y === props.year ? "page" : undefined}
          >
            {y}
          </a>
        ))}
      </nav>
      <p class="muted">
        By tax lot: each sell closes lots {LOT_METHOD_LABELS[props.method].toLowerCase()}{" "}
        (<a href="/settings#lots-h">change</a>). Held more than a year is long term. Proceeds are
        net of commission and cost includes it.
      </p>
      <Scroll label="Totals">
        <table class="data cards">
          <thead>
            <tr>
              <th>Term</th>
              <th class="num">Proceeds</th>
              <th class="num">Cost</th>
              <th class="num">Gain</th>
            </tr>
          </thead>
          <tbody>
            {totals.map(([label, t]) => (
              <tr>
                <th scope="row">{label}</th>
                <td class="num" data-label="Proceeds">{usd(t.proceeds)}</td>
                <td class="num" data-label="Cost">{usd(t.cost)}</td>
                <td class="num" data-label="Gain">
                  <Pnl amount={t.gain} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Scroll>
      <section aria-labelledby="gains-h">
        <h2 id="gains-h">Lots closed</h2>
        {props.items.length === 0
          ? <p class="muted">No lots closed in {props.year}.</p>
          : (
            <Scroll label="Lots closed">
              <table class="data cards">
                <thead>
                  <tr>
                    <th>Sold</th>
                    <th>Symbol</th>
                    <th class="num">Qty</th>
                    <th>Bought</th>
                    <th class="num">Proceeds</th>
                    <th class="num">Cost</th>
                    <th class="num">Gain</th>
                    <th>Term</th>
                  </tr>
                </thead>
                <tbody>
                  {props.items.map((g) => (
                    <tr>
                      <td class="wide" data-label="Sold">
                        <Time at={g.closedAt} />
                      </td>
                      <th scope="row">
                        <a href={tradeHref(g.symbol)}>{g.symbol}</a>
                      </th>
                      <td class="num" data-label="Qty">{quantity(g.qty)}</td>
                      <td class="wide" data-label="Bought">
                        <Time at={g.openedAt} />
                      </td>
                      <td class="num" data-label="Proceeds">{usd(g.proceeds)}</td>
                      <td class="num" data-label="Cost">{usd(g.cost)}</td>
                      <td class="num" data-label="Gain">
                        <Pnl amount={g.gain} />
                      </td>
                      <td data-label="Term">{TERM_LABELS[g.term]}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Scroll>
          )}
        <Pager {...props.pages} label="Realized gains pages" />
      </section>
    </div>
  );
}
