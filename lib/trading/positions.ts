/**
 * Positions: one per account and symbol (`_id` `<accountId>:<symbol>`). Average-cost method:
 * a buy adds the cash it paid to the cost basis; a sell removes the same fraction of the cost basis
 * as of the quantity sold (to the cent), and the difference to the cash it received is realized
 * P&L. Both amounts are the fill's cash as booked in the ledger (rounded against the customer,
 * order_rules.ts fillCash), so the cost basis and the P&L add up to the cash that actually moved:
 * 0.01 BTC bought at 69,022.46 paid 690.23, and that is its cost basis. Positions opened before
 * this rule may carry a cost basis with more decimals; the last sale removes it exactly.
 */
import type { Doc } from "../store/port.ts";
import { divFixed, type Fixed, formatFixed, parseFixed, roundFixed } from "../money.ts";

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

/** A buy of `qty` that paid `cost` (cents, as booked): quantity and cost basis grow. */
export function applyBuy(state: PositionState, qty: Fixed, cost: Fixed): PositionState {
  return {
    qty: state.qty + qty,
    costBasis: state.costBasis + cost,
    realizedPnl: state.realizedPnl,
  };
}

/**
 * A sell of `qty` for `proceeds` (cents, as booked): the cost basis shrinks in proportion, the
 * part removed rounded half-even to the cent (selling everything removes exactly what is left), and
 * the realized P&L of this sale — proceeds less the cost removed — is returned alongside.
 */
export function applySell(
  state: PositionState,
  qty: Fixed,
  proceeds: Fixed,
): { state: PositionState; realized: Fixed } {
  if (qty > state.qty) throw new RangeError("cannot sell more than the position holds");
  const removed = qty === state.qty
    ? state.costBasis
    // costBasis × qty ÷ held keeps the units of the cost basis; to the cent, so what stays is cents.
    : roundFixed(state.costBasis * qty / state.qty, 2);
  // Whole cents already, except for the last sale of a position from before cost bases were cents.
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
  /**
   * Every share of it is in an open lot (lots.ts). Absent on positions from before lots until
   * their next fill stores the holding as its opening lot.
   */
  lotsTracked?: boolean;
  /** When the current holding began (reset when the position goes flat and opens again). */
  openedAt: Date;
  updatedAt: Date;
};
