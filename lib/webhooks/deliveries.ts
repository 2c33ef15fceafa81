/**
 * Webhook deliveries: one stored document per message and endpoint, holding the exact body to
 * send and every attempt made. They are documents, not timers, so a restart loses none: the
 * sender (sender.ts) picks up whatever is due, whichever instance runs it.
 *
 * The body is fixed when the delivery is made (the Standard Webhooks payload `{type, timestamp,
 * data}`), so each retry and each re-send carries the same bytes under the same `webhook-id` (the
 * event's id), and a receiver can drop the duplicates a retry after a lost answer makes.
 */
import { AppError, notFound } from "../errors.ts";
import { newId } from "../ids.ts";
import { eventMatches, type EventType, type UserEvent } from "../notify/outbox.ts";
import type { Doc, NewDoc, Page, Store, WriteOp } from "../store/port.ts";
import { getEndpoint, listEndpoints, type WebhookEndpoint } from "./endpoints.ts";
import type { EventFollower } from "../notify/dispatch.ts";

/** The event type of the ping a user can send to try an endpoint; not an outbox event. */
export const TEST_EVENT_TYPE = "webhook.test";

/** The attempts a delivery keeps (the newest); `attemptCount` counts them all. */
export const MAX_STORED_ATTEMPTS = 20;

export type DeliveryAttempt = {
  at: Date;
  /** The receiver's HTTP status, or null when no answer came (`error` says why). */
  statusCode: number | null;
  error: string | null;
  durationMs: number;
};

export type WebhookDelivery = Doc & {
  userId: string;
  endpointId: string;
  /** `webhook-id`: the event's id, shared by every delivery and re-send of the same message. */
  messageId: string;
  type: EventType | typeof TEST_EVENT_TYPE;
  /** The JSON body, byte for byte what is signed and sent. */
  body: string;
  /**
   * `pending` until its attempt is due; `sending` while one instance holds it (until `dueAt`, the
   * lease, after which another may take it); then `delivered` or `failed`.
   */
  status: "pending" | "sending" | "delivered" | "failed";
  /** When the next attempt is due (pending) or the lease ends (sending); null once finished. */
  dueAt: Date | null;
  createdAt: Date;
  /** The first attempt; retries stop 24 hours after it. */
  firstAttemptAt: Date | null;
  attempts: DeliveryAttempt[];
  attemptCount: number;
  finishedAt: Date | null;
  /** The delivery this one re-sends by hand, if any. */
  resendOf: string | null;
};

/** The Standard Webhooks payload of an event, as the exact text that will be signed. */
export function eventPayload(type: string, at: Date, data: Record<string, unknown>): string {
  return JSON.stringify({ type, timestamp: at.toISOString(), data });
}

function newDelivery(
  fields: Pick<WebhookDelivery, "userId" | "endpointId" | "messageId" | "type" | "body">,
  now: Date,
  resendOf: string | null = null,
): NewDoc<WebhookDelivery> & { _id: string } {
  return {
    _id: newId(now.getTime()),
    userId: fields.userId,
    endpointId: fields.endpointId,
    messageId: fields.messageId,
    type: fields.type,
    body: fields.body,
    status: "pending",
    dueAt: now,
    createdAt: now,
    firstAttemptAt: null,
    attempts: [],
    attemptCount: 0,
    finishedAt: null,
    resendOf,
  };
}

/**
 * The inserts of one delivery per enabled endpoint of the event's user that subscribes to its
 * type, due now, for the dispatch pass to commit in the unit that removes the event from the
 * outbox. Only reads.
 */
export async function webhookDeliveryOps(
  store: Store,
  event: UserEvent,
  endpointsOf: (userId: string) => Promise<WebhookEndpoint[]> = (id) => listEndpoints(store, id),
): Promise<WriteOp[]> {
  const endpoints = (await endpointsOf(event.userId)).filter((endpoint) =>
    endpoint.enabled && endpoint.events.some((filter) => eventMatches(filter, event.type))
  );
  if (endpoints.length === 0) return [];
  const body = eventPayload(event.type, event.at, event.data);
  const now = new Date();
  return endpoints.map((endpoint) => ({
    op: "insert",
    collection: "webhook_deliveries",
    doc: newDelivery(
      {
        userId: event.userId,
        endpointId: endpoint._id,
        messageId: event._id,
        type: event.type,
        body,
      },
      now,
    ),
  }));
}

/** A delivery as its owner sees it. */
export function deliveryJson(delivery: WebhookDelivery) {
  return {
    id: delivery._id,
    endpointId: delivery.endpointId,
    messageId: delivery.messageId,
    type: delivery.type,
    status: delivery.status,
    nextAttemptAt: delivery.status === "pending" ? delivery.dueAt?.toISOString() ?? null : null,
    createdAt: delivery.createdAt.toISOString(),
    finishedAt: delivery.finishedAt?.toISOString() ?? null,
    attemptCount: delivery.attemptCount,
    attempts: delivery.attempts.map((attempt) => ({
      at: attempt.at.toISOString(),
      statusCode: attempt.statusCode,
      error: attempt.error,
      durationMs: attempt.durationMs,
    })),
    resendOf: delivery.resendOf,
    payload: JSON.parse(delivery.body),
  };
}

/** An endpoint's deliveries, newest first, a page at a time. */
export async function listDeliveries(
  store: Store,
  userId: string,
  endpointId: string,
  limit: number,
  cursor?: string,
): Promise<Page<WebhookDelivery>> {
  const endpoint = await getEndpoint(store, userId, endpointId);
  return await store.find<WebhookDelivery>("webhook_deliveries", {
    where: { endpointId: endpoint._id },
    sort: { field: "createdAt", direction: -1 },
    limit,
    cursor,
  });
}

/**
 * Sends a past message again, by hand: a new delivery of the same body under the same
 * `webhook-id` (so a receiver that already has it can tell), due now, with its own attempts.
 */
export async function resendDelivery(
  store: Store,
  userId: string,
  endpointId: string,
  deliveryId: string,
  now = new Date(),
): Promise<WebhookDelivery> {
  const endpoint = await getEndpoint(store, userId, endpointId);
  const original = await store.get<WebhookDelivery>("webhook_deliveries", deliveryId);
  if (!original || original.endpointId !== endpoint._id) throw notFound("No such delivery.");
  requireEnabled(endpoint.enabled);
  const doc = newDelivery(original, now, original._id);
  await store.commit([{ op: "insert", collection: "webhook_deliveries", doc }]);
  return { ...doc, _v: 1 };
}

/** Queues a `webhook.test` ping to the endpoint, due now, so its owner can try the receiver. */
export async function sendTestDelivery(
  store: Store,
  userId: string,
  endpointId: string,
  now = new Date(),
): Promise<WebhookDelivery> {
  const endpoint = await getEndpoint(store, userId, endpointId);
  requireEnabled(endpoint.enabled);
  const messageId = newId(now.getTime());
  const doc = newDelivery({
    userId,
    endpointId: endpoint._id,
    messageId,
    type: TEST_EVENT_TYPE,
    body: eventPayload(TEST_EVENT_TYPE, now, { endpointId: endpoint._id }),
  }, now);
  await store.commit([{ op: "insert", collection: "webhook_deliveries", doc }]);
  return { ...doc, _v: 1 };
}

function requireEnabled(enabled: boolean): void {
  if (!enabled) {
    throw new AppError(409, "endpoint_disabled", "The endpoint is off; turn it on first.");
  }
}

/**
 * Webhooks as a follower of the dispatch pass: a user's endpoints are read once per pass, however
 * many of their events (a burst of fills) the pass carries.
 */
export const webhookFollower: EventFollower = (store) => {
  const read = new Map<string, Promise<WebhookEndpoint[]>>();
  const endpointsOf = (userId: string) => {
    if (!read.has(userId)) read.set(userId, listEndpoints(store, userId));
    return read.get(userId)!;
  };
  return (event) => webhookDeliveryOps(store, event, endpointsOf);
};
