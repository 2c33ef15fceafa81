/**
 * Closing positions: all of one, part of it (a quantity or a percentage), or every one at once,
 * with a market sell (`gtc` for crypto, which trades around the clock; `day` otherwise) placed
 * through the same unit as any order, so every limit, hold and invariant applies.
 *
 * Shares that working sell orders reserve cannot be sold twice. When what is asked for needs
 * them, the answer is 422 `position_reserved` naming how many are reserved, and nothing changes;
 * with `cancelOrders: true` the working sells of that symbol are cancelled first.
 */
import { AppError, notFound } from "../errors.ts";
import { formatFixed, parseFixed, roundFixed } from "../money.ts";
import type { RequestOrigin } from "../audit.ts";
import { requestedAccount } from "./accounts.ts";
import { normalizeSymbol } from "../market/securities.ts";
import { securityFor } from "./market.ts";
import { reservedOf } from "./open_orders.ts";
import {
  cancelOrder,
  type Order,
  type OrderJson,
  placeOrder,
  type TradingContext,
} from "./orders.ts";
import { findAll } from "../store/find_all.ts";
import { type Position, positionId, positionState } from "./positions.ts";

export type CloseRequest = {
  accountId?: string;
  /** At most one of these; neither closes the whole position. */
  qty?: string;
  percentage?: string;
  cancelOrders?: boolean;
};

/** Sells all or part of the user's position in `symbol`; the market order placed. */
export async function closePosition(
  ctx: TradingContext,
  userId: string,
  symbol: string,
  request: CloseRequest,
  origin?: RequestOrigin,
): Promise<OrderJson> {
  // The symbol names a resource here, so an unknown one is a 404 like a position not held.
  if (!ctx.market.catalog.get(normalizeSymbol(symbol))) throw notFound("No such security.");
  const security = securityFor(ctx.market, symbol);
  const account = await requestedAccount(
    ctx.store,
    userId,
    request.accountId,
    ctx.settings.startingCash,
  );
  const position = await ctx.store.get<Position>(
    "positions",
    positionId(account._id, security.symbol),
  );
  const held = positionState(position).qty;
  if (held <= 0n) throw notFound(`You hold no ${security.symbol}.`);
  const qty = closingQty(held, security.qtyDecimals, request);

  const reserved = reservedOf(position);
  if (qty > held - reserved) {
    if (!request.cancelOrders) {
      throw new AppError(
        422,
        "position_reserved",
        `${formatFixed(reserved, 0)} of your ${formatFixed(held, 0)} ${security.symbol} are ` +
          `reserved by open sell orders. Cancel them first, or close with cancelOrders=true.`,
        { reserved: formatFixed(reserved, 0), held: formatFixed(held, 0) },
      );
    }
    await cancelWorkingSells(ctx, userId, account._id, security.symbol, origin);
  }
  const { order } = await placeOrder(ctx, userId, {
    accountId: account._id,
    symbol: security.symbol,
    side: "sell",
    type: "market",
    qty: formatFixed(qty, 0),
    timeInForce: security.assetClass === "crypto" ? "gtc" : "day",
  }, { origin });
  return order;
}

/** One line of a close-everything answer: the order placed, or why this symbol was not closed. */
export type CloseResult =
  | { symbol: string; status: 200; order: OrderJson }
  | { symbol: string; status: number; error: { code: string; message: string } };

/** Closes every open position of the account, each on its own: one refusal stops no other. */
export async function closeAllPositions(
  ctx: TradingContext,
  userId: string,
  request: Pick<CloseRequest, "accountId" | "cancelOrders">,
  origin?: RequestOrigin,
): Promise<CloseResult[]> {
  const account = await requestedAccount(
    ctx.store,
    userId,
    request.accountId,
    ctx.settings.startingCash,
  );
  const positions = await findAll<Position>(ctx.store, "positions", {
    where: { accountId: account._id },
  });
  const results: CloseResult[] = [];
  for (const position of positions) {
    if (positionState(position).qty <= 0n) continue;
    try {
      const order = await closePosition(ctx, userId, position.symbol, {
        accountId: account._id,
        cancelOrders: request.cancelOrders,
      }, origin);
      results.push({ symbol: position.symbol, status: 200, order });
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      results.push({
        symbol: position.symbol,
        status: err.status,
        error: { code: err.code, message: err.message },
      });
    }
  }
  return results;
}

/**
 * The quantity to sell: the whole holding, `qty` (at most what is held), or `percentage` of it
 * rounded down to what the security trades in (whole shares for most), never more than held.
 */
export function closingQty(held: bigint, qtyDecimals: number, request: CloseRequest): bigint {
  if (request.qty !== undefined && request.percentage !== undefined) {
    throw new AppError(422, "validation_failed", "Give qty or percentage, not both.", {
      fields: { qty: "Give qty or percentage, not both." },
    });
  }
  if (request.qty !== undefined) {
    const qty = parseAmount(request.qty, qtyDecimals, "qty");
    if (qty <= 0n) fieldError("qty", "Close a quantity above zero.");
    if (qty > held) {
      fieldError("qty", `You hold ${formatFixed(held, 0)}; close at most that many.`);
    }
    return qty;
  }
  if (request.percentage !== undefined) {
    const percent = parseAmount(request.percentage, 4, "percentage");
    if (percent <= 0n || percent > parseFixed("100", 0)) {
      fieldError("percentage", "Use a percentage above 0 and at most 100.");
    }
    // Rounded down to the security's step: a percentage never sells more than it says.
    const qty = roundFixed(held * percent / parseFixed("100", 0), qtyDecimals, "floor");
    if (qty <= 0n) {
      fieldError(
        "percentage",
        `${formatFixed(percent, 0)}% of ${formatFixed(held, 0)} is less than one tradable unit.`,
      );
    }
    return qty;
  }
  return held;
}

async function cancelWorkingSells(
  ctx: TradingContext,
  userId: string,
  accountId: string,
  symbol: string,
  origin?: RequestOrigin,
) {
  const working = await findAll<Order>(ctx.store, "orders", { where: { accountId, open: true } });
  for (const order of working) {
    if (order.symbol !== symbol || order.side !== "sell") continue;
    try {
      await cancelOrder(ctx, userId, order._id, origin);
    } catch (err) {
      // Filled or cancelled meanwhile: it reserves nothing any more.
      if (!(err instanceof AppError && err.code === "order_not_cancelable")) throw err;
    }
  }
}

function parseAmount(value: string, decimals: number, field: string): bigint {
  try {
    return parseFixed(value, decimals, field);
  } catch {
    return fieldError(
      field,
      decimals === 0
        ? `Use a whole number for ${field}.`
        : `Use a number with at most ${decimals} decimals for ${field}.`,
    );
  }
}

function fieldError(field: string, message: string): never {
  throw new AppError(422, "validation_failed", message, { fields: { [field]: message } });
}
