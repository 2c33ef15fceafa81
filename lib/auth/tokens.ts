/**
 * Secret tokens for sessions, email links and password resets: `<id>.<secret>`. The id finds the
 * stored record; only a SHA-256 hash of the secret is stored, compared in constant time, so a
 * copy of the database holds nothing that opens a session or a link.
 */
import { sha256 } from "@oslojs/crypto/sha2";
import { constantTimeEqual } from "@oslojs/crypto/subtle";
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from "@oslojs/encoding";

/** A new token: a 120-bit id for lookup and a 160-bit secret, both from the CSPRNG. */
export function generateToken(): { id: string; secret: string; token: string; secretHash: string } {
  const id = encodeBase32LowerCaseNoPadding(crypto.getRandomValues(new Uint8Array(15)));
  const secret = encodeBase32LowerCaseNoPadding(crypto.getRandomValues(new Uint8Array(20)));
  return { id, secret, token: `${id}.${secret}`, secretHash: hashSecret(secret) };
}

/** Splits a presented token; null when it is not of our shape (never throws on junk). */
export function parseToken(token: string): { id: string; secret: string } | null {
  const match = /^([a-z2-7]{24})\.([a-z2-7]{32})$/.exec(token.trim());
  return match ? { id: match[1], secret: match[2] } : null;
}

export function hashSecret(secret: string): string {
  return encodeHexLowerCase(sha256(new TextEncoder().encode(secret)));
}

/** Whether `secret` hashes to `storedHash`, without leaking how much matched. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const presented = new TextEncoder().encode(hashSecret(secret));
  const stored = new TextEncoder().encode(storedHash);
  return presented.length === stored.length && constantTimeEqual(presented, stored);
}
