/**
 * Business metrics for the admin console (ENABLE_ANALYTICS): counts and sums per UTC day, each
 * from one bounded range query on a declared index. Nothing is precomputed, so the cost is paid
 * when the page is read: at most DAY_ROW_CAP rows per series per day, and a count that reaches
 * its cap is reported as a lower bound ("≥") rather than read to the end.
 */
import type { AuditEntry } from "./audit.ts";
import { type Fixed, formatFixed, parseFixed, sumFixed } from "./money.ts";
import type { CollectionName, Doc, Query, Store } from "./store/port.ts";
import type { Trade } from "./trading/history.ts";

/** How many days the charts cover, today (UTC, so far) included. */
export const METRIC_DAYS = 14;
/** Rows one series may read over all its days... */
export const SERIES_ROW_CAP = 10_000;
/** ...shared out per day, so one busy day cannot starve the rest. */
export const DAY_ROW_CAP = Math.floor(SERIES_ROW_CAP / METRIC_DAYS);
/** Rows read for a single count (users, live sessions, open orders). */
export const COUNT_CAP = 10_000;

const DAY_MS = 24 * 60 * 60 * 1000;
/** The store's largest page. */
const STORE_PAGE = 1000;

/** A count; `capped` means reading stopped at the cap and the true value is at least `value`. */
export type Count = { value: number; capped: boolean };

/**
 * Reads the documents matching `query` (an indexed query without its page size) until they end
 * or `cap` were read, calling `visit` on each; says whether the cap cut the reading short.
 */
export async function scanUpTo<T extends Doc>(
  store: Store,
  collection: CollectionName,
  query: Omit<Query, "limit" | "cursor">,
  cap: number,
  visit: (doc: T) => void = () => {},
): Promise<Count> {
  let read = 0;
  let cursor: string | undefined;
  for (;;) {
    const page = await store.find<T>(collection, {
      ...query,
      limit: Math.min(STORE_PAGE, cap - read),
      cursor,
    });
    for (const doc of page.items) visit(doc);
    read += page.items.length;
    if (!page.nextCursor) return { value: read, capped: false };
    if (read >= cap) return { value: read, capped: true };
    cursor = page.nextCursor;
  }
}

/** How many documents match `query`, reading at most `cap`. */
export function countUpTo(
  store: Store,
  collection: CollectionName,
  query: Omit<Query, "limit" | "cursor">,
  cap = COUNT_CAP,
): Promise<Count> {
  return scanUpTo(store, collection, query, cap);
}

/** Sessions that have not expired yet, from the `{expiresAt:1}` index (the sweep removes the rest). */
export function activeSessionCount(store: Store, now = new Date()): Promise<Count> {
  return countUpTo(store, "sessions", {
    sort: { field: "expiresAt", direction: 1 },
    range: { gte: now },
  });
}

/** The UTC days the charts cover, oldest first, as [start, end) instants with a YYYY-MM-DD label. */
export function metricDays(now: Date, days = METRIC_DAYS): { day: string; from: Date; to: Date }[] {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Array.from({ length: days }, (_, n) => {
    const from = new Date(today - (days - 1 - n) * DAY_MS);
    return { day: from.toISOString().slice(0, 10), from, to: new Date(from.getTime() + DAY_MS) };
  });
}

export type DailyCount = { day: string; count: number; capped: boolean };
export type DailySignIns = {
  day: string;
  successes: number;
  failures: number;
  /** failures / (successes + failures) as a percentage; null on a day without sign-ins. */
  failureRate: number | null;
  capped: boolean;
};
export type DailyAmount = { day: string; amount: string; trades: number; capped: boolean };

/** Everything /admin/metrics shows. */
export type BusinessMetrics = {
  days: string[];
  registrations: DailyCount[];
  signIns: DailySignIns[];
  ordersPlaced: DailyCount[];
  tradedValue: DailyAmount[];
  activeSessions: Count;
  totals: {
    registrations: Count;
    signInSuccesses: Count;
    signInFailures: Count;
    /** Over all the days; null without any sign-in. */
    failureRate: number | null;
    ordersPlaced: Count;
    tradedValue: { amount: string; capped: boolean };
  };
};

/**
 * The metrics of the last METRIC_DAYS UTC days. Cost: per day, one range query each for
 * sign-ups and orders (`{action, at}`), two for sign-ins (`{action, outcome, at}`: successes and
 * failures apart) and one for trades (`{executedAt}`), each reading at most DAY_ROW_CAP rows;
 * plus the live-session count. All days run concurrently.
 */
export async function businessMetrics(store: Store, now = new Date()): Promise<BusinessMetrics> {
  const days = metricDays(now);
  const perDay = <T>(read: (from: Date, to: Date) => Promise<T>) =>
    Promise.all(days.map((d) => read(d.from, d.to)));
  const auditCount =
    (where: Partial<Pick<AuditEntry, "action" | "outcome">>) => (from: Date, to: Date) =>
      countUpTo(store, "audit_logs", {
        where,
        sort: { field: "at", direction: 1 },
        range: { gte: from, lt: to },
      }, DAY_ROW_CAP);

  const [signUps, successes, failures, placed, traded, activeSessions] = await Promise.all([
    perDay(auditCount({ action: "auth.sign_up" })),
    perDay(auditCount({ action: "auth.sign_in", outcome: "success" })),
    perDay(auditCount({ action: "auth.sign_in", outcome: "failure" })),
    perDay(auditCount({ action: "order.placed" })),
    perDay((from, to) => tradedBetween(store, from, to)),
    activeSessionCount(store, now),
  ]);

  const daily = (counts: Count[]): DailyCount[] =>
    counts.map((c, n) => ({ day: days[n].day, count: c.value, capped: c.capped }));
  const total = (counts: Count[]): Count => ({
    value: counts.reduce((sum, c) => sum + c.value, 0),
    capped: counts.some((c) => c.capped),
  });
  const signInSuccesses = total(successes);
  const signInFailures = total(failures);
  return {
    days: days.map((d) => d.day),
    registrations: daily(signUps),
    signIns: days.map((d, n) => ({
      day: d.day,
      successes: successes[n].value,
      failures: failures[n].value,
      failureRate: failureRate(successes[n].value, failures[n].value),
      capped: successes[n].capped || failures[n].capped,
    })),
    ordersPlaced: daily(placed),
    tradedValue: traded.map((t, n) => ({
      day: days[n].day,
      amount: formatFixed(t.amount),
      trades: t.value,
      capped: t.capped,
    })),
    activeSessions,
    totals: {
      registrations: total(signUps),
      signInSuccesses,
      signInFailures,
      failureRate: failureRate(signInSuccesses.value, signInFailures.value),
      ordersPlaced: total(placed),
      tradedValue: {
        amount: formatFixed(sumFixed(traded.map((t) => t.amount))),
        capped: traded.some((t) => t.capped),
      },
    },
  };
}

/** Σ gross of the fills executed in [from, to), with how many were read. */
async function tradedBetween(
  store: Store,
  from: Date,
  to: Date,
): Promise<Count & { amount: Fixed }> {
  const amounts: Fixed[] = [];
  const count = await scanUpTo<Trade>(
    store,
    "trades",
    {
      sort: { field: "executedAt", direction: 1 },
      range: { gte: from, lt: to },
    },
    DAY_ROW_CAP,
    (trade) => amounts.push(parseFixed(trade.gross, 8)),
  );
  return { ...count, amount: sumFixed(amounts) };
}

/** A percentage with one decimal, for people; null when there is nothing to divide. */
function failureRate(successes: number, failures: number): number | null {
  const all = successes + failures;
  return all === 0 ? null : Math.round((failures / all) * 1000) / 10;
}
