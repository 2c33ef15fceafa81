/**
 * Price alerts: "tell me when AAPL goes above 200". An alert is active until the last price reaches
 * its level, then fires once and stays, as triggered, for the user to read.
 *
 * **Where an active alert waits.** Like a working order (order_watch.ts), an active alert carries
 * `watchKey` (`<symbol>|above` or `<symbol>|below`) and `watchPrice` (its level as a number),
 * indexed together. A pass reads, per symbol with active alerts, two index ranges: `above` levels
 * at or below the last price, `below` levels at or above it. Those are exactly the alerts the
 * price has crossed, since an alert is only accepted while the price is on the other side of its
 * level; alerts far from the price are never read, however many there are. Firing clears both
 * fields, so a fired alert leaves the index.
 *
 * **At most MAX_ACTIVE_ALERTS per user.** An active alert holds a slot, an `alert_slots` document
 * with `_id` `<userId>:<n>` for n below the cap, inserted in the same unit as the alert and deleted
 * in the unit that fires or deletes it. Two creates that pick the same slot cannot both insert it,
 * so the cap follows from the key, however many creates race; a create that finds every slot taken
 * is refused.
 *
 * **Firing, and what will hook in.** An alert fires in one unit, `alertFiredOps`: the alert moves
 * to `triggered` at the version the pass read (so of two passes racing, one fires it), records
 * `triggeredAt` and `triggeredPrice`, frees its slot, and adds an `alert.triggered` event to the
 * user's outbox (lib/notify/outbox.ts), from which the notification centre and webhooks follow.
 */
import { AppError, notFound } from "../errors.ts";
import { newId } from "../ids.ts";
import { eventOp } from "../notify/outbox.ts";
import type { Security } from "../market/securities.ts";
import { DecimalError, divFixed, type Fixed, fixed, formatFixed, parseFixed } from "../money.ts";
import { ConflictError, type Doc, type Page, type Store, type WriteOp } from "../store/port.ts";
import { retryOnConflict } from "../store/retry.ts";
import { distinctValues, findAll } from "../store/find_all.ts";
import { movingSecurities } from "./corporate_actions.ts";
import { liveQuotes, type Market, securityFor } from "./market.ts";

export const MAX_ACTIVE_ALERTS = 50;
export const ALERT_NOTE_MAX = 200;
export const ALERT_CONDITIONS = ["above", "below"] as const;
export type AlertCondition = (typeof ALERT_CONDITIONS)[number];

export type Alert = Doc & {
  userId: string;
  symbol: string;
  condition: AlertCondition;
  /** The level, a decimal string at the security's price precision. */
  price: string;
  note: string | null;
  status: "active" | "triggered";
  /** The slot an active alert holds (`alert_slots` `<userId>:<slot>`); null once triggered. */
  slot: number | null;
  /** Where an active alert waits for the pass; null once triggered. */
  watchKey: string | null;
  watchPrice: number | null;
  createdAt: Date;
  triggeredAt: Date | null;
  /** The last price the pass saw when it fired the alert. */
  triggeredPrice: string | null;
  /** The splits its level was divided by (corporate_actions.ts), so each applies once. */
  splits?: string[];
};

export type AlertSlot = Doc & { userId: string; alertId: string };

export type AlertInput = {
  symbol: string;
  condition: AlertCondition;
  price: unknown;
  note?: string;
};

export function alertWatchKey(symbol: string, condition: AlertCondition): string {
  return `${symbol}|${condition}`;
}

export function alertSlotId(userId: string, slot: number): string {
  return `${userId}:${String(slot).padStart(2, "0")}`;
}

/** Whether `last` has reached the alert's level. */
export function alertReached(condition: AlertCondition, level: Fixed, last: Fixed): boolean {
  return condition === "above" ? last >= level : last <= level;
}

/** The level of an alert on `security`: positive, at its price precision, or 422 naming `price`. */
export function parseAlertPrice(value: unknown, security: Security): Fixed {
  let price: Fixed;
  try {
    price = parseFixed(value, security.priceDecimals, "Price");
  } catch (err) {
    if (!(err instanceof DecimalError)) throw err;
    throw invalid("price", err.message);
  }
  if (price <= 0n) throw invalid("price", "Price must be greater than zero.");
  return price;
}

/**
 * A new active alert, or 422: an unknown symbol, a bad level, a level the price is already at or
 * past (it could never cross it), or `too_many_alerts` when the user has MAX_ACTIVE_ALERTS active.
 */
export async function createAlert(
  ctx: { store: Store; market: Market },
  userId: string,
  input: AlertInput,
  now = new Date(),
): Promise<Alert> {
  const security = securityFor(ctx.market, input.symbol);
  const level = parseAlertPrice(input.price, security);
  const [quote] = await liveQuotes(ctx.market, [security], now);
  if (alertReached(input.condition, level, quote.last)) {
    const last = formatFixed(quote.last, security.priceDecimals);
    throw invalid(
      "price",
      input.condition === "above"
        ? `${security.symbol} is already at or above that price (last ${last}); choose a higher one.`
        : `${security.symbol} is already at or below that price (last ${last}); choose a lower one.`,
    );
  }
  const note = input.note?.trim() || null;
  const alertId = newId(now.getTime());
  // Each lost race means another create took a slot, so the retries needed are bounded by the cap.
  return await retryOnConflict(
    async () => {
      const slotIds = Array.from({ length: MAX_ACTIVE_ALERTS }, (_, n) => alertSlotId(userId, n));
      const taken = await ctx.store.getMany<AlertSlot>("alert_slots", slotIds);
      const free = taken.flatMap((s, n) => s ? [] : [n]);
      if (free.length === 0) {
        throw new AppError(
          422,
          "too_many_alerts",
          `You can have at most ${MAX_ACTIVE_ALERTS} active alerts. Delete one first.`,
        );
      }
      // A random free slot, so creates sent at once mostly pick different ones.
      const slot = free[Math.floor(Math.random() * free.length)];
      const doc: Omit<Alert, "_v"> = {
        _id: alertId,
        userId,
        symbol: security.symbol,
        condition: input.condition,
        price: formatFixed(level, security.priceDecimals),
        note,
        status: "active",
        slot,
        watchKey: alertWatchKey(security.symbol, input.condition),
        watchPrice: +formatFixed(level, security.priceDecimals),
        createdAt: now,
        triggeredAt: null,
        triggeredPrice: null,
      };
      await ctx.store.commit([
        {
          op: "insert",
          collection: "alert_slots",
          doc: { _id: alertSlotId(userId, slot), userId, alertId },
        },
        { op: "insert", collection: "alerts", doc },
      ]);
      return { ...doc, _v: 1 };
    },
    "Your alerts are busy. Please try again.",
    MAX_ACTIVE_ALERTS + 10,
  );
}

/** One of the user's alerts, or 404 (another user's alert included). */
export async function ownAlert(store: Store, userId: string, id: string): Promise<Alert> {
  const alert = await store.get<Alert>("alerts", id);
  if (!alert || alert.userId !== userId) throw notFound("No such alert.");
  return alert;
}

/** Deletes an alert, active or triggered; an active one frees its slot in the same unit. */
export async function deleteAlert(store: Store, userId: string, id: string): Promise<void> {
  await retryOnConflict(async () => {
    // Re-read each time: the pass may have fired it (and freed its slot) meanwhile.
    const alert = await ownAlert(store, userId, id);
    const ops: WriteOp[] = [{ op: "delete", collection: "alerts", id, ifVersion: alert._v }];
    if (alert.slot !== null) {
      ops.push({ op: "delete", collection: "alert_slots", id: alertSlotId(userId, alert.slot) });
    }
    await store.commit(ops);
  }, "Your alerts are busy. Please try again.");
}

export type AlertStatusFilter = "active" | "triggered" | "all";

/**
 * A page of the user's alerts: active ones newest first, triggered ones most recently fired
 * first, or all newest first.
 */
export async function listAlerts(
  store: Store,
  userId: string,
  options: { status: AlertStatusFilter; limit: number; cursor?: string },
): Promise<Page<Alert>> {
  const { limit, cursor } = options;
  if (options.status === "active") {
    return await store.find<Alert>("alerts", {
      where: { userId, status: "active" },
      sort: { field: "createdAt", direction: -1 },
      limit,
      cursor,
    });
  }
  if (options.status === "triggered") {
    // Active alerts sit under a null triggeredAt, which the range starts above.
    return await store.find<Alert>("alerts", {
      where: { userId },
      sort: { field: "triggeredAt", direction: -1 },
      range: { gte: new Date(0) },
      limit,
      cursor,
    });
  }
  return await store.find<Alert>("alerts", {
    where: { userId },
    sort: { field: "createdAt", direction: -1 },
    limit,
    cursor,
  });
}

/**
 * The unit that fires an alert at the version read: triggered, out of the watch index, its slot
 * freed, and its `alert.triggered` event in the outbox, so the notice exists exactly when the
 * alert fired.
 */
export function alertFiredOps(alert: Alert, last: string, now: Date): WriteOp[] {
  const ops: WriteOp[] = [
    {
      op: "update",
      collection: "alerts",
      id: alert._id,
      ifVersion: alert._v,
      set: {
        status: "triggered",
        slot: null,
        watchKey: null,
        watchPrice: null,
        triggeredAt: now,
        triggeredPrice: last,
      },
    },
  ];
  if (alert.slot !== null) {
    ops.push({
      op: "delete",
      collection: "alert_slots",
      id: alertSlotId(alert.userId, alert.slot),
    });
  }
  // The notice of it (the bell, an email, webhooks) follows from the outbox (lib/notify).
  const fired: Alert = { ...alert, status: "triggered", triggeredAt: now, triggeredPrice: last };
  ops.push(eventOp(alert.userId, "alert.triggered", alertJson(fired), now));
  return ops;
}

/** A bound a hair beyond `x`, so ties between doubles fall inside the range (as order_watch.ts). */
const above = (x: number) => x + Math.abs(x) * 1e-12 + 1e-12;
const below = (x: number) => x - Math.abs(x) * 1e-12 - 1e-12;

/**
 * Divides the levels of the symbol's active alerts set before a split by its ratio, so an alert
 * means the same price move in the new shares (a `below 100` on a 2:1 split becomes `below 50`
 * instead of firing at once). Rounded to the tick away from the market — `above` up, `below`
 * down — so no alert fires earlier than it would have. Each alert records the split; returns how
 * many it changed. The alert pass waits while the split is pending (runAlertPass).
 */
export async function splitAlerts(
  ctx: { store: Store; market: Market },
  split: { id: string; symbol: string; ratio: number; effectiveAt: Date },
): Promise<number> {
  const security = ctx.market.catalog.get(split.symbol);
  if (!security) return 0;
  const active = await findAll<Alert>(ctx.store, "alerts", {
    where: { status: "active", symbol: split.symbol },
  });
  let changed = 0;
  for (const found of active) {
    await retryOnConflict(async () => {
      const alert = await ctx.store.get<Alert>("alerts", found._id);
      if (!alert || alert.status !== "active" || alert.createdAt >= split.effectiveAt) return;
      if (alert.splits?.includes(split.id)) return;
      const level = divFixed(
        parseFixed(alert.price, 8),
        fixed(split.ratio),
        security.priceDecimals,
        alert.condition === "above" ? "ceil" : "floor",
      );
      const price = formatFixed(level, security.priceDecimals);
      await ctx.store.commit([{
        op: "update",
        collection: "alerts",
        id: alert._id,
        ifVersion: alert._v,
        set: { price, watchPrice: Number(price), splits: [...alert.splits ?? [], split.id] },
      }]);
      changed++;
    }, "The alert kept changing; the next run adjusts it.");
  }
  return changed;
}

export type AlertPassResult = { fired: number; conflicts: number };

/**
 * One alert pass: per symbol with active alerts whose market is open (extended hours included, as
 * prices move then), the two index ranges the last price has crossed, and only their alerts. Safe
 * in several instances at once: an alert fires at the version read, so exactly once.
 */
export async function runAlertPass(
  ctx: { store: Store; market: Market },
  now = new Date(),
): Promise<AlertPassResult> {
  const result: AlertPassResult = { fired: 0, conflicts: 0 };
  const symbols = await distinctValues(ctx.store, "alerts", { status: "active" }, "symbol");
  // A symbol whose split is not yet applied has levels still in the old shares: it waits.
  const securities = await movingSecurities(ctx, symbols, now);
  const quotes = await liveQuotes(ctx.market, securities, now);
  for (const [n, security] of securities.entries()) {
    const last = quotes[n].last;
    const lastText = formatFixed(last, security.priceDecimals);
    const lastNumber = +lastText;
    const ranges = [
      { key: alertWatchKey(security.symbol, "above"), lt: above(lastNumber) },
      { key: alertWatchKey(security.symbol, "below"), gte: below(lastNumber) },
    ];
    for (const range of ranges) {
      let cursor: string | undefined;
      do {
        const page = await ctx.store.find<Alert>("alerts", {
          where: { watchKey: range.key },
          sort: { field: "watchPrice", direction: 1 },
          range: { gte: range.gte, lt: range.lt },
          limit: 200,
          cursor,
        });
        for (const alert of page.items) {
          // The range is widened for doubles; the decision is exact.
          if (!alertReached(alert.condition, parseFixed(alert.price, 8), last)) continue;
          try {
            await ctx.store.commit(alertFiredOps(alert, lastText, now));
            result.fired++;
          } catch (err) {
            // Another pass fired it, or the user deleted it, first.
            if (!(err instanceof ConflictError)) throw err;
            result.conflicts++;
          }
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    }
  }
  return result;
}

export function alertJson(alert: Alert) {
  return {
    id: alert._id,
    symbol: alert.symbol,
    condition: alert.condition,
    price: alert.price,
    note: alert.note,
    status: alert.status,
    createdAt: alert.createdAt.toISOString(),
    triggeredAt: alert.triggeredAt?.toISOString() ?? null,
    triggeredPrice: alert.triggeredPrice,
  };
}

function invalid(field: string, message: string): AppError {
  return new AppError(422, "validation_failed", message, { fields: { [field]: message } });
}
