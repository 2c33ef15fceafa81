/**
 * Per-user API keys for trading scripts: `Authorization: Bearer orion_<secret>` on the JSON API,
 * with no password and no session. The secret is shown once, at creation; the store keeps only
 * its SHA-256 and a short prefix to recognise it by.
 */
import { encodeBase32LowerCaseNoPadding } from "@oslojs/encoding";
import { audit, auditOp, type RequestOrigin } from "../audit.ts";
import { AppError, notFound } from "../errors.ts";
import { newId } from "../ids.ts";
import { noticeOp } from "../notify/notifications.ts";
import type { Doc, NewDoc, Store } from "../store/port.ts";
import { ConflictError } from "../store/port.ts";
import { hashSecret, secretMatches } from "./tokens.ts";
import type { User } from "./users.ts";

/** What a key may do: `read` reads the user's trading data; `trade` also changes it. */
export const API_KEY_SCOPES = ["read", "trade"] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** Keys a user may hold at once (expired ones included until they are revoked or replaced). */
export const MAX_API_KEYS_PER_USER = 10;
/** The longest life a key may be given; a key may also be created without an expiry. */
export const MAX_API_KEY_DAYS = 365;
/** `lastUsedAt` is kept to this resolution, so a busy script does not write on every request. */
const LAST_USED_RESOLUTION_MS = 60_000;

const SECRET_PREFIX = "orion_";
/** 32 bytes from the CSPRNG, base32: 52 characters after the prefix. */
const SECRET_SHAPE = /^orion_[a-z2-7]{52}$/;
/** What lists show of a key: the prefix and the first 8 characters (40 of its 256 bits). */
const DISPLAY_LENGTH = SECRET_PREFIX.length + 8;
const DAY_MS = 24 * 60 * 60 * 1000;

export type ApiKey = Doc & {
  userId: string;
  name: string;
  scopes: ApiKeyScope[];
  /**
   * Which of the user's MAX_API_KEYS_PER_USER places the key holds; unique per user, so
   * simultaneous creations cannot take more places than there are (createApiKey).
   */
  slot: number;
  /**
   * SHA-256 of the whole secret, hex. A fast hash is right here, unlike for passwords: the secret
   * is 256 random bits, so a stolen hash cannot be reversed by guessing however fast each guess
   * is, and checking a key on every API request stays a hash and an index read.
   */
  secretHash: string;
  /** The secret's first characters, not enough to use it, so the owner can tell keys apart. */
  displayPrefix: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  /** The address of the last use, so a use from a new one can be audited. */
  lastIp: string | null;
};

/** The key a Bearer request was authenticated with, as routes see it. */
export type ApiKeyGrant = { id: string; scopes: ApiKeyScope[] };

/** A key as its owner (or an admin) sees it: never the secret nor its hash. */
export function apiKeyJson(key: ApiKey, now = new Date()) {
  return {
    id: key._id,
    name: key.name,
    scopes: key.scopes,
    prefix: key.displayPrefix,
    createdAt: key.createdAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    expiresAt: key.expiresAt?.toISOString() ?? null,
    expired: isExpired(key, now),
  };
}

export function isExpired(key: Pick<ApiKey, "expiresAt">, now = new Date()): boolean {
  return key.expiresAt !== null && now >= key.expiresAt;
}

/** A user's keys, oldest place first. */
export async function listApiKeys(store: Store, userId: string): Promise<ApiKey[]> {
  const page = await store.find<ApiKey>("api_keys", {
    where: { userId },
    sort: { field: "slot", direction: 1 },
    limit: MAX_API_KEYS_PER_USER + 5,
  });
  return page.items;
}

/**
 * Makes a key and returns it with its secret, which exists nowhere else afterwards. Each key
 * takes the lowest free place (slot) of the user's MAX_API_KEYS_PER_USER; the unique index on
 * (userId, slot) lets only one of two simultaneous creations have a place, and the other looks
 * again, so a burst of creations never leaves more than the cap. Audited as `api_key.created`.
 */
export async function createApiKey(
  store: Store,
  user: Pick<User, "_id" | "notificationEmail">,
  input: { name: string; scopes: ApiKeyScope[]; expiresInDays?: number | null },
  origin: RequestOrigin,
  now = new Date(),
): Promise<{ key: ApiKey; secret: string }> {
  const scopes = API_KEY_SCOPES.filter((s) => input.scopes.includes(s));
  const secret = SECRET_PREFIX +
    encodeBase32LowerCaseNoPadding(crypto.getRandomValues(new Uint8Array(32)));
  const expiresAt = input.expiresInDays
    ? new Date(now.getTime() + input.expiresInDays * DAY_MS)
    : null;
  // Each lost race means another creation took a place, so the places run out within the cap.
  for (let attempt = 0; attempt <= MAX_API_KEYS_PER_USER; attempt++) {
    const taken = new Set((await listApiKeys(store, user._id)).map((k) => k.slot));
    const slot = [...Array(MAX_API_KEYS_PER_USER).keys()].find((n) => !taken.has(n));
    if (slot === undefined) break;
    const doc: NewDoc<ApiKey> & { _id: string } = {
      _id: newId(now.getTime()),
      userId: user._id,
      name: input.name,
      scopes,
      slot,
      secretHash: hashSecret(secret),
      displayPrefix: secret.slice(0, DISPLAY_LENGTH),
      createdAt: now,
      expiresAt,
      lastUsedAt: null,
      lastIp: null,
    };
    const key: ApiKey = { ...doc, _v: 1 };
    try {
      await store.commit([
        { op: "insert", collection: "api_keys", doc },
        auditOp({
          action: "api_key.created",
          outcome: "success",
          userId: user._id,
          origin,
          details: {
            keyId: key._id,
            name: key.name,
            scopes: scopes.join(","),
            prefix: key.displayPrefix,
          },
        }, now),
        // A key someone else made with a stolen session would trade as the user: say so at once.
        noticeOp(user, {
          kind: "security",
          title: `API key created: ${key.name}`,
          body: `It can ${
            scopes.includes("trade") ? "read and trade" : "read"
          } (${key.displayPrefix}…). If you did not create it, revoke it and change your password.`,
          link: "/settings/keys",
        }, now),
      ]);
      return { key, secret };
    } catch (err) {
      if (err instanceof ConflictError && err.reason === "duplicate") continue;
      throw err;
    }
  }
  throw new AppError(
    422,
    "too_many_api_keys",
    `You can have at most ${MAX_API_KEYS_PER_USER} API keys. Revoke one you no longer use first.`,
  );
}

/**
 * Revokes one of the user's keys at once (the document is deleted, so its next request is 401);
 * another user's key is a 404. `actorId` names an admin revoking someone else's key.
 */
export async function revokeApiKey(
  store: Store,
  userId: string,
  keyId: string,
  origin: RequestOrigin,
  actorId: string | null = null,
  now = new Date(),
): Promise<void> {
  const key = await store.get<ApiKey>("api_keys", keyId);
  if (!key || key.userId !== userId) throw notFound("No such API key.");
  try {
    await store.commit([
      { op: "delete", collection: "api_keys", id: key._id },
      auditOp({
        action: "api_key.revoked",
        outcome: "success",
        userId,
        actorId,
        origin,
        details: { keyId: key._id, name: key.name, prefix: key.displayPrefix },
      }, now),
    ]);
  } catch (err) {
    // Revoked by another request meanwhile: the key is gone either way, and that one audited it.
    if (err instanceof ConflictError && err.reason === "missing") {
      throw notFound("No such API key.");
    }
    throw err;
  }
}

/**
 * Revokes every key of a user, audited with `reason` (a password reset: whoever knew the old
 * password may have made keys). Returns how many were revoked.
 */
export async function revokeUserApiKeys(
  store: Store,
  userId: string,
  reason: string,
  origin: RequestOrigin,
  actorId: string | null = null,
  now = new Date(),
): Promise<number> {
  let revoked = 0;
  for (const key of await listApiKeys(store, userId)) {
    try {
      await store.delete("api_keys", key._id);
      revoked++;
    } catch (err) {
      if (!(err instanceof ConflictError && err.reason === "missing")) throw err;
    }
  }
  if (revoked > 0) {
    await audit(store, {
      action: "api_key.revoked",
      outcome: "success",
      userId,
      actorId,
      origin,
      details: { keys: revoked, reason },
    }, now);
  }
  return revoked;
}

/** Why a presented key was refused; the message says it without saying more than needed. */
export type ApiKeyRefusal = "invalid" | "expired";

/**
 * The key and user a presented secret belongs to, or why not: unknown, revoked and malformed
 * secrets, and keys of a user who is gone or suspended, are `invalid`; a key past its expiry is
 * `expired`. Records the use: `lastUsedAt` at most once a minute, and at once (audited as
 * `api_key.new_address`) when the request comes from another address than the last one.
 */
export async function authenticateApiKey(
  store: Store,
  secret: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<{ key: ApiKey; user: User } | { refused: ApiKeyRefusal }> {
  if (!SECRET_SHAPE.test(secret)) return { refused: "invalid" };
  const key = await store.findOne<ApiKey>("api_keys", { secretHash: hashSecret(secret) });
  // The index found the hash; comparing again in constant time keeps that lookup from being the
  // only check, should a backend ever match loosely.
  if (!key || !secretMatches(secret, key.secretHash)) return { refused: "invalid" };
  if (isExpired(key, now)) return { refused: "expired" };
  const user = await store.get<User>("users", key.userId);
  // Suspension refuses the key while it lasts; the key itself stays, as the admin may revoke it.
  if (!user || user.role === "SUSPENDED") return { refused: "invalid" };
  const newAddress = key.lastIp !== origin.ip;
  const due = key.lastUsedAt === null ||
    now.getTime() - key.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS;
  if (newAddress || due) {
    try {
      // At the version read: of simultaneous first requests from a new address, one records
      // and audits it, the others go on without writing.
      await store.commit([
        {
          op: "update",
          collection: "api_keys",
          id: key._id,
          set: { lastUsedAt: now, lastIp: origin.ip },
          ifVersion: key._v,
        },
        ...(newAddress
          ? [auditOp({
            action: "api_key.new_address",
            outcome: "success",
            userId: user._id,
            origin,
            details: { keyId: key._id, prefix: key.displayPrefix, previousIp: key.lastIp },
          }, now)]
          : []),
      ]);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      // Revoked between the read and the write: refused like any revoked key.
      if (err.reason === "missing") return { refused: "invalid" };
    }
  }
  return { key, user };
}

/** Whether a key authenticated earlier still holds (a live stream re-checks it). */
export async function apiKeyStillValid(
  store: Store,
  keyId: string,
  now = new Date(),
): Promise<boolean> {
  const key = await store.get<ApiKey>("api_keys", keyId);
  if (!key || isExpired(key, now)) return false;
  const user = await store.get<User>("users", key.userId);
  return user !== null && user.role !== "SUSPENDED";
}
