/**
 * CSV exports of one account over a range of days: orders, fills, cash activity and realized
 * gains (README, Exports). Each reads the store one indexed page at a time, oldest first, and hands
 * rows to `csvStream` as it goes, so a file of 100 000 rows never sits in memory.
 */
import type { RealizedGain } from "./lots.ts";
import { AppError } from "../errors.ts";
import { type CsvCell, decimal, isoTime, text } from "../csv.ts";
import type { Doc, Query, Store } from "../store/port.ts";
import type { CollectionName } from "../store/schema.ts";
import type { TimeRange, Trade } from "./history.ts";
import type { LedgerEntry } from "./ledger.ts";
import type { Order } from "./orders.ts";

export const EXPORT_KINDS = ["orders", "fills", "activities", "realized-gains"] as const;
export type ExportKind = typeof EXPORT_KINDS[number];

/** Rows read per store round trip: the most the server holds of one file at a time. */
export const EXPORT_PAGE_SIZE = 500;

/** The longest range one file may cover. */
export const MAX_EXPORT_DAYS = 5 * 366;

const DAY_MS = 86_400_000;

/**
 * Whole days in UTC, both ends included: `from` 00:00 to the end of `to`. UTC because the file's
 * times are UTC instants (ISO 8601 with `Z`), so a row's date can be checked against the range by
 * reading it.
 */
export type DayRange = { from: string; to: string } & Required<TimeRange>;

/** A calendar date as `YYYY-MM-DD`, or null when it is not one (`2026-02-30`). */
export function parseDay(value: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return null;
  const at = new Date(`${value}T00:00:00Z`);
  return !isNaN(at.getTime()) && at.toISOString().startsWith(value) ? at : null;
}

export function isoDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/**
 * The range between two days (already checked to be dates), refused with a 422 naming the field
 * when it runs backwards or is longer than `MAX_EXPORT_DAYS`.
 */
export function dayRange(from: string, to: string): DayRange {
  const gte = parseDay(from)!;
  const lt = new Date(parseDay(to)!.getTime() + DAY_MS);
  if (gte >= lt) {
    throw new AppError(422, "validation_failed", "from: The start date is after the end date.", {
      fields: { from: "The start date is after the end date." },
    });
  }
  if ((lt.getTime() - gte.getTime()) / DAY_MS > MAX_EXPORT_DAYS) {
    const message = `A range covers at most ${MAX_EXPORT_DAYS} days (five years).`;
    throw new AppError(422, "validation_failed", `from: ${message}`, { fields: { from: message } });
  }
  return { from, to, gte, lt };
}

/** `orion-fills-2026-01-01-to-2026-12-31.csv` */
export function exportFileName(kind: ExportKind, range: DayRange): string {
  return `orion-${kind}-${range.from}-to-${range.to}.csv`;
}

/** The columns of each file, in order; the README lists them with their meaning. */
export const EXPORT_HEADERS: Record<ExportKind, readonly string[]> = {
  orders: [
    "id",
    "placedAt",
    "symbol",
    "side",
    "type",
    "timeInForce",
    "qty",
    "notional",
    "filledQty",
    "filledAvgPrice",
    "limitPrice",
    "stopPrice",
    "trailPercent",
    "trailPrice",
    "status",
    "orderClass",
    "parentId",
    "clientOrderId",
    "filledAt",
    "cancelledAt",
    "expiredAt",
    "rejectReason",
  ],
  fills: [
    "id",
    "executedAt",
    "orderId",
    "symbol",
    "side",
    "qty",
    "price",
    "gross",
    "commission",
    "realizedPnl",
  ],
  activities: [
    "seq",
    "at",
    "type",
    "amount",
    "balanceAfter",
    "description",
    "orderId",
    "tradeId",
    "symbol",
  ],
  "realized-gains": [
    "closedAt",
    "tradeId",
    "lotId",
    "symbol",
    "qty",
    "openedAt",
    "proceeds",
    "cost",
    "gain",
    "term",
    "method",
  ],
};

/** The rows of one export, page by page, oldest first. */
export function exportRows(
  store: Store,
  kind: ExportKind,
  accountId: string,
  range: TimeRange,
): AsyncIterable<CsvCell[][]> {
  switch (kind) {
    case "orders":
      return mapPages(
        pages<Order>(store, "orders", accountId, "placedAt", range),
        (o) => [
          text(o._id),
          isoTime(o.placedAt),
          text(o.symbol),
          text(o.side),
          text(o.type),
          text(o.timeInForce),
          decimal(o.qty),
          decimal(o.notional),
          decimal(o.filledQty),
          decimal(o.filledAvgPrice),
          decimal(o.limitPrice),
          decimal(o.stopPrice),
          decimal(o.trailPercent),
          decimal(o.trailPrice),
          text(o.status),
          text(o.orderClass ?? "simple"),
          text(o.parentId),
          text(o.clientOrderId),
          isoTime(o.filledAt),
          isoTime(o.cancelledAt),
          isoTime(o.expiredAt),
          text(o.rejectReason),
        ],
      );
    case "fills":
      return mapPages(
        pages<Trade>(store, "trades", accountId, "executedAt", range),
        (t) => [
          text(t._id),
          isoTime(t.executedAt),
          text(t.orderId),
          text(t.symbol),
          text(t.side),
          decimal(t.qty),
          decimal(t.price),
          decimal(t.gross),
          decimal(t.commission),
          decimal(t.realizedPnl),
        ],
      );
    case "activities":
      return mapPages(
        pages<LedgerEntry>(store, "cash_ledger", accountId, "at", range),
        (e) => [
          decimal(e.seq),
          isoTime(e.at),
          text(e.type),
          decimal(e.amount),
          decimal(e.balanceAfter),
          text(e.description),
          text(e.orderId),
          text(e.tradeId),
          // The symbol a dividend was paid on; empty on other entries.
          text(e.symbol ?? null),
        ],
      );
    case "realized-gains":
      // One row per lot a sale closed (lots.ts): its share of the proceeds, its cost, the gain.
      return mapPages(
        pages<RealizedGain>(store, "realized_gains", accountId, "closedAt", range),
        (g) => [
          isoTime(g.closedAt),
          text(g.tradeId),
          text(g.lotId),
          text(g.symbol),
          decimal(g.qty),
          isoTime(g.openedAt),
          decimal(g.proceeds),
          decimal(g.cost),
          decimal(g.gain),
          text(g.term),
          text(g.method),
        ],
      );
  }
}

/** One account's documents of a collection in a range of `field`, oldest first, a page at a time. */
async function* pages<T extends Doc>(
  store: Store,
  collection: CollectionName,
  accountId: string,
  field: string,
  range: TimeRange,
): AsyncGenerator<T[]> {
  let cursor: string | undefined;
  do {
    const query: Query = {
      where: { accountId },
      sort: { field, direction: 1 },
      range,
      limit: EXPORT_PAGE_SIZE,
      cursor,
    };
    const page = await store.find<T>(collection, query);
    yield page.items;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
}

async function* mapPages<T>(
  source: AsyncIterable<T[]>,
  row: (item: T) => CsvCell[],
): AsyncGenerator<CsvCell[][]> {
  for await (const page of source) yield page.map(row);
}
