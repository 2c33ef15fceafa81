/**
 * One fill as one atomic unit: the order, the trade, the position, the cash ledger and the
 * account's sequence move together or not at all. The trade's `_id` is derived from the order, and
 * the account and position are written at the versions read, so a fill can never apply twice —
 * not from two workers, two app instances, or a retry after a crash.
 */
import { auditOp } from "../audit.ts";
import { divFixed, type Fixed, formatFixed, mulFixed, parseFixed, SCALE } from "../money.ts";
import type { Security } from "../market/securities.ts";
import type { WriteOp } from "../store/port.ts";
import { type Account, accountStep } from "./accounts.ts";
import { appendEntries } from "./ledger.ts";
import {
  closeLotOps,
  closeLots,
  openingLot,
  openingLotOp,
  openLotOp,
  type SellLots,
} from "./lots.ts";
import { fillCash } from "./order_rules.ts";
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
  order:
    & Pick<
      Order,
      "_id" | "userId" | "accountId" | "symbol" | "side" | "qty" | "filledQty" | "filledAvgPrice"
    >
    & { fillCount?: number };
  security: Security;
  account: Account;
  cash: Fixed;
  position: Position | null;
  /** This fill's quantity: all that is left of the order, or the part the quote's size allows. */
  qty: Fixed;
  price: Fixed;
  /** Booked with an order's first fill only. */
  commission: Fixed;
  at: Date;
  /** A sell's lots in the order it closes them (lots.ts lotsToSell); null or absent for a buy. */
  lots?: SellLots | null;
};

/**
 * How the order stands after this fill. `rest` is what is left: 0 makes it filled; otherwise it
 * keeps working with `restHold` held (partially filled), or, with `endRest` (ioc), is cancelled.
 */
export function orderFillFields(
  input: FillInput,
  { restHold = 0n, endRest = false }: { restHold?: Fixed; endRest?: boolean } = {},
) {
  const { order, at } = input;
  const filledBefore = parseFixed(order.filledQty, SCALE);
  const filledQty = filledBefore + input.qty;
  const done = filledQty === parseFixed(order.qty, SCALE);
  const fields = {
    filledQty: formatFixed(filledQty, 0),
    filledAvgPrice: formatFixed(
      nextAveragePrice(
        order.filledAvgPrice === null ? null : parseFixed(order.filledAvgPrice, SCALE),
        filledBefore,
        input.price,
        input.qty,
      ),
    ),
    fillCount: fillNumber(order),
    lastFillAt: at,
    updatedAt: at,
  };
  if (done) {
    return { ...fields, status: "filled" as const, open: false, holdAmount: "0.00", filledAt: at };
  }
  if (endRest) {
    return {
      ...fields,
      status: "cancelled" as const,
      open: false,
      holdAmount: "0.00",
      cancelledAt: at,
      rejectReason: "insufficient_liquidity",
    };
  }
  return {
    ...fields,
    status: "partially_filled" as const,
    open: true,
    holdAmount: formatFixed(restHold),
  };
}

/**
 * The average fill price after one more fill: the price itself for the first, then the
 * quantity-weighted mean at 8 places. Integrity recomputes it from the trades the same way.
 */
export function nextAveragePrice(
  average: Fixed | null,
  filledBefore: Fixed,
  price: Fixed,
  qty: Fixed,
): Fixed {
  if (average === null || filledBefore === 0n) return price;
  const notional = mulFixed(average, filledBefore, SCALE) +
    mulFixed(price, qty, SCALE);
  return divFixed(notional, filledBefore + qty, SCALE);
}

/** The number of this order's next fill; its trade is `<orderId>:<number>`. */
export function fillNumber(order: Pick<Order, "filledQty"> & { fillCount?: number }): number {
  // Orders from before partial fills carry no count: a filled quantity then means one fill.
  const count = order.fillCount ?? (parseFixed(order.filledQty, SCALE) > 0n ? 1 : 0);
  return count + 1;
}

/**
 * The writes of a fill except the order itself: trade, position, ledger entries, account sequence
 * and audit entry. Throws RangeError when a sell exceeds the position (callers check first).
 */
export function fillOps(
  input: FillInput,
): { ops: WriteOp[]; gross: Fixed; realized: Fixed | null; cashAfter: Fixed } {
  const { order, account, at } = input;
  // Rounded against the customer (order_rules.ts fillCash); the position books the same amount,
  // so cost basis and realized P&L follow the cash that actually moved.
  const gross = fillCash(order.side, input.qty, input.price);
  const before = positionState(input.position);
  let realized: Fixed | null = null;
  let after;
  if (order.side === "buy") after = applyBuy(before, input.qty, gross);
  else {
    const sold = applySell(before, input.qty, gross);
    after = sold.state;
    realized = sold.realized;
  }
  const tradeId = `${order._id}:${fillNumber(order)}`;
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

  // Tax lots (lots.ts): a buy opens one, costing its cash and commission; a sell closes them for
  // its cash less commission. A position from before lots is first stored as its opening lot.
  let lotOps: WriteOp[];
  const opening = openingLot(input.position);
  if (order.side === "buy") {
    lotOps = [
      ...(opening ? [openingLotOp(opening)] : []),
      openLotOp(account, order.symbol, tradeId, input.qty, gross + input.commission, at),
    ];
  } else {
    if (!input.lots) throw new RangeError("a sell needs its lots read (lots.ts lotsToSell)");
    const closes = closeLots(input.lots.lots, input.qty, gross - input.commission, at);
    lotOps = closeLotOps(closes, tradeId, input.lots.method, at);
  }

  const positionKey = positionId(account._id, order.symbol);
  const fields = { ...positionFields(after, at), lotsTracked: true };
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
        cashRounding: "against_customer",
      },
    },
    positionOp,
    ...lotOps,
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
