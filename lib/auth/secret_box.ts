/**
 * Small secrets at rest (the TOTP key, webhook and signal URL signing secrets): AES-256-GCM with a
 * key derived from AUTH_SECRET, a separate key for each purpose.
 */

const VERSION = "v1";
const IV_BYTES = 12;
// HKDF's salt strengthens extraction from weak input keying material; AUTH_SECRET is already a
// high-entropy secret, so a fixed, app-specific salt loses nothing and needs no storage. The
// info string (the purpose) separates each key from any other derived from the same AUTH_SECRET.
const HKDF_SALT = new TextEncoder().encode("orion-assets-broker:hkdf-salt");
/**
 * What a sealed secret is for. Each purpose derives its own key (the HKDF info string), so a value
 * sealed for one can never be opened as another.
 */
export type SecretPurpose = "totp" | "signal-secret" | "webhook-secret";
const HKDF_INFO: Record<SecretPurpose, Uint8Array<ArrayBuffer>> = {
  "totp": new TextEncoder().encode("orion:totp-key:v1"),
  "signal-secret": new TextEncoder().encode("orion:signal-secret:v1"),
  "webhook-secret": new TextEncoder().encode("orion:webhook-secret:v1"),
};

const keys = new Map<string, Promise<CryptoKey>>();

/** Encrypts `plaintext` as `v1.<base64url iv>.<base64url ciphertext+tag>` with a fresh random IV. */
export async function sealSecret(
  authSecret: string,
  plaintext: Uint8Array,
  purpose: SecretPurpose = "totp",
): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const key = await deriveKey(authSecret, purpose);
  // The copy gives WebCrypto the ArrayBuffer-backed view it requires (a caller's may be shared).
  const data = new Uint8Array(plaintext);
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, data),
  );
  return [VERSION, toBase64url(iv), toBase64url(ciphertext)].join(".");
}

/**
 * Decrypts a value from `sealSecret`; throws when it is malformed, tampered with, or sealed
 * under another secret.
 */
export async function openSecret(
  authSecret: string,
  sealed: string,
  purpose: SecretPurpose = "totp",
): Promise<Uint8Array> {
  const [version, iv, ciphertext, ...rest] = sealed.split(".");
  if (version !== VERSION || iv === undefined || ciphertext === undefined || rest.length > 0) {
    throw new Error("Sealed secret is malformed");
  }
  const ivBytes = fromBase64url(iv);
  if (ivBytes.length !== IV_BYTES) throw new Error("Sealed secret is malformed");
  const key = await deriveKey(authSecret, purpose);
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt({ name: "AES-GCM", iv: ivBytes }, key, fromBase64url(ciphertext)),
    );
  } catch (cause) {
    // GCM cannot tell a changed ciphertext from a different key: both fail the tag check.
    throw new Error("Sealed secret cannot be opened (tampered with, or another AUTH_SECRET)", {
      cause,
    });
  }
}

// Derivation is cached per secret and purpose, as a promise, so concurrent first calls derive once.
function deriveKey(authSecret: string, purpose: SecretPurpose): Promise<CryptoKey> {
  const cacheKey = `${purpose}\n${authSecret}`;
  let key = keys.get(cacheKey);
  if (key === undefined) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(authSecret), "HKDF", false, [
      "deriveKey",
    ]).then((material) =>
      crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: HKDF_SALT, info: HKDF_INFO[purpose] },
        material,
        { name: "AES-GCM", length: 256 },
        false,
        ["encrypt", "decrypt"],
      )
    );
    keys.set(cacheKey, key);
  }
  return key;
}

function toBase64url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  try {
    return Uint8Array.fromBase64(text, { alphabet: "base64url" });
  } catch (cause) {
    throw new Error("Sealed secret is malformed", { cause });
  }
}
