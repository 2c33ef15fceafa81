/** Two-factor authentication: TOTP keys and codes (RFC 6238) and single-use recovery codes. */
import { hmac } from "@oslojs/crypto/hmac";
import { SHA256 } from "@oslojs/crypto/sha2";
import { constantTimeEqual } from "@oslojs/crypto/subtle";
import { createTOTPKeyURI, generateHOTP, verifyHOTP } from "@oslojs/otp";
import { encodeBase32UpperCaseNoPadding, encodeHexLowerCase } from "@oslojs/encoding";

/**
 * Wrong codes in a row after which the caller stops accepting codes for the pending sign-in.
 * Each guess hits one of the 3 accepted steps with a chance of 3 in a million, so 5 guesses
 * succeed about 1.5 times in 100 000.
 */
export const TOTP_MAX_FAILURES = 5;

// SHA-1, 6 digits, 30 s: what every authenticator app supports; several ignore other values.
const PERIOD_SECONDS = 30;
const DIGITS = 6;
// One step either side absorbs clock drift and a code typed just as it rolled over.
const STEP_WINDOW = 1;
const KEY_BYTES = 20;

// Crockford's base32: no i, l, o or u, so nothing reads as another character.
const RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const RECOVERY_CODE_COUNT = 10;
const RECOVERY_CODE_LENGTH = 10;

/** A new TOTP key: 160 bits from the CSPRNG, the HMAC-SHA-1 key size RFC 4226 recommends. */
export function generateTotpKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(KEY_BYTES));
}

/** The `otpauth://totp/…` URI that an authenticator app reads from the enrolment QR code. */
export function totpKeyUri(
  key: Uint8Array,
  accountEmail: string,
  issuer = "Orion Assets Broker",
): string {
  // URLSearchParams writes a space as "+", which Google Authenticator and others show literally
  // (oslo-project/otp#8); the key URI format wants %20. Neither encoder emits any other "+".
  return createTOTPKeyURI(issuer, accountEmail, key, PERIOD_SECONDS, DIGITS).replaceAll("+", "%20");
}

/** The key in base32 (RFC 4648, no padding), in groups of 4, for people who type it in. */
export function formatTotpKey(key: Uint8Array): string {
  return (encodeBase32UpperCaseNoPadding(key).match(/.{1,4}/g) ?? []).join(" ");
}

/** The code for the time step that contains `now`. */
export function totpCode(key: Uint8Array, now: Date): string {
  return generateHOTP(key, BigInt(timeStep(now)), DIGITS);
}

/**
 * The matched time step, or null. Refuses steps <= lastUsedStep (a code is never accepted twice).
 * Accepts only exactly 6 ASCII digits (spaces stripped).
 */
export function verifyTotp(
  key: Uint8Array,
  code: string,
  now: Date,
  lastUsedStep: number | null,
): number | null {
  const otp = code.replace(/\s/g, "");
  if (!/^[0-9]{6}$/.test(otp)) return null;
  // TOTP is HOTP with the time step as counter (RFC 6238 §4). The library's TOTP verifiers read
  // the clock and answer only yes or no; replay protection needs to know which step matched.
  const current = timeStep(now);
  for (let step = current - STEP_WINDOW; step <= current + STEP_WINDOW; step++) {
    if (lastUsedStep !== null && step <= lastUsedStep) continue;
    if (verifyHOTP(key, BigInt(step), DIGITS, otp)) return step;
  }
  return null;
}

/**
 * 10 recovery codes, each 10 characters from an unambiguous alphabet, shown as xxxxx-xxxxx,
 * ≥ 50 bits each.
 */
export function generateRecoveryCodes(): string[] {
  const codes = new Set<string>();
  while (codes.size < RECOVERY_CODE_COUNT) {
    let code = "";
    // 256 is a multiple of 32, so the low 5 bits of a random byte are uniform: 50 bits per code.
    for (const byte of crypto.getRandomValues(new Uint8Array(RECOVERY_CODE_LENGTH))) {
      code += RECOVERY_ALPHABET[byte & 31];
    }
    codes.add(`${code.slice(0, 5)}-${code.slice(5)}`);
  }
  return [...codes];
}

/**
 * HMAC-SHA-256 (keyed with AUTH_SECRET) of the normalised code: lowercase, no dashes or spaces,
 * i and l read as 1, o as 0. A slow password hash stretches secrets people choose; these are 50
 * random bits used once, so a fast hash is enough — but 50 bits can be searched offline by a GPU,
 * so the key makes a copy of the database alone useless for that.
 */
export function hashRecoveryCode(authSecret: string, code: string): string {
  const key = new TextEncoder().encode(authSecret);
  return encodeHexLowerCase(
    hmac(SHA256, key, new TextEncoder().encode(normalizeRecoveryCode(code))),
  );
}

/** Index of the matching hash in `hashes` (constant-time compare of each), or -1. */
export function findRecoveryCode(authSecret: string, hashes: string[], code: string): number {
  const wanted = new TextEncoder().encode(hashRecoveryCode(authSecret, code));
  let found = -1;
  // Every hash is compared, so the time taken does not tell which position matched.
  hashes.forEach((hash, index) => {
    if (constantTimeEqual(new TextEncoder().encode(hash), wanted) && found === -1) found = index;
  });
  return found;
}

function timeStep(now: Date): number {
  return Math.floor(now.getTime() / (PERIOD_SECONDS * 1000));
}

// Crockford's reading rules: the letters left out of the alphabet are read as the digits they
// resemble, so a code copied by hand still matches.
function normalizeRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, "").replace(/[il]/g, "1").replace(/o/g, "0");
}
