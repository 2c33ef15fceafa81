/**
 * Signal URLs: a per-user address (`POST /api/signals/<token>`) that an outside sender, such as a
 * TradingView alert, posts an order to, placed on the account the URL was made for. The token in
 * the path is the only credential unless the URL requires a Standard Webhooks signature, with the
 * app's WEBHOOK_SECRET or a secret of the URL's own. The token (and a URL's own secret) is shown
 * once, at creation; the store keeps the token's SHA-256 and the secret sealed. Every signal that
 * reaches a known URL is kept with its outcome, refused ones included.
 */
import { sha256 } from "@oslojs/crypto/sha2";
import { encodeHexLowerCase } from "@oslojs/encoding";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { auditOp, type RequestOrigin } from "../audit.ts";
import { openSecret, sealSecret } from "../auth/secret_box.ts";
import { hashSecret, secretMatches } from "../auth/tokens.ts";
import type { User } from "../auth/users.ts";
import { AppError, notFound } from "../errors.ts";
import { newId } from "../ids.ts";
import type { RateRule } from "../rate_limit.ts";
import { ConflictError, type Doc, type NewDoc, type Store } from "../store/port.ts";
import { retryOnConflict } from "../store/retry.ts";
import { type Account, ensureActiveAccount, ownAccount } from "./accounts.ts";

/** Signal URLs a user may have in use at once (revoked ones do not count). */
export const MAX_SIGNAL_URLS_PER_USER = 5;
/** Signals one URL accepts a minute, on top of the account's own order rate (order_rate.ts). */
export const SIGNAL_URL_RATE: RateRule = { name: "signal-url", limit: 60, windowS: 60 };
/** The largest signal accepted; an order is a few hundred bytes, a TradingView message at most 4 KiB. */
export const SIGNAL_BODY_MAX_BYTES = 8 * 1024;
/** How much of a signal's body is kept with it. */
export const STORED_PAYLOAD_MAX = 2 * 1024;
/** `lastUsedAt` is kept to this resolution, so a busy sender does not write the URL every time. */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * How a URL's signals are authenticated: `none`, the token alone; `app`, also a Standard Webhooks
 * signature with WEBHOOK_SECRET; `url`, a signature with the URL's own secret.
 */
export const SIGNINGS = ["none", "app", "url"] as const;
export type Signing = (typeof SIGNINGS)[number];

/** 32 bytes from the CSPRNG in base64url: 43 characters, safe in a path. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
/** What lists show of a token: its first 6 characters (36 of its 256 bits). */
export const SIGNAL_TOKEN_PREFIX_LENGTH = 6;

export type SignalUrl = Doc & {
  userId: string;
  name: string;
  /** The account its signals place orders on, chosen at creation. */
  accountId: string;
  signing: Signing;
  /**
   * SHA-256 of the token, hex, found through a unique index. A fast hash suffices for 256 random
   * bits, as for API keys: a stolen hash cannot be reversed by guessing.
   */
  tokenHash: string;
  tokenPrefix: string;
  /** With signing `url`: the `whsec_…` secret, sealed under AUTH_SECRET (secret_box.ts). */
  sealedSecret: string | null;
  /** Which of the user's MAX_SIGNAL_URLS_PER_USER places it holds until revoked. */
  slot: number;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
};

export type SignalOutcome = "placed" | "replayed" | "rejected";

/** One signal received on a known URL, and what came of it. */
export type Signal = Doc & {
  signalUrlId: string;
  userId: string;
  accountId: string;
  receivedAt: Date;
  ip: string;
  /** The body as received, cut to STORED_PAYLOAD_MAX characters. */
  payload: string;
  payloadTruncated: boolean;
  /** What the body asked for, as far as it could be read, for the log. */
  symbol: string | null;
  side: string | null;
  qty: string | null;
  notional: string | null;
  clientOrderId: string | null;
  outcome: SignalOutcome;
  orderId: string | null;
  /** The HTTP status the sender got, and for a refusal its error code and message. */
  status: number;
  code: string | null;
  message: string | null;
};

/** What the signing check needs from the configuration. */
export type SigningConfig = { authSecret: string; webhookSecret?: string };

/** A URL as its owner sees it: never the token, its hash or the secret. */
export function signalUrlJson(url: SignalUrl) {
  return {
    id: url._id,
    name: url.name,
    accountId: url.accountId,
    signing: url.signing,
    prefix: url.tokenPrefix,
    createdAt: url.createdAt.toISOString(),
    lastUsedAt: url.lastUsedAt?.toISOString() ?? null,
    revokedAt: url.revokedAt?.toISOString() ?? null,
  };
}

export function signalJson(signal: Signal) {
  return {
    id: signal._id,
    signalUrlId: signal.signalUrlId,
    accountId: signal.accountId,
    receivedAt: signal.receivedAt.toISOString(),
    ip: signal.ip,
    payload: signal.payload,
    payloadTruncated: signal.payloadTruncated,
    symbol: signal.symbol,
    side: signal.side,
    qty: signal.qty,
    notional: signal.notional,
    clientOrderId: signal.clientOrderId,
    outcome: signal.outcome,
    orderId: signal.orderId,
    status: signal.status,
    error: signal.code === null ? null : { code: signal.code, message: signal.message },
  };
}

/** The address a token is posted to. */
export function signalAddress(appUrl: string, token: string): string {
  return `${appUrl.replace(/\/+$/, "")}/api/signals/${token}`;
}

/** A user's signal URLs, newest first, revoked ones included. */
export async function listSignalUrls(store: Store, userId: string): Promise<SignalUrl[]> {
  const page = await store.find<SignalUrl>("signal_urls", {
    where: { userId },
    sort: { field: "createdAt", direction: -1 },
    limit: 200,
  });
  return page.items;
}

/** One of the user's signal URLs; another user's is a 404. */
export async function ownSignalUrl(store: Store, userId: string, id: string): Promise<SignalUrl> {
  const url = await store.get<SignalUrl>("signal_urls", id);
  if (!url || url.userId !== userId) throw notFound("No such signal URL.");
  return url;
}

/**
 * Makes a signal URL for one of the user's open accounts (their default one when none is named)
 * and returns it with its token, and for signing `url` its secret, which exist nowhere else
 * afterwards. Each URL in use holds a place, a `signal_url_slots` document `<userId>:<n>`
 * inserted in the same unit, so of simultaneous creations at most MAX_SIGNAL_URLS_PER_USER get
 * one. Audited as `signal_url.created`.
 */
export async function createSignalUrl(
  store: Store,
  config: SigningConfig & { startingCash: string },
  user: Pick<User, "_id">,
  input: { name: string; accountId?: string; signing: Signing },
  origin: RequestOrigin,
  now = new Date(),
): Promise<{ url: SignalUrl; token: string; secret: string | null }> {
  const account = input.accountId
    ? await ownAccount(store, user._id, input.accountId)
    : await ensureActiveAccount(store, user._id, config.startingCash, now);
  if (account.status !== "active") {
    throw new AppError(422, "account_closed", "That account is closed: choose an open one.", {
      fields: { accountId: "That account is closed: choose an open one." },
    });
  }
  if (input.signing === "app" && !config.webhookSecret) {
    const message =
      'This server has no WEBHOOK_SECRET: choose "url" for a secret of the URL\'s own, or "none".';
    throw new AppError(422, "validation_failed", message, { fields: { signing: message } });
  }
  const token = crypto.getRandomValues(new Uint8Array(32)).toBase64({
    alphabet: "base64url",
    omitPadding: true,
  });
  const secret = input.signing === "url"
    ? `whsec_${crypto.getRandomValues(new Uint8Array(32)).toBase64()}`
    : null;
  const sealedSecret = secret === null ? null : await sealSecret(
    config.authSecret,
    new TextEncoder().encode(secret),
    "signal-secret",
  );
  const slotIds = [...Array(MAX_SIGNAL_URLS_PER_USER).keys()].map((n) => `${user._id}:${n}`);
  // Each lost race means another creation took a place, so the places run out within the cap.
  for (let attempt = 0; attempt <= MAX_SIGNAL_URLS_PER_USER; attempt++) {
    const taken = await store.getMany("signal_url_slots", slotIds);
    const slot = taken.findIndex((doc) => doc === null);
    if (slot === -1) break;
    const doc: NewDoc<SignalUrl> & { _id: string } = {
      _id: newId(now.getTime()),
      userId: user._id,
      name: input.name,
      accountId: account._id,
      signing: input.signing,
      tokenHash: hashSecret(token),
      tokenPrefix: token.slice(0, SIGNAL_TOKEN_PREFIX_LENGTH),
      sealedSecret,
      slot,
      createdAt: now,
      lastUsedAt: null,
      revokedAt: null,
    };
    try {
      await store.commit([
        {
          op: "insert",
          collection: "signal_url_slots",
          doc: { _id: slotIds[slot], signalUrlId: doc._id },
        },
        { op: "insert", collection: "signal_urls", doc },
        auditOp({
          action: "signal_url.created",
          outcome: "success",
          userId: user._id,
          origin,
          details: {
            signalUrlId: doc._id,
            name: doc.name,
            account: account.number,
            signing: doc.signing,
            prefix: doc.tokenPrefix,
          },
        }, now),
      ]);
      return { url: { ...doc, _v: 1 }, token, secret };
    } catch (err) {
      if (err instanceof ConflictError && err.reason === "exists") continue;
      throw err;
    }
  }
  throw new AppError(
    422,
    "too_many_signal_urls",
    `You can have at most ${MAX_SIGNAL_URLS_PER_USER} signal URLs. Revoke one you no longer use first.`,
  );
}

/**
 * Revokes one of the user's signal URLs at once: its next signal is a 404, its place is freed,
 * and its log stays readable. Revoking a revoked URL changes nothing. `actorId` names an admin.
 */
export async function revokeSignalUrl(
  store: Store,
  userId: string,
  id: string,
  origin: RequestOrigin,
  actorId: string | null = null,
  now = new Date(),
  reason: string | null = null,
): Promise<SignalUrl> {
  // Used (lastUsedAt) or revoked meanwhile: retryOnConflict reads it again and decides again.
  return await retryOnConflict(async () => {
    const url = await ownSignalUrl(store, userId, id);
    if (url.revokedAt !== null) return url;
    await store.commit([
      {
        op: "update",
        collection: "signal_urls",
        id: url._id,
        set: { revokedAt: now },
        ifVersion: url._v,
      },
      { op: "delete", collection: "signal_url_slots", id: `${userId}:${url.slot}` },
      auditOp({
        action: "signal_url.revoked",
        outcome: "success",
        userId,
        actorId,
        origin,
        details: { signalUrlId: url._id, name: url.name, prefix: url.tokenPrefix, reason },
      }, now),
    ]);
    return { ...url, revokedAt: now, _v: url._v + 1 };
  }, "The signal URL is busy. Please try again.");
}

/**
 * Revokes every signal URL of a user in use, audited with `reason` (a password reset: whoever knew
 * the old password may have made URLs, which trade like keys). Returns how many were revoked.
 */
export async function revokeUserSignalUrls(
  store: Store,
  userId: string,
  reason: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<number> {
  let revoked = 0;
  for (const url of await listSignalUrls(store, userId)) {
    if (url.revokedAt !== null) continue;
    await revokeSignalUrl(store, userId, url._id, origin, null, now, reason);
    revoked++;
  }
  return revoked;
}

/**
 * The URL in use that a presented token belongs to, with its user, or null: unknown, revoked and
 * malformed tokens, and URLs of a user who is gone or suspended, are all just not there.
 */
export async function findSignalUrl(
  store: Store,
  token: string,
): Promise<{ url: SignalUrl; user: User } | null> {
  if (!TOKEN_SHAPE.test(token)) return null;
  const url = await store.findOne<SignalUrl>("signal_urls", { tokenHash: hashSecret(token) });
  // The index found the hash; comparing again in constant time keeps the lookup from being the
  // only check, should a backend ever match loosely.
  if (!url || url.revokedAt !== null || !secretMatches(token, url.tokenHash)) return null;
  const user = await store.get<User>("users", url.userId);
  if (!user || user.role === "SUSPENDED") return null;
  return { url, user };
}

/**
 * Checks a signal's Standard Webhooks signature when its URL requires one: `webhook-id`,
 * `webhook-timestamp` (within 5 minutes of now) and `webhook-signature` over the exact body.
 * Returns the message id of a verified signal (null for an unsigned URL); throws 401 otherwise.
 */
export async function verifySignalSignature(
  url: SignalUrl,
  config: SigningConfig,
  body: Uint8Array,
  headers: Headers,
): Promise<string | null> {
  if (url.signing === "none") return null;
  const id = headers.get("webhook-id");
  const timestamp = headers.get("webhook-timestamp");
  const signature = headers.get("webhook-signature");
  if (id === null || timestamp === null || signature === null) {
    throw new AppError(
      401,
      "signature_required",
      "This signal URL accepts only signed signals: send webhook-id, webhook-timestamp and webhook-signature (Standard Webhooks).",
    );
  }
  const secret = await signingSecret(url, config);
  try {
    new Webhook(secret).verify(body, {
      "webhook-id": id,
      "webhook-timestamp": timestamp,
      "webhook-signature": signature,
    }, { jsonParse: false });
  } catch (err) {
    if (!(err instanceof WebhookVerificationError)) throw err;
    throw new AppError(
      401,
      "invalid_signature",
      /timestamp/i.test(err.message)
        ? "The signature's timestamp is more than 5 minutes from now: sign each signal when it is sent."
        : "The signature does not match this signal URL's secret and the body as sent.",
    );
  }
  return id;
}

/** The secret a URL's signals are signed with; a 401 when this server can no longer read it. */
async function signingSecret(url: SignalUrl, config: SigningConfig): Promise<string> {
  if (url.signing === "app") {
    if (config.webhookSecret) return config.webhookSecret;
    throw new AppError(
      401,
      "invalid_signature",
      "This signal URL is signed with the server's WEBHOOK_SECRET, which is no longer set.",
    );
  }
  const opened = url.sealedSecret === null
    ? null
    : await openSecret(config.authSecret, url.sealedSecret, "signal-secret").catch(() => null);
  if (opened === null) {
    // AUTH_SECRET changed since the URL was made: nothing can verify its signals any more.
    throw new AppError(
      401,
      "invalid_signature",
      "This signal URL's secret can no longer be read by the server: make a new signal URL.",
    );
  }
  return new TextDecoder().decode(opened);
}

/**
 * The idempotency key a signal places its order under: its clientOrderId, else the message id of
 * a signed signal (a sender retrying a message keeps its id), scoped to the URL so two URLs never
 * share one. Without either, every signal is a new order.
 */
export function signalIdempotencyKey(
  url: Pick<SignalUrl, "_id">,
  clientOrderId: string | undefined,
  messageId: string | null,
): string | undefined {
  if (clientOrderId) return `signal:${url._id}:coid:${clientOrderId}`;
  if (messageId !== null) {
    // The sender chooses the id's length and characters; its hash has a fixed shape.
    const digest = encodeHexLowerCase(sha256(new TextEncoder().encode(messageId)));
    return `signal:${url._id}:msg:${digest.slice(0, 32)}`;
  }
  return undefined;
}

/** What a signal asked for, read from its body as far as it goes, for the log. */
export type SignalRequestSummary = Pick<
  Signal,
  "symbol" | "side" | "qty" | "notional" | "clientOrderId"
>;

/** Reads the fields the log shows from whatever the body held, never trusting their shape. */
export function summarizeSignal(body: unknown): SignalRequestSummary {
  const fields = typeof body === "object" && body !== null && !Array.isArray(body)
    ? body as Record<string, unknown>
    : {};
  const text = (value: unknown, max: number) =>
    typeof value === "string" || typeof value === "number" ? String(value).slice(0, max) : null;
  return {
    symbol: text(fields.symbol, 20),
    side: text(fields.side, 10),
    qty: text(fields.qty, 40),
    notional: text(fields.notional, 40),
    clientOrderId: text(fields.clientOrderId, 64),
  };
}

/**
 * Keeps one signal and its outcome, and marks the URL used (at most once a minute, so bursts do
 * not all write it).
 */
export async function recordSignal(
  store: Store,
  url: SignalUrl,
  signal: {
    ip: string;
    body: string;
    summary: SignalRequestSummary;
    outcome: SignalOutcome;
    orderId: string | null;
    status: number;
    error: AppError | null;
  },
  now = new Date(),
): Promise<Signal> {
  const doc: NewDoc<Signal> & { _id: string } = {
    _id: newId(now.getTime()),
    signalUrlId: url._id,
    userId: url.userId,
    accountId: url.accountId,
    receivedAt: now,
    ip: signal.ip,
    payload: signal.body.slice(0, STORED_PAYLOAD_MAX),
    payloadTruncated: signal.body.length > STORED_PAYLOAD_MAX,
    ...signal.summary,
    outcome: signal.outcome,
    orderId: signal.orderId,
    status: signal.status,
    code: signal.error?.code ?? null,
    message: signal.error?.message ?? null,
  };
  const due = url.lastUsedAt === null ||
    now.getTime() - url.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS;
  await store.commit([
    { op: "insert", collection: "signals", doc },
    ...(due
      ? [{
        op: "update" as const,
        collection: "signal_urls" as const,
        id: url._id,
        set: { lastUsedAt: now },
      }]
      : []),
  ]);
  return { ...doc, _v: 1 };
}

/** A URL's signals, newest first, a page at a time. */
export async function listSignals(
  store: Store,
  url: Pick<SignalUrl, "_id">,
  limit: number,
  cursor?: string,
): Promise<{ items: Signal[]; nextCursor: string | null }> {
  return await store.find<Signal>("signals", {
    where: { signalUrlId: url._id },
    sort: { field: "receivedAt", direction: -1 },
    limit,
    cursor,
  });
}

/** The user's latest signals across their URLs. */
export async function recentSignals(store: Store, userId: string, limit: number) {
  const page = await store.find<Signal>("signals", {
    where: { userId },
    sort: { field: "receivedAt", direction: -1 },
    limit,
  });
  return page.items;
}

/** The account a URL places on, refused with a clear 422 once it is closed (or was reset). */
export async function signalAccount(store: Store, url: SignalUrl): Promise<Account> {
  const account = await ownAccount(store, url.userId, url.accountId);
  if (account.status !== "active") {
    throw new AppError(
      422,
      "account_closed",
      "The account this signal URL places orders on is closed (or was reset): make a signal URL for an open account.",
    );
  }
  return account;
}
