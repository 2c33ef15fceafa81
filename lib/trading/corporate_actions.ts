/**
 * Booking the simulated market's corporate actions (lib/market/corporate_actions.ts) as a broker
 * does: dividends to the ledger of the accounts that held the shares on the record date, splits to
 * positions, tax lots and working orders. The worker runs it every minute in every instance; each
 * booking is an atomic unit carrying a document whose id is (action, account), so a second
 * instance, or a rerun after a crash, conflicts on that id and books nothing twice.
 *
 * Dividends, in two steps. Capture (from the record date): each holder gets a pending entitlement
 * `<actionId>:<accountId>` with the shares it held when the ex-date began, computed exactly however
 * late the worker runs: the position now, less what it bought and plus what it sold since, read
 * against the position's version. Payment (from the pay date): the entitlement turns `paid` in the
 * unit that appends its `dividend` ledger entry, qty × amount rounded down to the cent.
 *
 * Splits. When a split takes effect, each account holding the symbol or working orders in it gets
 * one unit: the position's quantity and reservation × ratio (cost basis unchanged), each open lot's
 * quantity × ratio (cost and acquisition date unchanged, so its unit cost ÷ ratio), each working
 * order's quantity × ratio and prices ÷ ratio (ORDER PRICE RULE below), its hold unchanged, and the
 * booking `<actionId>:<accountId>`. Until every holder's unit is in, the symbol does not trade
 * (orders refused with 422 `corporate_action_pending`, none filled), so no order meets the new
 * prices with old quantities. Trades stay as they executed; the integrity scan reads a trade from
 * before a booked split in today's shares.
 *
 * ORDER PRICE RULE: an adjusted price is rounded to the security's tick in the direction that makes
 * the order no easier to execute than the exact adjusted price would: a buy limit down, a sell
 * limit up, a buy stop up, a sell stop down; a trailing stop's dollar trail up and its best price
 * away from the market (a sell's down, a buy's up), its stop recomputed from them as at placement.
 * So a split never executes an order sooner, or at a price better for the customer, than the
 * customer asked for; and a buy's hold, kept as it was, still covers qty × its new limit.
 */
import {
  allSplitsBetween,
  type CorporateAction,
  type Dividend,
  dividendsBetween,
  SCHEDULE_START,
  type Split,
  splitsBetween,
} from "../market/corporate_actions.ts";
import type { Security } from "../market/securities.ts";
import { AppError } from "../errors.ts";
import {
  divFixed,
  type Fixed,
  formatFixed,
  mulDownToCent,
  parseFixed,
  roundFixed,
  type Rounding,
  SCALE,
} from "../money.ts";
import { findAll } from "../store/find_all.ts";
import { ConflictError, type Doc, type Store, type WriteOp } from "../store/port.ts";
import { retryOnConflict } from "../store/retry.ts";
import { type Account, accountStep } from "./accounts.ts";
import { marketOpen } from "./market.ts";
import { type Alert, splitAlerts } from "./alerts.ts";
import type { Trade } from "./history.ts";
import { appendEntries, currentCash } from "./ledger.ts";
import { costKeyOf, type Lot } from "./lots.ts";
import { type OrderChange, withOpenTotals } from "./open_orders.ts";
import { trailingStopPrice } from "./order_rules.ts";
import type { Order, TradingContext } from "./orders.ts";
import { type Position, positionId } from "./positions.ts";

/** How far back the worker looks for actions still to book: longer than any ex-date → pay date. */
const LOOKBACK_MS = 60 * 86_400_000;
/**
 * The keys one split unit may write (KV checks at most 100 per unit): a lot is one; a working order
 * three (the order, its `replaced` event and that event's outbox entry); the booking, position and
 * account the rest.
 */
const MAX_SPLIT_KEYS = 95;

export type DividendEntitlement = Doc & {
  actionId: string;
  accountId: string;
  userId: string;
  symbol: string;
  /** Shares held when the ex-date began, the amount per share, and qty × amount down to the cent. */
  qty: string;
  amountPerShare: string;
  cash: string;
  payAt: Date;
  status: "pending" | "paid";
  capturedAt: Date;
  paidAt: Date | null;
  /** The ledger entry that paid it. */
  ledgerSeq: number | null;
};

export type SplitBooking = Doc & {
  actionId: string;
  accountId: string;
  userId: string;
  symbol: string;
  ratio: number;
  effectiveAt: Date;
  /** The position's quantity before and after (0 when only working orders were adjusted). */
  qtyBefore: string;
  qtyAfter: string;
  at: Date;
};

/** What the worker has finished of an action; written once, after the last account's unit. */
type ActionProgress = Doc & { symbol: string; kind: CorporateAction["kind"]; at: Date };

export function bookingId(actionId: string, accountId: string): string {
  return `${actionId}:${accountId}`;
}

/** The dividend's cash for `qty` shares: rounded down to the cent, against the customer. */
export function dividendCash(qty: Fixed, amountPerShare: Fixed): Fixed {
  return mulDownToCent(qty, amountPerShare);
}

/** Progress ids this store is known to have finished (they never un-finish), per store. */
const finishedByStore = new WeakMap<Store, Set<string>>();

function finished(store: Store): Set<string> {
  let set = finishedByStore.get(store);
  if (!set) finishedByStore.set(store, set = new Set());
  return set;
}

async function isFinished(store: Store, progressId: string): Promise<boolean> {
  const known = finished(store);
  if (known.has(progressId)) return true;
  if (!await store.get("corporate_actions", progressId)) return false;
  known.add(progressId);
  return true;
}

async function markFinished(store: Store, progressId: string, action: CorporateAction, now: Date) {
  try {
    await store.insert<ActionProgress>("corporate_actions", {
      _id: progressId,
      symbol: action.symbol,
      kind: action.kind,
      at: now,
    });
  } catch (error) {
    // Another instance finished it first: the same fact.
    if (!(error instanceof ConflictError)) throw error;
  }
  finished(store).add(progressId);
}

/** What one run booked. */
export type CorporateActionsResult = { captured: number; paid: number; split: number };

/**
 * Books every action due at `now`: splits in effect, dividends past their record date (capture)
 * and pay date (payment). Costs a lookup per action of the last 60 days until it is finished, then
 * nothing; each action reads only the positions of its symbol.
 */
export async function runCorporateActions(
  ctx: TradingContext,
  now = new Date(),
): Promise<CorporateActionsResult> {
  const result: CorporateActionsResult = { captured: 0, paid: 0, split: 0 };
  const since = new Date(Math.max(SCHEDULE_START.getTime(), now.getTime() - LOOKBACK_MS));
  if (now < since) return result;
  const due = new Date(now.getTime() + 1);
  for (const security of ctx.market.catalog.all()) {
    for (const split of splitsBetween(security.symbol, SCHEDULE_START, due)) {
      if (await isFinished(ctx.store, `${split.id}:applied`)) continue;
      result.split += await applySplit(ctx, security, split, now);
    }
    for (const dividend of dividendsBetween(security, since, due)) {
      if (!await isFinished(ctx.store, `${dividend.id}:captured`)) {
        result.captured += await captureDividend(ctx, dividend, now);
      }
      if (dividend.payAt <= now && !await isFinished(ctx.store, `${dividend.id}:paid`)) {
        result.paid += await payDividend(ctx, dividend, now);
      }
    }
  }
  return result;
}

/** Every position ever opened in a symbol (closed ones included: sold after the record date). */
async function holders(store: Store, symbol: string): Promise<Position[]> {
  return await findAll<Position>(store, "positions", { where: { symbol } });
}

/** Creates the pending entitlements of one dividend; returns how many this call created. */
export async function captureDividend(
  ctx: TradingContext,
  dividend: Dividend,
  now: Date,
): Promise<number> {
  let created = 0;
  for (const seen of await holders(ctx.store, dividend.symbol)) {
    const id = bookingId(dividend.id, seen.accountId);
    created += await retryOnConflict(async () => {
      if (await ctx.store.get("dividend_entitlements", id)) return 0;
      const [position, account] = await Promise.all([
        ctx.store.get<Position>("positions", seen._id),
        ctx.store.get<Account>("accounts", seen.accountId),
      ]);
      // A reset closed the account before the record date: its shares went with it.
      if (!position || !account) return 0;
      if (account.closedAt && account.closedAt <= dividend.cutoffAt) return 0;
      const qty = await qtyHeldAt(ctx.store, position, dividend.cutoffAt);
      if (qty <= 0n) return 0;
      const amount = parseFixed(dividend.amount, 4);
      const entitlement: Omit<DividendEntitlement, "_v"> = {
        _id: id,
        actionId: dividend.id,
        accountId: position.accountId,
        userId: position.userId,
        symbol: dividend.symbol,
        qty: formatFixed(qty, 0),
        amountPerShare: dividend.amount,
        cash: formatFixed(dividendCash(qty, amount)),
        payAt: dividend.payAt,
        status: "pending",
        capturedAt: now,
        paidAt: null,
        ledgerSeq: null,
      };
      try {
        // Against the position's version: a fill between reading it and its trades re-reads both.
        await ctx.store.commit([
          { op: "insert", collection: "dividend_entitlements", doc: entitlement },
          { op: "check", collection: "positions", id: position._id, version: position._v },
        ]);
        return 1;
      } catch (error) {
        // Another instance captured it first.
        if (error instanceof ConflictError && error.reason === "exists") return 0;
        throw error;
      }
    }, "The dividend's holders kept changing; the next run captures them.");
  }
  await markFinished(ctx.store, `${dividend.id}:captured`, dividend, now);
  return created;
}

/** The shares a position held at `cutoff`: what it holds now, less buys and plus sells since. */
async function qtyHeldAt(store: Store, position: Position, cutoff: Date): Promise<Fixed> {
  const since = await findAll<Trade>(store, "trades", {
    where: { accountId: position.accountId, symbol: position.symbol },
    sort: { field: "executedAt", direction: -1 },
    range: { gte: cutoff },
  });
  let qty = parseFixed(position.qty, SCALE);
  for (const trade of since) {
    const traded = parseFixed(trade.qty, SCALE);
    qty += trade.side === "buy" ? -traded : traded;
  }
  return qty;
}

/** Pays the pending entitlements of one dividend; returns how many this call paid. */
export async function payDividend(
  ctx: TradingContext,
  dividend: Dividend,
  now: Date,
): Promise<number> {
  // Capture first: a payment must never run ahead of the holders it pays.
  if (!await isFinished(ctx.store, `${dividend.id}:captured`)) {
    await captureDividend(ctx, dividend, now);
  }
  let paid = 0;
  const pending = await findAll<DividendEntitlement>(ctx.store, "dividend_entitlements", {
    where: { actionId: dividend.id, status: "pending" },
  });
  for (const { _id } of pending) {
    paid += await retryOnConflict(async () => {
      const entitlement = await ctx.store.get<DividendEntitlement>("dividend_entitlements", _id);
      if (!entitlement || entitlement.status !== "pending") return 0;
      const account = await ctx.store.get<Account>("accounts", entitlement.accountId);
      if (!account) return 0;
      const cash = parseFixed(entitlement.cash, 2);
      const booked = appendEntries(account, await currentCash(ctx.store, account), [{
        type: "dividend",
        amount: cash,
        description:
          `Dividend ${dividend.symbol}: ${entitlement.qty} sh × $${entitlement.amountPerShare}`,
        symbol: dividend.symbol,
        actionId: dividend.id,
      }], now);
      // The entitlement at its version and the account at its version: of two instances paying
      // at once, one commits and the other finds it paid.
      await ctx.store.commit([
        {
          op: "update",
          collection: "dividend_entitlements",
          id: _id,
          set: { status: "paid", paidAt: now, ledgerSeq: booked.seq },
          ifVersion: entitlement._v,
        },
        ...booked.ops,
        accountStep(account, booked.seq),
      ]);
      return 1;
    }, "The account kept changing; the next run pays the dividend.");
  }
  await markFinished(ctx.store, `${dividend.id}:paid`, dividend, now);
  return paid;
}

/** Applies a split to every account holding the symbol or working orders in it. */
export async function applySplit(
  ctx: TradingContext,
  security: Security,
  split: Split,
  now: Date,
): Promise<number> {
  const accounts = new Set<string>();
  for (const p of await holders(ctx.store, split.symbol)) {
    if (p.status === "open") accounts.add(p.accountId);
  }
  const working = await findAll<Order>(ctx.store, "orders", {
    where: { open: true, symbol: split.symbol },
  });
  for (const order of working) accounts.add(order.accountId);
  let applied = 0;
  let failed = 0;
  for (const accountId of accounts) {
    try {
      applied += await retryOnConflict(
        () => splitAccount(ctx, security, split, accountId, now),
        "The account kept changing; the next run applies the split.",
      );
    } catch (error) {
      // One account that cannot be split now must not hold up the others; the symbol stays
      // closed to trading until it is done, and the next run tries it again.
      failed++;
      ctx.log.warn("split not applied to an account", { split: split.id, accountId, error });
    }
  }
  try {
    await splitAlerts(ctx, split);
  } catch (error) {
    failed++;
    ctx.log.warn("split not applied to the alerts", { split: split.id, error });
  }
  if (failed === 0) await markFinished(ctx.store, `${split.id}:applied`, split, now);
  return applied;
}

/** One account's split, one atomic unit; 0 when it was already booked or had nothing to split. */
async function splitAccount(
  ctx: TradingContext,
  security: Security,
  split: Split,
  accountId: string,
  now: Date,
): Promise<number> {
  const id = bookingId(split.id, accountId);
  if (await ctx.store.get("split_bookings", id)) return 0;
  const ratio = BigInt(split.ratio);
  const [account, position, lots, orders] = await Promise.all([
    ctx.store.get<Account>("accounts", accountId),
    ctx.store.get<Position>("positions", positionId(accountId, split.symbol)),
    findAll<Lot>(ctx.store, "lots", {
      where: { accountId, symbol: split.symbol, open: true },
    }),
    findAll<Order>(ctx.store, "orders", { where: { accountId, open: true } }),
  ]);
  if (!account) return 0;
  const working = orders.filter((o) => o.symbol === split.symbol);
  const held = position && position.status === "open";
  if (!held && working.length === 0) return 0;
  if (3 + lots.length + 3 * working.length > MAX_SPLIT_KEYS) {
    throw new Error(
      `split ${split.id}: account ${accountId} has ${lots.length} lots and ${working.length} orders in one unit`,
    );
  }
  const qtyBefore = position ? parseFixed(position.qty, SCALE) : 0n;
  const ops: WriteOp[] = [{
    op: "insert",
    collection: "split_bookings",
    doc: {
      _id: id,
      actionId: split.id,
      accountId,
      userId: account.userId,
      symbol: split.symbol,
      ratio: split.ratio,
      effectiveAt: split.effectiveAt,
      qtyBefore: formatFixed(qtyBefore, 0),
      qtyAfter: formatFixed(qtyBefore * ratio, 0),
      at: now,
    } satisfies Omit<SplitBooking, "_v">,
  }];
  if (position) {
    ops.push({
      op: "update",
      collection: "positions",
      id: position._id,
      set: { qty: formatFixed(qtyBefore * ratio, 0), updatedAt: now },
      ifVersion: position._v,
    });
  }
  for (const lot of lots) {
    const qty = parseFixed(lot.qty, SCALE) * ratio;
    const remaining = parseFixed(lot.remainingQty, SCALE) * ratio;
    const unit = divFixed(parseFixed(lot.costBasis, 8), qty, SCALE);
    ops.push({
      op: "update",
      collection: "lots",
      id: lot._id,
      set: {
        qty: formatFixed(qty, 0),
        remainingQty: formatFixed(remaining, 0),
        unitCost: formatFixed(unit),
        costKey: costKeyOf(unit),
      },
      ifVersion: lot._v,
    });
  }
  const changes: OrderChange[] = working.map((order) => {
    const { _v: _, ...before } = order;
    return { before, after: splitOrder(before, security, split, now) };
  });
  for (const { after } of changes) {
    const { _id, ...set } = after;
    const order = working.find((o) => o._id === _id)!;
    ops.push({ op: "update", collection: "orders", id: _id, set, ifVersion: order._v });
  }
  await ctx.store.commit(withOpenTotals(ops, account, [position], changes));
  return 1;
}

/** A working order in the shares after a split of `ratio`, by the ORDER PRICE RULE above. */
export function splitOrder<T extends Omit<Order, "_v">>(
  order: T,
  security: Pick<Security, "priceDecimals">,
  split: Pick<Split, "ratio" | "effectiveAt">,
  now: Date,
): T {
  const r = BigInt(split.ratio);
  const buy = order.side === "buy";
  const price = (value: string | null | undefined, mode: Rounding) =>
    value == null ? value : formatFixed(
      roundFixed(parseFixed(value, SCALE) / r, security.priceDecimals, mode),
      security.priceDecimals,
    );
  const times = (value: string) => formatFixed(parseFixed(value, SCALE) * r, 0);
  const after: T = {
    ...order,
    qty: times(order.qty),
    filledQty: times(order.filledQty),
    filledAvgPrice: order.filledAvgPrice === null
      ? null
      // Exact at full scale for 2 and 4; a third is truncated at the 8th decimal.
      : formatFixed(parseFixed(order.filledAvgPrice, SCALE) / r),
    limitPrice: price(order.limitPrice, buy ? "floor" : "ceil") ?? null,
    splits: [...order.splits ?? [], { effectiveAt: split.effectiveAt, ratio: split.ratio }],
    updatedAt: now,
  };
  if (order.type === "trailing_stop" && order.hwm) {
    const hwm = price(order.hwm, buy ? "ceil" : "floor")!;
    const trailPrice = price(order.trailPrice, "ceil") ?? null;
    const stop = trailingStopPrice(order.side, parseFixed(hwm, SCALE), {
      trailPercent: order.trailPercent ? parseFixed(order.trailPercent, SCALE) : null,
      trailPrice: trailPrice ? parseFixed(trailPrice, SCALE) : null,
    }, security.priceDecimals);
    return {
      ...after,
      hwm,
      trailPrice,
      stopPrice: formatFixed(stop, security.priceDecimals),
    };
  }
  return { ...after, stopPrice: price(order.stopPrice, buy ? "ceil" : "floor") ?? null };
}

/**
 * Refuses an order in a symbol whose split has taken effect but is not yet applied to every
 * holder: 422 `corporate_action_pending`, for the minute the worker needs.
 */
export async function assertNoPendingSplit(
  ctx: TradingContext,
  symbol: string,
  now: Date,
): Promise<void> {
  if (await pendingSplit(ctx, symbol, now)) {
    throw new AppError(
      422,
      "corporate_action_pending",
      `${symbol} is being split; its orders and positions are adjusted within a minute. Try again shortly.`,
    );
  }
}

/**
 * Whether a split of `symbol` is in effect at `now` but not yet applied to every account. Never
 * with a quote vendor's prices, which do not split with the simulated market (nor are splits
 * booked then).
 */
export async function pendingSplit(
  ctx: Pick<TradingContext, "store" | "market">,
  symbol: string,
  now: Date,
): Promise<boolean> {
  if (ctx.market.provider.name !== "simulated") return false;
  for (const split of splitsBetween(symbol, SCHEDULE_START, new Date(now.getTime() + 1))) {
    if (!await splitDone(ctx, split, now)) return true;
  }
  return false;
}

/**
 * Of these symbols, the securities a pass may act on at `now`: listed, their market moving
 * (extended hours included), and with no split in effect but not yet applied — their prices are
 * already in the new shares while orders and alert levels are still in the old.
 */
export async function movingSecurities(
  ctx: Pick<TradingContext, "store" | "market">,
  symbols: string[],
  now: Date,
): Promise<Security[]> {
  const open = symbols
    .map((s) => ctx.market.catalog.get(s))
    .filter((s) => s !== undefined && marketOpen(ctx.market, s, now, true)) as Security[];
  const pending = await Promise.all(open.map((s) => pendingSplit(ctx, s.symbol, now)));
  return open.filter((_, n) => !pending[n]);
}

/**
 * Whether a split in effect is applied everywhere it must be: marked so, or with nobody holding
 * the symbol or working an order in it (then marked so at once, since there is nothing to adjust
 * and every order from now on is placed in the new shares).
 */
async function splitDone(
  ctx: Pick<TradingContext, "store" | "market">,
  split: Split,
  now: Date,
): Promise<boolean> {
  const progress = `${split.id}:applied`;
  if (await isFinished(ctx.store, progress)) return true;
  const [held, working, alerts] = await Promise.all([
    ctx.store.find<Position>("positions", { where: { symbol: split.symbol }, limit: 1000 }),
    ctx.store.find<Order>("orders", { where: { open: true, symbol: split.symbol }, limit: 1 }),
    ctx.store.find<Alert>("alerts", {
      where: { status: "active", symbol: split.symbol },
      limit: 1,
    }),
  ]);
  const waiting = working.items.length > 0 || alerts.items.length > 0;
  if (held.items.some((p) => p.status === "open") || waiting) return false;
  if (held.nextCursor) return false;
  await markFinished(ctx.store, progress, split, now);
  return true;
}

/**
 * Whether any split is in effect at `now` but not yet applied everywhere: equity is not recorded
 * then, since a position still in the old shares valued at the new prices would show as a drop.
 */
export async function anySplitPending(ctx: TradingContext, now: Date): Promise<boolean> {
  if (ctx.market.provider.name !== "simulated") return false;
  for (const split of allSplitsBetween(SCHEDULE_START, new Date(now.getTime() + 1))) {
    if (!await splitDone(ctx, split, now)) return true;
  }
  return false;
}

/** The actions of a symbol declared by `now` whose ex-date falls in [from, to), oldest first. */
export function declaredActions(
  security: Security,
  from: Date,
  to: Date,
  now: Date,
): CorporateAction[] {
  const actions: CorporateAction[] = [
    ...dividendsBetween(security, from, to),
    ...splitsBetween(security.symbol, from, to),
  ];
  return actions.filter((a) => a.declaredAt <= now).sort((a, b) => a.exDate < b.exDate ? -1 : 1);
}

/** An action as the API shows it. */
export function corporateActionJson(action: CorporateAction) {
  const common = {
    id: action.id,
    type: action.kind,
    symbol: action.symbol,
    declaredDate: action.declaredDate,
    exDate: action.exDate,
  };
  return action.kind === "dividend"
    ? {
      ...common,
      recordDate: action.recordDate,
      payDate: action.payDate,
      cashAmount: action.amount,
      ratio: null,
    }
    : { ...common, recordDate: null, payDate: null, cashAmount: null, ratio: `${action.ratio}:1` };
}
