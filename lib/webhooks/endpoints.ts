/**
 * Webhook endpoints: the URLs a user asks to be told of events at, each with the event filters it
 * subscribes to and its own signing secret (Standard Webhooks: `whsec_` and the base64 of the key).
 *
 * The secret is shown once, in the answer that registers the endpoint. Unlike an API key it cannot
 * be kept only as a hash: the sender needs the key itself to sign every delivery. So it is stored
 * sealed with AES-256-GCM under a key derived from AUTH_SECRET for this purpose alone
 * (lib/auth/secret_box.ts, as the TOTP keys are): a copy of the database without AUTH_SECRET does
 * not let anyone forge deliveries.
 */
import { auditOp, type RequestOrigin } from "../audit.ts";
import { openSecret, sealSecret } from "../auth/secret_box.ts";
import { AppError, notFound } from "../errors.ts";
import { newId } from "../ids.ts";
import type { Config } from "../config.ts";
import { EVENT_FILTERS, type EventFilter } from "../notify/outbox.ts";
import type { Doc, NewDoc, Store, WriteOp } from "../store/port.ts";
import { ConflictError } from "../store/port.ts";
import { checkWebhookUrl, UnsafeUrlError, type UrlPolicy } from "./ssrf.ts";

/** Endpoints a user may have at once. */
export const MAX_WEBHOOK_ENDPOINTS_PER_USER = 10;
/** Random bytes in a secret: 256 bits, above the specification's minimum of 24 bytes. */
const SECRET_BYTES = 32;
export const SECRET_PREFIX = "whsec_";

/** What the webhook code needs from the app: the store, the sealing secret, the URL rules. */
export type WebhookDeps = {
  store: Store;
  authSecret: string;
  policy: UrlPolicy;
};

/** The webhook dependencies from the app's configuration. */
export function webhookDeps(
  config: Pick<Config, "authSecret" | "webhookAllowLoopback" | "isProduction">,
  store: Store,
): WebhookDeps {
  return {
    store,
    authSecret: config.authSecret,
    // loadConfig refuses the flag in production already; this keeps it so for a hand-made config.
    policy: { allowLoopback: config.webhookAllowLoopback && !config.isProduction },
  };
}

export type WebhookEndpoint = Doc & {
  userId: string;
  /** One of the user's MAX_WEBHOOK_ENDPOINTS_PER_USER places; unique per user (the cap). */
  slot: number;
  url: string;
  description: string;
  events: EventFilter[];
  enabled: boolean;
  /** The signing key, sealed (secret_box.ts, purpose `webhook-secret`). */
  sealedSecret: string;
  createdAt: Date;
  updatedAt: Date;
  /**
   * The first failed attempt since the last success, null while the endpoint answers; once it is
   * 24 hours old the sender disables the endpoint (sender.ts).
   */
  failingSince: Date | null;
  lastSuccessAt: Date | null;
  /** Why the endpoint is off: its owner turned it off, or the sender did after a day of failures. */
  disabledReason: "user" | "failing" | null;
  disabledAt: Date | null;
};

/** An endpoint as its owner sees it: never the secret. */
export function endpointJson(endpoint: WebhookEndpoint) {
  return {
    id: endpoint._id,
    url: endpoint.url,
    description: endpoint.description,
    events: endpoint.events,
    enabled: endpoint.enabled,
    disabledReason: endpoint.disabledReason,
    disabledAt: endpoint.disabledAt?.toISOString() ?? null,
    failingSince: endpoint.failingSince?.toISOString() ?? null,
    lastSuccessAt: endpoint.lastSuccessAt?.toISOString() ?? null,
    createdAt: endpoint.createdAt.toISOString(),
  };
}

/** A fresh signing secret in the Standard Webhooks form. */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + crypto.getRandomValues(new Uint8Array(SECRET_BYTES)).toBase64();
}

/** The endpoint's signing secret (`whsec_…`), or null when this AUTH_SECRET cannot open it. */
export async function endpointSecret(
  authSecret: string,
  endpoint: Pick<WebhookEndpoint, "sealedSecret">,
): Promise<string | null> {
  try {
    const key = await openSecret(authSecret, endpoint.sealedSecret, "webhook-secret");
    return SECRET_PREFIX + key.toBase64();
  } catch {
    return null;
  }
}

/** A user's endpoints, by place. */
export async function listEndpoints(store: Store, userId: string): Promise<WebhookEndpoint[]> {
  const page = await store.find<WebhookEndpoint>("webhook_endpoints", {
    where: { userId },
    sort: { field: "slot", direction: 1 },
    limit: MAX_WEBHOOK_ENDPOINTS_PER_USER + 5,
  });
  return page.items;
}

/** One of the user's endpoints; another user's is a 404, as a missing one. */
export async function getEndpoint(
  store: Store,
  userId: string,
  endpointId: string,
): Promise<WebhookEndpoint> {
  const endpoint = await store.get<WebhookEndpoint>("webhook_endpoints", endpointId);
  if (!endpoint || endpoint.userId !== userId) throw notFound("No such webhook endpoint.");
  return endpoint;
}

/**
 * Checks a URL against the rules in ssrf.ts; the refusal is a 422 with the reason. Returns the
 * URL as it will be stored (parsed and without a fragment).
 */
export async function acceptableUrl(url: string, policy: UrlPolicy): Promise<string> {
  try {
    return (await checkWebhookUrl(url, policy)).url.href;
  } catch (err) {
    if (err instanceof UnsafeUrlError) {
      throw new AppError(422, "unsafe_url", err.message, { fields: { url: err.message } });
    }
    throw err;
  }
}

/** Each filter once, in the order EVENT_FILTERS lists them. */
function normalEvents(events: readonly EventFilter[]): EventFilter[] {
  return EVENT_FILTERS.filter((filter) => events.includes(filter));
}

/**
 * Registers an endpoint and returns it with its secret, which is never shown again. Each takes
 * the lowest free place of the user's MAX_WEBHOOK_ENDPOINTS_PER_USER under a unique index, so
 * simultaneous registrations cannot pass the cap (as API keys do). Audited `webhook.created`.
 */
export async function createEndpoint(
  deps: WebhookDeps,
  userId: string,
  input: { url: string; events: EventFilter[]; description?: string },
  origin: RequestOrigin,
  now = new Date(),
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  const url = await acceptableUrl(input.url, deps.policy);
  const secret = newWebhookSecret();
  const sealedSecret = await sealSecret(
    deps.authSecret,
    Uint8Array.fromBase64(secret.slice(SECRET_PREFIX.length)),
    "webhook-secret",
  );
  for (let attempt = 0; attempt <= MAX_WEBHOOK_ENDPOINTS_PER_USER; attempt++) {
    const taken = new Set((await listEndpoints(deps.store, userId)).map((e) => e.slot));
    const slot = [...Array(MAX_WEBHOOK_ENDPOINTS_PER_USER).keys()].find((n) => !taken.has(n));
    if (slot === undefined) break;
    const doc: NewDoc<WebhookEndpoint> & { _id: string } = {
      _id: newId(now.getTime()),
      userId,
      slot,
      url,
      description: input.description ?? "",
      events: normalEvents(input.events),
      enabled: true,
      sealedSecret,
      createdAt: now,
      updatedAt: now,
      failingSince: null,
      lastSuccessAt: null,
      disabledReason: null,
      disabledAt: null,
    };
    try {
      await deps.store.commit([
        { op: "insert", collection: "webhook_endpoints", doc },
        auditOp({
          action: "webhook.created",
          outcome: "success",
          userId,
          origin,
          details: { endpointId: doc._id, url, events: doc.events.join(",") },
        }, now),
      ]);
      return { endpoint: { ...doc, _v: 1 }, secret };
    } catch (err) {
      if (err instanceof ConflictError && err.reason === "duplicate") continue;
      throw err;
    }
  }
  throw new AppError(
    422,
    "too_many_webhooks",
    `You can have at most ${MAX_WEBHOOK_ENDPOINTS_PER_USER} webhook endpoints. Delete one first.`,
  );
}

/**
 * Changes an endpoint: its URL (checked again), its filters, its description, or whether it is
 * on. Turning it on clears the failure record, so a day of past failures does not switch it off
 * again at the next one. Audited `webhook.updated`.
 */
export async function updateEndpoint(
  deps: WebhookDeps,
  userId: string,
  endpointId: string,
  input: { url?: string; events?: EventFilter[]; description?: string; enabled?: boolean },
  origin: RequestOrigin,
  now = new Date(),
): Promise<WebhookEndpoint> {
  const url = input.url === undefined ? undefined : await acceptableUrl(input.url, deps.policy);
  // Re-read on a lost race: the sender may have recorded an attempt on the endpoint meanwhile.
  for (let attempt = 0; attempt < 5; attempt++) {
    const endpoint = await getEndpoint(deps.store, userId, endpointId);
    const set: Partial<WebhookEndpoint> = { updatedAt: now };
    if (url !== undefined) set.url = url;
    if (input.events !== undefined) set.events = normalEvents(input.events);
    if (input.description !== undefined) set.description = input.description;
    if (input.enabled === true && !endpoint.enabled) {
      Object.assign(set, {
        enabled: true,
        failingSince: null,
        disabledReason: null,
        disabledAt: null,
      });
    } else if (input.enabled === false && endpoint.enabled) {
      Object.assign(set, { enabled: false, disabledReason: "user", disabledAt: now });
    }
    const changed = Object.keys(set).filter((k) => k !== "updatedAt");
    try {
      await deps.store.commit([
        {
          op: "update",
          collection: "webhook_endpoints",
          id: endpoint._id,
          set,
          ifVersion: endpoint._v,
        },
        auditOp({
          action: "webhook.updated",
          outcome: "success",
          userId,
          origin,
          details: {
            endpointId: endpoint._id,
            changed: changed.join(","),
            ...(set.url ? { url: set.url } : {}),
            ...(set.enabled !== undefined ? { enabled: set.enabled } : {}),
          },
        }, now),
      ]);
      return { ...endpoint, ...set, _v: endpoint._v + 1 };
    } catch (err) {
      if (err instanceof ConflictError && err.reason === "version") continue;
      if (err instanceof ConflictError && err.reason === "missing") {
        throw notFound("No such webhook endpoint.");
      }
      throw err;
    }
  }
  throw new AppError(409, "busy", "The endpoint is changing; try again.");
}

/**
 * Deletes an endpoint at once, then its deliveries (they could be read through it only). A
 * delivery being sent meanwhile finds it gone and is dropped (sender.ts). Audited.
 */
export async function deleteEndpoint(
  store: Store,
  userId: string,
  endpointId: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<void> {
  const endpoint = await getEndpoint(store, userId, endpointId);
  const ops: WriteOp[] = [
    { op: "delete", collection: "webhook_endpoints", id: endpoint._id },
    auditOp({
      action: "webhook.deleted",
      outcome: "success",
      userId,
      origin,
      details: { endpointId: endpoint._id, url: endpoint.url },
    }, now),
  ];
  try {
    await store.commit(ops);
  } catch (err) {
    if (err instanceof ConflictError && err.reason === "missing") {
      throw notFound("No such webhook endpoint.");
    }
    throw err;
  }
  for (;;) {
    const page = await store.find("webhook_deliveries", {
      where: { endpointId: endpoint._id },
      sort: { field: "createdAt", direction: -1 },
      limit: 100,
    });
    for (const delivery of page.items) {
      await store.delete("webhook_deliveries", delivery._id).catch((err) => {
        if (!(err instanceof ConflictError)) throw err;
      });
    }
    if (page.items.length < 100) return;
  }
}
