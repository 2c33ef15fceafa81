/** Fixed-point money: parsing, formatting and rounding, including properties over random amounts. */
import assert from "node:assert/strict";
import {
  DecimalError,
  divFixed,
  fixed,
  formatFixed,
  mulDownToCent,
  mulFixed,
  mulUpToCent,
  parseFixed,
  roundDownToCent,
  roundFixed,
  roundUpToCent,
  SCALE,
  sumFixed,
} from "./money.ts";

Deno.test("[money] parses decimal strings and JSON numbers in their shortest decimal form", () => {
  assert.equal(formatFixed(parseFixed("187.25", 2)), "187.25");
  assert.equal(formatFixed(parseFixed(" -3 ", 2)), "-3.00");
  assert.equal(formatFixed(parseFixed(0.1, 2)), "0.10", "0.1 is exactly one tenth");
  assert.equal(formatFixed(parseFixed(1e-7, 8), 0), "0.0000001");
  assert.equal(formatFixed(parseFixed(2.5e3, 0), 0), "2500");
  assert.equal(
    formatFixed(parseFixed("12.3400", 2)),
    "12.34",
    "trailing zeros are not extra places",
  );
  assert.equal(formatFixed(parseFixed("0.00012345", 8), 2), "0.00012345");
});

Deno.test("[money] refuses what is not an amount, with a reason", () => {
  const refuse = (input: unknown, max: number, code: DecimalError["code"]) =>
    assert.throws(
      () => parseFixed(input, max, "qty"),
      (e) => e instanceof DecimalError && e.code === code,
      String(input),
    );
  refuse("1.234", 2, "too_many_decimals");
  refuse(0.1 + 0.2, 8, "too_many_decimals");
  refuse("1.5", 0, "too_many_decimals");
  for (const bad of ["", "abc", "1e5", "1,5", "--1", ".5", "5.", "0x10", " ", "NaN", "Infinity"]) {
    refuse(bad, 8, "not_a_number");
  }
  for (const bad of [NaN, Infinity, -Infinity, null, undefined, true, {}, [], 1n]) {
    refuse(bad, 8, "not_a_number");
  }
  refuse("1" + "0".repeat(20), 2, "out_of_range");
  refuse(1e300, 2, "out_of_range");
  assert.match(
    (() => {
      try {
        parseFixed("1.5", 0, "qty");
      } catch (e) {
        return (e as Error).message;
      }
    })()!,
    /qty must be a whole number/,
  );
});

Deno.test("[money] rounding is half-even to the cent unless asked otherwise", () => {
  const r = (text: string, mode?: "half_even" | "floor" | "ceil") =>
    formatFixed(roundFixed(parseFixed(text, 8), 2, mode));
  assert.deepEqual(
    ["0.125", "0.135", "0.1251", "-0.125", "-0.135", "2.675", "0.005", "0.015"].map((x) => r(x)),
    ["0.12", "0.14", "0.13", "-0.12", "-0.14", "2.68", "0.00", "0.02"],
  );
  assert.equal(r("0.121", "ceil"), "0.13");
  assert.equal(r("-0.121", "ceil"), "-0.12");
  assert.equal(r("0.129", "floor"), "0.12");
  assert.equal(r("-0.121", "floor"), "-0.13");
  assert.equal(
    formatFixed(mulFixed(parseFixed("3", 0), parseFixed("187.255", 3), 2)),
    "561.76",
    "561.765 → .76 (even)",
  );
  assert.equal(
    formatFixed(mulFixed(parseFixed("0.00012345", 8), parseFixed("91234.56", 2), 2)),
    "11.26",
  );
  assert.equal(formatFixed(divFixed(parseFixed("100", 2), parseFixed("3", 0), 4)), "33.3333");
  assert.throws(() => divFixed(fixed(1), 0n, 2), RangeError);
});

/** A deterministic generator, so a failing case can be replayed. */
function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

Deno.test("[money] properties: round trips, exact sums, no drift over many random amounts", () => {
  const random = rng(42);
  const amount = () =>
    `${Math.floor(random() * 1e7)}.${String(Math.floor(random() * 100)).padStart(2, "0")}`;
  let total = 0n;
  let totalCents = 0n;
  for (let i = 0; i < 5000; i++) {
    const text = amount();
    const value = parseFixed(text, 2);
    assert.equal(formatFixed(value), text.replace(/^0+(?=\d)/, ""), "format inverts parse");
    total += value;
    totalCents += BigInt(text.replace(".", ""));
    // Adding then taking away leaves exactly nothing: no drift.
    assert.equal(value + parseFixed(`-${text}`, 2), 0n);
  }
  assert.equal(total, totalCents * 10n ** BigInt(SCALE - 2), "the sum is exact to the cent");
  assert.equal(sumFixed([total, -total]), 0n);

  // Splitting a fill into parts never creates or loses a cent when each part is rounded the same way.
  for (let i = 0; i < 2000; i++) {
    const qty = BigInt(1 + Math.floor(random() * 500));
    const price = parseFixed(
      `${Math.floor(random() * 5000)}.${String(Math.floor(random() * 10000)).padStart(4, "0")}`,
      4,
    );
    const cost = mulFixed(fixed(qty), price, 2);
    assert.equal(cost % 10n ** BigInt(SCALE - 2), 0n, "costs are whole cents");
    const exact = fixed(qty) * price; // 16 places
    const error = cost * 10n ** BigInt(SCALE) - exact;
    assert.ok(
      (error < 0n ? -error : error) <= 10n ** BigInt(SCALE + SCALE - 2) / 2n,
      "within half a cent",
    );
  }
});

Deno.test("[money] cash is rounded against the customer: what they pay up, what they receive down", () => {
  // The probe's fill: 5.2791767 DOGE at 0.22835 is exactly 1.205499999… dollars.
  const qty = parseFixed("5.2791767", 8);
  const price = parseFixed("0.22835", 8);
  assert.equal(formatFixed(mulUpToCent(qty, price)), "1.21");
  assert.equal(formatFixed(mulDownToCent(qty, price)), "1.20");
  assert.equal(formatFixed(roundUpToCent(parseFixed("1.20000001", 8))), "1.21");
  assert.equal(formatFixed(roundDownToCent(parseFixed("1.20999999", 8))), "1.20");
  assert.equal(formatFixed(roundUpToCent(parseFixed("3", 0))), "3.00", "whole cents stay");

  // Over random fills, the customer never gets a fraction of a cent: a cost is at least the exact
  // product and within a cent of it, proceeds at most the exact product and within a cent of it.
  const random = rng(7);
  const cent = 10n ** BigInt(SCALE + SCALE - 2);
  for (let i = 0; i < 2000; i++) {
    const q = BigInt(1 + Math.floor(random() * 1e9));
    const p = BigInt(1 + Math.floor(random() * 1e9));
    const exact = q * p; // 16 places
    const up = mulUpToCent(q, p) * 10n ** BigInt(SCALE);
    const down = mulDownToCent(q, p) * 10n ** BigInt(SCALE);
    assert.ok(up >= exact && up - exact < cent, `${q} × ${p} up`);
    assert.ok(down <= exact && exact - down < cent, `${q} × ${p} down`);
  }
});
