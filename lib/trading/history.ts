/** Fills (trades) and cash activity as the history page and the API list them, newest first. */
import type { Doc, Store } from "../store/port.ts";
import type { LedgerEntry, LedgerEntryType } from "./ledger.ts";

/** A span of time: from `gte` (inclusive) to `lt` (exclusive); either end may be open. */
export type TimeRange = { gte?: Date; lt?: Date };

/** A page of one account's fills, newest first, of one symbol and within a range when given. */
export async function listAccountTrades(
  store: Store,
  accountId: string,
  filter: { symbol?: string; range?: TimeRange },
  limit: number,
  cursor?: string,
): Promise<{ items: Trade[]; nextCursor: string | null }> {
  return await store.find<Trade>("trades", {
    where: filter.symbol ? { accountId, symbol: filter.symbol } : { accountId },
    sort: { field: "executedAt", direction: -1 },
    range: filter.range,
    limit,
    cursor,
  });
}

/** A page of one account's cash activity, newest first, of one type and within a range when given. */
export async function listCashActivity(
  store: Store,
  accountId: string,
  filter: { type?: LedgerEntryType; range?: TimeRange },
  limit: number,
  cursor?: string,
): Promise<{ items: LedgerEntry[]; nextCursor: string | null }> {
  return await store.find<LedgerEntry>("cash_ledger", {
    where: filter.type ? { accountId, type: filter.type } : { accountId },
    sort: { field: "at", direction: -1 },
    range: filter.range,
    limit,
    cursor,
  });
}

export function tradeJson(trade: Trade) {
  return {
    id: trade._id,
    orderId: trade.orderId,
    accountId: trade.accountId,
    symbol: trade.symbol,
    side: trade.side,
    qty: trade.qty,
    price: trade.price,
    gross: trade.gross,
    commission: trade.commission,
    realizedPnl: trade.realizedPnl,
    executedAt: trade.executedAt.toISOString(),
  };
}

export type Trade = Doc & {
  userId: string;
  accountId: string;
  orderId: string;
  symbol: string;
  side: "buy" | "sell";
  qty: string;
  price: string;
  gross: string;
  commission: string;
  realizedPnl: string | null;
  executedAt: Date;
  /**
   * How `gross` was rounded. Every fill now writes "against_customer"; trades booked before that
   * rule lack the field and were rounded half-even, which the integrity scan still accepts for them.
   */
  cashRounding?: "against_customer";
};
