/** Identifiers: time-ordered, URL-safe, 128-bit ids shared by every storage backend. */

// Crockford base32 keeps the textual order equal to the numeric order, so ids sort by creation time.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const RANDOM_CHARS = 16;

let lastTime = -1;
let lastRandom: number[] = [];

/**
 * A new id: 48 bits of millisecond time then 80 bits from the CSPRNG (the ULID layout),
 * 26 characters. Within one process ids are strictly increasing even inside one millisecond
 * (ULID's monotonic mode: the random part of the previous id plus one), so "newest first by id"
 * is exact for rows this process wrote.
 */
export function newId(now: number = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  if (now !== lastTime || !increment(lastRandom)) {
    const random = crypto.getRandomValues(new Uint8Array(RANDOM_CHARS));
    // The top bit stays clear so a burst in one millisecond has room to count upwards.
    lastRandom = [...random].map((byte, i) => i === 0 ? byte & 15 : byte & 31);
    lastTime = now;
  }
  return time + lastRandom.map((digit) => ALPHABET[digit]).join("");
}

/** Adds one to a base-32 digit array in place; false when it would overflow. */
function increment(digits: number[]): boolean {
  for (let i = digits.length - 1; i >= 0; i--) {
    if (digits[i] < 31) {
      digits[i]++;
      return true;
    }
    digits[i] = 0;
  }
  return false;
}
