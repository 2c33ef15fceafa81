/**
 * The performance page: the account's equity against a benchmark over a period (a server-rendered
 * SVG with the same numbers as a visually hidden table), the range's statistics, and where the
 * equity sits (allocation bars with their numbers beside them). No script.
 */
import { type Account, accountName } from "../lib/trading/accounts.ts";
import type { Allocation, Slice } from "../lib/trading/allocation.ts";
import type { EquitySample } from "../lib/trading/equity_history.ts";
import type { BenchmarkPoint, Performance } from "../lib/trading/performance.ts";
import { type Fixed, formatFixed } from "../lib/money.ts";
import { percent, trend, usd } from "./trading.tsx";

export const PERFORMANCE_PERIODS = ["1W", "1M", "3M", "1Y", "all"] as const;

export type PerformancePageProps = {
  period: (typeof PERFORMANCE_PERIODS)[number];
  performance: Performance;
  series: EquitySample[];
  benchmarkSeries: BenchmarkPoint[];
  allocation: Allocation;
  timeZone: string;
  account: Account;
  /** The page was asked for this account by id (a closed one, say), not the one chosen in the header. */
  namedAccount: boolean;
};

export function PerformancePage(props: PerformancePageProps) {
  const p = props.performance;
  const date = (iso: string | null) => iso === null ? "—" : dayText(new Date(iso), props.timeZone);
  return (
    <div class="page">
      <h1>Performance</h1>
      {props.namedAccount && (
        <p>
          {accountName(props.account)} · {props.account.number}
          {props.account.status === "closed" && " (closed)"}
        </p>
      )}
      <nav class="tabs" aria-label="Period">
        {PERFORMANCE_PERIODS.map((period) => (
          <a
            href={`/performance?period=${period}${
              props.namedAccount ? `&accountId=${encodeURIComponent(props.account._id)}` : ""
            }`}
            aria-current={period === props.period ? "page" : undefined}
          >
            {period === "all" ? "All" : period}
          </a>
        ))}
      </nav>
      <section class="card">
        <EquityChart {...props} />
      </section>
      <section class="card">
        <h2>Over this period</h2>
        <dl class="stats perf-stats">
          <Stat label="Return (time-weighted)" value={p.timeWeightedReturn} />
          <Stat label="Return (money-weighted)" value={p.moneyWeightedReturn} />
          <Stat label={`${p.benchmark.symbol} over the same days`} value={p.benchmark.return} />
          <div>
            <dt>Largest drop</dt>
            <dd>
              <span class={trend(p.maxDrawdown.percent)}>{percent(p.maxDrawdown.percent)}</span>
              {p.maxDrawdown.peakAt && (
                <small>{date(p.maxDrawdown.peakAt)} to {date(p.maxDrawdown.troughAt)}</small>
              )}
            </dd>
          </div>
          <div>
            <dt>Volatility (a year)</dt>
            <dd>{p.volatility === null ? "—" : share(p.volatility)}</dd>
          </div>
          <Stat
            label="Best day"
            value={p.bestDay?.percent ?? null}
            at={date(p.bestDay?.at ?? null)}
          />
          <Stat
            label="Worst day"
            value={p.worstDay?.percent ?? null}
            at={date(p.worstDay?.at ?? null)}
          />
        </dl>
        <p class="hint">
          From {usd(p.startEquity)} to {usd(p.endEquity)}, {p.days} {p.days === 1 ? "day" : "days"}
          {" "}
          of recorded equity. The time-weighted return leaves deposits out; the money-weighted one
          weighs each dollar by how long it was in.
        </p>
      </section>
      <section class="card">
        <h2>Allocation</h2>
        <AllocationBars title="By asset class" slices={props.allocation.byAssetClass} />
        <AllocationBars title="By sector" slices={props.allocation.bySector} />
        <AllocationBars title="By position" slices={props.allocation.byPosition} />
      </section>
    </div>
  );
}

function Stat(props: { label: string; value: string | null; at?: string }) {
  return (
    <div>
      <dt>{props.label}</dt>
      <dd>
        {props.value === null
          ? "—"
          : <span class={trend(props.value)}>{signedPercent(props.value)}</span>}
        {props.at && props.value !== null && <small>{props.at}</small>}
      </dd>
    </div>
  );
}

const W = 600;
const H = 200;

/** Equity (a line) and the benchmark (dashed) on one dollar scale, with the numbers as a table. */
function EquityChart(props: PerformancePageProps) {
  // Dollars stay fixed-point for the labels; only the drawing's coordinates are doubles.
  const equity = props.series.map((s) => ({ at: s.at, value: s.equity }));
  const bench = props.benchmarkSeries;
  const all = [...equity, ...bench];
  if (equity.length < 2) {
    return (
      <p class="muted">
        Not enough history yet: equity is recorded every 5 minutes while the market is open and at
        each close.
      </p>
    );
  }
  const t0 = Math.min(...all.map((p) => p.at.getTime()));
  const t1 = Math.max(...all.map((p) => p.at.getTime()));
  const lo = all.reduce((m, p) => p.value < m ? p.value : m, all[0].value);
  const hi = all.reduce((m, p) => p.value > m ? p.value : m, all[0].value);
  const [low, span] = [Number(formatFixed(lo)), Number(formatFixed(hi - lo))];
  const x = (at: Date) => ((at.getTime() - t0) / Math.max(1, t1 - t0)) * W;
  const y = (v: Fixed) => 4 + (1 - (Number(formatFixed(v)) - low) / Math.max(0.01, span)) * (H - 8);
  const line = (points: { at: Date; value: Fixed }[]) =>
    points.map((p) => `${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
  const p = props.performance;
  const summary = `equity ${signedPercent(p.timeWeightedReturn)} from ${usd(p.startEquity)} to ${
    usd(p.endEquity)
  }; ${p.benchmark.symbol} ${
    p.benchmark.return === null ? "unavailable" : signedPercent(p.benchmark.return)
  }`;
  return (
    <figure class="perf" aria-labelledby="perf-t">
      <figcaption id="perf-t">
        <span class="key eq">Your equity</span> <span class="key bm">{p.benchmark.symbol}</span>
      </figcaption>
      <div class="perf-plot">
        <span class="perf-hi">{usd(formatFixed(hi))}</span>
        {/* Stretched to the box: lines keep their width (non-scaling), labels are text beside. */}
        <svg
          viewBox={`0 0 ${W} ${H}`}
          preserveAspectRatio="none"
          role="img"
          aria-label={`Equity and ${p.benchmark.symbol}: ${summary}`}
          class={trend(p.timeWeightedReturn) ?? "flat"}
        >
          <polyline class="bm" points={line(bench)} />
          <polyline class="eq" points={line(equity)} />
        </svg>
        <span class="perf-lo">{usd(formatFixed(lo))}</span>
        <span class="perf-from">{dayText(new Date(t0), props.timeZone)}</span>
        <span class="perf-to">{dayText(new Date(t1), props.timeZone)}</span>
      </div>
      <div class="sr">
        <table>
          <caption>Equity by day</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">Equity</th>
            </tr>
          </thead>
          <tbody>
            {props.series.map((s) => (
              <tr>
                <th scope="row">{dayText(s.at, props.timeZone)}</th>
                <td>{usd(formatFixed(s.equity))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}

/** Horizontal bars, each with its name, dollars and share of equity beside it. */
function AllocationBars(props: { title: string; slices: Slice[] }) {
  return (
    <>
      <h3>{props.title}</h3>
      <ul class="alloc">
        {props.slices.map((s) => (
          <li>
            <span class="alloc-name">{s.name}</span>
            <span class="alloc-num">{usd(s.value)} · {share(s.percent)}</span>
            <meter min={0} max={100} value={Math.max(0, Number(s.percent))} aria-hidden="true" />
          </li>
        ))}
      </ul>
    </>
  );
}

/** A signed change: "+1.25%", "-0.40%" (percent() signs it). */
const signedPercent = percent;
/** A share of something, never signed: "12.50%". */
const share = (value: string) => `${value}%`;

function dayText(at: Date, timeZone: string): string {
  return at.toLocaleDateString("en-US", {
    timeZone,
    month: "short",
    day: "numeric",
    year: "numeric",
  });
}
