/** Identifiers: time-ordered, URL-safe, 128-bit ids shared by every storage backend. */

// Crockford base32 keeps the textual order equal to the numeric order, so ids sort by creation time.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/**
 * A new id: 48 bits of millisecond time then 80 bits from the CSPRNG (the ULID layout),
 * 26 characters. Ids made in the same millisecond are unordered among themselves.
 */
export function newId(now: number = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = crypto.getRandomValues(new Uint8Array(16));
  let rest = "";
  for (let i = 0; i < 16; i++) rest += ALPHABET[random[i] & 31];
  return time + rest;
}
