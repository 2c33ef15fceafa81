/**
 * The orders an order's change carries with it, in the same atomic unit (order_classes.ts):
 *
 * - an entry's fill wakes its held exits, sized to what filled, and grows them with each further
 *   fill; an entry that ends otherwise (cancelled, expired, rejected) cancels the exits not yet
 *   filled;
 * - a fill of one order of a pair (a bracket's two exits, an OCO) shrinks the other to the same
 *   remaining quantity, cancelling it when nothing remains; one that ends unfilled (cancelled,
 *   expired, rejected) cancels the other.
 *
 * Each linked order is written at the version read, like the order itself, so a leg filling while
 * its parent is cancelled, or both exits marketable in the same second, resolve as one winner and
 * one conflict that re-reads. Linked changes are not followed further: a cancelled sibling does
 * not cancel back.
 */
import { formatFixed, parseFixed, SCALE } from "../money.ts";
import type { Store, WriteOp } from "../store/port.ts";
import type { Account } from "./accounts.ts";
import { cancelledOrderFields, type OrderChange, withOpenTotals } from "./open_orders.ts";
import type { Order } from "./orders.ts";
import { type Position, positionId } from "./positions.ts";

type OrderState = Omit<Order, "_v">;

/**
 * `withOpenTotals` for a unit whose `changes` may move linked orders: reads them, adds their
 * writes and changes, reads the position their reservations move when the caller did not, and
 * returns the unit with the running totals (open_orders.ts).
 */
export async function withLinkedOrders(
  store: Store,
  ops: WriteOp[],
  account: Account,
  positions: (Position | null)[],
  changes: OrderChange[],
  now: Date,
): Promise<WriteOp[]> {
  const linked: OrderChange[] = [];
  const out = [...ops];
  for (const change of changes) {
    const ids = linkedIds(change.after).filter((id) =>
      !changes.some((c) => c.after._id === id) && !linked.some((c) => c.after._id === id)
    );
    if (ids.length === 0) continue;
    const related = (await store.getMany<Order>("orders", ids)).filter((o) => o !== null);
    for (const next of linkedChangesOf(change, related as Order[], now)) {
      linked.push(next.change);
      out.push({
        op: "update",
        collection: "orders",
        id: next.order._id,
        set: next.set,
        ifVersion: next.order._v,
      });
    }
  }
  if (linked.length === 0) return withOpenTotals(ops, account, positions, changes);
  const all = [...positions];
  for (const { after } of linked) {
    const id = positionId(account._id, after.symbol);
    if (after.side === "sell" && !all.some((p) => p?._id === id)) {
      all.push(await store.get<Position>("positions", id));
    }
  }
  return withOpenTotals(out, account, all, [...changes, ...linked]);
}

/** The orders an order is linked to: its legs (an entry), or its pair's other order. */
function linkedIds(order: OrderState): string[] {
  if (order.pairedWith) return [order.pairedWith];
  return order.legIds ?? [];
}

/**
 * What `change` does to the orders linked to it (`related`, as read): pure, so each rule is
 * tested directly. Returns the writes, as fields to set on each related order.
 */
export function linkedChangesOf(
  { before, after }: OrderChange,
  related: Order[],
  now: Date,
): { order: Order; set: Partial<OrderState>; change: OrderChange }[] {
  const filledBefore = before ? qty(before.filledQty) : 0n;
  const filledNow = qty(after.filledQty) - filledBefore;
  const endedUnfilled = before?.open !== false && !after.open && after.status !== "filled";
  const out: { order: Order; set: Partial<OrderState>; change: OrderChange }[] = [];
  const push = (order: Order, set: Partial<OrderState>) =>
    out.push({ order, set, change: { before: order, after: { ...order, ...set } } });

  if (after.pairedWith) {
    const sibling = related.find((o) => o._id === after.pairedWith);
    if (!sibling || !sibling.open) return out;
    if (filledNow > 0n) {
      const remaining = qty(after.qty) - qty(after.filledQty);
      if (remaining === 0n) push(sibling, siblingCancelled(now, "oco_filled"));
      else {
        // The pair sells the same shares: what is left of one is what is left of the other.
        push(sibling, { qty: formatFixed(qty(sibling.filledQty) + remaining, 0), updatedAt: now });
      }
    } else if (endedUnfilled) {
      push(sibling, siblingCancelled(now, "oco_ended"));
    }
    return out;
  }

  for (const leg of related) {
    if (leg.parentId !== after._id || !leg.open) continue;
    if (endedUnfilled) {
      // The parent ended (cancelled, expired, rejected): its exits not yet filled end with it,
      // the shares already bought stay in the position.
      push(leg, siblingCancelled(now, "parent_ended"));
    } else if (filledNow > 0n) {
      // The exits protect what the entry bought: they start working with its first fill and
      // grow with each later one.
      const size = leg.status === "held" ? qty(after.filledQty) : qty(leg.qty) + filledNow;
      push(leg, { status: "new", qty: formatFixed(size, 0), updatedAt: now });
    } else if (leg.status === "held" && after.qty !== before?.qty) {
      // A replaced entry's waiting exits show the size they will have once it fills.
      push(leg, { qty: after.qty, updatedAt: now });
    }
  }
  return out;
}

/** A linked order ended by its pair or parent: cancelled, with why. */
function siblingCancelled(now: Date, reason: "oco_filled" | "oco_ended" | "parent_ended") {
  return { ...cancelledOrderFields(now), rejectReason: reason };
}

function qty(value: string) {
  return parseFixed(value, SCALE);
}
