/**
 * The dispatch pass: takes the outbox's events oldest first (outbox.ts) and fans each out in one
 * unit — its notification, the writes of every other follower (webhook deliveries), and the
 * outbox document's deletion at the version read. Of two instances racing for an event, one
 * commits and the other's unit conflicts and is skipped, so each event reaches each follower
 * exactly once.
 */
import type { User } from "../auth/users.ts";
import { formatPrice, formatQuantity } from "../money.ts";
import type { Store, WriteOp } from "../store/port.ts";
import { ConflictError } from "../store/port.ts";
import type { OrderJson } from "../trading/orders.ts";
import type { UserEvent } from "./outbox.ts";
import { noticeOp, type NotificationContent } from "./notifications.ts";

/**
 * Another follower of the outbox: made once per pass (so it may remember what it read during the
 * pass), it gives the writes it adds to an event's unit; it reads, never writes.
 */
export type EventFollower = (store: Store) => (event: UserEvent) => Promise<WriteOp[]>;

/** Events per pass: a burst larger than this waits a second, as the execution pass does. */
const BATCH = 200;

export type DispatchResult = { dispatched: number; notified: number; conflicts: number };

export async function runDispatchPass(
  store: Store,
  followers: EventFollower[] = [],
): Promise<DispatchResult> {
  const result: DispatchResult = { dispatched: 0, notified: 0, conflicts: 0 };
  const page = await store.find<UserEvent>("outbox", { limit: BATCH });
  // A user's email choice is read once per pass, not once per fill of a burst.
  const users = new Map<string, Promise<User | null>>();
  const userOf = (id: string) => {
    if (!users.has(id)) users.set(id, store.get<User>("users", id));
    return users.get(id)!;
  };
  const following = followers.map((follower) => follower(store));
  for (const event of page.items) {
    const content = notificationFor(event);
    const ops: WriteOp[] = [
      { op: "delete", collection: "outbox", id: event._id, ifVersion: event._v },
    ];
    if (content) {
      const user = await userOf(event.userId);
      ops.push(noticeOp(user ?? { _id: event.userId }, content, event.at));
    }
    for (const follow of following) ops.push(...await follow(event));
    try {
      await store.commit(ops);
      result.dispatched++;
      if (content) result.notified++;
    } catch (error) {
      // Another instance took it first (its deletion conflicts): nothing of ours was written.
      if (!(error instanceof ConflictError)) throw error;
      result.conflicts++;
    }
  }
  return result;
}

/** Why the system ended an order, in a trader's words (the order's `rejectReason`). */
const ENDED_BECAUSE: Record<string, string> = {
  insufficient_liquidity: "There were not enough shares at the price to fill the rest.",
  oco_filled: "Its paired order filled, so this one was no longer needed.",
  oco_ended: "Its paired order ended, so this one ended with it.",
  parent_ended: "Its entry order ended without filling, so this exit was not needed.",
  insufficient_buying_power: "There was not enough buying power when it triggered.",
  insufficient_position: "There were not enough shares to sell when it triggered.",
};

/**
 * What the bell says of an event, or null for events a trader caused and saw answered (an order
 * they placed, replaced or cancelled; an account they opened): those go to webhooks only.
 */
export function notificationFor(event: UserEvent): NotificationContent | null {
  if (event.type === "alert.triggered") {
    const alert = event.data as {
      symbol: string;
      condition: "above" | "below";
      price: string;
      note: string | null;
      triggeredPrice: string;
    };
    const moved = alert.condition === "above" ? "rose above" : "fell below";
    return {
      kind: "alert",
      title: `${alert.symbol} ${moved} ${formatPrice(alert.price)}`,
      body: `Last price ${formatPrice(alert.triggeredPrice)}.${
        alert.note ? ` Your note: ${alert.note}` : ""
      }`,
      link: `/trade/${encodeURIComponent(alert.symbol)}`,
    };
  }
  if (!event.type.startsWith("order.")) return null;
  const { order, fill } = event.data as {
    order: OrderJson;
    fill: { price: string; qty: string } | null;
  };
  const verb = order.side === "buy" ? "Bought" : "Sold";
  const what = `${order.side} ${formatQuantity(order.qty)} ${order.symbol}`;
  switch (event.type) {
    case "order.fill":
    case "order.partial_fill": {
      const partial = event.type === "order.partial_fill";
      return {
        kind: "fill",
        title: `${verb} ${formatQuantity(fill!.qty)} ${order.symbol} at ${
          formatPrice(fill!.price)
        }`,
        body: partial
          ? `Your order to ${what} is ${
            formatQuantity(order.filledQty)
          } filled; the rest keeps working.`
          : `Your order to ${what} is filled${
            order.filledAvgPrice ? ` at an average ${formatPrice(order.filledAvgPrice)}` : ""
          }.`,
        link: "/history",
      };
    }
    case "order.expired":
      return {
        kind: "order",
        title: `Order expired: ${what}`,
        body: `It ended unfilled at the end of its time in force (${order.timeInForce}).`,
        link: "/orders?status=closed",
      };
    case "order.rejected":
      return {
        kind: "order",
        title: `Order rejected: ${what}`,
        body: ENDED_BECAUSE[order.rejectReason ?? ""] ?? "The order could not be carried out.",
        link: "/orders?status=closed",
      };
    case "order.canceled":
      // Without a reason it was the trader's own cancel (or their account's close or reset).
      if (!order.rejectReason) return null;
      return {
        kind: "order",
        title: `Order cancelled: ${what}`,
        body: ENDED_BECAUSE[order.rejectReason] ?? "The system cancelled it.",
        link: "/orders?status=closed",
      };
    default:
      return null;
  }
}
