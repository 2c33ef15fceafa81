/**
 * Positions: one per account and symbol (`_id` `<accountId>:<symbol>`). Average-cost method:
 * a buy adds qty × price to the cost basis; a sell removes the same fraction of the cost basis as
 * of the quantity sold, and the difference to the proceeds is realized P&L. The cost basis keeps
 * eight decimals (0.01 BTC at 69,022.46 costs 690.2246), so the average price is exactly what was
 * paid even though cash moves in whole cents.
 */
import type { Doc } from "../store/port.ts";
import { divFixed, type Fixed, formatFixed, mulFixed, parseFixed, roundFixed } from "../money.ts";

export function positionId(accountId: string, symbol: string): string {
  return `${accountId}:${symbol}`;
}

/** The position's numbers as amounts. */
export type PositionState = { qty: Fixed; costBasis: Fixed; realizedPnl: Fixed };

export function positionState(position: Position | null): PositionState {
  if (!position) return { qty: 0n, costBasis: 0n, realizedPnl: 0n };
  return {
    qty: parseFixed(position.qty, 8),
    costBasis: parseFixed(position.costBasis, 8),
    realizedPnl: parseFixed(position.realizedPnl, 2),
  };
}

/** A buy of `qty` at `price`: quantity and cost basis grow. */
export function applyBuy(state: PositionState, qty: Fixed, price: Fixed): PositionState {
  return {
    qty: state.qty + qty,
    costBasis: state.costBasis + mulFixed(qty, price, 8),
    realizedPnl: state.realizedPnl,
  };
}

/**
 * A sell of `qty` for `proceeds` (cents): the cost basis shrinks in proportion (selling everything
 * removes exactly what is left), and the realized P&L of this sale, rounded half-even to the
 * cent, is returned alongside.
 */
export function applySell(
  state: PositionState,
  qty: Fixed,
  proceeds: Fixed,
): { state: PositionState; realized: Fixed } {
  if (qty > state.qty) throw new RangeError("cannot sell more than the position holds");
  const removed = qty === state.qty
    ? state.costBasis
    // costBasis × qty ÷ held keeps the units of the cost basis: one division, truncated at 10⁻⁸.
    : state.costBasis * qty / state.qty;
  const realized = roundFixed(proceeds - removed, 2);
  return {
    state: {
      qty: state.qty - qty,
      costBasis: state.costBasis - removed,
      realizedPnl: state.realizedPnl + realized,
    },
    realized,
  };
}

/** The average entry price (cost basis ÷ quantity), to `decimals` places; 0 when flat. */
export function averageEntryPrice(state: PositionState, decimals: number): Fixed {
  return state.qty === 0n ? 0n : divFixed(state.costBasis, state.qty, decimals);
}

/** The stored fields of a position in this state. */
export function positionFields(state: PositionState, at: Date) {
  return {
    qty: formatFixed(state.qty, 0),
    costBasis: formatFixed(state.costBasis),
    realizedPnl: formatFixed(state.realizedPnl),
    status: state.qty === 0n ? "closed" as const : "open" as const,
    updatedAt: at,
  };
}

export type Position = Doc & {
  userId: string;
  accountId: string;
  symbol: string;
  /** Decimal strings: quantity held, total cost of it (cents), P&L realized by sells so far. */
  qty: string;
  costBasis: string;
  realizedPnl: string;
  /**
   * The quantity its working sells still have to sell, a running total kept with the orders
   * (open_orders.ts); absent means none.
   */
  reservedToSell?: string;
  status: "open" | "closed";
  /** When the current holding began (reset when the position goes flat and opens again). */
  openedAt: Date;
  updatedAt: Date;
};
