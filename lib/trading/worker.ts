/**
 * The execution worker: evaluates the working orders the market reaches as prices move. Stops
 * trigger on the last price; marketable orders fill through the same atomic unit as at placement;
 * day orders expire at their session's close. Safe to run in several app instances at once and
 * to stop at any moment: every change checks the versions it read, so an order fills at most once.
 */
import { auditOp } from "../audit.ts";
import { runAlertPass } from "./alerts.ts";
import { runDispatchPass } from "../notify/dispatch.ts";
import { sendNotificationEmails } from "../notify/email_digest.ts";
import { NOTIFICATION_RETENTION_MS } from "../notify/notifications.ts";
import { pruneMadeBefore } from "../store/find_all.ts";
import type { Alert } from "./alerts.ts";
import type { WebhookDelivery } from "../webhooks/deliveries.ts";
import { pruneBars } from "../market/bars.ts";
import { AppError } from "../errors.ts";
import { ConflictError, type Query } from "../store/port.ts";
import { distinctValues } from "../store/find_all.ts";
import { inAccountTurn } from "./account_queue.ts";
import { type Account, cancelOrdersOfClosedAccount } from "./accounts.ts";
import { EVENT_RETENTION_MS, pruneAccountEvents } from "./events.ts";
import { movingSecurities, runCorporateActions } from "./corporate_actions.ts";
import { equityRecorder, INTRADAY_RETENTION_MS, pruneEquityPoints } from "./equity_history.ts";
import { fillNumber, fillOps, orderFillFields } from "./fills.ts";
import { lotsToSell, sellableNow } from "./lots.ts";
import { currentCash } from "./ledger.ts";
import { type LiveQuote, liveQuotes, marketOpen } from "./market.ts";
import {
  executionPrice,
  fillCash,
  holdFor,
  stopTriggered,
  trailImproves,
  trailingStopPrice,
} from "./order_rules.ts";
import { ensureOpenTotals, footprint, openTotals } from "./open_orders.ts";
import { withLinkedOrders } from "./legs.ts";
import { type Order, type TradingContext } from "./orders.ts";
import { type Position, positionId, positionState } from "./positions.ts";
import { candidateRanges, watchedRight, watchFields } from "./order_watch.ts";
import { divFixed, type Fixed, formatFixed, parseFixed, sumFixed } from "../money.ts";
import type { Trade } from "./history.ts";
import type { Security } from "../market/securities.ts";
import { sendWeeklyStatements, type StatementDeps } from "./weekly_statement.ts";
import { runWebhookPass, type SenderDeps } from "../webhooks/sender.ts";
import { webhookFollower } from "../webhooks/deliveries.ts";

/** What one pass did. */
export type PassResult = {
  filled: number;
  expired: number;
  rejected: number;
  triggered: number;
  /** Trailing stops whose best price and stop moved with the last price. */
  trailed: number;
  conflicts: number;
};

/**
 * One execution pass: the working orders the current prices can trigger or fill, and the day
 * orders whose session has closed — never the rest of the book. Its cost follows the market:
 * one seek per symbol that has working orders, eight index ranges per such symbol whose market is
 * open, two in pre-market and after-hours for the extended-hours orders (order_watch.ts), and the
 * candidates those ranges hold.
 */
export async function runExecutionPass(ctx: TradingContext, now = new Date()): Promise<PassResult> {
  const result: PassResult = {
    filled: 0,
    expired: 0,
    rejected: 0,
    triggered: 0,
    trailed: 0,
    conflicts: 0,
  };
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
  const seen = new Set<string>();
  const run = async (order: Order, quote: LiveQuote | undefined) => {
    if (seen.has(order._id)) return;
    seen.add(order._id);
    try {
      // In turn with the account's other writers in this process, so a burst of orders and the
      // pass do not keep invalidating each other's readings.
      const outcome = await inAccountTurn(
        order.accountId,
        () => evaluate(ctx, order, quote, now, accountStatus),
      );
      if (outcome) result[outcome]++;
    } catch (err) {
      // Someone else (a cancel, another worker) changed the order or account first, or its
      // queue is long; the next pass sees it.
      const busy = err instanceof AppError && err.code === "account_busy";
      if (!(err instanceof ConflictError) && !busy) throw err;
      result.conflicts++;
    }
  };

  // Day orders past their session's close (null expiresAt sorts first: the range starts above it).
  for await (
    const order of eachOrder(ctx.store, {
      where: { open: true },
      sort: { field: "expiresAt", direction: 1 },
      range: { gte: new Date(0), lt: new Date(now.getTime() + 1) },
    })
  ) await run(order, undefined);

  const symbols = await distinctValues(ctx.store, "orders", { open: true }, "symbol");
  // A symbol whose split is not yet applied to every holder waits (corporate_actions.ts).
  const securities = await movingSecurities(ctx, symbols, now);
  const quotes = await liveQuotes(ctx.market, securities, now);
  for (const [n, security] of securities.entries()) {
    const quote = quotes[n];
    const decimals = security.priceDecimals;
    const shown = {
      bid: formatFixed(quote.bid, decimals),
      ask: formatFixed(quote.ask, decimals),
      last: formatFixed(quote.last, decimals),
    };
    const extendedOnly = !marketOpen(ctx.market, security, now);
    for (const range of candidateRanges(security.symbol, shown, extendedOnly)) {
      for await (
        const order of eachOrder(ctx.store, {
          where: { [`${range.index}Key`]: range.key },
          sort: { field: `${range.index}Price`, direction: 1 },
          range: { gte: range.gte, lt: range.lt },
        })
      ) await run(order, quote);
    }
  }
  return result;
}

/**
 * The slow sweep over every working order (at start and hourly), for what prices never bring into
 * a pass: orders left on an account a reset closed (an interrupted reset) end; orders written
 * before the execution index get their place in it (order_watch.ts).
 */
export async function sweepWorkingOrders(
  ctx: TradingContext,
  now = new Date(),
): Promise<{ cancelled: number; indexed: number }> {
  const swept = { cancelled: 0, indexed: 0 };
  const closed = new Set<string>();
  const checked = new Map<string, Account["status"] | "missing">();
  for await (
    const order of eachOrder(ctx.store, {
      where: { open: true },
      sort: { field: "placedAt", direction: 1 },
    })
  ) {
    if (!checked.has(order.accountId)) {
      const account = await ctx.store.get<Account>("accounts", order.accountId);
      checked.set(order.accountId, account?.status ?? "missing");
    }
    if (checked.get(order.accountId) === "closed") {
      if (!closed.has(order.accountId)) {
        closed.add(order.accountId);
        swept.cancelled += await cancelOrdersOfClosedAccount(ctx.store, order.accountId, now);
      }
      continue;
    }
    if (watchedRight(order)) continue;
    try {
      await ctx.store.update<Order>("orders", order._id, watchFields(order), {
        ifVersion: order._v,
      });
      swept.indexed++;
    } catch (err) {
      // Changed meanwhile: whatever changed it wrote its watch fields.
      if (!(err instanceof ConflictError)) throw err;
    }
  }
  return swept;
}

/** The orders a query matches, read a page at a time so a long range never sits in memory. */
async function* eachOrder(
  store: TradingContext["store"],
  query: Omit<Query, "cursor" | "limit">,
): AsyncGenerator<Order> {
  let cursor: string | undefined;
  do {
    const page = await store.find<Order>("orders", { ...query, limit: 200, cursor });
    yield* page.items;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
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
    await store.commit(
      await withLinkedOrders(
        store,
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
        now,
      ),
    );
    return "expired";
  }
  const owner = await accountStatus(order.accountId);
  if (owner !== "active") {
    // A reset closed the account after this order was placed: it ends instead of ever filling.
    if (owner === "closed") await cancelOrdersOfClosedAccount(store, order.accountId, now);
    return null;
  }
  const security = ctx.market.catalog.get(order.symbol);
  if (!security || !quote || !marketOpen(ctx.market, security, now, order.extendedHours)) {
    return null;
  }
  // An exit waiting for its entry works once the entry's fill wakes it (legs.ts).
  if (order.status === "held") return null;

  if (order.type === "trailing_stop" && !order.triggeredAt && order.hwm) {
    const hwm = parseFixed(order.hwm, security.priceDecimals);
    if (trailImproves(order.side, hwm, quote.last)) {
      // The price moved the customer's way: the best price and the stop follow it, and the order
      // waits at both new levels (order_watch.ts). Checked against the version read, like every
      // worker write, so of two instances one moves it and the other re-reads next pass; a move
      // never triggers, since the stop stays a trail away from the new last price. Not an order
      // event: nothing the customer did or was charged changed.
      const moved = {
        hwm: formatFixed(quote.last),
        stopPrice: formatFixed(
          trailingStopPrice(order.side, quote.last, {
            trailPercent: order.trailPercent ? parseFixed(order.trailPercent, 2) : null,
            trailPrice: order.trailPrice
              ? parseFixed(order.trailPrice, security.priceDecimals)
              : null,
          }, security.priceDecimals),
        ),
        updatedAt: now,
      };
      await store.update<Order>("orders", order._id, {
        ...moved,
        ...watchFields({ ...order, ...moved }),
      }, { ifVersion: order._v });
      return "trailed";
    }
  }
  const stopPrice = order.stopPrice === null
    ? null
    : parseFixed(order.stopPrice, security.priceDecimals);
  if (stopPrice !== null && !order.triggeredAt) {
    if (!stopTriggered(order.side, stopPrice, quote.last)) return null;
    // Triggered, it waits as a market or limit order from now on (order_watch.ts).
    await store.update<Order>("orders", order._id, {
      triggeredAt: now,
      updatedAt: now,
      ...watchFields({ ...order, triggeredAt: now }),
    }, { ifVersion: order._v });
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
  const lots = await lotsToSell(store, account, order.side, position);
  // What the quote shows, and (a sell) the lots one unit may close (lots.ts).
  const shown = sellableNow(order.side === "buy" ? quote.askSize : quote.bidSize, lots);
  const liquid = remaining < shown ? remaining : shown;
  // A dollar order's parts together never cost (or, selling, bring in) more than its amount: a
  // later part, at a price worse than the first's, takes only what the amount still buys, and then
  // the order is done at the quantity it has filled (README, Dollar orders).
  const affordable = order.notional === undefined
    ? null
    : await notionalUnitsLeft(store, order, price, security);
  const spent = affordable !== null && affordable < liquid;
  const qty = spent ? affordable : liquid;
  const rest = spent ? 0n : remaining - qty;
  const sized = spent
    ? { ...order, qty: formatFixed(parseFixed(order.filledQty, security.qtyDecimals) + qty, 0) }
    : order;
  if (qty === 0n) {
    const set = {
      qty: sized.qty,
      status: "filled" as const,
      open: false,
      holdAmount: "0.00",
      filledAt: now,
      updatedAt: now,
    };
    await store.commit(
      await withLinkedOrders(
        store,
        [{ op: "update", collection: "orders", id: order._id, set, ifVersion: order._v }],
        account,
        [position],
        [{ before: order, after: { ...order, ...set } }],
        now,
      ),
    );
    return "filled";
  }
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
    await store.commit(
      await withLinkedOrders(
        store,
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
        now,
      ),
    );
    return "rejected";
  }
  const input = {
    order: sized,
    security,
    account,
    cash,
    position,
    qty,
    price,
    commission,
    at: now,
    lots,
  };
  const fields = { ...orderFillFields(input, { restHold }), ...(spent ? { qty: sized.qty } : {}) };
  // An entry's fill wakes or grows its exits; an exit's fill shrinks or ends its pair (legs.ts).
  await store.commit(
    await withLinkedOrders(
      store,
      [
        { op: "update", collection: "orders", id: order._id, set: fields, ifVersion: order._v },
        ...fillOps(input).ops,
      ],
      account,
      [position],
      [{ before: order, after: { ...sized, ...fields } }],
      now,
    ),
  );
  return "filled";
}

/**
 * What is left of a dollar order's amount after its fills so far, in whole units of the security
 * at `price`, rounded down: their cash, rounded to the cent either way, stays within what is left.
 */
async function notionalUnitsLeft(
  store: TradingContext["store"],
  order: Order,
  price: Fixed,
  security: Security,
): Promise<Fixed> {
  const trades = await store.find<Trade>("trades", { where: { orderId: order._id }, limit: 1000 });
  const used = sumFixed(trades.items.map((trade) => parseFixed(trade.gross, 2)));
  const left = parseFixed(order.notional!, 2) - used;
  return left <= 0n ? 0n : divFixed(left, price, security.qtyDecimals, "floor");
}

function sameSecond(a: Date, b: Date): boolean {
  return Math.floor(a.getTime() / 1000) === Math.floor(b.getTime() / 1000);
}

/** How often working orders are evaluated. */
const EXECUTION_INTERVAL_MS = 1000;
const WEBHOOK_INTERVAL_MS = 2000;
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
/** Idempotency keys are kept a day: long enough for any client's retries. */
const IDEMPOTENCY_RETENTION_MS = 24 * HOUR_MS;

/** How often the notification email batcher looks for digests due (lib/notify/email_digest.ts). */
const DIGEST_INTERVAL_MS = 5_000;

/** How often the weekly statement job looks for statements due (weekly_statement.ts). */
const STATEMENT_INTERVAL_MS = 15 * MINUTE_MS;

/**
 * Starts the background work of one app instance: the execution pass every second, the equity
 * recorder (equity_history.ts) and the corporate actions (corporate_actions.ts) every minute,
 * hourly pruning (bars are computed on demand, lib/market/bars.ts, so none are recorded), and,
 * given `statements` (the app's mailer), the weekly statement emails every 15 minutes. Every job is
 * safe to run in several instances at once. Returns a stop function that waits for the jobs in
 * flight.
 */
export function startTradingWorkers(
  ctx: TradingContext,
  options: { statements?: StatementDeps; webhooks?: SenderDeps } = {},
): () => Promise<void> {
  // Every job in flight, so stopping waits for all of them (a statement mid-send included), not
  // only the one started last.
  const running = new Set<Promise<unknown>>();
  const track = (job: Promise<unknown>) => {
    running.add(job);
    job.finally(() => running.delete(job));
  };
  let stopped = false;
  const every = (ms: number, job: () => Promise<unknown>, name: string) => {
    let busy = false;
    const timer = setInterval(() => {
      // A slow run is never overlapped by the next one.
      if (busy || stopped) return;
      busy = true;
      track(
        job().catch((error) => ctx.log.warn(`${name} failed`, { error })).finally(() =>
          busy = false
        ),
      );
    }, ms);
    Deno.unrefTimer(timer);
    return timer;
  };
  const securities = () => ctx.market.catalog.all();
  const recordEquity = equityRecorder(ctx);
  // Orders from before the execution index are invisible to the pass until the sweep has given
  // them their place, so it runs at once, not an hour from now.
  track(
    sweepWorkingOrders(ctx).catch((error) => ctx.log.warn("working-order sweep failed", { error })),
  );
  const timers = [
    every(EXECUTION_INTERVAL_MS, () => runExecutionPass(ctx), "execution pass"),
    // Price alerts follow the market the same way, in their own index (alerts.ts).
    every(EXECUTION_INTERVAL_MS, () => runAlertPass(ctx), "alert pass"),
    // What those passes did reaches the bell and webhooks from the outbox (lib/notify).
    every(
      EXECUTION_INTERVAL_MS,
      () => runDispatchPass(ctx.store, [webhookFollower]),
      "dispatch pass",
    ),
    every(HOUR_MS, () => sweepWorkingOrders(ctx), "working-order sweep"),
    every(MINUTE_MS, () => recordEquity(new Date()), "equity recording"),
    // Corporate actions are part of the simulated market: a quote vendor's prices never split.
    ...(ctx.market.provider.name === "simulated"
      ? [every(MINUTE_MS, () => runCorporateActions(ctx), "corporate actions")]
      : []),
    every(HOUR_MS, async () => {
      await pruneBars(ctx.store, securities(), new Date());
      await pruneIdempotencyKeys(ctx.store, new Date(Date.now() - IDEMPOTENCY_RETENTION_MS));
      await pruneAccountEvents(ctx.store, new Date(Date.now() - EVENT_RETENTION_MS));
      await pruneEquityPoints(ctx.store, new Date(Date.now() - INTRADAY_RETENTION_MS));
      await pruneRecords(ctx.store, new Date());
    }, "pruning"),
  ];
  const { statements, webhooks } = options;
  if (webhooks) {
    // Deliveries are stored, so a pass every couple of seconds only sets how soon one goes out.
    timers.push(every(WEBHOOK_INTERVAL_MS, () => runWebhookPass(webhooks), "webhook deliveries"));
  }
  if (statements) {
    timers.push(
      every(
        STATEMENT_INTERVAL_MS,
        () => sendWeeklyStatements(ctx, statements, new Date()),
        "weekly statements",
      ),
      every(
        DIGEST_INTERVAL_MS,
        () => sendNotificationEmails(ctx.store, { ...statements, log: ctx.log }),
        "notification emails",
      ),
    );
  }
  return async () => {
    stopped = true;
    for (const timer of timers) clearInterval(timer);
    await Promise.all(running);
  };
}

/** A delivery's record is kept a month: long after its day of retries is over. */
const DELIVERY_RETENTION_MS = 30 * 24 * HOUR_MS;
/** The signal log and fired alerts are kept as long as notifications. */
const SIGNAL_RETENTION_MS = NOTIFICATION_RETENTION_MS;
const FIRED_ALERT_RETENTION_MS = NOTIFICATION_RETENTION_MS;

/**
 * The records that only grow: notifications, webhook deliveries (never one still due), the signal
 * log, and fired alerts (an active alert stays however old; a fired one goes 90 days after it fired).
 */
export async function pruneRecords(store: TradingContext["store"], now: Date): Promise<void> {
  const ago = (ms: number) => new Date(now.getTime() - ms);
  await pruneMadeBefore(store, "notifications", ago(NOTIFICATION_RETENTION_MS));
  await pruneMadeBefore<WebhookDelivery>(
    store,
    "webhook_deliveries",
    ago(DELIVERY_RETENTION_MS),
    (d) => d.status === "pending" || d.status === "sending",
  );
  await pruneMadeBefore(store, "signals", ago(SIGNAL_RETENTION_MS));
  const firedBefore = ago(FIRED_ALERT_RETENTION_MS);
  await pruneMadeBefore<Alert>(
    store,
    "alerts",
    firedBefore,
    (a) => a.status === "active" || a.triggeredAt === null || a.triggeredAt >= firedBefore,
  );
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
