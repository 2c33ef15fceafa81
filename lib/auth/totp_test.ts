/** TOTP codes, the step window and replay, key URIs, and recovery codes. */
import assert from "node:assert/strict";
import { generateHOTP } from "@oslojs/otp";
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import {
  findRecoveryCode,
  formatTotpKey,
  generateRecoveryCodes,
  generateTotpKey,
  hashRecoveryCode,
  TOTP_MAX_FAILURES,
  totpCode,
  totpKeyUri,
  verifyTotp,
} from "./totp.ts";

const SECRET = "test-auth-secret-that-is-long-enough-0123";

// RFC 6238 Appendix B, SHA-1 rows: the 20-byte ASCII key, Unix time in seconds, 8-digit TOTP.
const RFC_KEY = new TextEncoder().encode("12345678901234567890");
const RFC_VECTORS: [number, string][] = [
  [59, "94287082"],
  [1111111109, "07081804"],
  [1111111111, "14050471"],
  [1234567890, "89005924"],
  [2000000000, "69279037"],
  [20000000000, "65353130"],
];
const at = (seconds: number) => new Date(seconds * 1000);
const step = (seconds: number) => Math.floor(seconds / 30);

Deno.test("[totp] the library reproduces RFC 6238's 8-digit SHA-1 vectors", () => {
  for (const [seconds, expected] of RFC_VECTORS) {
    assert.equal(generateHOTP(RFC_KEY, BigInt(step(seconds)), 8), expected, `T=${seconds}`);
  }
});

Deno.test("[totp] 6-digit codes are the vectors' last 6 digits, and verify at their step", () => {
  for (const [seconds, expected] of RFC_VECTORS) {
    assert.equal(totpCode(RFC_KEY, at(seconds)), expected.slice(-6), `T=${seconds}`);
    assert.equal(verifyTotp(RFC_KEY, expected.slice(-6), at(seconds), null), step(seconds));
  }
});

Deno.test("[totp] codes from one step either side are accepted and report their own step", () => {
  const now = at(1_700_000_015);
  const current = step(1_700_000_015);
  for (const offset of [-1, 0, 1]) {
    const code = totpCode(RFC_KEY, at((current + offset) * 30));
    assert.equal(verifyTotp(RFC_KEY, code, now, null), current + offset, `offset ${offset}`);
  }
});

Deno.test("[totp] codes two or more steps away are refused", () => {
  const now = at(1111111111);
  for (const offset of [-3, -2, 2, 3]) {
    const code = totpCode(RFC_KEY, at(1111111111 + offset * 30));
    assert.equal(verifyTotp(RFC_KEY, code, now, null), null, `offset ${offset}`);
  }
});

Deno.test("[totp] a code is never accepted twice, nor any code from an earlier step", () => {
  const now = at(1_700_000_015);
  const code = totpCode(RFC_KEY, now);
  const used = verifyTotp(RFC_KEY, code, now, null);
  assert.equal(used, step(1_700_000_015));
  assert.equal(verifyTotp(RFC_KEY, code, now, used), null, "replay of the same code");
  assert.equal(verifyTotp(RFC_KEY, code, at(1_700_000_045), used), null, "replay a step later");
  const previous = totpCode(RFC_KEY, at(1_700_000_015 - 30));
  assert.equal(verifyTotp(RFC_KEY, previous, now, used), null, "an older step after a newer one");
  const next = totpCode(RFC_KEY, at(1_700_000_015 + 30));
  assert.equal(verifyTotp(RFC_KEY, next, now, used), used + 1, "the next step is still fine");
});

Deno.test("[totp] only exactly 6 ASCII digits are accepted; spaces are ignored", () => {
  const now = at(59);
  assert.equal(verifyTotp(RFC_KEY, "287 082", now, null), step(59));
  assert.equal(verifyTotp(RFC_KEY, " 287082\n", now, null), step(59));
  for (
    const code of ["", "28708", "2870820", "94287082", "28708a", "+87082", "-87082", "２８７０８２"]
  ) {
    assert.equal(verifyTotp(RFC_KEY, code, now, null), null, JSON.stringify(code));
  }
  assert.equal(TOTP_MAX_FAILURES, 5);
});

Deno.test("[totp] keys are 160 random bits", () => {
  const key = generateTotpKey();
  assert.equal(key.length, 20);
  assert.notDeepEqual(generateTotpKey(), key);
});

Deno.test("[totp] the key URI names issuer, account and parameters, percent-encoded", () => {
  const key = generateTotpKey();
  const uri = totpKeyUri(key, "a+b@example.com");
  const secret = formatTotpKey(key).replaceAll(" ", "");
  assert.equal(
    uri,
    "otpauth://totp/Orion%20Assets%20Broker:a%2Bb%40example.com" +
      `?issuer=Orion%20Assets%20Broker&algorithm=SHA1&secret=${secret}&period=30&digits=6`,
  );
  const parsed = new URL(uri);
  assert.equal(decodeURIComponent(parsed.pathname), "/Orion Assets Broker:a+b@example.com");
  assert.equal(parsed.searchParams.get("issuer"), "Orion Assets Broker");
  assert.deepEqual(decodeBase32IgnorePadding(parsed.searchParams.get("secret")!), key);
  assert.match(
    totpKeyUri(key, "x@example.com", "Acme & Co: Ltd"),
    /^otpauth:\/\/totp\/Acme%20%26%20Co%3A%20Ltd:x%40example\.com\?issuer=Acme%20%26%20Co%3A%20Ltd&/,
  );
});

Deno.test("[totp] the typed form of the key is base32 in groups of 4 and decodes to the key", () => {
  const key = generateTotpKey();
  const formatted = formatTotpKey(key);
  assert.match(formatted, /^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/);
  assert.deepEqual(decodeBase32IgnorePadding(formatted.replaceAll(" ", "")), key);
  assert.equal(formatTotpKey(RFC_KEY), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");
});

Deno.test("[totp] recovery codes: 10 unique xxxxx-xxxxx codes of 50 random bits each", () => {
  const codes = generateRecoveryCodes();
  assert.equal(codes.length, 10);
  assert.equal(new Set(codes).size, 10);
  for (const code of codes) assert.match(code, /^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/);
  // 32 symbols drawn uniformly: 10 × log2(32) = 50 bits. Over many codes, every symbol shows up.
  const seen = new Set(
    Array.from({ length: 20 }, generateRecoveryCodes).flat().join("").replaceAll("-", ""),
  );
  assert.equal(seen.size, 32);
  assert.equal(10 * Math.log2(seen.size), 50);
});

Deno.test("[totp] a recovery code is found by its hash, however it is typed", () => {
  const codes = generateRecoveryCodes();
  const hashes = codes.map((c) => hashRecoveryCode(SECRET, c));
  for (const hash of hashes) assert.match(hash, /^[0-9a-f]{64}$/);
  assert.equal(findRecoveryCode(SECRET, hashes, codes[3]), 3);
  const typed = ` ${codes[7].toUpperCase().replace("-", " ")} `;
  assert.equal(findRecoveryCode(SECRET, hashes, typed), 7);
  assert.equal(hashRecoveryCode(SECRET, "abc1o-0l2de"), hashRecoveryCode(SECRET, "ABCI0 O12DE"));
  assert.notEqual(hashRecoveryCode(SECRET, codes[0]), hashRecoveryCode("another-secret", codes[0]));
  assert.equal(findRecoveryCode(SECRET, hashes, "zzzzz-zzzzz"), -1);
  assert.equal(findRecoveryCode(SECRET, hashes, ""), -1);
  assert.equal(findRecoveryCode(SECRET, [], codes[0]), -1);
});

Deno.test("[totp] a used recovery code, once removed, is not found again", () => {
  const codes = generateRecoveryCodes();
  const hashes = codes.map((c) => hashRecoveryCode(SECRET, c));
  const index = findRecoveryCode(SECRET, hashes, codes[2]);
  const remaining = hashes.toSpliced(index, 1);
  assert.equal(findRecoveryCode(SECRET, remaining, codes[2]), -1);
  assert.equal(findRecoveryCode(SECRET, remaining, codes[3]), 2, "the others still work");
});
