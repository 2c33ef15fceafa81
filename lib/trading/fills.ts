/**
 * One fill as one atomic unit: the order, the trade, the position, the cash ledger and the
 * account's sequence move together or not at all. The trade's `_id` is derived from the order, and
 * the account and position are written at the versions read, so a fill can never apply twice —
 * not from two workers, two app instances, or a retry after a crash.
 */
import { auditOp } from "../audit.ts";
import { type Fixed, formatFixed, mulFixed } from "../money.ts";
import type { Security } from "../market/securities.ts";
import type { WriteOp } from "../store/port.ts";
import { type Account, accountStep } from "./accounts.ts";
import { appendEntries } from "./ledger.ts";
import type { Order } from "./orders.ts";
import {
  applyBuy,
  applySell,
  type Position,
  positionFields,
  positionId,
  positionState,
} from "./positions.ts";

/** Everything read before the fill, at the versions the unit will check. */
export type FillInput = {
  order: Pick<Order, "_id" | "userId" | "accountId" | "symbol" | "side">;
  security: Security;
  account: Account;
  cash: Fixed;
  position: Position | null;
  qty: Fixed;
  price: Fixed;
  commission: Fixed;
  at: Date;
};

/** The order's fields once filled (the caller inserts or updates the order with them). */
export function filledOrderFields(input: FillInput) {
  return {
    status: "filled" as const,
    open: false,
    filledQty: formatFixed(input.qty, 0),
    filledAvgPrice: formatFixed(input.price),
    holdAmount: "0.00",
    filledAt: input.at,
    updatedAt: input.at,
  };
}

/**
 * The writes of a fill except the order itself: trade, position, ledger entries, account sequence
 * and audit entry. Throws RangeError when a sell exceeds the position (callers check first).
 */
export function fillOps(
  input: FillInput,
): { ops: WriteOp[]; gross: Fixed; realized: Fixed | null; cashAfter: Fixed } {
  const { order, account, at } = input;
  const gross = mulFixed(input.qty, input.price, 2);
  const before = positionState(input.position);
  let realized: Fixed | null = null;
  let after;
  if (order.side === "buy") after = applyBuy(before, input.qty, input.price);
  else {
    const sold = applySell(before, input.qty, gross);
    after = sold.state;
    realized = sold.realized;
  }
  const tradeId = `${order._id}:1`;
  const ledger = appendEntries(account, input.cash, [
    {
      type: "fill",
      amount: order.side === "buy" ? -gross : gross,
      description: `${order.side === "buy" ? "Bought" : "Sold"} ${
        formatFixed(input.qty, 0)
      } ${order.symbol} at ${formatFixed(input.price)}`,
      orderId: order._id,
      tradeId,
    },
    ...(input.commission > 0n
      ? [{
        type: "commission" as const,
        amount: -input.commission,
        description: `Commission on ${order.symbol}`,
        orderId: order._id,
        tradeId,
      }]
      : []),
  ], at);

  const positionKey = positionId(account._id, order.symbol);
  const fields = positionFields(after, at);
  // A holding that starts from flat starts its own day-P&L clock.
  const openedAt = before.qty === 0n ? at : input.position!.openedAt;
  const positionOp: WriteOp = input.position
    ? {
      op: "update",
      collection: "positions",
      id: positionKey,
      set: { ...fields, openedAt },
      ifVersion: input.position._v,
    }
    : {
      op: "insert",
      collection: "positions",
      doc: {
        _id: positionKey,
        userId: account.userId,
        accountId: account._id,
        symbol: order.symbol,
        ...fields,
        openedAt,
      },
    };

  const ops: WriteOp[] = [
    {
      op: "insert",
      collection: "trades",
      doc: {
        _id: tradeId,
        userId: account.userId,
        accountId: account._id,
        orderId: order._id,
        symbol: order.symbol,
        side: order.side,
        qty: formatFixed(input.qty, 0),
        price: formatFixed(input.price),
        gross: formatFixed(gross),
        commission: formatFixed(input.commission),
        realizedPnl: realized === null ? null : formatFixed(realized),
        executedAt: at,
      },
    },
    positionOp,
    ...ledger.ops,
    // The sequence is checked against the version read: concurrent movements of this account's
    // cash or holds conflict here instead of overdrawing it.
    accountStep(account, ledger.seq),
    auditOp({
      action: "order.filled",
      outcome: "success",
      userId: account.userId,
      details: {
        orderId: order._id,
        symbol: order.symbol,
        side: order.side,
        qty: formatFixed(input.qty, 0),
        price: formatFixed(input.price),
      },
    }, at),
  ];
  return { ops, gross, realized, cashAfter: ledger.cash };
}
