/**
 * The execution worker: evaluates every working order against the market as prices move. Stops
 * trigger on the last price; marketable orders fill through the same atomic unit as at placement;
 * day orders expire at their session's close. Safe to run in several app instances at once and
 * to stop at any moment: every change checks the versions it read, so an order fills at most once.
 */
import { auditOp } from "../audit.ts";
import { pruneBars } from "../market/bars.ts";
import { AppError } from "../errors.ts";
import { parseFixed } from "../money.ts";
import { ConflictError } from "../store/port.ts";
import { inAccountTurn } from "./account_queue.ts";
import { type Account, cancelOrdersOfClosedAccount } from "./accounts.ts";
import { EVENT_RETENTION_MS, pruneAccountEvents } from "./events.ts";
import { fillNumber, fillOps, orderFillFields } from "./fills.ts";
import { currentCash } from "./ledger.ts";
import { type LiveQuote, liveQuotes, marketOpen } from "./market.ts";
import { executionPrice, fillCash, holdFor, stopTriggered } from "./order_rules.ts";
import { ensureOpenTotals, footprint, openTotals, withOpenTotals } from "./open_orders.ts";
import { type Order, type TradingContext } from "./orders.ts";
import { type Position, positionId, positionState } from "./positions.ts";

/** What one pass did. */
export type PassResult = {
  filled: number;
  expired: number;
  rejected: number;
  triggered: number;
  conflicts: number;
};

/** Evaluates every working order once. */
export async function runExecutionPass(ctx: TradingContext, now = new Date()): Promise<PassResult> {
  const result: PassResult = { filled: 0, expired: 0, rejected: 0, triggered: 0, conflicts: 0 };
  // Account status per pass: read once per account, not once per order.
  const statuses = new Map<string, Promise<Account["status"] | "missing">>();
  const accountStatus = (accountId: string) => {
    let status = statuses.get(accountId);
    if (!status) {
      status = ctx.store.get<Account>("accounts", accountId).then((a) => a?.status ?? "missing");
      statuses.set(accountId, status);
    }
    return status;
  };
  let cursor: string | undefined;
  do {
    const page = await ctx.store.find<Order>("orders", {
      where: { open: true },
      sort: { field: "placedAt", direction: 1 },
      limit: 200,
      cursor,
    });
    cursor = page.nextCursor ?? undefined;
    const symbols = [...new Set(page.items.map((o) => o.symbol))];
    const securities = symbols.map((s) => ctx.market.catalog.get(s)).filter((s) => s !== undefined);
    const quotes = new Map(
      (await liveQuotes(ctx.market, securities, now)).map((q) => [q.symbol, q]),
    );
    for (const order of page.items) {
      try {
        // In turn with the account's other writers in this process, so a burst of orders and the
        // pass do not keep invalidating each other's readings.
        const outcome = await inAccountTurn(
          order.accountId,
          () => evaluate(ctx, order, quotes.get(order.symbol), now, accountStatus),
        );
        if (outcome) result[outcome]++;
      } catch (err) {
        // Someone else (a cancel, another worker) changed the order or account first, or its
        // queue is long; the next pass sees it.
        const busy = err instanceof AppError && err.code === "account_busy";
        if (!(err instanceof ConflictError) && !busy) throw err;
        result.conflicts++;
      }
    }
  } while (cursor);
  return result;
}

async function evaluate(
  ctx: TradingContext,
  order: Order,
  quote: LiveQuote | undefined,
  now: Date,
  accountStatus: (accountId: string) => Promise<Account["status"] | "missing">,
): Promise<keyof Omit<PassResult, "conflicts"> | null> {
  const { store } = ctx;
  if (order.expiresAt && now >= order.expiresAt) {
    const set = {
      status: "expired" as const,
      open: false,
      holdAmount: "0.00",
      expiredAt: now,
      updatedAt: now,
    };
    const [account, position] = await Promise.all([
      store.get<Account>("accounts", order.accountId),
      order.side === "sell"
        ? store.get<Position>("positions", positionId(order.accountId, order.symbol))
        : null,
    ]);
    await store.commit(withOpenTotals(
      [
        { op: "update", collection: "orders", id: order._id, set, ifVersion: order._v },
        auditOp({
          action: "order.expired",
          outcome: "success",
          userId: order.userId,
          details: { orderId: order._id, symbol: order.symbol },
        }, now),
      ],
      account!,
      [position],
      [{ before: order, after: { ...order, ...set } }],
    ));
    return "expired";
  }
  const owner = await accountStatus(order.accountId);
  if (owner !== "active") {
    // A reset closed the account after this order was placed: it ends instead of ever filling.
    if (owner === "closed") await cancelOrdersOfClosedAccount(store, order.accountId, now);
    return null;
  }
  const security = ctx.market.catalog.get(order.symbol);
  if (!security || !quote || !marketOpen(ctx.market, security, now)) return null;

  const stopPrice = order.stopPrice === null
    ? null
    : parseFixed(order.stopPrice, security.priceDecimals);
  if (stopPrice !== null && !order.triggeredAt) {
    if (!stopTriggered(order.side, stopPrice, quote.last)) return null;
    await store.update<Order>("orders", order._id, { triggeredAt: now, updatedAt: now }, {
      ifVersion: order._v,
    });
    // Evaluate the triggered order on the next pass, against the version just written.
    return "triggered";
  }
  const limitPrice = order.limitPrice === null
    ? null
    : parseFixed(order.limitPrice, security.priceDecimals);
  const price = executionPrice(order.side, limitPrice, quote);
  if (price === null) return null;

  // One quote's size is taken once: an order that filled during this second waits for the next.
  if (order.lastFillAt && sameSecond(order.lastFillAt, now)) return null;

  // Read again: the fill checks the account's version, and an earlier fill this pass moved it on.
  const account = await ensureOpenTotals(
    store,
    (await store.get<Account>("accounts", order.accountId))!,
  );
  const [cash, position] = await Promise.all([
    currentCash(store, account),
    store.get<Position>("positions", positionId(account._id, order.symbol)),
  ]);
  const remaining = parseFixed(order.qty, security.qtyDecimals) -
    parseFixed(order.filledQty, security.qtyDecimals);
  const shown = order.side === "buy" ? quote.askSize : quote.bidSize;
  const qty = remaining < shown ? remaining : shown;
  const rest = remaining - qty;
  // The flat commission was booked with the first fill.
  const commission = fillNumber(order) === 1 ? ctx.settings.commission : 0n;
  const restHold = order.side === "buy" && rest > 0n
    ? holdFor({ ...order, qty: rest, limitPrice, stopPrice }, quote.last, 0n)
    : 0n;
  // What the account's other working orders hold: its running total without this order's part.
  const otherHolds = openTotals(account)!.held - footprint(order).held;
  const cost = fillCash(order.side, qty, price) + commission + restHold;
  const short = order.side === "sell"
    ? qty > positionState(position).qty
    : cost > cash - otherHolds;
  if (short) {
    // The price moved past what the hold covered (or shares went elsewhere): a cash account
    // cannot go below zero, so the order ends rather than fills — rejected, or cancelled when
    // part of it has already filled.
    const reason = order.side === "sell" ? "insufficient_position" : "insufficient_buying_power";
    const partly = order.status === "partially_filled";
    const set = {
      status: partly ? "cancelled" as const : "rejected" as const,
      open: false,
      holdAmount: "0.00",
      rejectReason: reason,
      updatedAt: now,
      ...(partly ? { cancelledAt: now } : {}),
    };
    await store.commit(withOpenTotals(
      [
        { op: "update", collection: "orders", id: order._id, set, ifVersion: order._v },
        auditOp({
          action: partly ? "order.cancelled" : "order.rejected",
          outcome: "failure",
          userId: order.userId,
          details: { orderId: order._id, symbol: order.symbol, reason },
        }, now),
      ],
      account,
      [position],
      [{ before: order, after: { ...order, ...set } }],
    ));
    return "rejected";
  }
  const input = { order, security, account, cash, position, qty, price, commission, at: now };
  const fields = orderFillFields(input, { restHold });
  await store.commit(withOpenTotals(
    [
      { op: "update", collection: "orders", id: order._id, set: fields, ifVersion: order._v },
      ...fillOps(input).ops,
    ],
    account,
    [position],
    [{ before: order, after: { ...order, ...fields } }],
  ));
  return "filled";
}

function sameSecond(a: Date, b: Date): boolean {
  return Math.floor(a.getTime() / 1000) === Math.floor(b.getTime() / 1000);
}

/** How often working orders are evaluated. */
const EXECUTION_INTERVAL_MS = 1000;
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
/** Idempotency keys are kept a day: long enough for any client's retries. */
const IDEMPOTENCY_RETENTION_MS = 24 * HOUR_MS;

/**
 * Starts the background work of one app instance: the execution pass every second and hourly
 * pruning (bars are computed on demand, lib/market/bars.ts, so none are recorded). Every job is safe to run in several instances
 * at once. Returns a stop function that waits for the job in flight.
 */
export function startTradingWorkers(ctx: TradingContext): () => Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const every = (ms: number, job: () => Promise<unknown>, name: string) => {
    let busy = false;
    const timer = setInterval(() => {
      // A slow run is never overlapped by the next one.
      if (busy || stopped) return;
      busy = true;
      running = job().catch((error) => ctx.log.warn(`${name} failed`, { error })).finally(() =>
        busy = false
      );
    }, ms);
    Deno.unrefTimer(timer);
    return timer;
  };
  const securities = () => ctx.market.catalog.all();
  const timers = [
    every(EXECUTION_INTERVAL_MS, () => runExecutionPass(ctx), "execution pass"),
    every(HOUR_MS, async () => {
      await pruneBars(ctx.store, securities(), new Date());
      await pruneIdempotencyKeys(ctx.store, new Date(Date.now() - IDEMPOTENCY_RETENTION_MS));
      await pruneAccountEvents(ctx.store, new Date(Date.now() - EVENT_RETENTION_MS));
    }, "pruning"),
  ];
  return async () => {
    stopped = true;
    for (const timer of timers) clearInterval(timer);
    await running;
  };
}

/** Deletes idempotency records older than `before`. */
export async function pruneIdempotencyKeys(
  store: TradingContext["store"],
  before: Date,
): Promise<number> {
  let deleted = 0;
  for (;;) {
    const page = await store.find("idempotency_keys", {
      sort: { field: "createdAt", direction: 1 },
      range: { lt: before },
      limit: 100,
    });
    for (const record of page.items) {
      await store.delete("idempotency_keys", record._id).catch(() => {});
    }
    deleted += page.items.length;
    if (!page.nextCursor) return deleted;
  }
}
