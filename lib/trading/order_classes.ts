/**
 * Order classes, pure: brackets, OCO and OTO requests checked and split into the orders they place.
 *
 * - `bracket`: a buy entry (market or limit) with a take-profit limit sell and a stop-loss sell.
 * - `oto`: a buy entry with one of the two exits.
 * - `oco`: a take-profit limit sell and a stop-loss sell on shares already held.
 *
 * Exits are sells, because Orion has no short selling: a sell entry would need buy-back exits on a
 * short position, which a cash account cannot hold. A bracket or OTO's exits wait, `held`, until
 * the entry fills and are then sized to what filled (legs.ts). The two exits of a bracket or an
 * OCO are a pair: a fill of one shrinks the other, and the one that fills last cancels the other.
 * A pair sells the same shares, so only its take-profit reserves them (open_orders.ts footprint).
 */
import { AppError } from "../errors.ts";
import { type Fixed, formatFixed, parseFixed } from "../money.ts";
import type { Security } from "../market/securities.ts";
import type { OrderRequest } from "./order_rules.ts";

export const ORDER_CLASSES = ["simple", "bracket", "oco", "oto"] as const;
export type OrderClass = (typeof ORDER_CLASSES)[number];

/** The exits as the API sends them: `takeProfit: {limitPrice}`, `stopLoss: {stopPrice, limitPrice?}`. */
export type ExitInput = {
  orderClass?: unknown;
  takeProfit?: unknown;
  stopLoss?: unknown;
};

/** A checked class request: the exits' prices, before they are judged against the market. */
export type ClassRequest = {
  orderClass: OrderClass;
  takeProfit: { limitPrice: Fixed } | null;
  stopLoss: { stopPrice: Fixed; limitPrice: Fixed | null } | null;
};

/** What a leg is for; its type says the same (a take-profit is a limit, a stop-loss a stop). */
export type LegRole = "take_profit" | "stop_loss";

/**
 * Reads `orderClass`, `takeProfit` and `stopLoss`, and checks the entry they go with (already
 * parsed by order_rules.ts): classes need a buy entry (a limit sell for OCO), whole shares, a
 * quantity rather than dollars, and day or gtc. Throws 422 naming the field.
 */
export function parseClassRequest(
  input: ExitInput,
  entry: OrderRequest,
  security: Security,
  notional: boolean,
): ClassRequest {
  const orderClass = input.orderClass == null || input.orderClass === ""
    ? "simple"
    : oneClass(input.orderClass);
  const takeProfit = exitObject(input.takeProfit, "takeProfit");
  const stopLoss = exitObject(input.stopLoss, "stopLoss");
  if (orderClass === "simple") {
    for (const [field, exit] of [["takeProfit", takeProfit], ["stopLoss", stopLoss]] as const) {
      if (exit !== null) {
        throw invalid(field, `${LABELS[field]} goes with orderClass bracket, oto or oco.`);
      }
    }
    return { orderClass, takeProfit: null, stopLoss: null };
  }
  const name = CLASS_NAMES[orderClass];
  if (notional) throw invalid("notional", `${name} orders take a quantity, not a dollar amount.`);
  if (security.assetClass !== "crypto" && entry.qty % parseFixed("1", 0) !== 0n) {
    throw invalid("qty", `${name} orders work in whole shares.`);
  }
  if (entry.extendedHours) {
    throw invalid(
      "extendedHours",
      `${name} orders work in the regular session: their stop-loss cannot trigger outside it.`,
    );
  }
  if (entry.timeInForce !== "day" && entry.timeInForce !== "gtc") {
    throw invalid(
      "timeInForce",
      `${name} orders keep working until an exit fills: use day or gtc.`,
    );
  }
  if (orderClass === "oco") {
    if (entry.side !== "sell") {
      throw invalid(
        "side",
        "An OCO order exits shares you hold, so it sells; short selling is not available.",
      );
    }
    if (entry.type !== "limit") {
      throw invalid("type", "An OCO order is a limit order (its take-profit) with a stop-loss.");
    }
  } else {
    if (entry.side !== "buy") {
      throw invalid(
        "side",
        `A ${name.toLowerCase()} opens a position with a buy; short selling is not available, so there is no sell entry to protect.`,
      );
    }
    if (entry.type !== "market" && entry.type !== "limit") {
      throw invalid("type", `A ${name.toLowerCase()} enters with a market or limit order.`);
    }
  }
  const tp = takeProfit && {
    limitPrice: price(takeProfit.limitPrice, security, "takeProfit.limitPrice", true)!,
  };
  const sl = stopLoss && {
    stopPrice: price(stopLoss.stopPrice, security, "stopLoss.stopPrice", true)!,
    limitPrice: price(stopLoss.limitPrice, security, "stopLoss.limitPrice", false),
  };
  if (orderClass === "oto") {
    if (!tp && !sl) {
      throw invalid("takeProfit", "An OTO order needs one exit: takeProfit or stopLoss.");
    }
    if (tp && sl) {
      throw invalid("stopLoss", "An OTO order has one exit; send both as orderClass bracket.");
    }
  } else {
    if (!tp) throw invalid("takeProfit", `${name} orders need takeProfit: {limitPrice}.`);
    if (!sl) throw invalid("stopLoss", `${name} orders need stopLoss: {stopPrice}.`);
  }
  if (orderClass === "oco" && entry.limitPrice !== tp!.limitPrice) {
    throw invalid(
      "limitPrice",
      "An OCO order's limit price is its take-profit's: send takeProfit.limitPrice only, or the same price.",
    );
  }
  return { orderClass, takeProfit: tp, stopLoss: sl };
}

/**
 * The OCO entry as order_rules.ts parses it: a limit at the take-profit, so a request may leave
 * the top-level limitPrice out (as it names it once, in takeProfit).
 */
export function ocoEntryInput<T extends { limitPrice?: unknown }>(
  input: T & ExitInput,
): T {
  const limit = (input as { type?: unknown }).type === "limit";
  if (
    input.orderClass !== "oco" || !limit || (input.limitPrice != null && input.limitPrice !== "")
  ) {
    return input;
  }
  const takeProfit = input.takeProfit;
  const limitPrice = takeProfit && typeof takeProfit === "object"
    ? (takeProfit as Record<string, unknown>).limitPrice
    : undefined;
  return { ...input, limitPrice };
}

/**
 * Judges the exits against the price they protect, as Alpaca does: for a buy entry the
 * take-profit sells above and the stop-loss below the entry's reference price (its limit, or the
 * last price for a market entry); for an OCO both against the last price, so neither is marketable
 * as it is placed.
 */
export function checkExitPrices(
  request: ClassRequest,
  reference: Fixed,
  priceDecimals: number,
): void {
  if (request.orderClass === "simple") return;
  const shown = formatFixed(reference, priceDecimals);
  const what = request.orderClass === "oco" ? "the last price" : "the entry price";
  if (request.takeProfit && request.takeProfit.limitPrice <= reference) {
    throw invalid(
      "takeProfit.limitPrice",
      `The take-profit must be above ${what} (${shown}), or it would sell at a loss.`,
    );
  }
  if (request.stopLoss && request.stopLoss.stopPrice >= reference) {
    throw invalid(
      "stopLoss.stopPrice",
      `The stop-loss must be below ${what} (${shown}), or it would trigger at once.`,
    );
  }
}

/** The exit legs' requests: sells of the entry's quantity at the exits' prices. */
export function legRequests(
  request: ClassRequest,
  entry: OrderRequest,
): { role: LegRole; request: OrderRequest }[] {
  const base = {
    symbol: entry.symbol,
    side: "sell" as const,
    timeInForce: entry.timeInForce,
    qty: entry.qty,
    trailPercent: null,
    trailPrice: null,
    // Stops work in the regular session only, so exits do too.
    extendedHours: false,
  };
  const legs: { role: LegRole; request: OrderRequest }[] = [];
  // An OCO's take-profit is its entry order itself; only its stop-loss is a leg.
  if (request.takeProfit && request.orderClass !== "oco") {
    legs.push({
      role: "take_profit",
      request: {
        ...base,
        type: "limit",
        limitPrice: request.takeProfit.limitPrice,
        stopPrice: null,
      },
    });
  }
  if (request.stopLoss) {
    legs.push({
      role: "stop_loss",
      request: {
        ...base,
        type: request.stopLoss.limitPrice === null ? "stop" : "stop_limit",
        limitPrice: request.stopLoss.limitPrice,
        stopPrice: request.stopLoss.stopPrice,
      },
    });
  }
  return legs;
}

const CLASS_NAMES: Record<OrderClass, string> = {
  simple: "Simple",
  bracket: "Bracket",
  oco: "OCO",
  oto: "OTO",
};

const LABELS: Record<string, string> = {
  takeProfit: "A take-profit",
  stopLoss: "A stop-loss",
};

function oneClass(value: unknown): OrderClass {
  if (typeof value === "string" && (ORDER_CLASSES as readonly string[]).includes(value)) {
    return value as OrderClass;
  }
  throw invalid("orderClass", `Order class must be one of ${ORDER_CLASSES.join(", ")}.`);
}

function exitObject(value: unknown, field: string): Record<string, unknown> | null {
  if (value == null) return null;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw invalid(field, `${field} is an object, e.g. {"limitPrice": "190.00"}.`);
  }
  return value as Record<string, unknown>;
}

function price(value: unknown, security: Security, field: string, required: boolean) {
  if (value == null || value === "") {
    if (required) throw invalid(field, `Enter ${field}.`);
    return null;
  }
  let parsed: Fixed;
  try {
    parsed = parseFixed(value, security.priceDecimals, field);
  } catch {
    throw invalid(
      field,
      `${field} must be a price with at most ${security.priceDecimals} decimals.`,
    );
  }
  if (parsed <= 0n) throw invalid(field, `${field} must be greater than zero.`);
  return parsed;
}

function invalid(field: string, message: string): AppError {
  return new AppError(422, "validation_failed", message, { fields: { [field]: message } });
}
