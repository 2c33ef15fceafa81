/** Fills (trades) as the history page and the API list them, newest first. */
import type { Doc, Store } from "../store/port.ts";

export async function listTrades(
  store: Store,
  userId: string,
  limit: number,
  cursor?: string,
): Promise<{ items: Trade[]; nextCursor: string | null }> {
  return await store.find<Trade>("trades", {
    where: { userId },
    sort: { field: "executedAt", direction: -1 },
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
