/**
 * The outbox of user events: what webhooks and the notification centre follow.
 *
 * A domain unit that changes something a trader would want to hear of (an order filled, an alert
 * fired, an account opened) adds one `outbox` document to the same commit, so an event exists
 * exactly when its change does, even if the process dies right after. The worker's dispatch pass
 * (dispatch.ts) then takes the oldest events in turn, one unit per event: the notification it
 * makes, the webhook deliveries for the user's endpoints that subscribe to it, and the deletion of
 * the outbox document at the version read. Two instances racing for one event cannot both fan it
 * out, and a crash between the change and the fan-out only delays it.
 *
 * `_id` is a time-ordered id (ids.ts), so the pass reads the queue oldest first without an index;
 * the outbox stays short because dispatched events leave it.
 */
import { newId } from "../ids.ts";
import type { Doc, WriteOp } from "../store/port.ts";

/** Every event a webhook can subscribe to, in Alpaca's trade-update words for orders. */
export const EVENT_TYPES = [
  "order.new",
  "order.partial_fill",
  "order.fill",
  "order.canceled",
  "order.expired",
  "order.rejected",
  "order.replaced",
  "alert.triggered",
  "account.opened",
  "account.reset",
  "account.closed",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** What a subscription may name: one type, a family (`order.*`), or everything (`*`). */
export const EVENT_FILTERS = [
  "*",
  "order.*",
  "alert.*",
  "account.*",
  ...EVENT_TYPES,
] as const;
export type EventFilter = (typeof EVENT_FILTERS)[number];

/** One event waiting to be fanned out. `data` is the object as the JSON API shows it. */
export type UserEvent = Doc & {
  userId: string;
  type: EventType;
  at: Date;
  data: Record<string, unknown>;
};

/** True when a subscription to `filter` receives events of `type`. */
export function eventMatches(filter: EventFilter, type: EventType): boolean {
  if (filter === "*") return true;
  if (filter.endsWith(".*")) return type.startsWith(filter.slice(0, -1));
  return filter === type;
}

/** The insert that records an event, for the unit of the change it describes. */
export function eventOp(
  userId: string,
  type: EventType,
  data: Record<string, unknown>,
  at: Date,
): WriteOp {
  return {
    op: "insert",
    collection: "outbox",
    doc: { _id: newId(at.getTime()), userId, type, at, data },
  };
}
