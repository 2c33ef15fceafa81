/**
 * The account's event log: one document per order event (new, fill, cancel…), written in the same
 * atomic unit as the change it describes, numbered by a sequence kept on the account.
 *
 * Why in the unit and not after it: an event exists exactly when its change does, even if the
 * process dies between the two, so a program following `/api/stream` never misses a fill nor
 * hears of one that did not happen. Why a sequence on the account rather than a clock: every
 * such unit already updates the account at the version it read (accountStep, open_orders.ts),
 * so two units cannot take the same number and a reader that has seen `n` has seen everything
 * up to `n` — across any number of app instances, whatever their clocks say.
 *
 * Each event also goes to the user's outbox (lib/notify/outbox.ts) in the same unit, where webhooks
 * and notifications take it from.
 *
 * Events are kept for EVENT_RETENTION_MS (the worker prunes them), which bounds how far back a
 * reconnecting stream can replay.
 */
import { parseFixed, SCALE } from "../money.ts";
import { eventOp } from "../notify/outbox.ts";
import type { Store, WriteOp } from "../store/port.ts";
import type { Account } from "./accounts.ts";
import { type Order, type OrderJson, orderJson } from "./orders.ts";

/** What happened to an order, in Alpaca's trade-update words. */
export type OrderEventKind =
  | "new"
  | "partial_fill"
  | "fill"
  | "canceled"
  | "expired"
  | "rejected"
  | "replaced";

/** One stored event. `_id` is `<accountId>:<seq padded>`, so ids sort in sequence order. */
export type AccountEvent = {
  _id: string;
  _v: number;
  accountId: string;
  userId: string;
  seq: number;
  kind: "order";
  event: OrderEventKind;
  /** The order as `GET /api/orders/:id` returned it right after the change. */
  order: OrderJson;
  /** For fills: this fill's price and quantity, and the position's quantity after it. */
  fill: { price: string; qty: string; positionQty: string } | null;
  at: Date;
};

/** How long events are kept; the stream promises replay over the last 10 minutes of them. */
export const EVENT_RETENTION_MS = 60 * 60 * 1000;

export function eventId(accountId: string, seq: number): string {
  return `${accountId}:${String(seq).padStart(12, "0")}`;
}

/** The latest event's number on an account (0 before any). */
export function eventSeqOf(account: Pick<Account, "eventSeq">): number {
  return account.eventSeq ?? 0;
}

/** An order before and after a unit, as open_orders.ts sees it. */
type Change = { before: Omit<Order, "_v"> | null; after: Omit<Order, "_v"> };

/**
 * Adds the events `changes` amount to into a unit that already updates the account: their
 * inserts, and the account's new sequence on its update. `ops` must hold that update.
 */
export function withOrderEvents(ops: WriteOp[], account: Account, changes: Change[]): WriteOp[] {
  const found = ops.findIndex((op) =>
    op.op === "update" && op.collection === "accounts" && op.id === account._id
  );
  if (found < 0) throw new Error("an order event needs the account's update in its unit");
  let seq = eventSeqOf(account);
  const out = [...ops];
  for (const change of changes) {
    for (const event of eventsOf(change, ops)) {
      seq++;
      const doc: Omit<AccountEvent, "_v"> = {
        _id: eventId(account._id, seq),
        accountId: account._id,
        userId: account.userId,
        seq,
        kind: "order",
        ...event,
        at: change.after.updatedAt,
      };
      out.push({ op: "insert", collection: "account_events", doc });
      // The same change, for webhooks and the notification centre (lib/notify/outbox.ts).
      out.push(eventOp(
        account.userId,
        `order.${event.event}`,
        { accountId: account._id, order: event.order, fill: event.fill },
        doc.at,
      ));
    }
  }
  const step = out[found] as Extract<WriteOp, { op: "update" }>;
  out[found] = { ...step, set: { ...step.set, eventSeq: seq } };
  return out;
}

/** What one order change means: usually one event; a placement that fills at once is two. */
function eventsOf(
  { before, after }: Change,
  ops: WriteOp[],
): Pick<AccountEvent, "event" | "order" | "fill">[] {
  const order = orderJson({ ...after, _v: 0 });
  const events: Pick<AccountEvent, "event" | "order" | "fill">[] = [];
  if (!before) events.push({ event: "new", order, fill: null });
  const filledBefore = before ? parseFixed(before.filledQty, SCALE) : 0n;
  if (parseFixed(after.filledQty, SCALE) > filledBefore) {
    events.push({
      event: after.status === "filled" ? "fill" : "partial_fill",
      order,
      fill: fillOf(after, ops),
    });
  }
  const ended = before?.open !== false && !after.open && after.status !== "filled";
  if (ended) {
    const kind = ({ cancelled: "canceled", expired: "expired", rejected: "rejected" } as const)[
      after.status as "cancelled" | "expired" | "rejected"
    ];
    if (kind) events.push({ event: kind, order, fill: null });
  } else if (
    before && after.open &&
    (before.qty !== after.qty || before.limitPrice !== after.limitPrice ||
      before.stopPrice !== after.stopPrice || before.trailPercent !== after.trailPercent ||
      before.trailPrice !== after.trailPrice)
  ) {
    events.push({ event: "replaced", order, fill: null });
  }
  return events;
}

/** The fill's price and quantity from its trade, and the position's quantity after it. */
function fillOf(order: Omit<Order, "_v">, ops: WriteOp[]): AccountEvent["fill"] {
  let price = "0", qty = "0", positionQty = "0";
  for (const op of ops) {
    if (op.op === "insert" && op.collection === "trades" && op.doc.orderId === order._id) {
      price = String(op.doc.price);
      qty = String(op.doc.qty);
    }
    const fields = op.op === "insert" && op.collection === "positions"
      ? op.doc
      : op.op === "update" && op.collection === "positions"
      ? op.set
      : null;
    if (fields && typeof fields.qty === "string") positionQty = fields.qty;
  }
  return { price, qty, positionQty };
}

/** The account's events after `afterSeq`, oldest first, at most `limit`. */
export async function eventsAfter(
  store: Store,
  accountId: string,
  afterSeq: number,
  limit = 200,
): Promise<AccountEvent[]> {
  const page = await store.find<AccountEvent>("account_events", {
    where: { accountId },
    sort: { field: "seq", direction: 1 },
    range: { gte: afterSeq + 1 },
    limit,
  });
  return page.items;
}

/** Deletes events older than `before` (the worker, hourly). */
export async function pruneAccountEvents(store: Store, before: Date): Promise<number> {
  let deleted = 0;
  let cursor: string | undefined;
  do {
    const page = await store.find<AccountEvent>("account_events", {
      sort: { field: "at", direction: 1 },
      range: { lt: before },
      limit: 100,
      cursor,
    });
    for (const event of page.items) {
      await store.delete("account_events", event._id).catch(() => {});
    }
    deleted += page.items.length;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return deleted;
}
