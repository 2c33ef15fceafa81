/**
 * Server-rendered SVG charts: the admin's bars or lines over a few days, the trade page's price
 * chart, and row sparklines. No script and no style
 * attribute: shapes paint with `currentColor`, which app.css sets per class. Each chart is an
 * image with a spoken summary, followed by the same numbers as a visually hidden table.
 */
import type { Context } from "hono";
import type { Child } from "hono/jsx";
import { useRequestContext } from "hono/jsx-renderer";
import { CHART_RANGES, type ChartRange, type PriceBar } from "../lib/market/bars.ts";
import { formatFixed, parseFixed } from "../lib/money.ts";
import { changeOf, percent, price, signedPrice, trend } from "./trading.tsx";

/** One day of a chart: its label, its value (integers, so no amount becomes a float), its text. */
export type ChartPoint = {
  label: string;
  /** null draws nothing for the day (a rate on a day without events). */
  value: bigint | null;
  /** The value as people read it, for the table: "12", "≥714", "$1,250.00". */
  text: string;
  /** The count stopped at its cap: the bar is a lower bound. */
  capped?: boolean;
};

const WIDTH = 280;
const PLOT_TOP = 14;
const PLOT_HEIGHT = 86;
const BASELINE = PLOT_TOP + PLOT_HEIGHT;
const HEIGHT = BASELINE + 16;

/** Bars, one per point. */
export function BarChart(props: {
  id: string;
  title: string;
  summary: string;
  valueLabel: string;
  points: ChartPoint[];
  tone?: "bad";
}) {
  const max = maxOf(props.points);
  const slot = WIDTH / props.points.length;
  const barWidth = Math.max(2, Math.floor(slot * 0.7));
  return (
    <ChartFrame {...props} top={topText(props.points, max)}>
      <g class="marks">
        {props.points.map((p, n) => {
          if (p.value === null) return null;
          const height = scale(p.value, max);
          const x = Math.round(n * slot + (slot - barWidth) / 2);
          return (
            <>
              <rect
                x={x}
                y={BASELINE - height}
                width={barWidth}
                height={height}
                fill="currentColor"
              >
                <title>{`${p.label}: ${p.text}`}</title>
              </rect>
              {p.capped && (
                <text
                  x={x + barWidth / 2}
                  y={BASELINE - height - 2}
                  font-size="9"
                  text-anchor="middle"
                  fill="currentColor"
                >
                  ≥
                </text>
              )}
            </>
          );
        })}
      </g>
    </ChartFrame>
  );
}

/** A line through the points; a day without a value breaks it. `max` fixes the scale (100 %). */
export function LineChart(props: {
  id: string;
  title: string;
  summary: string;
  valueLabel: string;
  points: ChartPoint[];
  max?: { value: bigint; text: string };
  tone?: "bad";
}) {
  const max = props.max?.value ?? maxOf(props.points);
  const slot = WIDTH / props.points.length;
  const xy = props.points.map((p, n) =>
    p.value === null
      ? null
      : { ...p, x: Math.round(n * slot + slot / 2), y: BASELINE - scale(p.value, max) }
  );
  // Runs of consecutive days with a value, each drawn as its own line.
  const runs: (ChartPoint & { x: number; y: number })[][] = [];
  xy.forEach((point, n) => {
    if (!point) return;
    if (n === 0 || !xy[n - 1]) runs.push([]);
    runs[runs.length - 1].push(point);
  });
  return (
    <ChartFrame {...props} top={props.max?.text ?? topText(props.points, max)}>
      <g class="marks">
        {runs.map((run) => (
          <polyline
            points={run.map((p) => `${p.x},${p.y}`).join(" ")}
            fill="none"
            stroke="currentColor"
            stroke-width="2"
          />
        ))}
        {runs.flat().map((p) => (
          <circle cx={p.x} cy={p.y} r="2.5" fill="currentColor">
            <title>{`${p.label}: ${p.text}`}</title>
          </circle>
        ))}
      </g>
    </ChartFrame>
  );
}

/** The figure around a chart: caption, axis, the top of the scale, and the hidden data table. */
function ChartFrame(props: {
  id: string;
  title: string;
  summary: string;
  valueLabel: string;
  points: ChartPoint[];
  /** The label of the dashed line at the top of the scale. */
  top: string;
  tone?: "bad";
  children?: Child;
}) {
  const first = props.points[0]?.label ?? "";
  const last = props.points[props.points.length - 1]?.label ?? "";
  return (
    <figure class={props.tone ? `chart ${props.tone}` : "chart"} aria-labelledby={`${props.id}-t`}>
      <figcaption id={`${props.id}-t`}>{props.title}</figcaption>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`${props.title}: ${props.summary}`}
      >
        <title>{`${props.title}: ${props.summary}`}</title>
        <g class="axis">
          <line
            x1="0"
            y1={BASELINE + 0.5}
            x2={WIDTH}
            y2={BASELINE + 0.5}
            stroke="currentColor"
            stroke-width="1"
          />
          <line
            x1="0"
            y1={PLOT_TOP + 0.5}
            x2={WIDTH}
            y2={PLOT_TOP + 0.5}
            stroke="currentColor"
            stroke-width="0.5"
            stroke-dasharray="3 3"
          />
          <text x="0" y={PLOT_TOP - 4} font-size="10" fill="currentColor">{props.top}</text>
          <text x="0" y={HEIGHT - 3} font-size="10" fill="currentColor">{short(first)}</text>
          <text x={WIDTH} y={HEIGHT - 3} font-size="10" text-anchor="end" fill="currentColor">
            {short(last)}
          </text>
        </g>
        {props.children}
      </svg>
      {/* A table box ignores height and overflow, so the hiding is on a wrapper. */}
      <div class="sr">
        <table>
          <caption>{props.title}</caption>
          <thead>
            <tr>
              <th scope="col">Day (UTC)</th>
              <th scope="col">{props.valueLabel}</th>
            </tr>
          </thead>
          <tbody>
            {props.points.map((p) => (
              <tr>
                <th scope="row">{p.label}</th>
                <td>{p.text}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}

/** The top of a scale set by the largest point: that point's text (without "≥"), or 0. */
function topText(points: ChartPoint[], max: bigint): string {
  const top = max > 0n ? points.find((p) => p.value === max) : undefined;
  return top ? top.text.replace(/^≥/, "") : "0";
}

function maxOf(points: ChartPoint[]): bigint {
  return points.reduce((m, p) => (p.value !== null && p.value > m ? p.value : m), 0n);
}

/** The height of `value` on a scale topped by `max`, in whole units of the view box. */
function scale(value: bigint, max: bigint): number {
  if (max <= 0n || value <= 0n) return 0;
  return Number((value * BigInt(PLOT_HEIGHT)) / max);
}

/** "2025-01-31" → "01-31": the axis has room for little. */
function short(day: string): string {
  return day.slice(5);
}

// ---- Price charts (the trade page) and row sparklines --------------------------------------

const PC_WIDTH = 600;
const PC_PLOT_WIDTH = 600;
const PC_TOP = 24;
const PC_PLOT_HEIGHT = 182;
const PC_HEIGHT = 236;
const RANGE_NAMES: Record<ChartRange, string> = {
  "1D": "1 day",
  "1W": "1 week",
  "1M": "1 month",
  "3M": "3 months",
  "1Y": "1 year",
  "5Y": "5 years",
};
/** Axis labels per range: times of day for 1D, dates up to 3M, months for 1Y, years for 5Y. */
const TICK_FORMATS: Record<ChartRange, Intl.DateTimeFormatOptions> = {
  "1D": { hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
  "1W": { month: "short", day: "numeric" },
  "1M": { month: "short", day: "numeric" },
  "3M": { month: "short", day: "numeric" },
  "1Y": { month: "short", year: "2-digit" },
  "5Y": { year: "numeric" },
};
const formats = new Map<string, Intl.DateTimeFormat>();

/** "full": a point's date and time; "named": the same with the zone's short name (the readout). */
function timeText(range: ChartRange | "full" | "named", time: number, timeZone: string): string {
  const key = `${range}|${timeZone}`;
  let format = formats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      ...(range === "full" || range === "named"
        ? {
          month: "short",
          day: "numeric",
          hour: "2-digit",
          minute: "2-digit",
          hourCycle: "h23",
          ...(range === "named" ? { timeZoneName: "short" } : {}),
        }
        : TICK_FORMATS[range]),
    });
    formats.set(key, format);
  }
  return format.format(time);
}

export type PriceChartProps = {
  symbol: string;
  range: ChartRange;
  view: "line" | "candle";
  /** Oldest first, already thinned to what the chart draws. */
  bars: PriceBar[];
  /** 1D: the previous session's close, drawn as a dashed line and the base of the change. */
  prevClose?: string;
  /** The time axis when it is fixed (1D: the session); otherwise bars are evenly spaced. */
  axis?: { from: number; to: number };
  /** The page's address for a range and view (links work without JavaScript). */
  href: (query: { range: ChartRange; view: "line" | "candle" }) => string;
  timeZone?: string;
};

/**
 * The trade page's chart: range tabs and a line/candle toggle (plain links that htmx turns into
 * a swap of this section), an SVG with price and time axes coloured by the change over the range,
 * a readout of the last point (static/chart.js moves it with the pointer and arrow keys), and the
 * points as a visually hidden table. Prices are scaled in integers: no amount becomes a float.
 */
export function PriceChart(props: PriceChartProps) {
  const { bars, range, view } = props;
  const timeZone = props.timeZone ?? "UTC";
  const value = (p: string) => parseFixed(p, 8);
  const last = bars.at(-1);
  const base = props.prevClose ?? bars[0]?.o;
  const change = last && base ? changeOf({ last: last.c, prevClose: base }) : undefined;
  const tone = change ? trend(change.amount) : undefined;
  const summary = change && last
    ? `${change.amount.startsWith("-") ? "down" : tone ? "up" : "unchanged"} ${
      percent(change.percent)
    } (${signedPrice(change.amount)}), last ${price(last.c)}`
    : "no trading in this range";

  // The price scale: every plotted value, and the reference line, with a little room.
  const values = bars.flatMap((b) => view === "candle" ? [value(b.h), value(b.l)] : [value(b.c)]);
  if (props.prevClose) values.push(value(props.prevClose));
  let lo = values.reduce((a, b) => (b < a ? b : a), values[0] ?? 0n);
  let hi = values.reduce((a, b) => (b > a ? b : a), values[0] ?? 0n);
  if (hi === lo) [lo, hi] = [lo - lo / 100n - 1n, hi + hi / 100n + 1n];
  // A little room below the lowest point, so the line never sits on the time labels.
  lo -= (hi - lo) / 20n;
  const ticks = priceTicks(lo, hi);
  const y = (v: bigint) => PC_TOP + Number(((hi - v) * BigInt(PC_PLOT_HEIGHT)) / (hi - lo));
  const axis = props.axis;
  const x = (bar: PriceBar, n: number) =>
    axis
      ? Math.round(((Date.parse(bar.t) - axis.from) * PC_PLOT_WIDTH) / (axis.to - axis.from))
      : bars.length === 1
      ? PC_PLOT_WIDTH / 2
      : Math.round((n * PC_PLOT_WIDTH) / (bars.length - 1));
  const points = bars.map((b, n) => `${x(b, n)},${y(value(b.c))}`).join(" ");
  const timeTicks = axis
    ? hourTicks(axis.from, axis.to).map((t) => ({
      x: Math.round(((t - axis.from) * PC_PLOT_WIDTH) / (axis.to - axis.from)),
      label: timeText(range, t, timeZone),
    }))
    : spreadTicks(bars.length, 5).map((n) => ({
      x: x(bars[n], n),
      label: timeText(range, Date.parse(bars[n].t), timeZone),
    }));
  const link = (q: { range: ChartRange; view: "line" | "candle" }) => {
    const href = props.href(q);
    return { href, "hx-get": href };
  };
  // The 1D chart reloads itself when the live stream says a minute has passed (views/live.tsx).
  const live = range === "1D"
    ? { "hx-get": props.href({ range, view }), "hx-trigger": "chart from:body" }
    : {};
  return (
    <section
      id="chart"
      class="card pc"
      aria-labelledby="chart-h"
      {...live}
      hx-target:inherited="#chart"
      hx-swap:inherited="outerHTML"
      hx-push-url:inherited="true"
    >
      <h2 id="chart-h" class="sr">Chart, {RANGE_NAMES[range]}</h2>
      <div class="pc-bar">
        <nav class="seg" aria-label="Chart range">
          {CHART_RANGES.map((r) => (
            <a {...link({ range: r, view })} aria-current={r === range ? "page" : undefined}>
              {r}
            </a>
          ))}
        </nav>
        <nav class="seg" aria-label="Chart type">
          <a {...link({ range, view: "line" })} aria-current={view === "line" ? "page" : undefined}>
            Line
          </a>
          <a
            {...link({ range, view: "candle" })}
            aria-current={view === "candle" ? "page" : undefined}
          >
            Candles
          </a>
        </nav>
      </div>
      <svg
        viewBox={`0 0 ${PC_WIDTH} ${PC_HEIGHT}`}
        class={tone ?? "flat"}
        role="img"
        tabindex={bars.length ? 0 : undefined}
        aria-label={`${props.symbol}, ${RANGE_NAMES[range]}: ${summary}`}
        data-pts={points}
      >
        <g class="ax">
          {ticks.map((t) => <path key={t} d={`M0 ${y(t)}.5H${PC_PLOT_WIDTH}`} />)}
        </g>
        {props.prevClose && (
          <path class="ref" d={`M0 ${y(value(props.prevClose))}H${PC_PLOT_WIDTH}`} />
        )}
        {view === "line"
          ? <polyline class="ln" points={points} />
          : <Candles bars={bars} x={x} y={(p) => y(value(p))} />}
        {/* Labels after the marks, so their halo keeps them readable where the line crosses. */}
        <g class="ax">
          {ticks.map((t) => (
            <text x={PC_WIDTH - 2} y={y(t) - 4} text-anchor="end">{priceLabel(t)}</text>
          ))}
          {timeTicks.map((t) => (
            <text x={t.x} y={PC_HEIGHT - 4} text-anchor="middle">{t.label}</text>
          ))}
        </g>
      </svg>
      <p class="readout" aria-live="polite">
        {last
          ? (
            <>
              <span>{timeText("named", Date.parse(last.t), timeZone)}</span>{" "}
              <strong>{price(last.c)}</strong>
            </>
          )
          : "No trading in this range."}
        {change && (
          <span class={tone}>
            {" "}
            {signedPrice(change.amount)} ({percent(change.percent)})
            {props.prevClose ? " today" : ` over ${RANGE_NAMES[range]}`}
          </span>
        )}
      </p>
      {/* A table box ignores height and overflow, so the hiding is on a wrapper. */}
      <div class="sr">
        <table>
          <caption>
            {props.symbol} {range === "1D" && last
              ? `on ${timeText("1W", Date.parse(last.t), timeZone)}`
              : `over ${RANGE_NAMES[range]}`}, times in {timeZone}
          </caption>
          <tr>
            <th>Time</th>
            <th>{view === "candle" ? "Open, high, low, close" : "Price"}</th>
          </tr>
          {bars.map((b) => (
            <tr>
              {/* One day's points need only their time: the caption names the day and zone. */}
              <td>{timeText(range === "1D" ? "1D" : "full", Date.parse(b.t), timeZone)}</td>
              <td>
                {view === "candle"
                  ? `${price(b.o)} ${price(b.h)} ${price(b.l)} ${price(b.c)}`
                  : price(b.c)}
              </td>
            </tr>
          ))}
        </table>
      </div>
    </section>
  );
}

/** Candles as two paths per direction (wicks, bodies): far fewer bytes than an element each. */
function Candles(props: {
  bars: PriceBar[];
  x: (bar: PriceBar, n: number) => number;
  y: (price: string) => number;
}) {
  const { bars, x, y } = props;
  const width = Math.max(1, Math.floor((PC_PLOT_WIDTH / Math.max(bars.length, 1)) * 0.6));
  const paths = { up: { wick: "", body: "" }, down: { wick: "", body: "" } };
  bars.forEach((b, n) => {
    const cx = x(b, n);
    const [yo, yc] = [y(b.o), y(b.c)];
    const side = parseFixed(b.c, 8) >= parseFixed(b.o, 8) ? paths.up : paths.down;
    side.wick += `M${cx}.5 ${y(b.h)}V${y(b.l)}`;
    side.body += `M${cx - (width >> 1)} ${Math.min(yo, yc)}h${width}v${
      Math.max(1, Math.abs(yo - yc))
    }h-${width}z`;
  });
  return (
    <>
      <g class="cd up">
        <path d={paths.up.wick} />
        <path d={paths.up.body} />
      </g>
      <g class="cd down">
        <path d={paths.down.wick} />
        <path d={paths.down.body} />
      </g>
    </>
  );
}

/** Round price levels (1, 2 or 5 × 10^k apart) inside [lo, hi], about four of them. */
function priceTicks(lo: bigint, hi: bigint): bigint[] {
  const rough = (hi - lo) / 4n || 1n;
  let power = 1n;
  while (power * 10n <= rough) power *= 10n;
  const step = [power, 2n * power, 5n * power, 10n * power].find((s) => s >= rough)!;
  const ticks: bigint[] = [];
  for (let t = ((lo + step - 1n) / step) * step; t <= hi; t += step) ticks.push(t);
  return ticks;
}

/** A tick's price, with only the decimals it needs (at least the cents). */
function priceLabel(tick: bigint): string {
  return price(formatFixed(tick, 2));
}

/** About `count` indexes spread evenly over `length` items, first and last inside. */
function spreadTicks(length: number, count: number): number[] {
  if (length === 0) return [];
  const step = Math.max(1, Math.round(length / count));
  const out: number[] = [];
  for (let n = Math.floor(step / 2); n < length; n += step) out.push(n);
  return out;
}

/**
 * Whole hours on the axis, every one, two or four hours so about five labels fit; none so near
 * either edge that its centred label would be cut off (a 24 h axis ending just after midnight).
 */
function hourTicks(from: number, to: number): number[] {
  const hour = 3_600_000;
  const step = (to - from) / hour > 12 ? 4 * hour : (to - from) / hour > 7 ? 2 * hour : hour;
  // Half a label ("00:00") is about 4 % of the plot's width.
  const margin = Math.max(hour / 3, (to - from) * 0.04);
  const out: number[] = [];
  for (let t = Math.ceil(from / step) * step; t < to; t += step) {
    if (t - from > margin && to - t > margin) out.push(t);
  }
  return out;
}

/**
 * A row's day in a tiny line: the closes scaled in integers, coloured by the day's change (the
 * class), hidden from screen readers because the change is written beside it.
 */
export function Sparkline(props: { bars: PriceBar[]; tone?: "up" | "down" }) {
  if (props.bars.length < 2) return null;
  const closes = props.bars.map((b) => parseFixed(b.c, 8));
  const low = closes.reduce((a, b) => (b < a ? b : a));
  const high = closes.reduce((a, b) => (b > a ? b : a));
  const span = high > low ? high - low : 1n;
  const last = closes.length - 1;
  const points = closes.map((close, n) =>
    `${Math.round((n * 80) / last)},${Number(((high - close) * 20n) / span)}`
  ).join(" ");
  return (
    <svg class={`sl ${props.tone ?? "flat"}`} viewBox="0 -1 80 22" aria-hidden="true">
      <polyline points={points} />
    </svg>
  );
}

/** A symbol's day for its row: the thinned bars and the colour of the day's change. */
export type Spark = { bars: PriceBar[]; tone?: "up" | "down" };

/**
 * The sparklines of the rows on a page, by request. A route that computed them registers them
 * (provideSparks); tables draw one per row when present, so no page or table signature carries
 * them. Keyed weakly by the request's context, so they go when the request does.
 */
const sparksByRequest = new WeakMap<Context, ReadonlyMap<string, Spark>>();

export function provideSparks(c: Context, sparks: ReadonlyMap<string, Spark>): void {
  sparksByRequest.set(c, sparks);
}

/** The row's sparkline from its request's sparks, or nothing. */
export function RowSpark(props: { symbol: string }) {
  let c: Context;
  try {
    c = useRequestContext();
  } catch {
    // Rendered outside a page (an htmx fragment by c.html): no sparks were computed for it.
    return null;
  }
  const spark = sparksByRequest.get(c)?.get(props.symbol);
  return spark ? <Sparkline {...spark} /> : null;
}
