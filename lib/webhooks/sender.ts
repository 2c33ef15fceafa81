/**
 * The webhook sender: a worker pass that sends the deliveries whose time has come, signed as the
 * Standard Webhooks specification says, and schedules the retries of those that fail.
 *
 * Several instances may run it at once. A delivery is claimed by an update at the version read
 * that sets it `sending` with a lease (`dueAt` a minute ahead): of two instances that read it, one
 * wins and the other skips it. The outcome is written at the claimed version, so an instance that
 * outlived its lease (another has taken the delivery since) records nothing. A process that dies
 * while sending leaves the lease to run out, and the delivery is sent again; that is the one case
 * of a second send, and the receiver sees the same `webhook-id` both times.
 *
 * Each attempt connects to the address the URL was checked to resolve to just before (ssrf.ts),
 * not to whatever the name resolves to a moment later, so DNS rebinding cannot slip a private
 * address in between. That is why the request is written here over a socket rather than with
 * fetch, which would resolve the name again itself: HTTP/1.1, `Connection: close`, TLS verified
 * against the URL's host name. Redirects are not followed: a 3xx counts as a failure.
 */
import { Webhook } from "standardwebhooks";
import { auditOp } from "../audit.ts";
import type { User } from "../auth/users.ts";
import { noticeOp } from "../notify/notifications.ts";
import { ConflictError, type Store, type WriteOp } from "../store/port.ts";
import type { Logger } from "../log.ts";
import { type DeliveryAttempt, MAX_STORED_ATTEMPTS, type WebhookDelivery } from "./deliveries.ts";
import {
  endpointSecret,
  type WebhookDeps,
  webhookDeps,
  type WebhookEndpoint,
} from "./endpoints.ts";
import { type CheckedTarget, checkWebhookUrl, UnsafeUrlError } from "./ssrf.ts";

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;

/** How long after the first attempt a delivery is retried, and an endpoint may fail, before giving up. */
export const RETRY_WINDOW_MS = 24 * HOUR_MS;
/** The wait after the n-th failed attempt; past the list, the last one again, until the window ends. */
export const BACKOFF_MS = [
  30 * SECOND_MS,
  MINUTE_MS,
  2 * MINUTE_MS,
  5 * MINUTE_MS,
  15 * MINUTE_MS,
  30 * MINUTE_MS,
  HOUR_MS,
  2 * HOUR_MS,
  4 * HOUR_MS,
  8 * HOUR_MS,
];
/** Each wait is stretched or shrunk by up to this fraction, so a receiver's backlog arrives spread out. */
export const JITTER = 0.1;
/** A receiver must answer within this. */
export const ATTEMPT_TIMEOUT_MS = 10 * SECOND_MS;
/** How long a claim holds a delivery: above the attempt's timeout, with room for the writes. */
export const LEASE_MS = MINUTE_MS;
/** Deliveries one pass takes, and how many it sends at once. */
const BATCH = 50;
const CONCURRENCY = 8;
/** A success is written on the endpoint at most this often, unless it ends a run of failures. */
const SUCCESS_RESOLUTION_MS = MINUTE_MS;
/** The part of a receiver's answer read: enough for the status line. */
const MAX_RESPONSE_HEAD_BYTES = 8192;

export type SenderDeps = WebhookDeps & {
  log: Logger;
  timeoutMs?: number;
  /** Extra root certificates to trust (PEM); tests with their own certificate authority. */
  caCerts?: string[];
};

/** The sender's dependencies from the app's configuration. */
export function webhookSenderDeps(
  config: Parameters<typeof webhookDeps>[0],
  store: Store,
  log: Logger,
): SenderDeps {
  return { ...webhookDeps(config, store), log };
}

/** What one pass did. */
export type SenderResult = { delivered: number; retrying: number; failed: number; skipped: number };

/** The wait after the `failures`-th failed attempt (1-based), with jitter drawn from `random`. */
export function backoffMs(failures: number, random = Math.random()): number {
  const base = BACKOFF_MS[Math.min(failures, BACKOFF_MS.length) - 1];
  return Math.round(base * (1 - JITTER + 2 * JITTER * random));
}

/** Sends what is due at `now`: pending deliveries, and those whose sender's lease ran out. */
export async function runWebhookPass(deps: SenderDeps, now = new Date()): Promise<SenderResult> {
  const result: SenderResult = { delivered: 0, retrying: 0, failed: 0, skipped: 0 };
  const due: WebhookDelivery[] = [];
  for (const status of ["pending", "sending"] as const) {
    const page = await deps.store.find<WebhookDelivery>("webhook_deliveries", {
      where: { status },
      sort: { field: "dueAt", direction: 1 },
      range: { lt: new Date(now.getTime() + 1) },
      limit: BATCH,
    });
    due.push(...page.items);
  }
  let next = 0;
  const worker = async () => {
    while (next < due.length) {
      const delivery = due[next++];
      try {
        result[await sendDelivery(deps, delivery, now)]++;
      } catch (error) {
        result.skipped++;
        deps.log.warn("webhook delivery failed to run", { deliveryId: delivery._id, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, due.length) }, worker));
  return result;
}

/** Claims one delivery, makes its attempt and records it; what became of it. */
async function sendDelivery(
  deps: SenderDeps,
  read: WebhookDelivery,
  now: Date,
): Promise<keyof SenderResult> {
  const { store } = deps;
  try {
    await store.update("webhook_deliveries", read._id, {
      status: "sending",
      dueAt: new Date(now.getTime() + LEASE_MS),
    }, { ifVersion: read._v });
  } catch (err) {
    if (err instanceof ConflictError) return "skipped";
    throw err;
  }
  const claimed = { ...read, _v: read._v + 1 };
  const endpoint = await store.get<WebhookEndpoint>("webhook_endpoints", claimed.endpointId);
  if (!endpoint) {
    // Deleted with its endpoint, which takes its deliveries along.
    await store.delete("webhook_deliveries", claimed._id, { ifVersion: claimed._v }).catch(
      (err) => {
        if (!(err instanceof ConflictError)) throw err;
      },
    );
    return "skipped";
  }
  if (!endpoint.enabled) {
    // Not attempted: the endpoint was turned off after the delivery was made. Re-send by hand.
    await finishWithoutAttempt(store, claimed, now);
    return "failed";
  }
  const attempt = await attemptDelivery(deps, endpoint, claimed, now);
  return await recordAttempt(deps, claimed, endpoint, attempt, now);
}

async function finishWithoutAttempt(store: Store, delivery: WebhookDelivery, now: Date) {
  try {
    await store.update("webhook_deliveries", delivery._id, {
      status: "failed",
      dueAt: null,
      finishedAt: now,
    }, { ifVersion: delivery._v });
  } catch (err) {
    if (!(err instanceof ConflictError)) throw err;
  }
}

/** One attempt: the URL checked again, the request signed and sent. Never throws. */
async function attemptDelivery(
  deps: SenderDeps,
  endpoint: WebhookEndpoint,
  delivery: WebhookDelivery,
  now: Date,
): Promise<DeliveryAttempt> {
  const started = performance.now();
  const attempt = (statusCode: number | null, error: string | null): DeliveryAttempt => ({
    at: now,
    statusCode,
    error,
    durationMs: Math.round(performance.now() - started),
  });
  const secret = await endpointSecret(deps.authSecret, endpoint);
  if (secret === null) {
    return attempt(null, "The signing secret cannot be read (AUTH_SECRET has changed).");
  }
  let target: CheckedTarget;
  try {
    target = await checkWebhookUrl(endpoint.url, deps.policy);
  } catch (err) {
    if (err instanceof UnsafeUrlError) return attempt(null, err.message);
    throw err;
  }
  // The signature's time is the moment of sending, which receivers compare with their clock.
  const sentAt = new Date();
  const headers = {
    "webhook-id": delivery.messageId,
    "webhook-timestamp": String(Math.floor(sentAt.getTime() / 1000)),
    "webhook-signature": new Webhook(secret).sign(delivery.messageId, sentAt, delivery.body),
    "content-type": "application/json",
    "user-agent": "Orion-Webhooks/1.0",
  };
  try {
    const statusCode = await postPinned(
      target,
      headers,
      delivery.body,
      deps.timeoutMs ?? ATTEMPT_TIMEOUT_MS,
      deps.caCerts,
    );
    return attempt(statusCode, null);
  } catch (err) {
    return attempt(null, (err instanceof Error ? err.message : String(err)).slice(0, 300));
  }
}

/**
 * Writes the attempt and what follows from it, at the claimed version: delivered on a 2xx,
 * otherwise the next try after the back-off, or failed once 24 hours have passed since the first.
 * The endpoint's failure record moves in the same unit; when it has failed for 24 hours the
 * endpoint is turned off, with a notification to its owner and an audit entry.
 */
async function recordAttempt(
  deps: SenderDeps,
  delivery: WebhookDelivery,
  endpointRead: WebhookEndpoint,
  attempt: DeliveryAttempt,
  now: Date,
): Promise<keyof SenderResult> {
  const ok = attempt.statusCode !== null && attempt.statusCode >= 200 && attempt.statusCode < 300;
  const firstAttemptAt = delivery.firstAttemptAt ?? now;
  const attempts = [...delivery.attempts, attempt].slice(-MAX_STORED_ATTEMPTS);
  const attemptCount = delivery.attemptCount + 1;
  let endpoint: WebhookEndpoint | null = endpointRead;
  // Re-read the endpoint when another delivery's outcome moved it first.
  for (let round = 0; round < 5 && endpoint; round++) {
    const endpointOps: WriteOp[] = [];
    let outcome: keyof SenderResult;
    let deliverySet: Partial<WebhookDelivery>;
    if (ok) {
      outcome = "delivered";
      deliverySet = { status: "delivered", dueAt: null, finishedAt: now };
      const stale = endpoint.lastSuccessAt === null ||
        now.getTime() - endpoint.lastSuccessAt.getTime() >= SUCCESS_RESOLUTION_MS;
      if (endpoint.failingSince !== null || stale) {
        endpointOps.push({
          op: "update",
          collection: "webhook_endpoints",
          id: endpoint._id,
          set: { failingSince: null, lastSuccessAt: now },
          ifVersion: endpoint._v,
        });
      }
    } else {
      const failingSince = endpoint.failingSince ?? now;
      const disable = endpoint.enabled &&
        now.getTime() - failingSince.getTime() >= RETRY_WINDOW_MS;
      const deadline = firstAttemptAt.getTime() + RETRY_WINDOW_MS;
      if (disable || now.getTime() >= deadline) {
        outcome = "failed";
        deliverySet = { status: "failed", dueAt: null, finishedAt: now };
      } else {
        outcome = "retrying";
        const dueAt = Math.min(now.getTime() + backoffMs(attemptCount), deadline);
        deliverySet = { status: "pending", dueAt: new Date(dueAt) };
      }
      if (disable) {
        // The owner's email choice decides whether the notice also goes by email.
        const owner = await deps.store.get<User>("users", endpoint.userId);
        endpointOps.push(...disableOps(endpoint, owner, failingSince, now));
      } else if (endpoint.failingSince === null) {
        endpointOps.push({
          op: "update",
          collection: "webhook_endpoints",
          id: endpoint._id,
          set: { failingSince },
          ifVersion: endpoint._v,
        });
      }
    }
    try {
      await deps.store.commit([
        {
          op: "update",
          collection: "webhook_deliveries",
          id: delivery._id,
          set: { ...deliverySet, attempts, attemptCount, firstAttemptAt },
          ifVersion: delivery._v,
        },
        ...endpointOps,
      ]);
      return outcome;
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      // The lease ran out and another instance has the delivery, or it went with its endpoint.
      if (err.collection === "webhook_deliveries") return "skipped";
      endpoint = await deps.store.get<WebhookEndpoint>("webhook_endpoints", endpoint._id);
    }
  }
  return "skipped";
}

/** Turns off an endpoint that has failed for a day, telling its owner, in one unit. */
function disableOps(
  endpoint: WebhookEndpoint,
  owner: User | null,
  failingSince: Date,
  now: Date,
): WriteOp[] {
  return [
    {
      op: "update",
      collection: "webhook_endpoints",
      id: endpoint._id,
      set: { enabled: false, disabledReason: "failing", disabledAt: now, failingSince },
      ifVersion: endpoint._v,
    },
    noticeOp(owner ?? { _id: endpoint.userId }, {
      kind: "webhook",
      title: "Webhook endpoint turned off",
      body: `Every delivery to ${endpoint.url} has failed for 24 hours, so Orion stopped sending ` +
        "to it. Fix the receiver, then turn the endpoint back on and re-send what it missed.",
      link: "/settings/webhooks",
    }, now),
    auditOp({
      action: "webhook.disabled",
      outcome: "success",
      userId: endpoint.userId,
      details: {
        endpointId: endpoint._id,
        url: endpoint.url,
        failingSince: failingSince.toISOString(),
        reason: "failing",
      },
    }, now),
  ];
}

/**
 * POSTs `body` to the checked address and returns the status code of the answer. The host name
 * goes in `Host` and in TLS (server name and certificate check); the connection goes to
 * `target.address` and nowhere else.
 */
async function postPinned(
  target: CheckedTarget,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  caCerts?: string[],
): Promise<number> {
  const payload = new TextEncoder().encode(body);
  const head = [
    `POST ${target.url.pathname}${target.url.search} HTTP/1.1`,
    `host: ${target.url.host}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    `content-length: ${payload.length}`,
    "connection: close",
    "",
    "",
  ].join("\r\n");
  let conn: Deno.Conn | undefined;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn?.close();
    } catch { /* already closed */ }
  }, timeoutMs);
  try {
    const tcp = await Deno.connect({ hostname: target.address, port: target.port });
    conn = tcp;
    if (timedOut) throw new Error("timed out");
    if (target.tls) {
      conn = await Deno.startTls(tcp, {
        hostname: target.url.hostname.replace(/^\[|\]$/g, ""),
        caCerts,
      });
    }
    await writeAll(conn, new TextEncoder().encode(head));
    await writeAll(conn, payload);
    return await readStatus(conn);
  } catch (err) {
    if (timedOut) throw new Error(`No answer within ${timeoutMs / 1000} s.`);
    throw err;
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* closed by the timeout or the peer */ }
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/** The status code of an HTTP/1.x answer, from its status line. */
async function readStatus(conn: Deno.Conn): Promise<number> {
  const buffer = new Uint8Array(MAX_RESPONSE_HEAD_BYTES);
  let length = 0;
  while (length < buffer.length) {
    const n = await conn.read(buffer.subarray(length));
    if (n === null) break;
    length += n;
    const text = new TextDecoder().decode(buffer.subarray(0, length));
    const end = text.indexOf("\r\n");
    if (end >= 0) {
      const match = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(text.slice(0, end));
      if (!match) throw new Error("The answer is not HTTP/1.1.");
      return Number(match[1]);
    }
  }
  throw new Error(length === 0 ? "The connection closed without an answer." : "No status line.");
}
