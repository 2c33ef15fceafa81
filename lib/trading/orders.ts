/**
 * Orders: placing (with idempotency), cancelling, replacing, listing. Each change is one atomic
 * unit that also checks the account's version, so concurrent orders on one account are serialised
 * and buying power can never be spent twice. Writers of one account take turns in this process
 * (account_queue.ts) and retry with jittered backoff when a writer elsewhere won; placement reads
 * the running totals of the working orders (open_orders.ts), never the orders themselves.
 */
import { assertNoPendingSplit } from "./corporate_actions.ts";
import { sha256 } from "@oslojs/crypto/sha2";
import { encodeHexLowerCase } from "@oslojs/encoding";
import { type AuditEvent, auditOp, type RequestOrigin } from "../audit.ts";
import { AppError } from "../errors.ts";
import { newId } from "../ids.ts";
import type { Logger } from "../log.ts";
import { type Fixed, formatFixed, formatUsd, parseFixed, SCALE } from "../money.ts";
import type { MarketClock } from "../market/clock.ts";
import type { Security } from "../market/securities.ts";
import type { RateLimiter } from "../rate_limit.ts";
import { ConflictError, type Doc, type Store, type WriteOp } from "../store/port.ts";
import { conflictBackoff, retryOnConflict } from "../store/retry.ts";
import { inAccountTurn } from "./account_queue.ts";
import { withLinkedOrders } from "./legs.ts";
import {
  checkExitPrices,
  type ClassRequest,
  type ExitInput,
  legRequests,
  ocoEntryInput,
  type OrderClass,
  parseClassRequest,
} from "./order_classes.ts";
import { type Account, requestedAccount } from "./accounts.ts";
import { fillOps, orderFillFields } from "./fills.ts";
import { lotsToSell, sellableNow } from "./lots.ts";
import { currentCash } from "./ledger.ts";
import { liveQuote, type Market, marketOpen, securityFor } from "./market.ts";
import {
  anchorTrail,
  checkOrderValue,
  executionPrice,
  fillCash,
  holdFor,
  notionalQty,
  type OrderRequest,
  type OrderRequestInput,
  parseNotional,
  parseOrderRequest,
  stopTriggered,
} from "./order_rules.ts";
import {
  cancelledOrderFields,
  ensureOpenTotals,
  footprint,
  MAX_OPEN_ORDERS,
  openTotals,
  reservedOf,
  withOpenTotals,
  workingOrders,
} from "./open_orders.ts";
import { limitOrderPlacement } from "./order_rate.ts";
import { type Position, positionId, positionState } from "./positions.ts";

export { workingOrders };

/** What the trading code needs from the app. */
export type TradingContext = {
  store: Store;
  market: Market;
  /** Cash of a new demo account, and the flat commission per order. */
  settings: { startingCash: string; commission: Fixed; ordersPerSecond?: number };
  log: Logger;
  /** Counts placements and replacements per account (order_rate.ts); absent: not limited (scripts). */
  limiter?: RateLimiter;
};

/**
 * How many times a placement re-reads and retries, in its turn, when a writer in another process
 * (an app instance, the execution worker) moved the account on first.
 */
const MAX_ATTEMPTS = 8;

/** A request to place an order, as the API and the form send it. */
export type PlaceOrderInput = OrderRequestInput & ExitInput & {
  accountId?: string;
  symbol: string;
  clientOrderId?: string;
};

/**
 * Places an order for `userId`. A marketable order fills at once; others rest, holding buying
 * power (buys) or reserving shares (sells). With an idempotency key (the Idempotency-Key header, or
 * the clientOrderId), a repeat of the same request returns the first response and a different
 * request with the same key is refused. Returns the order and whether it was a replay.
 */
export async function placeOrder(
  ctx: TradingContext,
  userId: string,
  input: PlaceOrderInput,
  options: { idempotencyKey?: string; origin?: RequestOrigin },
  now = new Date(),
): Promise<{ order: OrderJson; replayed: boolean }> {
  const account = await requestedAccount(
    ctx.store,
    userId,
    input.accountId,
    ctx.settings.startingCash,
  );
  if (account.status !== "active") {
    throw new AppError(422, "account_closed", "This account is closed.");
  }
  // Every attempt counts, refused or not: the limit is on what a client asks of the account.
  await limitOrderPlacement(ctx, account._id);
  const security = securityFor(ctx.market, input.symbol);
  await assertNoPendingSplit(ctx, security.symbol, now);
  const reject = async (error: AppError) => {
    await ctx.store.commit([
      auditOp(
        orderAudit("order.rejected", "failure", userId, options.origin, {
          symbol: security.symbol,
          side: String(input.side),
          reason: error.code,
        }),
        now,
      ),
    ]);
    return error;
  };

  let request: OrderRequest;
  let notional: Fixed | null;
  let classRequest: ClassRequest;
  try {
    notional = parseNotional(input, security);
    // A dollar order is checked as an order for one unit; its quantity comes from the quote below.
    const entry = ocoEntryInput(input);
    request = parseOrderRequest(notional === null ? entry : { ...entry, qty: "1" }, security);
    classRequest = parseClassRequest(input, request, security, notional !== null);
  } catch (err) {
    if (err instanceof AppError) throw await reject(err);
    throw err;
  }
  const clientOrderId = input.clientOrderId?.trim() || crypto.randomUUID();
  if (clientOrderId.length > 64) {
    throw new AppError(422, "validation_failed", "clientOrderId is at most 64 characters.");
  }
  const key = options.idempotencyKey
    ? `${userId}:key:${options.idempotencyKey}`
    : input.clientOrderId
    ? `${userId}:coid:${account._id}:${clientOrderId}`
    : null;
  const requestHash = hashRequest({
    ...request,
    // A dollar order is the same request whatever quantity the price at the time gives it.
    ...(notional === null ? {} : { qty: null, notional }),
    ...(classRequest.orderClass === "simple" ? {} : classRequest),
    // Absent when false, so a request hashes as it did before extended hours existed.
    extendedHours: request.extendedHours || undefined,
    accountId: account._id,
    clientOrderId: input.clientOrderId ?? null,
  });
  if (key) {
    const replay = await replayOf(ctx.store, key, requestHash);
    if (replay) return { order: replay, replayed: true };
  }
  if (notional !== null) {
    try {
      request = { ...request, qty: await notionalSize(ctx, security, request.side, notional, now) };
    } catch (err) {
      if (err instanceof AppError) throw await reject(err);
      throw err;
    }
  }

  return await inAccountTurn(account._id, async () => {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      try {
        // Read in this turn: the writers queued before it have moved the account on.
        const fresh = await ensureOpenTotals(
          ctx.store,
          (await ctx.store.get<Account>("accounts", account._id))!,
        );
        const order = await tryPlace(
          ctx,
          fresh,
          security,
          request,
          notional,
          classRequest,
          clientOrderId,
          key,
          requestHash,
          options.origin,
          now,
        );
        return { order, replayed: false };
      } catch (err) {
        if (err instanceof AppError) throw await reject(err);
        if (!(err instanceof ConflictError)) throw err;
        if (err.reason === "exists" && err.collection === "idempotency_keys" && key) {
          // The same key was placed concurrently and won: answer as it did.
          const replay = await replayOf(ctx.store, key, requestHash);
          if (replay) return { order: replay, replayed: true };
        }
        if (err.reason === "duplicate" && err.collection === "orders") {
          throw await reject(
            new AppError(
              409,
              "duplicate_client_order_id",
              "An order with this clientOrderId already exists in the account.",
            ),
          );
        }
        // A fill, cancel or order from another process moved the account on: read again.
        if (attempt < MAX_ATTEMPTS) await conflictBackoff(attempt);
      }
    }
    throw new AppError(409, "conflict", "The account is busy. Please try again.", undefined, {
      "Retry-After": "1",
    });
  });
}

/** One attempt at placing, against the account as read. */
async function tryPlace(
  ctx: TradingContext,
  account: Account,
  security: Security,
  parsedRequest: OrderRequest,
  notional: Fixed | null,
  classRequest: ClassRequest,
  clientOrderId: string,
  key: string | null,
  requestHash: string,
  origin: RequestOrigin | undefined,
  now: Date,
): Promise<OrderJson> {
  const { store, market } = ctx;
  let request = parsedRequest;
  if (account.status !== "active") {
    throw new AppError(422, "account_closed", "This account is closed.");
  }
  // The running totals stand for every working order: placing costs the same with 0 or 500 open.
  const totals = openTotals(account)!;
  if (totals.openOrders >= MAX_OPEN_ORDERS) {
    throw new AppError(
      422,
      "too_many_open_orders",
      `This account has ${totals.openOrders} open orders, the most it may have. Cancel some, or wait for them to fill or expire, before placing another.`,
      { openOrders: totals.openOrders, limit: MAX_OPEN_ORDERS },
    );
  }
  const [cash, position, quote] = await Promise.all([
    currentCash(store, account),
    store.get<Position>("positions", positionId(account._id, security.symbol)),
    liveQuote(market, security, now),
  ]);
  // A trailing stop starts from the last price: its best price so far, and the stop from the trail.
  const { request: anchored, hwm } = anchorTrail(request, quote.last, security.priceDecimals);
  request = anchored;
  checkOrderValue(request, request.side === "buy" ? quote.ask : quote.bid);
  // Exits protect the entry's price: its limit, or the last price for a market entry or an OCO.
  checkExitPrices(
    classRequest,
    classRequest.orderClass !== "oco" && request.limitPrice !== null
      ? request.limitPrice
      : quote.last,
    security.priceDecimals,
  );
  const open = marketOpen(market, security, now, request.extendedHours);
  if (!open && (request.timeInForce === "ioc" || request.timeInForce === "fok")) {
    throw new AppError(
      422,
      "market_closed",
      `The market for ${security.symbol} is closed; ${request.timeInForce} orders need it open.`,
    );
  }
  const commission = ctx.settings.commission;
  const buyingPower = cash - totals.held;

  const triggered = request.stopPrice === null ||
    stopTriggered(request.side, request.stopPrice, quote.last);
  const price = open && triggered ? executionPrice(request.side, request.limitPrice, quote) : null;

  if (request.side === "sell") {
    const reserved = reservedOf(position);
    const available = positionState(position).qty - reserved;
    if (request.qty > available) {
      throw new AppError(
        422,
        "insufficient_position",
        `You can sell at most ${
          formatFixed(available < 0n ? 0n : available, 0)
        } ${security.symbol}${
          reserved > 0n ? " (the rest is in open sell orders)" : ""
        }; short selling is not available.`,
        {
          fields: { qty: "More than you hold." },
        },
      );
    }
  }
  // A marketable order takes what the quote shows; fok wants all of it or nothing, ioc ends the
  // rest at once, and day and gtc orders keep working for the rest (README, "Liquidity").
  const lots = price === null ? null : await lotsToSell(store, account, request.side, position);
  const shown = sellableNow(request.side === "buy" ? quote.askSize : quote.bidSize, lots);
  const fillQty = price === null ? 0n : request.qty < shown ? request.qty : shown;
  const rest = request.qty - fillQty;
  const unfilledFok = price !== null && rest > 0n && request.timeInForce === "fok";
  const restWorks = rest > 0n && (request.timeInForce === "day" || request.timeInForce === "gtc");
  const restHold = price !== null && restWorks
    ? holdFor({ ...request, qty: rest }, quote.last, 0n)
    : 0n;
  const cost = price === null
    ? holdFor(request, quote.last, commission)
    : unfilledFok
    ? 0n
    : fillCost({ ...request, qty: fillQty }, price, commission) + restHold;
  if (request.side === "buy" && cost > buyingPower) {
    throw new AppError(
      422,
      "insufficient_buying_power",
      `This order needs ${formatUsd(cost)} and your buying power is ${
        formatUsd(buyingPower < 0n ? 0n : buyingPower)
      }.`,
      {
        fields: { qty: "More than your buying power covers." },
        required: formatFixed(cost),
        buyingPower: formatFixed(buyingPower),
      },
    );
  }

  const entry = newOrderDoc(account, security, request, market.clock, now, {
    clientOrderId,
    hwm,
    notional,
    triggeredAt: request.stopPrice !== null && triggered && open ? now : null,
  });
  const legs = legDocs(account, security, entry, classRequest, request, market.clock, now, fillQty);
  const base = legs.length === 0 ? entry : linkLegs(entry, legs, classRequest.orderClass, now);
  const orderId = base._id;

  const ops: WriteOp[] = [];
  let order: Omit<Order, "_v">;
  if (unfilledFok) {
    // The whole quantity was not there: fill-or-kill fills nothing.
    order = {
      ...base,
      status: "cancelled",
      open: false,
      cancelledAt: now,
      rejectReason: "insufficient_liquidity",
    };
    ops.push({ op: "insert", collection: "orders", doc: order });
  } else if (price !== null) {
    const input = {
      order: base,
      security,
      account,
      cash,
      position,
      qty: fillQty,
      price,
      commission,
      at: now,
      lots,
    };
    order = { ...base, ...orderFillFields(input, { restHold, endRest: !restWorks }) };
    ops.push({ op: "insert", collection: "orders", doc: order }, ...fillOps(input).ops);
  } else if (request.timeInForce === "ioc" || request.timeInForce === "fok") {
    // Not marketable now, and these never wait: the order ends at once, nothing held.
    order = { ...base, status: "cancelled", open: false, cancelledAt: now };
    ops.push({ op: "insert", collection: "orders", doc: order });
  } else {
    order = { ...base, holdAmount: formatFixed(cost) };
    ops.push({ op: "insert", collection: "orders", doc: order });
  }
  for (const leg of legs) ops.push({ op: "insert", collection: "orders", doc: leg });
  const json = {
    ...orderJson({ ...order, _v: 1 }),
    legs: base.legIds ? legs.map((l) => orderJson({ ...l, _v: 1 })) : null,
  };
  ops.push(auditOp(
    orderAudit("order.placed", "success", account.userId, origin, {
      orderId,
      symbol: security.symbol,
      side: request.side,
      type: request.type,
      qty: order.qty,
      status: order.status,
      orderClass: classRequest.orderClass,
    }),
    now,
  ));
  if (key) {
    ops.push({
      op: "insert",
      collection: "idempotency_keys",
      doc: { _id: key, requestHash, response: json, createdAt: now },
    });
  }
  // A working order moves the totals; the account's update serialises it with every other change
  // to its buying power and numbers the order's events (a fill's ops already carry that update).
  await store.commit(withOpenTotals(ops, account, [position], [
    { before: null, after: order },
    ...legs.map((leg) => ({ before: null, after: leg })),
  ]));
  return json;
}

/**
 * The exit legs of a bracket, OTO or OCO as placed (order_classes.ts). A bracket's or OTO's wait,
 * `held`, for the entry to fill, unless it filled `filledQty` at once: then they work, sized to
 * that. An OCO's stop-loss works from the start.
 */
function legDocs(
  account: Pick<Account, "_id" | "userId">,
  security: Security,
  entry: Omit<Order, "_v">,
  classRequest: ClassRequest,
  request: OrderRequest,
  clock: MarketClock,
  now: Date,
  filledQty: Fixed,
): Omit<Order, "_v">[] {
  if (classRequest.orderClass === "simple") return [];
  const waiting = classRequest.orderClass !== "oco" && filledQty === 0n;
  return legRequests(classRequest, request).map(({ role, request: leg }) => ({
    ...newOrderDoc(
      account,
      security,
      {
        ...leg,
        qty: classRequest.orderClass === "oco" || waiting ? leg.qty : filledQty,
      },
      clock,
      now,
      { clientOrderId: `${entry.clientOrderId}:${role}` },
    ),
    status: waiting ? "held" as const : "new" as const,
    orderClass: classRequest.orderClass,
    parentId: entry._id,
  }));
}

/** The entry with its legs' ids, and the pair (a bracket's two exits, or an OCO) linked both ways. */
function linkLegs(
  entry: Omit<Order, "_v">,
  legs: Omit<Order, "_v">[],
  orderClass: OrderClass,
  now: Date,
): Omit<Order, "_v"> {
  // Ids rise from the last leg to the entry, so a newest-first list shows the entry, then its
  // take-profit, then its stop-loss.
  for (const leg of legs.toReversed()) leg._id = newId(now.getTime());
  const linked = {
    ...entry,
    _id: newId(now.getTime()),
    orderClass,
    legIds: legs.map((l) => l._id),
  };
  for (const leg of legs) leg.parentId = linked._id;
  if (orderClass === "bracket") {
    legs[0].pairedWith = legs[1]._id;
    legs[1].pairedWith = legs[0]._id;
  } else if (orderClass === "oco") {
    linked.pairedWith = legs[0]._id;
    legs[0].pairedWith = linked._id;
  }
  return linked;
}

/**
 * The quantity a dollar order gets: the amount at the price it would fill at now (the ask for a
 * buy, the bid for a sell), rounded down. The market must be open, so that price is the one the
 * order fills at in the same moment.
 */
async function notionalSize(
  ctx: TradingContext,
  security: Security,
  side: OrderRequest["side"],
  notional: Fixed,
  now: Date,
): Promise<Fixed> {
  if (!marketOpen(ctx.market, security, now)) {
    throw new AppError(
      422,
      "market_closed",
      `The market for ${security.symbol} is closed; dollar orders need it open. Send qty to queue an order.`,
    );
  }
  const quote = await liveQuote(ctx.market, security, now);
  return notionalQty(notional, side === "buy" ? quote.ask : quote.bid, security);
}

/**
 * A just-placed order as stored, before it fills or holds anything: nothing filled, a day order
 * ending at its session's close. Placing writes this, and so does the bench's seeding
 * (scripts/seed_orders.ts), so a seeded book is what placement writes.
 */
export function newOrderDoc(
  account: Pick<Account, "_id" | "userId">,
  security: Security,
  request: OrderRequest,
  clock: MarketClock,
  now: Date,
  extra: {
    clientOrderId: string;
    hwm?: Fixed | null;
    notional?: Fixed | null;
    triggeredAt?: Date | null;
  },
): Omit<Order, "_v"> {
  return {
    _id: newId(now.getTime()),
    userId: account.userId,
    accountId: account._id,
    clientOrderId: extra.clientOrderId,
    symbol: security.symbol,
    assetClass: security.assetClass,
    side: request.side,
    type: request.type,
    timeInForce: request.timeInForce,
    qty: formatFixed(request.qty, 0),
    filledQty: "0",
    filledAvgPrice: null,
    limitPrice: request.limitPrice === null ? null : formatFixed(request.limitPrice),
    stopPrice: request.stopPrice === null ? null : formatFixed(request.stopPrice),
    ...trailFields(request, extra.hwm ?? null),
    ...(extra.notional == null ? {} : { notional: formatFixed(extra.notional, 2) }),
    status: "new",
    open: true,
    holdAmount: "0.00",
    fillCount: 0,
    lastFillAt: null,
    triggeredAt: extra.triggeredAt ?? null,
    // An extended-hours day order works through its day's after-hours (Alpaca's rule).
    expiresAt: request.timeInForce !== "day"
      ? null
      : request.extendedHours
      ? clock.nextSession(now, true).postClose
      : clock.nextSession(now).close,
    ...(request.extendedHours ? { extendedHours: true } : {}),
    placedAt: now,
    updatedAt: now,
    filledAt: null,
    cancelledAt: null,
    expiredAt: null,
    rejectReason: null,
  };
}

/** A trailing stop's trail and best price as stored; nothing on other types. */
function trailFields(
  request: Pick<OrderRequest, "type" | "trailPercent" | "trailPrice">,
  hwm: Fixed | null,
): Pick<Order, "trailPercent" | "trailPrice" | "hwm"> {
  if (request.type !== "trailing_stop") return {};
  return {
    trailPercent: request.trailPercent === null ? null : formatFixed(request.trailPercent, 0),
    trailPrice: request.trailPrice === null ? null : formatFixed(request.trailPrice),
    hwm: hwm === null ? null : formatFixed(hwm),
  };
}

/** Cash a fill at `price` needs: what it books (qty × price rounded up to the cent), plus the commission. */
function fillCost(request: OrderRequest, price: Fixed, commission: Fixed): Fixed {
  return fillCash(request.side, request.qty, price) + commission;
}

/** Cancels one of the user's working orders (404 for anyone else's, 422 when it is no longer working). */
export async function cancelOrder(
  ctx: TradingContext,
  userId: string,
  orderId: string,
  origin?: RequestOrigin,
  now = new Date(),
): Promise<OrderJson> {
  const { accountId } = await ownOrder(ctx.store, userId, orderId);
  return await inAccountTurn(accountId, () =>
    retryOnConflict(async () => {
      const order = await ownOrder(ctx.store, userId, orderId);
      if (!order.open) {
        throw new AppError(
          422,
          "order_not_cancelable",
          `This order is ${order.status.replace("_", " ")} and can no longer be cancelled.`,
        );
      }
      const [account, position] = await Promise.all([
        ctx.store.get<Account>("accounts", order.accountId),
        order.side === "sell"
          ? ctx.store.get<Position>("positions", positionId(order.accountId, order.symbol))
          : null,
      ]);
      const set = cancelledOrderFields(now);
      // The version check decides a race with a fill: exactly one of them ends the order. The
      // hold and reservation it releases leave the running totals in the same unit, and so do
      // its legs or its pair's other order (legs.ts).
      await ctx.store.commit(
        await withLinkedOrders(
          ctx.store,
          [
            { op: "update", collection: "orders", id: order._id, set, ifVersion: order._v },
            auditOp(
              orderAudit("order.cancelled", "success", userId, origin, {
                orderId,
                symbol: order.symbol,
              }),
              now,
            ),
          ],
          account!,
          [position],
          [{ before: order, after: { ...order, ...set } }],
          now,
        ),
      );
      const [json] = await ordersJson(ctx.store, [{ ...order, ...set, _v: order._v + 1 }]);
      return json;
    }, "The order is busy. Please try again."));
}

/** Cancels every working order of the user; returns the ones cancelled. */
export async function cancelAllOrders(
  ctx: TradingContext,
  account: Account,
  origin?: RequestOrigin,
  now = new Date(),
): Promise<OrderJson[]> {
  const { userId } = account;
  const cancelled: OrderJson[] = [];
  for (;;) {
    const page = await ctx.store.find<Order>("orders", {
      where: { accountId: account._id, open: true },
      sort: { field: "placedAt", direction: -1 },
      limit: 100,
    });
    const before = cancelled.length;
    for (const order of page.items) {
      try {
        cancelled.push(await cancelOrder(ctx, userId, order._id, origin, now));
      } catch (err) {
        // Filled or cancelled in the meantime: nothing left to cancel.
        if (!(err instanceof AppError && err.code === "order_not_cancelable")) throw err;
      }
    }
    if (!page.nextCursor || cancelled.length === before) return cancelled;
  }
}

/** What a replacement may change; absent fields keep the order's values. */
export type ReplaceChanges = {
  qty?: unknown;
  limitPrice?: unknown;
  stopPrice?: unknown;
  trailPercent?: unknown;
  trailPrice?: unknown;
};

/**
 * Changes the quantity or prices of a working, untriggered order (a trailing stop's trail, which
 * re-anchors it at the last price), re-checking buying power and
 * shares as if it were placed anew. Audited.
 */
export async function replaceOrder(
  ctx: TradingContext,
  userId: string,
  orderId: string,
  changes: ReplaceChanges,
  origin?: RequestOrigin,
  now = new Date(),
): Promise<OrderJson> {
  const { accountId } = await ownOrder(ctx.store, userId, orderId);
  // A replacement is a new order for the limit: a client cannot churn one order instead.
  await limitOrderPlacement(ctx, accountId);
  return await inAccountTurn(
    accountId,
    () => replaceInTurn(ctx, userId, orderId, changes, origin, now),
  );
}

async function replaceInTurn(
  ctx: TradingContext,
  userId: string,
  orderId: string,
  changes: ReplaceChanges,
  origin: RequestOrigin | undefined,
  now: Date,
): Promise<OrderJson> {
  return await retryOnConflict(async () => {
    const order = await ownOrder(ctx.store, userId, orderId);
    if (!order.open) {
      throw new AppError(
        422,
        "order_not_replaceable",
        `This order is ${order.status.replace("_", " ")} and can no longer be changed.`,
      );
    }
    if (order.status === "partially_filled") {
      throw new AppError(
        422,
        "order_not_replaceable",
        `${order.filledQty} of this order have filled; cancel the rest and place a new order instead.`,
      );
    }
    if (order.triggeredAt) {
      throw new AppError(
        422,
        "order_not_replaceable",
        "This stop order has triggered and is executing; cancel it instead of changing it.",
      );
    }
    const security = securityFor(ctx.market, order.symbol);
    await assertNoPendingSplit(ctx, security.symbol, now);
    const trailing = order.type === "trailing_stop";
    // An exit sells the shares its entry bought (or, in an OCO, the shares held): its size
    // follows them, so only its prices change.
    const exit = order.parentId !== undefined || order.pairedWith !== undefined;
    if (exit && changes.qty != null && changes.qty !== "" && !sameQty(changes.qty, order.qty)) {
      throw new AppError(
        422,
        "validation_failed",
        "An exit's quantity follows the shares it protects; change its price, or cancel it.",
        { fields: { qty: "Fixed by the shares it protects." } },
      );
    }
    // A new trail of either kind replaces the old one; sending both is refused by the rules.
    const newTrail = changes.trailPercent != null || changes.trailPrice != null;
    const parsed = parseOrderRequest({
      side: order.side,
      type: order.type,
      timeInForce: order.timeInForce,
      qty: changes.qty ?? order.qty,
      limitPrice: changes.limitPrice ?? order.limitPrice ?? undefined,
      // A trailing stop's stop is computed, so only a change to it is passed on (and refused).
      stopPrice: changes.stopPrice ?? (trailing ? undefined : order.stopPrice ?? undefined),
      trailPercent: newTrail ? changes.trailPercent : order.trailPercent,
      trailPrice: newTrail ? changes.trailPrice : order.trailPrice,
    }, security);
    const account = await ensureOpenTotals(
      ctx.store,
      (await ctx.store.get<Account>("accounts", order.accountId))!,
    );
    const [cash, position, quote] = await Promise.all([
      currentCash(ctx.store, account),
      ctx.store.get<Position>("positions", positionId(account._id, order.symbol)),
      liveQuote(ctx.market, security, now),
    ]);
    // A replaced trailing stop starts again from the last price (README, Trailing stops).
    const { request, hwm } = anchorTrail(parsed, quote.last, security.priceDecimals);
    checkOrderValue(request, request.side === "buy" ? quote.ask : quote.bid);
    await checkReplacedExits(ctx.store, order, request, security.priceDecimals);
    // What the other working orders hold and reserve: the totals without this order's part.
    const own = footprint(order);
    const hold = holdFor(request, quote.last, ctx.settings.commission);
    if (request.side === "buy") {
      const buyingPower = cash - (openTotals(account)!.held - own.held);
      if (hold > buyingPower) {
        throw new AppError(
          422,
          "insufficient_buying_power",
          `The changed order needs ${formatUsd(hold)} and your buying power is ${
            formatUsd(buyingPower < 0n ? 0n : buyingPower)
          }.`,
        );
      }
    } else if (!exit) {
      // (An exit keeps its size: its shares are reserved, by it or its pair, or not bought yet.)
      const reserved = reservedOf(position) - own.reserved;
      if (request.qty > positionState(position).qty - reserved) {
        throw new AppError(
          422,
          "insufficient_position",
          "You do not hold enough to sell that many.",
        );
      }
    }
    const set = {
      qty: formatFixed(request.qty, 0),
      limitPrice: request.limitPrice === null ? null : formatFixed(request.limitPrice),
      stopPrice: request.stopPrice === null ? null : formatFixed(request.stopPrice),
      ...trailFields(request, hwm),
      holdAmount: request.side === "buy" ? formatFixed(hold) : "0.00",
      updatedAt: now,
    };
    await ctx.store.commit(
      await withLinkedOrders(
        ctx.store,
        [
          { op: "update", collection: "orders", id: order._id, set, ifVersion: order._v },
          auditOp(
            orderAudit("order.replaced", "success", userId, origin, {
              orderId,
              qty: set.qty,
              limitPrice: set.limitPrice,
              stopPrice: set.stopPrice,
              ...(trailing
                ? { trailPercent: set.trailPercent ?? null, trailPrice: set.trailPrice ?? null }
                : {}),
            }),
            now,
          ),
        ],
        account,
        [position],
        [{ before: order, after: { ...order, ...set } }],
        now,
      ),
    );
    const [json] = await ordersJson(ctx.store, [{ ...order, ...set, _v: order._v + 1 }]);
    return json;
  }, "The order is busy. Please try again.");
}

/**
 * A replaced price keeps a class's exits where placing would have put them: an entry's limit
 * stays below its take-profit and above its stop-loss, and a pair's take-profit above its
 * stop-loss. Throws 422 naming the field that crosses.
 */
async function checkReplacedExits(
  store: Store,
  order: Order,
  request: OrderRequest,
  priceDecimals: number,
): Promise<void> {
  const linked = [...order.legIds ?? [], ...order.pairedWith ? [order.pairedWith] : []];
  if (linked.length === 0) return;
  const others = (await store.getMany<Order>("orders", linked)).filter((o) => o?.open) as Order[];
  const price = (value: string | null) => value === null ? null : parseFixed(value, priceDecimals);
  const takeProfit = order.pairedWith && order.type === "limit"
    ? request.limitPrice
    : price(others.find((o) => o.type === "limit")?.limitPrice ?? null);
  const stopLoss = order.pairedWith && order.type !== "limit"
    ? request.stopPrice
    : price(others.find((o) => o.type !== "limit")?.stopPrice ?? null);
  if (!order.pairedWith && request.limitPrice !== null) {
    // An entry: its exits against its new limit.
    checkExitPrices(
      {
        orderClass: order.orderClass ?? "bracket",
        takeProfit: takeProfit === null ? null : { limitPrice: takeProfit },
        stopLoss: stopLoss === null ? null : { stopPrice: stopLoss, limitPrice: null },
      },
      request.limitPrice,
      priceDecimals,
    );
  } else if (takeProfit !== null && stopLoss !== null && takeProfit <= stopLoss) {
    const field = order.type === "limit" ? "limitPrice" : "stopPrice";
    const message = "The take-profit must stay above the stop-loss of the same pair.";
    throw new AppError(422, "validation_failed", message, { fields: { [field]: message } });
  }
}

/** Whether a quantity as sent equals a stored one, compared exactly (unparseable: not equal). */
function sameQty(sent: unknown, stored: string): boolean {
  try {
    return parseFixed(sent, SCALE) === parseFixed(stored, SCALE);
  } catch {
    return false;
  }
}

/** One of the user's orders, or 404 (also for another user's). */
export async function ownOrder(store: Store, userId: string, orderId: string): Promise<Order> {
  const order = await store.get<Order>("orders", orderId);
  if (!order || order.userId !== userId) throw new AppError(404, "not_found", "No such order.");
  return order;
}

/**
 * A page of orders, newest first: open, closed, or all; of one account (the pages and the API),
 * or of every account of a user (the admin console).
 */
export async function listOrders(
  store: Store,
  owner: { accountId: string } | { userId: string },
  status: "open" | "closed" | "all",
  limit: number,
  cursor?: string,
): Promise<{ items: Order[]; nextCursor: string | null }> {
  return await store.find<Order>("orders", {
    where: status === "all" ? owner : { ...owner, open: status === "open" },
    sort: { field: "placedAt", direction: -1 },
    limit,
    cursor,
  });
}

async function replayOf(store: Store, key: string, requestHash: string): Promise<OrderJson | null> {
  const record = await store.get<Doc & { requestHash: string; response: OrderJson }>(
    "idempotency_keys",
    key,
  );
  if (!record) return null;
  if (record.requestHash !== requestHash) {
    throw new AppError(
      422,
      "idempotency_key_reused",
      "This idempotency key was already used for a different order.",
    );
  }
  return record.response;
}

function hashRequest(request: unknown): string {
  const canonical = JSON.stringify(request, (_, v) => typeof v === "bigint" ? v.toString() : v);
  return encodeHexLowerCase(sha256(new TextEncoder().encode(canonical)));
}

function orderAudit(
  action: AuditEvent["action"],
  outcome: AuditEvent["outcome"],
  userId: string,
  origin: RequestOrigin | undefined,
  details: Record<string, string | null>,
): AuditEvent {
  return { action, outcome, userId, origin, details };
}

/** An order as the API shows it (docs/design.md, HTTP contract); `ordersJson` adds an entry's legs. */
export function orderJson(order: Order): OrderJson {
  return { ...orderFields(order), legs: null };
}

function orderFields(order: Order) {
  return {
    id: order._id,
    clientOrderId: order.clientOrderId,
    accountId: order.accountId,
    symbol: order.symbol,
    side: order.side,
    type: order.type,
    timeInForce: order.timeInForce,
    qty: order.qty,
    filledQty: order.filledQty,
    filledAvgPrice: order.filledAvgPrice,
    limitPrice: order.limitPrice,
    stopPrice: order.stopPrice,
    /** A trailing stop's trail and its best price so far; null on other types. */
    trailPercent: order.trailPercent ?? null,
    trailPrice: order.trailPrice ?? null,
    hwm: order.hwm ?? null,
    /** The dollar amount of an order placed with `notional`; null for one placed with `qty`. */
    notional: order.notional ?? null,
    orderClass: order.orderClass ?? "simple",
    /** A leg's entry order; null on others. */
    parentId: order.parentId ?? null,
    /** A limit day order that also works in pre-market and after-hours. */
    extendedHours: order.extendedHours ?? false,
    status: order.status,
    holdAmount: order.holdAmount,
    placedAt: order.placedAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
    filledAt: order.filledAt?.toISOString() ?? null,
    cancelledAt: order.cancelledAt?.toISOString() ?? null,
    expiredAt: order.expiredAt?.toISOString() ?? null,
    expiresAt: order.expiresAt?.toISOString() ?? null,
    rejectReason: order.rejectReason,
  };
}

/** `legs`: an entry's exit legs; null on other orders. */
export type OrderJson = ReturnType<typeof orderFields> & { legs: OrderJson[] | null };

/** Orders as the API shows them, each entry with its legs (one read for all the legs of a page). */
export async function ordersJson(store: Store, orders: Order[]): Promise<OrderJson[]> {
  const legIds = orders.flatMap((o) => o.legIds ?? []);
  const legs = legIds.length === 0 ? [] : await store.getMany<Order>("orders", legIds);
  const byId = new Map(legs.filter((l) => l !== null).map((l) => [l!._id, l!]));
  return orders.map((order) => ({
    ...orderJson(order),
    legs: order.legIds
      ? order.legIds.flatMap((id) => byId.has(id) ? [orderJson(byId.get(id)!)] : [])
      : null,
  }));
}

export type OrderStatus =
  /** An exit waiting for its entry to fill (order_classes.ts): it works once the entry fills. */
  | "held"
  | "new"
  | "partially_filled"
  | "filled"
  | "cancelled"
  | "expired"
  | "rejected";

export type Order = Doc & {
  userId: string;
  accountId: string;
  clientOrderId: string;
  symbol: string;
  assetClass: Security["assetClass"];
  side: "buy" | "sell";
  type: OrderRequest["type"];
  timeInForce: OrderRequest["timeInForce"];
  qty: string;
  filledQty: string;
  filledAvgPrice: string | null;
  limitPrice: string | null;
  stopPrice: string | null;
  status: OrderStatus;
  /** True while the order is working (new or partially filled): it holds or reserves. */
  open: boolean;
  /** Buying power held by a working buy, in dollars; "0.00" otherwise. */
  holdAmount: string;
  /** Fills so far; the n-th fill's trade is `<orderId>:<n>`. Absent on orders from before partial fills. */
  fillCount?: number;
  /** When the last fill happened: an order takes from one quote (one second) at most once. */
  lastFillAt?: Date | null;
  /** When a stop's trigger was reached. */
  triggeredAt: Date | null;
  /** When a day order ends: the close of its session (the end of after-hours with extendedHours). */
  expiresAt: Date | null;
  placedAt: Date;
  updatedAt: Date;
  filledAt: Date | null;
  cancelledAt: Date | null;
  expiredAt: Date | null;
  rejectReason: string | null;
  /** A trailing stop's trail (one of the two) and best price since placed or replaced. */
  trailPercent?: string | null;
  trailPrice?: string | null;
  hwm?: string | null;
  /** The dollar amount an order was placed with instead of a quantity (absent otherwise). */
  notional?: string;
  /** Brackets, OCO and OTO (order_classes.ts); absent on simple orders. */
  orderClass?: OrderClass;
  /** On an entry (and an OCO's take-profit): its exit legs. */
  legIds?: string[];
  /** On a leg: its entry (or the OCO's take-profit). */
  parentId?: string;
  /** The other order of a pair (a bracket's exits, an OCO): they sell the same shares. */
  pairedWith?: string;
  /** True when the order also works in pre-market and after-hours (absent otherwise). */
  extendedHours?: boolean;
  /**
   * The splits applied to it while it worked (corporate_actions.ts): its quantities count in the
   * shares after them, its trades from before each one in the shares before. Absent: none.
   */
  splits?: { effectiveAt: Date; ratio: number }[];
  /** Where a working order waits for the execution pass (order_watch.ts); null once it ends. */
  watchKey?: string | null;
  watchPrice?: number | null;
  /** Where an untriggered trailing stop waits for a better price to move its stop (order_watch.ts). */
  hwmWatchKey?: string | null;
  hwmWatchPrice?: number | null;
};
