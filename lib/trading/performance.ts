/**
 * Performance of an account over a range, from its daily equity (equity_history.ts): returns,
 * drawdown, volatility, best and worst day, and a benchmark's return over the same days. These
 * are statistics about money, not money: they are computed in doubles and shown as percentages to
 * two decimals; nothing is booked from them.
 *
 * - Time-weighted return chains the daily returns, each net of the cash that came in or went out
 *   that day, so a deposit is not a gain (and a reset opens a new account with its own history).
 * - Money-weighted return is the rate that discounts the flows (the starting equity and every
 *   deposit in, the ending equity out) to zero, as an IRR over the range, not annualised.
 *
 * Orion moves cash into an account only with its opening deposit (a reset opens a new account), so
 * the flows callers pass today are none: the opening is the series' first point. Both formulas
 * take flows, so a deposit feature only needs to pass its ledger entries.
 */
import { AppError } from "../errors.ts";
import { divFixed, type Fixed, formatFixed, mulFixed, parseFixed, SCALE } from "../money.ts";
import type { Security } from "../market/securities.ts";
import { type EquitySample, equitySeries, type HistoryPeriod } from "./equity_history.ts";
import type { TradingContext } from "./orders.ts";

const DAY_MS = 86_400_000;
/** Trading days a year, for annualising daily volatility. */
const TRADING_DAYS = 252;

/** A cash flow into (+) or out of (−) the account, in dollars, between two points. */
export type Flow = { at: Date; amount: number };

export type Performance = {
  from: string;
  to: string;
  startEquity: string;
  endEquity: string;
  timeWeightedReturn: string;
  moneyWeightedReturn: string;
  maxDrawdown: { percent: string; peakAt: string | null; troughAt: string | null };
  /** Annualised standard deviation of the daily returns; null with fewer than two. */
  volatility: string | null;
  bestDay: { at: string; percent: string } | null;
  worstDay: { at: string; percent: string } | null;
  benchmark: { symbol: string; return: string | null };
  days: number;
};

/** The statistics of `series` (oldest first, at least one point) with the `flows` inside it. */
export function performanceOf(
  series: EquitySample[],
  flows: Flow[],
  benchmark: { symbol: string; closes: { at: Date; close: number }[] },
): Performance {
  const values = series.map((p) => Number(formatFixed(p.equity)));
  const returns: { at: Date; r: number }[] = [];
  for (let i = 1; i < series.length; i++) {
    // A flow that landed between two points is not part of the return.
    const flow = flows
      .filter((f) => f.at > series[i - 1].at && f.at <= series[i].at)
      .reduce((sum, f) => sum + f.amount, 0);
    const before = values[i - 1];
    if (before > 0) returns.push({ at: series[i].at, r: (values[i] - flow) / before - 1 });
  }
  const twr = returns.reduce((g, { r }) => g * (1 + r), 1) - 1;
  const mwr = moneyWeighted(series, values, flows);

  let peak = values[0];
  let peakAt = series[0].at;
  let worst = { dd: 0, peakAt: null as Date | null, troughAt: null as Date | null };
  for (let i = 0; i < values.length; i++) {
    if (values[i] > peak) [peak, peakAt] = [values[i], series[i].at];
    const dd = peak > 0 ? values[i] / peak - 1 : 0;
    if (dd < worst.dd) worst = { dd, peakAt, troughAt: series[i].at };
  }
  const mean = returns.reduce((s, { r }) => s + r, 0) / (returns.length || 1);
  const variance = returns.length < 2
    ? null
    : returns.reduce((s, { r }) => s + (r - mean) ** 2, 0) / (returns.length - 1);
  const best = returns.reduce<typeof returns[0] | null>((b, x) => !b || x.r > b.r ? x : b, null);
  const worstDay = returns.reduce<typeof returns[0] | null>(
    (b, x) => !b || x.r < b.r ? x : b,
    null,
  );
  const closes = benchmark.closes;
  return {
    from: series[0].at.toISOString(),
    to: series.at(-1)!.at.toISOString(),
    startEquity: formatFixed(series[0].equity),
    endEquity: formatFixed(series.at(-1)!.equity),
    timeWeightedReturn: percentText(twr),
    moneyWeightedReturn: percentText(mwr),
    maxDrawdown: {
      percent: percentText(worst.dd),
      peakAt: worst.peakAt?.toISOString() ?? null,
      troughAt: worst.troughAt?.toISOString() ?? null,
    },
    volatility: variance === null ? null : percentText(Math.sqrt(variance * TRADING_DAYS)),
    bestDay: best && { at: best.at.toISOString(), percent: percentText(best.r) },
    worstDay: worstDay && { at: worstDay.at.toISOString(), percent: percentText(worstDay.r) },
    benchmark: {
      symbol: benchmark.symbol,
      return: closes.length < 2 || closes[0].close <= 0
        ? null
        : percentText(closes.at(-1)!.close / closes[0].close - 1),
    },
    days: returns.length,
  };
}

/**
 * The money-weighted return: the rate r over the whole range at which the starting equity and
 * the flows, each grown for the part of the range after it, add up to the ending equity. Found by
 * bisection (the sum rises with r), to a hundredth of a basis point.
 */
function moneyWeighted(series: EquitySample[], values: number[], flows: Flow[]): number {
  const start = series[0].at.getTime();
  const span = series.at(-1)!.at.getTime() - start;
  if (span <= 0 || values[0] <= 0) return 0;
  const end = values.at(-1)!;
  const inside = flows.filter((f) => f.at > series[0].at && f.at <= series.at(-1)!.at);
  const grown = (r: number) =>
    values[0] * (1 + r) +
    inside.reduce(
      (s, f) => s + f.amount * Math.pow(1 + r, (start + span - f.at.getTime()) / span),
      0,
    );
  let [lo, hi] = [-0.9999, 100];
  for (let i = 0; i < 200 && hi - lo > 1e-8; i++) {
    const mid = (lo + hi) / 2;
    if (grown(mid) < end) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** A ratio as a percentage with two decimals ("1.23" for 0.0123), never "-0.00". */
export function percentText(x: number): string {
  const text = (x * 100).toFixed(2);
  // A loss smaller than half a basis point rounds to zero, not to "-0.00".
  return text === "-0.00" ? "0.00" : text;
}

/** A benchmark's daily closes over [from, to], from the market data provider. */
export async function benchmarkCloses(
  ctx: TradingContext,
  security: Security,
  from: Date,
  to: Date,
): Promise<{ at: Date; close: Fixed }[]> {
  const days = Math.ceil((to.getTime() - from.getTime()) / DAY_MS) + 2;
  const bars = await ctx.market.provider.bars(security, {
    timeframe: "1Day",
    start: new Date(from.getTime() - 4 * DAY_MS),
    end: to,
    limit: Math.min(1000, days + 4),
  }, to);
  const closes = bars.map((b) => ({ at: new Date(b.t), close: parseFixed(b.c, SCALE) }));
  // Measured from the close before the range's first day (a bar is stamped with its start, so the
  // day `from` falls in is the last bar starting by then), through the latest price.
  const first = closes.findLastIndex((c) => c.at <= from) - 1;
  // Each close is placed where it was final (a day after its bar began, the last one now), so it
  // lines up with the equity of the same moment; the base sits at the range's start.
  return closes.slice(Math.max(0, first)).map((c, n) => ({
    close: c.close,
    at: n === 0 ? from : new Date(Math.min(c.at.getTime() + DAY_MS, to.getTime())),
  }));
}

/** GET /api/portfolio/performance: the account's daily series over `period` and its statistics. */
export async function accountPerformance(
  ctx: TradingContext,
  account: Parameters<typeof equitySeries>[1],
  period: HistoryPeriod,
  benchmark: Security,
  now: Date,
): Promise<
  { performance: Performance; series: EquitySample[]; benchmarkSeries: BenchmarkPoint[] }
> {
  const series = await equitySeries(ctx, account, period, "1Day", now);
  if (series.length === 0) {
    throw new AppError(422, "no_history", "This account has no recorded equity in that period.");
  }
  const closes = await benchmarkCloses(ctx, benchmark, series[0].at, series.at(-1)!.at);
  const performance = performanceOf(series, [], {
    symbol: benchmark.symbol,
    closes: closes.map((c) => ({ at: c.at, close: Number(formatFixed(c.close)) })),
  });
  // The benchmark as if the starting equity had been put into it on the first day, in dollars
  // to the cent like the equity beside it.
  const base = closes[0]?.close ?? 0n;
  const benchmarkSeries = base > 0n
    ? closes.map((c) => ({
      at: c.at,
      value: divFixed(mulFixed(series[0].equity, c.close, SCALE), base, 2),
    }))
    : [];
  return { performance, series, benchmarkSeries };
}

export type BenchmarkPoint = { at: Date; value: Fixed };
