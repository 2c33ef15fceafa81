/**
 * Each account's equity over time, recorded rather than reconstructed: the worker writes a point
 * every 5 minutes while the account's markets are open (US equities in session, or always for an
 * account holding crypto) and one at each session's close. Reconstructing past equity from the
 * fills and the price history would need every held symbol's bars for every point of a chart —
 * from the data provider, not only the simulator — and the ledger replayed per point; a stored
 * point is one read. A point's `_id` is `<accountId>:<timeframe>:<instant>`, so of several app
 * instances exactly one writes it (an insert of an existing id is a conflict, and the rest skip).
 * Intraday points are kept 30 days, daily points for good.
 */
import { anySplitPending } from "./corporate_actions.ts";
import { divFixed, type Fixed, formatFixed, parseFixed } from "../money.ts";
import { ConflictError, type Doc, type Store } from "../store/port.ts";
import type { Account } from "./accounts.ts";
import type { TradingContext } from "./orders.ts";
import { accountSnapshot } from "./portfolio.ts";

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** How often an open market's accounts are sampled. */
export const POINT_INTERVAL_MS = 5 * MINUTE_MS;
/** Intraday points older than this are deleted; the day's closing point stays. */
export const INTRADAY_RETENTION_MS = 30 * DAY_MS;

export type EquityPoint = Doc & {
  accountId: string;
  userId: string;
  /** `5Min` while the market is open; `1Day` at the session's close. */
  timeframe: "5Min" | "1Day";
  at: Date;
  equity: string;
  cash: string;
  positionsValue: string;
};

/**
 * Records the points due at `now` for every active account: the 5-minute point of the current
 * slot where a market of the account is open, and the latest closed session's daily point where it
 * is missing. Safe to run in several instances at once. Returns how many points this run wrote.
 */
export async function recordEquityPoints(ctx: TradingContext, now: Date): Promise<number> {
  const { store, market } = ctx;
  // A split in effect but not yet applied would value old share counts at new prices; the next
  // run, after the worker has applied it, writes this slot's points (corporate_actions.ts).
  if (await anySplitPending(ctx, now)) return 0;
  const slot = new Date(Math.floor(now.getTime() / POINT_INTERVAL_MS) * POINT_INTERVAL_MS);
  const equitiesOpen = market.clock.isOpen("us_equity", slot);
  const closed = market.clock.previousSession(now);
  let written = 0;
  let cursor: string | undefined;
  do {
    const page = await store.find<Account>("accounts", {
      where: { status: "active" },
      limit: 200,
      cursor,
    });
    for (const account of page.items) {
      if (account.createdAt > now) continue;
      // The close of a session the account lived through, valued at the closing prices.
      if (account.createdAt < closed.close) {
        const id = pointId(account._id, "1Day", closed.close);
        if (!await store.get("equity_points", id)) {
          written += await writePoint(ctx, account, "1Day", closed.close);
        }
      }
      const id = pointId(account._id, "5Min", slot);
      if (await store.get("equity_points", id)) continue;
      if (equitiesOpen || await holdsCrypto(ctx, account)) {
        written += await writePoint(ctx, account, "5Min", slot);
      }
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return written;
}

/**
 * The recorder the worker runs every minute: a run whose 5-minute slot and last closed session
 * this process has already recorded in full does nothing, so the accounts are read once per slot,
 * not once a minute. (Another instance's run does not count: its points are skipped on insert.)
 */
export function equityRecorder(ctx: TradingContext): (now: Date) => Promise<number> {
  let done = "";
  return async (now) => {
    const slot = Math.floor(now.getTime() / POINT_INTERVAL_MS);
    const due = `${slot}:${ctx.market.clock.previousSession(now).close.getTime()}`;
    if (due === done) return 0;
    if (await anySplitPending(ctx, now)) return 0;
    const written = await recordEquityPoints(ctx, now);
    done = due;
    return written;
  };
}

async function holdsCrypto(ctx: TradingContext, account: Account): Promise<boolean> {
  const page = await ctx.store.find<{ _id: string; _v: number; symbol: string; status: string }>(
    "positions",
    { where: { accountId: account._id }, limit: 200 },
  );
  return page.items.some((p) =>
    p.status === "open" && ctx.market.catalog.get(p.symbol)?.assetClass === "crypto"
  );
}

async function writePoint(
  ctx: TradingContext,
  account: Account,
  timeframe: EquityPoint["timeframe"],
  at: Date,
): Promise<number> {
  // Cash and holdings as they stand now; prices at the point's instant (the close, for a daily
  // point written a few minutes after it).
  const { account: figures } = await accountSnapshot(ctx, account, at);
  try {
    await ctx.store.insert<EquityPoint>("equity_points", {
      _id: pointId(account._id, timeframe, at),
      accountId: account._id,
      userId: account.userId,
      timeframe,
      at,
      equity: figures.equity,
      cash: figures.cash,
      positionsValue: figures.positionsValue,
    });
    return 1;
  } catch (err) {
    // Another instance wrote this point first.
    if (err instanceof ConflictError) return 0;
    throw err;
  }
}

export function pointId(accountId: string, timeframe: string, at: Date): string {
  return `${accountId}:${timeframe}:${at.toISOString()}`;
}

/** Deletes intraday points older than `before`; daily points stay. */
export async function pruneEquityPoints(store: Store, before: Date): Promise<number> {
  let deleted = 0;
  for (;;) {
    const page = await store.find<EquityPoint>("equity_points", {
      where: { timeframe: "5Min" },
      sort: { field: "at", direction: 1 },
      range: { lt: before },
      limit: 200,
    });
    for (const point of page.items) await store.delete("equity_points", point._id);
    deleted += page.items.length;
    if (page.items.length < 200) return deleted;
  }
}

export const HISTORY_PERIODS = ["1D", "1W", "1M", "3M", "1Y", "all"] as const;
export type HistoryPeriod = (typeof HISTORY_PERIODS)[number];
export const HISTORY_TIMEFRAMES = ["5Min", "1Hour", "1Day"] as const;
export type HistoryTimeframe = (typeof HISTORY_TIMEFRAMES)[number];

/** The timeframe a period shows when none is asked for, as Alpaca picks it. */
export function defaultTimeframe(period: HistoryPeriod): HistoryTimeframe {
  return period === "1D" ? "5Min" : period === "1W" ? "1Hour" : "1Day";
}

/** One point of a series: when, and the equity then (cents). */
export type EquitySample = { at: Date; equity: Fixed };

/**
 * The account's equity over `period` at `timeframe`, oldest first: the recorded points, the
 * opening deposit when the account opened within the period (its equity is its starting cash), and
 * the equity now as the last point.
 */
export async function equitySeries(
  ctx: TradingContext,
  account: Account,
  period: HistoryPeriod,
  timeframe: HistoryTimeframe,
  now: Date,
): Promise<EquitySample[]> {
  const start = periodStart(ctx, account, period, now);
  const stored = timeframe === "1Day" ? "1Day" : "5Min";
  const points: EquitySample[] = [];
  let cursor: string | undefined;
  do {
    const page = await ctx.store.find<EquityPoint>("equity_points", {
      where: { accountId: account._id, timeframe: stored },
      sort: { field: "at", direction: 1 },
      range: { gte: start, lt: now },
      limit: 1000,
      cursor,
    });
    for (const p of page.items) points.push({ at: p.at, equity: parseFixed(p.equity, 2) });
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  const series = timeframe === "1Hour" ? lastOfEachHour(points) : points;
  if (account.createdAt >= start) {
    series.unshift({ at: account.createdAt, equity: parseFixed(account.startingCash, 2) });
  }
  if (account.status === "active") {
    const { account: figures } = await accountSnapshot(ctx, account, now);
    series.push({ at: now, equity: parseFixed(figures.equity, 2) });
  }
  return series;
}

/** Where a period starts: the current (or last) session's open for 1D, calendar spans otherwise. */
export function periodStart(
  ctx: TradingContext,
  account: Account,
  period: HistoryPeriod,
  now: Date,
): Date {
  const clock = ctx.market.clock;
  const days = { "1W": 7, "1M": 30, "3M": 91, "1Y": 365 } as const;
  if (period === "all") return account.createdAt;
  if (period === "1D") return (clock.sessionOn(now) ?? clock.previousSession(now)).open;
  return new Date(now.getTime() - days[period] * DAY_MS);
}

function lastOfEachHour(points: EquitySample[]): EquitySample[] {
  const out: EquitySample[] = [];
  for (const point of points) {
    const hour = Math.floor(point.at.getTime() / (60 * MINUTE_MS));
    const last = out.at(-1);
    if (last && Math.floor(last.at.getTime() / (60 * MINUTE_MS)) === hour) {
      out[out.length - 1] = point;
    } else out.push(point);
  }
  return out;
}

/**
 * GET /api/portfolio/history, as Alpaca's portfolio history answers it: parallel arrays, the
 * profit or loss of each point against the first (`baseValue`), decimal strings; instants are ISO
 * 8601 like the rest of the API.
 */
export function historyJson(series: EquitySample[], timeframe: HistoryTimeframe) {
  const base = series[0]?.equity ?? 0n;
  return {
    timeframe,
    baseValue: formatFixed(base),
    timestamps: series.map((p) => p.at.toISOString()),
    equity: series.map((p) => formatFixed(p.equity)),
    profitLoss: series.map((p) => formatFixed(p.equity - base)),
    profitLossPct: series.map((p) =>
      formatFixed(base === 0n ? 0n : divFixed((p.equity - base) * 100n, base, 4), 4)
    ),
  };
}
