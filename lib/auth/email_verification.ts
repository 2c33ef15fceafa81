/**
 * Email verification: each request makes a single-use link token and an 8-digit code, valid for
 * 24 hours; a new request replaces the old one. The store keeps only a hash of each. Every try
 * counts against the sender's address, and every code tried against the account it would verify
 * (claimed before the code is compared); a wrong code never voids the pending one, so nobody
 * else's guesses can spoil a user's code.
 */
import { hmac } from "@oslojs/crypto/hmac";
import { SHA256 } from "@oslojs/crypto/sha2";
import { constantTimeEqual } from "@oslojs/crypto/subtle";
import { encodeHexLowerCase } from "@oslojs/encoding";
import { auditOp, type RequestOrigin } from "../audit.ts";
import { ConflictError, type Doc, type Store, type WriteOp } from "../store/port.ts";
import type { AuthContext } from "./context.ts";
import { enforceLimit, LIMITS } from "./limits.ts";
import { generateToken, parseToken, secretMatches } from "./tokens.ts";
import { credentialVersion, type Session } from "./session.ts";
import { nextCredentialVersion, normalizeEmail, type User } from "./users.ts";

export const VERIFICATION_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Starts verifying `email` for `user` (their own address at sign-up, or a new one they asked to
 * switch to) and returns what to send. Earlier verifications of the user stop working.
 */
export async function createEmailVerification(
  store: Store,
  authSecret: string,
  user: User,
  email: string,
  now = new Date(),
  /** For an email change: the session that asked, which stays signed in when it is confirmed. */
  sessionId?: string,
): Promise<{ token: string; code: string }> {
  const { id, token, secretHash } = generateToken();
  const code = randomDigits(8);
  const ops: WriteOp[] = (await userVerifications(store, user._id)).map((v) => ({
    op: "delete",
    collection: "email_verifications",
    id: v._id,
  }));
  ops.push({
    op: "insert",
    collection: "email_verifications",
    doc: {
      _id: id,
      userId: user._id,
      email,
      secretHash,
      codeHash: codeHash(authSecret, id, code),
      ...(sessionId === undefined ? {} : { sessionId }),
      createdAt: now,
      expiresAt: new Date(now.getTime() + VERIFICATION_TTL_MS),
    },
  });
  await store.commit(ops);
  return { token, code };
}

/**
 * Verifies with either the link's token or the address and its code, whichever the user has.
 * Throws 429 (with Retry-After) past the per-address or the per-account limit.
 */
export async function verifyEmail(
  ctx: AuthContext,
  input: { token: string } | { email: string; code: string },
  origin: RequestOrigin,
  now = new Date(),
): Promise<VerificationResult> {
  await enforceLimit(ctx, LIMITS.verifyPerIp, origin.ip);
  if ("token" in input) return await verifyEmailToken(ctx.store, input.token, origin, now);
  return await verifyEmailCode(ctx, input.email, input.code, origin, now);
}

/** Verifies with the emailed link's token. */
export async function verifyEmailToken(
  store: Store,
  token: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<VerificationResult> {
  const parsed = parseToken(token);
  const record = parsed && await store.get<Verification>("email_verifications", parsed.id);
  if (!parsed || !record || !secretMatches(parsed.secret, record.secretHash)) {
    return { ok: false, reason: "invalid" };
  }
  return await apply(store, record, origin, now);
}

/**
 * Verifies with the 8-digit code sent to `email`: the address being verified, which for an email
 * change is the new one. The try is counted against the account first, atomically in the rate
 * limiter, so simultaneous guesses cannot exceed the account's budget; a wrong code changes
 * nothing else.
 */
export async function verifyEmailCode(
  ctx: AuthContext,
  email: string,
  code: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<VerificationResult> {
  const page = await ctx.store.find<Verification>("email_verifications", {
    where: { email: normalizeEmail(email) },
    limit: 20,
  });
  const [record] = page.items.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  if (!record) return { ok: false, reason: "invalid" };
  await enforceLimit(ctx, LIMITS.verifyCodePerUser, record.userId);
  const digits = code.replace(/[\s-]/g, "");
  const presented = new TextEncoder().encode(codeHash(ctx.config.authSecret, record._id, digits));
  if (!constantTimeEqual(presented, new TextEncoder().encode(record.codeHash))) {
    return { ok: false, reason: "invalid" };
  }
  return await apply(ctx.store, record, origin, now);
}

/** Marks the address verified (switching the user to it, for an email change) and uses the record up. */
async function apply(
  store: Store,
  record: Verification,
  origin: RequestOrigin,
  now: Date,
): Promise<VerificationResult> {
  if (now >= record.expiresAt) {
    await store.delete("email_verifications", record._id).catch(() => {});
    return { ok: false, reason: "expired" };
  }
  const user = await store.get<User>("users", record.userId);
  if (!user) return { ok: false, reason: "invalid" };
  const changing = user.email !== record.email;
  // An email change ends every session but the one that asked for it (if it is still signed in
  // under the current credentials): the new credential version is written with the new address,
  // and that session moves to it in the same unit.
  const next = nextCredentialVersion(user);
  const asking = changing && record.sessionId
    ? await store.get<Session>("sessions", record.sessionId)
    : null;
  const keep = asking?.userId === user._id &&
      credentialVersion(asking) === credentialVersion(user)
    ? asking
    : null;
  try {
    const [, updated] = await store.commit([
      // The version check makes the record single-use even when two requests race.
      { op: "delete", collection: "email_verifications", id: record._id, ifVersion: record._v },
      {
        op: "update",
        collection: "users",
        id: user._id,
        set: { email: record.email, emailVerifiedAt: now, ...(changing ? next : {}) },
        ifVersion: user._v,
      },
      ...(keep ? [{ op: "update", collection: "sessions", id: keep._id, set: next } as const] : []),
      auditOp({
        action: changing ? "auth.email_changed" : "auth.email_verified",
        outcome: "success",
        userId: user._id,
        origin,
        ...(changing ? { details: { from: user.email, to: record.email } } : {}),
      }, now),
    ]);
    return {
      ok: true,
      user: updated as User,
      ...(changing ? { changedFrom: user.email, keptSessionId: keep?._id ?? null } : {}),
    };
  } catch (err) {
    if (!(err instanceof ConflictError)) throw err;
    if (err.reason === "duplicate") return { ok: false, reason: "email_taken" };
    return { ok: false, reason: "invalid" };
  }
}

/** The user's verifications, newest first. */
async function userVerifications(store: Store, userId: string): Promise<Verification[]> {
  const page = await store.find<Verification>("email_verifications", {
    where: { userId },
    limit: 20,
  });
  return page.items.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
}

// Eight digits are only 27 bits, so a plain hash could be reversed from a database copy by trying
// them all; keying it with AUTH_SECRET (and the record id) makes that copy useless alone.
function codeHash(authSecret: string, id: string, code: string): string {
  const key = new TextEncoder().encode(authSecret);
  return encodeHexLowerCase(hmac(SHA256, key, new TextEncoder().encode(`${id}:${code}`)));
}

/** `n` uniformly random decimal digits from the CSPRNG. */
function randomDigits(n: number): string {
  let out = "";
  while (out.length < n) {
    const [byte] = crypto.getRandomValues(new Uint8Array(1));
    // Rejecting 250–255 keeps every digit equally likely.
    if (byte < 250) out += String(byte % 10);
  }
  return out;
}

export type VerificationResult =
  | {
    ok: true;
    user: User;
    /** Set when this confirmed an email change: the address the user had before. */
    changedFrom?: string;
    /** With `changedFrom`: the session that asked for the change and is still signed in. */
    keptSessionId?: string | null;
  }
  | { ok: false; reason: "invalid" | "expired" | "email_taken" };

type Verification = Doc & {
  userId: string;
  email: string;
  secretHash: string;
  codeHash: string;
  /** The session that asked for an email change; absent at sign-up. */
  sessionId?: string;
  createdAt: Date;
  expiresAt: Date;
};
