/**
 * Fixed-point decimals for money, prices and quantities (docs/design.md, Money invariants):
 * bigint counts of 10^-8, exact addition, and explicit rounding (half-even unless a caller asks
 * otherwise). No float ever touches an amount; JSON carries decimal strings.
 */

/** Every amount is an integer count of 10^-SCALE. Eight places hold crypto quantities (satoshis). */
export const SCALE = 8;
const ONE = 10n ** BigInt(SCALE);
/** Larger magnitudes than this are refused as input: far beyond any real order, far inside bigint. */
const MAX_INPUT = 10n ** 15n * ONE;

/** A fixed-point amount: an integer number of 10^-8 units. */
export type Fixed = bigint;

/** How to round away digits beyond the kept decimals. */
export type Rounding = "half_even" | "floor" | "ceil";

/** Why an input is not an amount; the message names the field and is safe to show. */
export class DecimalError extends Error {
  constructor(
    readonly code: "not_a_number" | "too_many_decimals" | "out_of_range",
    message: string,
  ) {
    super(message);
    this.name = "DecimalError";
  }
}

/**
 * Parses a decimal string ("187.25", "-3", "0.00012") or a JSON number (taken in its shortest
 * decimal form, so 0.1 is exactly 0.1) with at most `maxDecimals` places.
 */
export function parseFixed(input: unknown, maxDecimals: number, field = "value"): Fixed {
  let text: string;
  if (typeof input === "number") {
    if (!Number.isFinite(input)) {
      throw new DecimalError("not_a_number", `${field} must be a finite number.`);
    }
    text = plainDecimal(String(input));
  } else if (typeof input === "string") text = input.trim();
  else throw new DecimalError("not_a_number", `${field} must be a decimal number such as "12.50".`);
  const match = /^([+-]?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) {
    throw new DecimalError("not_a_number", `${field} must be a decimal number such as "12.50".`);
  }
  const [, sign, whole, fraction = ""] = match;
  const significant = fraction.replace(/0+$/, "");
  if (maxDecimals > SCALE) throw new RangeError(`at most ${SCALE} decimals can be kept`);
  if (significant.length > maxDecimals) {
    throw new DecimalError(
      "too_many_decimals",
      maxDecimals === 0
        ? `${field} must be a whole number.`
        : `${field} allows at most ${maxDecimals} decimal place${maxDecimals === 1 ? "" : "s"}.`,
    );
  }
  const value = BigInt(whole) * ONE + BigInt(significant.padEnd(SCALE, "0") || "0");
  if (value > MAX_INPUT) throw new DecimalError("out_of_range", `${field} is too large.`);
  return sign === "-" ? -value : value;
}

/**
 * The decimal string of an amount, with at least `minDecimals` places and no trailing zeros
 * beyond them: formatFixed(187_250_000_00n) → "187.25", formatFixed(ONE / 8n, 2) → "0.125".
 */
export function formatFixed(value: Fixed, minDecimals = 2): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const whole = abs / ONE;
  let fraction = (abs % ONE).toString().padStart(SCALE, "0").replace(/0+$/, "");
  if (fraction.length < minDecimals) fraction = fraction.padEnd(minDecimals, "0");
  return `${negative ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`;
}

const USD = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

/** An amount as people read dollars: formatUsd(90705000000000n) → "$907,050.00". */
export function formatUsd(value: Fixed): string {
  // Intl formats a decimal string exactly; it never passes through a float.
  return USD.format(formatFixed(roundFixed(value, 2)) as Intl.StringNumericLiteral);
}

const PRICE = new Intl.NumberFormat("en-US", {
  style: "currency",
  currency: "USD",
  maximumFractionDigits: 8,
});
const QUANTITY = new Intl.NumberFormat("en-US", { maximumFractionDigits: 8 });

/** A price at its own precision, from its decimal string: "$0.14251", "$1,234.50". */
export const formatPrice = (value: string) => PRICE.format(value as Intl.StringNumericLiteral);
/** A quantity as people read it: "1,250", "0.5". */
export const formatQuantity = (value: string) =>
  QUANTITY.format(value as Intl.StringNumericLiteral);

/** Keeps `decimals` places, rounding the rest away as asked. */
export function roundFixed(value: Fixed, decimals: number, mode: Rounding = "half_even"): Fixed {
  const step = 10n ** BigInt(SCALE - decimals);
  return divideRounded(value, step, mode) * step;
}

/** a × b, rounded to `decimals` places (cash: 2). */
export function mulFixed(
  a: Fixed,
  b: Fixed,
  decimals: number,
  mode: Rounding = "half_even",
): Fixed {
  const step = 10n ** BigInt(SCALE - decimals);
  // The exact product has 2×SCALE places; one division brings it to `decimals` with one rounding.
  return divideRounded(a * b, ONE * step, mode) * step;
}

/**
 * Cash rounding against the customer (docs/design.md, Money invariants): whatever a customer pays or
 * has held — a buy's cost, a commission, a hold of buying power — is rounded up to the cent, and
 * whatever they receive — a sell's proceeds — is rounded down. Each fill is rounded on its own, so
 * splitting an order into many small fills can only cost the customer, never earn them a cent.
 */
export const CENT_DECIMALS = 2;

/** An amount a customer pays, to the cent, rounded up: roundUpToCent(1.2055) → 1.21. */
export function roundUpToCent(value: Fixed): Fixed {
  return roundFixed(value, CENT_DECIMALS, "ceil");
}

/** An amount a customer receives, to the cent, rounded down: roundDownToCent(1.2055) → 1.20. */
export function roundDownToCent(value: Fixed): Fixed {
  return roundFixed(value, CENT_DECIMALS, "floor");
}

/** qty × price to the cent, rounded up from the exact product (no earlier rounding): what a buy costs. */
export function mulUpToCent(qty: Fixed, price: Fixed): Fixed {
  return mulFixed(qty, price, CENT_DECIMALS, "ceil");
}

/** qty × price to the cent, rounded down from the exact product: what a sell brings in. */
export function mulDownToCent(qty: Fixed, price: Fixed): Fixed {
  return mulFixed(qty, price, CENT_DECIMALS, "floor");
}

/** a ÷ b, rounded to `decimals` places (an average price, say). */
export function divFixed(
  a: Fixed,
  b: Fixed,
  decimals: number,
  mode: Rounding = "half_even",
): Fixed {
  if (b === 0n) throw new RangeError("division by zero");
  const step = 10n ** BigInt(SCALE - decimals);
  return divideRounded(a * ONE, b * step, mode) * step;
}

/** The exact sum. */
export function sumFixed(values: Iterable<Fixed>): Fixed {
  let total = 0n;
  for (const v of values) total += v;
  return total;
}

/** An integer of whole units as a Fixed: fixed(5) is 5.00000000. */
export function fixed(units: number | bigint): Fixed {
  return BigInt(units) * ONE;
}

export function minFixed(a: Fixed, b: Fixed): Fixed {
  return a < b ? a : b;
}

export function maxFixed(a: Fixed, b: Fixed): Fixed {
  return a > b ? a : b;
}

export function absFixed(a: Fixed): Fixed {
  return a < 0n ? -a : a;
}

/** n ÷ d as an integer, rounded as asked (d > 0). */
function divideRounded(n: bigint, d: bigint, mode: Rounding): bigint {
  let q = n / d;
  const r = n % d;
  if (r === 0n) return q;
  // bigint division truncates toward zero; floor and ceil fix up the negative and positive sides.
  if (mode === "floor") return r < 0n ? q - 1n : q;
  if (mode === "ceil") return r > 0n ? q + 1n : q;
  const twice = (r < 0n ? -r : r) * 2n;
  const away = n < 0n ? -1n : 1n;
  if (twice > d || (twice === d && q % 2n !== 0n)) q += away;
  return q;
}

/** "1e-7" → "0.0000001", "1.5e+21" → "1500000000000000000000": JSON numbers in plain notation. */
function plainDecimal(text: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/i.exec(text);
  if (!match) return text;
  const [, sign, whole, fraction = "", exp] = match;
  const digits = whole + fraction;
  const point = whole.length + Number(exp);
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}
