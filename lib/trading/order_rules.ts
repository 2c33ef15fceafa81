/**
 * Order rules, pure: what a valid order looks like for a security, how much buying power a buy
 * holds, and whether a quote fills an order. No I/O here, so every rule is tested directly.
 */
import { AppError } from "../errors.ts";
import {
  DecimalError,
  divFixed,
  type Fixed,
  fixed,
  formatFixed,
  formatUsd,
  mulDownToCent,
  mulFixed,
  mulUpToCent,
  parseFixed,
  roundFixed,
  roundUpToCent,
  SCALE,
} from "../money.ts";
import type { Security } from "../market/securities.ts";

export const SIDES = ["buy", "sell"] as const;
export const ORDER_TYPES = ["market", "limit", "stop", "stop_limit", "trailing_stop"] as const;
export const TIME_IN_FORCE = ["day", "gtc", "ioc", "fok"] as const;

/**
 * The time in force of an order that names none: day for shares, gtc for crypto, which trades
 * around the clock and has no day (as the trade ticket preselects). A script or a TradingView
 * signal that leaves it out gets the one its market accepts.
 */
export function defaultTimeInForce(security: Security): (typeof TIME_IN_FORCE)[number] {
  return security.assetClass === "crypto" ? "gtc" : "day";
}

/** The request's time in force, or the security's default when it names none. */
function timeInForceOf(input: OrderRequestInput, security: Security): string {
  return input.timeInForce ?? defaultTimeInForce(security);
}

/** Smallest and largest order value accepted, in dollars. */
export const MIN_ORDER_VALUE = fixed(1);
export const MAX_ORDER_VALUE = fixed(1_000_000);
/**
 * A market or stop buy that cannot fill at once holds its quantity at this much above the last
 * price, so a move before it fills is still covered (a price collar, as brokers use).
 */
const MARKET_HOLD_COLLAR = parseFixed("1.05", 2);
/** A trailing stop's percentage trail: above zero, at most this, to two decimals. */
export const MAX_TRAIL_PERCENT = fixed(50);
const TRAIL_PERCENT_DECIMALS = 2;

/** An order request after parsing: amounts are fixed-point, the rest checked. */
export type OrderRequest = {
  symbol: string;
  side: (typeof SIDES)[number];
  type: (typeof ORDER_TYPES)[number];
  timeInForce: (typeof TIME_IN_FORCE)[number];
  qty: Fixed;
  limitPrice: Fixed | null;
  /** A trailing stop's is null until it is anchored to a price (`anchorTrail`). */
  stopPrice: Fixed | null;
  /** A trailing stop's trail: exactly one of the two, null on every other type. */
  trailPercent: Fixed | null;
  trailPrice: Fixed | null;
  /** A limit day order that may also fill in pre-market and after-hours (shares only). */
  extendedHours: boolean;
};

/** Raw request fields (strings or JSON numbers for amounts), as the API and the form send them. */
export type OrderRequestInput = {
  side: string;
  type: string;
  /** Absent: `defaultTimeInForce`. */
  timeInForce?: string;
  qty?: unknown;
  /** Dollars instead of `qty`, for market orders (`parseNotional`). */
  notional?: unknown;
  limitPrice?: unknown;
  stopPrice?: unknown;
  trailPercent?: unknown;
  trailPrice?: unknown;
  /** True to let a limit day order work in pre-market and after-hours too. */
  extendedHours?: boolean;
};

/** One whole unit at the fixed-point scale. */
const WHOLE = parseFixed("1", 0);
/** The smallest dollar order. */
const MIN_NOTIONAL = parseFixed("1", 0);

/**
 * A dollar amount instead of a quantity (`notional`, 2 decimals, at least $1), or null when the
 * request names a quantity. Only for market orders: `day` for shares, `gtc` or `ioc` for crypto
 * (which has no day). The quantity follows from the price when the order is placed
 * (`notionalQty`).
 */
export function parseNotional(input: OrderRequestInput, security: Security): Fixed | null {
  if (!present(input.notional)) return null;
  if (present(input.qty)) {
    throw invalid("notional", "Send qty or notional, not both: a quantity or a dollar amount.");
  }
  const notional = amount(input.notional, 2, "notional");
  if (notional < MIN_NOTIONAL) throw invalid("notional", "A dollar amount is at least $1.00.");
  if (input.type !== "market") {
    throw invalid("notional", "Dollar amounts are for market orders; send qty for other types.");
  }
  const crypto = security.assetClass === "crypto";
  const timeInForce = timeInForceOf(input, security);
  if (crypto ? timeInForce === "fok" : timeInForce !== "day") {
    throw invalid(
      "timeInForce",
      crypto
        ? "Dollar orders for crypto are gtc or ioc."
        : "Dollar orders for shares are day orders.",
    );
  }
  return notional;
}

/**
 * What a dollar amount buys or sells at `price` (the ask for a buy, the bid for a sell), rounded
 * down to the security's smallest unit: the cost never exceeds the amount, and a sell never
 * brings in more than it, so the rounding is never in the customer's favour.
 */
export function notionalQty(notional: Fixed, price: Fixed, security: Security): Fixed {
  const qty = divFixed(notional, price, security.qtyDecimals, "floor");
  if (qty <= 0n) {
    throw invalid(
      "notional",
      `${formatUsd(notional)} buys less than the smallest quantity of ${security.symbol} at ${
        formatUsd(price)
      }.`,
    );
  }
  return qty;
}

/** Checks a request against the security's rules; throws 422 with the contract's codes. */
export function parseOrderRequest(input: OrderRequestInput, security: Security): OrderRequest {
  const side = oneOf(input.side, SIDES, "side");
  const type = oneOf(input.type, ORDER_TYPES, "type");
  const timeInForce = oneOf(timeInForceOf(input, security), TIME_IN_FORCE, "timeInForce");
  if (!present(input.qty)) {
    throw invalid("qty", "Enter a quantity (or, for a market order, a dollar amount).");
  }
  const qty = amount(
    input.qty,
    security.qtyDecimals,
    "qty",
    (digits) =>
      digits === 0
        ? `${security.symbol} trades in whole shares.`
        : `Quantity can have at most ${digits} decimals.`,
  );
  if (qty <= 0n) throw invalid("qty", "Quantity must be greater than zero.");
  // Fractions of a share are for market and limit day orders only, as brokers offer them; a
  // resting stop or an order kept past the day works in whole shares. Crypto trades in fractions.
  const fractionalShares = security.assetClass !== "crypto" && qty % WHOLE !== 0n;
  if (
    fractionalShares &&
    !((type === "market" || type === "limit") && timeInForce === "day")
  ) {
    throw invalid(
      "qty",
      "Fractions of a share are for market and limit day orders; use whole shares for this order.",
    );
  }
  const needsLimit = type === "limit" || type === "stop_limit";
  const needsStop = type === "stop" || type === "stop_limit";
  const trailing = type === "trailing_stop";
  const limitPrice = present(input.limitPrice)
    ? amount(input.limitPrice, security.priceDecimals, "limitPrice")
    : null;
  const stopPrice = present(input.stopPrice)
    ? amount(input.stopPrice, security.priceDecimals, "stopPrice")
    : null;
  if (needsLimit && limitPrice === null) {
    throw invalid("limitPrice", `A ${typeName(type)} order needs a limit price.`);
  }
  if (needsStop && stopPrice === null) {
    throw invalid("stopPrice", `A ${typeName(type)} order needs a stop price.`);
  }
  if (!needsLimit && limitPrice !== null) {
    throw invalid("limitPrice", `A ${typeName(type)} order takes no limit price.`);
  }
  if (trailing && stopPrice !== null) {
    throw invalid(
      "stopPrice",
      "A trailing-stop order moves its own stop price: send trailPercent or trailPrice instead.",
    );
  }
  if (!needsStop && stopPrice !== null) {
    throw invalid("stopPrice", `A ${typeName(type)} order takes no stop price.`);
  }
  const trailPercent = present(input.trailPercent)
    ? amount(input.trailPercent, TRAIL_PERCENT_DECIMALS, "trailPercent")
    : null;
  const trailPrice = present(input.trailPrice)
    ? amount(input.trailPrice, security.priceDecimals, "trailPrice")
    : null;
  if (!trailing) {
    for (const [field, trail] of [["trailPercent", trailPercent], ["trailPrice", trailPrice]]) {
      if (trail !== null) {
        throw invalid(field as string, `A ${typeName(type)} order takes no trail.`);
      }
    }
  } else {
    if (trailPercent === null && trailPrice === null) {
      throw invalid("trailPercent", "A trailing-stop order needs trailPercent or trailPrice.");
    }
    if (trailPercent !== null && trailPrice !== null) {
      throw invalid(
        "trailPrice",
        "Send either trailPercent or trailPrice, not both: the trail is a percentage or dollars.",
      );
    }
    if (trailPercent !== null && (trailPercent <= 0n || trailPercent > MAX_TRAIL_PERCENT)) {
      throw invalid("trailPercent", "Trail percent must be above 0 and at most 50.");
    }
    if (trailPrice !== null && trailPrice <= 0n) {
      throw invalid("trailPrice", "Trail price must be greater than zero.");
    }
    if (timeInForce !== "day" && timeInForce !== "gtc") {
      throw invalid(
        "timeInForce",
        "A trailing-stop order waits for the price to turn: timeInForce must be day or gtc.",
      );
    }
  }
  for (const [field, price] of [["limitPrice", limitPrice], ["stopPrice", stopPrice]] as const) {
    if (price !== null && price <= 0n) {
      throw invalid(field, `${LABELS[field]} must be greater than zero.`);
    }
  }
  if (security.assetClass === "crypto" && timeInForce === "day") {
    throw invalid(
      "timeInForce",
      `Crypto trades around the clock: use ${trailing || needsStop ? "gtc" : "gtc, ioc or fok"}.`,
    );
  }
  if (
    (type === "stop" || type === "stop_limit") && (timeInForce === "ioc" || timeInForce === "fok")
  ) {
    throw invalid("timeInForce", "Stop orders wait for their trigger: use day or gtc.");
  }
  // As Alpaca has it: pre-market and after-hours take limit day orders for shares only.
  const extendedHours = input.extendedHours === true;
  if (extendedHours && security.assetClass === "crypto") {
    throw invalid("extendedHours", "Crypto trades around the clock: it has no extended hours.");
  }
  if (extendedHours && (type !== "limit" || timeInForce !== "day")) {
    throw invalid(
      "extendedHours",
      "Extended hours are for limit orders with timeInForce day; turn extended hours off for this order.",
    );
  }
  return {
    symbol: security.symbol,
    side,
    type,
    timeInForce,
    qty,
    limitPrice,
    stopPrice,
    trailPercent,
    trailPrice,
    extendedHours,
  };
}

/**
 * A trailing stop's stop price for its best price so far (`hwm`: the highest last price for a
 * sell, the lowest for a buy): `trailPrice` dollars or `trailPercent` % away from it, on the
 * against-the-customer side. A percentage rarely lands on a tick, so it is rounded to the
 * security's price precision away from the customer's advantage: a sell's stop down (it triggers
 * later and so sells lower), a buy's up (it triggers sooner and so buys higher). The stop is thus
 * never more favourable to the customer than the exact trail, and every instance and
 * `deno task check` compute the same tick.
 */
export function trailingStopPrice(
  side: OrderRequest["side"],
  hwm: Fixed,
  trail: { trailPercent: Fixed | null; trailPrice: Fixed | null },
  priceDecimals: number,
): Fixed {
  // The distance is kept whole (ceil at full scale rounds it away from the customer too, and
  // exactly so: the tick rounding below lands where rounding the exact value would).
  const distance = trail.trailPrice ?? mulFixed(hwm, trail.trailPercent! / 100n, SCALE, "ceil");
  const exact = side === "sell" ? hwm - distance : hwm + distance;
  return roundFixed(exact, priceDecimals, side === "sell" ? "floor" : "ceil");
}

/**
 * Whether `last` improves on a trailing stop's best price: higher for a sell, lower for a buy.
 * Only then do its best price and stop move, so a stop never moves against the customer.
 */
export function trailImproves(side: OrderRequest["side"], hwm: Fixed, last: Fixed): boolean {
  return side === "sell" ? last > hwm : last < hwm;
}

/**
 * A trailing-stop request anchored at the price it is placed or replaced at: that price becomes
 * its best price and the stop follows from the trail. A sell whose trail leaves no positive stop
 * is refused (422), since it could never trigger. Other requests come back as they are.
 */
export function anchorTrail(
  request: OrderRequest,
  last: Fixed,
  priceDecimals: number,
): { request: OrderRequest; hwm: Fixed | null } {
  if (request.type !== "trailing_stop") return { request, hwm: null };
  const stopPrice = trailingStopPrice(request.side, last, request, priceDecimals);
  if (stopPrice <= 0n) {
    const field = request.trailPrice !== null ? "trailPrice" : "trailPercent";
    throw invalid(
      field,
      `The trail puts the stop at or below zero from the last price ${
        formatFixed(last, priceDecimals)
      }; use a smaller trail.`,
    );
  }
  return { request: { ...request, stopPrice }, hwm: last };
}

/**
 * The size limits, judged at the price the order would execute at: the quote (ask for buys, bid for
 * sells), moved to the stop when a stop must be crossed first, and capped by the limit, since a
 * buy fills at the limit or lower and a sell at the limit or higher. A buy limited far above the
 * market fills at the ask, so judging it at its limit would let a fraction of a cent through.
 */
export function checkOrderValue(request: OrderRequest, quotePrice: Fixed): void {
  const higher = (a: Fixed, b: Fixed) => a > b ? a : b;
  const lower = (a: Fixed, b: Fixed) => a < b ? a : b;
  const buy = request.side === "buy";
  let price = quotePrice;
  // A buy stop waits for the price to rise to it, a sell stop for it to fall to it.
  if (request.stopPrice !== null) {
    price = buy ? higher(price, request.stopPrice) : lower(price, request.stopPrice);
  }
  if (request.limitPrice !== null) {
    price = buy ? lower(price, request.limitPrice) : higher(price, request.limitPrice);
  }
  const value = mulFixed(request.qty, price, 2);
  if (value < MIN_ORDER_VALUE) {
    throw invalid(
      "qty",
      `The order is worth ${formatUsd(value)}; the smallest order is ${
        formatUsd(MIN_ORDER_VALUE)
      }.`,
    );
  }
  if (value > MAX_ORDER_VALUE) {
    throw invalid(
      "qty",
      `The order is worth ${formatUsd(value)}; the largest order is ${formatUsd(MAX_ORDER_VALUE)}.`,
    );
  }
}

/**
 * The cash one fill moves, to the cent and rounded against the customer from the exact
 * qty × price: a buy costs it rounded up, a sell brings in it rounded down. The trade's gross, its
 * ledger entry, the cost basis of a buy and the proceeds of a sell are all this amount, and the
 * integrity check recomputes it for every trade.
 */
export function fillCash(side: OrderRequest["side"], qty: Fixed, price: Fixed): Fixed {
  return side === "buy" ? mulUpToCent(qty, price) : mulDownToCent(qty, price);
}

/**
 * The buying power a resting buy holds until it fills, expires or is cancelled (cents, rounded
 * up): qty × limit price, or qty × (stop or last price) × the collar for market and stop orders.
 */
export function holdFor(
  request: Pick<OrderRequest, "side" | "type" | "qty" | "limitPrice" | "stopPrice">,
  last: Fixed,
  commission: Fixed,
): Fixed {
  if (request.side === "sell") return 0n;
  const value = request.limitPrice !== null
    ? mulUpToCent(request.qty, request.limitPrice)
    : mulUpToCent(mulFixed(request.qty, request.stopPrice ?? last, 8, "ceil"), MARKET_HOLD_COLLAR);
  return value + commission;
}

/** Whether a stop order's trigger is reached: buy stops at or above, sell stops at or below the last price. */
export function stopTriggered(side: OrderRequest["side"], stopPrice: Fixed, last: Fixed): boolean {
  return side === "buy" ? last >= stopPrice : last <= stopPrice;
}

/**
 * The price a (triggered) order fills at against this quote, or null when it is not marketable:
 * buys take the ask, sells the bid; a limit must be at or through the quote.
 */
export function executionPrice(
  side: OrderRequest["side"],
  limitPrice: Fixed | null,
  quote: { bid: Fixed; ask: Fixed },
): Fixed | null {
  const price = side === "buy" ? quote.ask : quote.bid;
  if (limitPrice === null) return price;
  return (side === "buy" ? price <= limitPrice : price >= limitPrice) ? price : null;
}

/** The commission of one order: a flat amount, booked with its fill, rounded up to the cent. */
export function commissionFor(flat: Fixed): Fixed {
  return roundUpToCent(flat);
}

function oneOf<const T extends readonly string[]>(
  value: string,
  allowed: T,
  field: string,
): T[number] {
  if ((allowed as readonly string[]).includes(value)) return value as T[number];
  throw invalid(field, `${LABELS[field] ?? field} must be one of ${allowed.join(", ")}.`);
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null && value !== "";
}

function amount(
  value: unknown,
  decimals: number,
  field: string,
  tooPrecise?: (decimals: number) => string,
): Fixed {
  try {
    return parseFixed(value, decimals, LABELS[field] ?? field);
  } catch (err) {
    if (!(err instanceof DecimalError)) throw err;
    // A number with more decimals than allowed gets the caller's message, when it has one.
    const precise = tooPrecise && (typeof value === "string" || typeof value === "number") &&
      new RegExp(`^\\s*\\d*\\.\\d{${decimals + 1},}\\s*$`).test(String(value));
    throw invalid(field, precise ? tooPrecise(decimals) : err.message);
  }
}

/** What the order ticket calls each field: messages name the label a person sees, details the key. */
const LABELS: Record<string, string> = {
  qty: "Quantity",
  notional: "Amount",
  limitPrice: "Limit price",
  stopPrice: "Stop price",
  trailPercent: "Trail percent",
  trailPrice: "Trail price",
  side: "Side",
  type: "Order type",
  timeInForce: "Time in force",
  extendedHours: "Extended hours",
};

function typeName(type: string): string {
  return type.replaceAll("_", "-");
}

function invalid(field: string, message: string): AppError {
  return new AppError(422, "validation_failed", message, { fields: { [field]: message } });
}
