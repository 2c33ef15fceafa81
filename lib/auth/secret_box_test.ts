/** Sealing small secrets with AES-256-GCM under a key derived from AUTH_SECRET. */
import assert from "node:assert/strict";
import { openSecret, sealSecret } from "./secret_box.ts";

const SECRET = "a-test-auth-secret-that-is-at-least-32-characters";
const KEY = new TextEncoder().encode("12345678901234567890");

Deno.test("[secret_box] a sealed secret opens to the same bytes", async () => {
  const sealed = await sealSecret(SECRET, KEY);
  assert.match(sealed, /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
  assert.deepEqual(await openSecret(SECRET, sealed), KEY);
  assert.deepEqual(
    await openSecret(SECRET, await sealSecret(SECRET, new Uint8Array())),
    new Uint8Array(),
  );
});

Deno.test("[secret_box] every seal uses a fresh IV, so equal secrets do not look equal", async () => {
  assert.notEqual(await sealSecret(SECRET, KEY), await sealSecret(SECRET, KEY));
});

Deno.test("[secret_box] a changed IV, ciphertext or tag is refused", async () => {
  const sealed = await sealSecret(SECRET, KEY);
  const [version, iv, ciphertext] = sealed.split(".");
  const flip = (text: string, index: number) => {
    const bytes = Uint8Array.fromBase64(text, { alphabet: "base64url" });
    bytes[index] ^= 1;
    return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
  };
  const tampered = [
    [version, flip(iv, 0), ciphertext],
    [version, iv, flip(ciphertext, 0)],
    [version, iv, flip(ciphertext, KEY.length + 15)], // the last byte of the GCM tag
    [version, iv, ciphertext.slice(0, -4)],
  ].map((parts) => parts.join("."));
  for (const value of tampered) {
    await assert.rejects(openSecret(SECRET, value), /cannot be opened|malformed/, value);
  }
});

Deno.test("[secret_box] malformed values are refused with a clear error", async () => {
  const sealed = await sealSecret(SECRET, KEY);
  for (
    const value of ["", "v1", "v1.abc", sealed.replace("v1.", "v2."), `${sealed}.x`, "v1.!!!.???"]
  ) {
    await assert.rejects(openSecret(SECRET, value), /malformed/, value);
  }
});

Deno.test("[secret_box] a value sealed under another AUTH_SECRET is refused", async () => {
  const sealed = await sealSecret(SECRET, KEY);
  await assert.rejects(openSecret(`${SECRET}-rotated`, sealed), /cannot be opened/);
});

Deno.test("[secret_box] the output never contains the plaintext, in any common encoding", async () => {
  const plaintext = new TextEncoder().encode("JBSWY3DPEHPK3PXP-plaintext-marker");
  const sealed = await sealSecret(SECRET, plaintext);
  const text = new TextDecoder().decode(plaintext);
  for (
    const form of [
      text,
      plaintext.toBase64(),
      plaintext.toBase64({ alphabet: "base64url", omitPadding: true }),
      plaintext.toHex(),
    ]
  ) {
    assert.ok(!sealed.includes(form.slice(0, 12)), form);
  }
  const ciphertext = Uint8Array.fromBase64(sealed.split(".")[2], { alphabet: "base64url" });
  assert.ok(!new TextDecoder().decode(ciphertext).includes("plaintext-marker"));
});

Deno.test("[secret_box] each purpose has its own key: a webhook secret does not open as a TOTP key", async () => {
  const sealed = await sealSecret(SECRET, KEY, "webhook-secret");
  assert.deepEqual(await openSecret(SECRET, sealed, "webhook-secret"), KEY);
  await assert.rejects(openSecret(SECRET, sealed), /cannot be opened/);
  await assert.rejects(openSecret(SECRET, await sealSecret(SECRET, KEY), "webhook-secret"));
});

Deno.test("[secret_box] a secret sealed for one purpose does not open as another", async () => {
  const sealed = await sealSecret(SECRET, KEY, "signal-secret");
  assert.deepEqual(await openSecret(SECRET, sealed, "signal-secret"), KEY);
  await assert.rejects(() => openSecret(SECRET, sealed, "totp"));
  const totp = await sealSecret(SECRET, KEY);
  await assert.rejects(() => openSecret(SECRET, totp, "signal-secret"));
});
