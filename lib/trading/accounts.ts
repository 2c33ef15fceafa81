/**
 * Paper trading accounts. A user has one active demo account, funded by a ledger deposit when it
 * opens. Its `_id` is `<userId>:<epoch>`: the first is epoch 1, and a reset closes it and opens the
 * next epoch, so history stays intact and two concurrent openings cannot both succeed.
 * Cash, buying power and equity are never stored on the account; they are derived (portfolio.ts).
 * What its working orders hold and how many there are is kept as running totals (open_orders.ts).
 */
import { auditOp, type RequestOrigin } from "../audit.ts";
import { AppError } from "../errors.ts";
import { type Fixed, parseFixed } from "../money.ts";
import { ConflictError, type Doc, type Store, type WriteOp } from "../store/port.ts";
import { retryOnConflict } from "../store/retry.ts";
import { appendEntries } from "./ledger.ts";
import type { LotMethod } from "./lots.ts";
import { cancelledOrderFields, withOpenTotals } from "./open_orders.ts";
import type { Order } from "./orders.ts";
import { type Position, positionId } from "./positions.ts";

/** The ops that open a demo account for `userId` with `startingCash`, deposit included. */
export function openAccountOps(
  userId: string,
  epoch: number,
  startingCash: string,
  now: Date,
): { account: Account; ops: WriteOp[] } {
  const account: Account = {
    _id: `${userId}:${epoch}`,
    _v: 1,
    userId,
    epoch,
    number: accountNumber(),
    type: "demo",
    currency: "USD",
    status: "active",
    startingCash,
    ledgerSeq: 0,
    openOrders: 0,
    heldForOrders: "0.00",
    createdAt: now,
    closedAt: null,
  };
  const deposit = appendEntries(account, 0n, [{
    type: "deposit",
    amount: parseFixed(startingCash, 2),
    description: "Demo account funding",
  }], now);
  const { _v: _, ...doc } = { ...account, ledgerSeq: deposit.seq };
  return {
    account: { ...account, ledgerSeq: deposit.seq },
    ops: [{ op: "insert", collection: "accounts", doc }, ...deposit.ops],
  };
}

/**
 * The write that moves the account on from the version read (to `ledgerSeq`, when entries were
 * appended). Every change to an account's cash or holds carries it, so two such changes made from
 * the same reading conflict instead of spending the same buying power twice.
 */
export function accountStep(account: Account, ledgerSeq = account.ledgerSeq): WriteOp {
  return {
    op: "update",
    collection: "accounts",
    id: account._id,
    set: { ledgerSeq },
    ifVersion: account._v,
  };
}

/** The user's active account, or null. */
export async function activeAccount(store: Store, userId: string): Promise<Account | null> {
  return await store.findOne<Account>("accounts", { userId, status: "active" });
}

/**
 * The user's active account, opening the first one when they have none (users who signed up
 * before trading existed). Safe against concurrent calls: the first epoch's id is fixed.
 */
export async function ensureActiveAccount(
  store: Store,
  userId: string,
  startingCash: string,
  now = new Date(),
): Promise<Account> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const existing = await activeAccount(store, userId);
    if (existing) return existing;
    const { account, ops } = openAccountOps(userId, 1, startingCash, now);
    try {
      await store.commit(ops);
      return (await store.get<Account>("accounts", account._id))!;
    } catch (err) {
      // Another request opened it, or the random account number was taken: look again.
      if (!(err instanceof ConflictError)) throw err;
    }
  }
  throw new AppError(409, "conflict", "Could not open a trading account. Please try again.");
}

/** The user's account `accountId`, or 404 when it is not theirs. */
export async function ownAccount(
  store: Store,
  userId: string,
  accountId: string,
): Promise<Account> {
  const account = await store.get<Account>("accounts", accountId);
  if (!account || account.userId !== userId) {
    throw new AppError(404, "not_found", "No such account.");
  }
  return account;
}

/**
 * The account a request names by `accountId` (404 when it is not the user's), else the user's
 * active one, opened on first use.
 */
export async function requestedAccount(
  store: Store,
  userId: string,
  accountId: string | undefined,
  startingCash: string,
): Promise<Account> {
  return accountId
    ? await ownAccount(store, userId, accountId)
    : await ensureActiveAccount(store, userId, startingCash);
}

/** Every account of the user, the active one first. */
export async function userAccounts(store: Store, userId: string): Promise<Account[]> {
  const page = await store.find<Account>("accounts", { where: { userId }, limit: 100 });
  return page.items.sort((a, b) => b.epoch - a.epoch);
}

/**
 * A reset wipes the portfolio, so one request is not enough: like a broker closing an account,
 * it needs the account's number typed back (the page shows it; an API client reads it from
 * GET /api/accounts). Case and surrounding spaces do not matter. Anything else is a 422 on the
 * `confirm` field, audited, and nothing changes.
 */
export async function confirmReset(
  store: Store,
  account: Account,
  confirmation: unknown,
  origin: RequestOrigin,
  now = new Date(),
): Promise<void> {
  const typed = typeof confirmation === "string" ? confirmation.trim().toUpperCase() : "";
  if (typed === account.number) return;
  await store.commit([auditOp({
    action: "account.reset",
    outcome: "failure",
    userId: account.userId,
    origin,
    details: { account: account.number, reason: typed ? "wrong_confirmation" : "no_confirmation" },
  }, now)]);
  const message = typed
    ? `That is not this account's number. Type ${account.number} to confirm the reset.`
    : `Type the account number, ${account.number}, to confirm the reset.`;
  throw new AppError(422, "validation_failed", message, { fields: { confirm: message } });
}

/**
 * Starts the demo account over: open orders are cancelled, the account is closed (its history
 * kept), and a new one opens with the starting cash. Audited. Callers ask for confirmReset first.
 */
export async function resetDemoAccount(
  store: Store,
  account: Account,
  startingCash: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<Account> {
  const { closed, opened } = await retryOnConflict(async () => {
    // Re-read: an order or fill may have moved the account on since the caller read it.
    const current = (await store.get<Account>("accounts", account._id))!;
    if (current.status !== "active") {
      throw new AppError(409, "account_closed", "This account is already closed.");
    }
    const next = openAccountOps(current.userId, current.epoch + 1, startingCash, now);
    await store.commit([
      {
        op: "update",
        collection: "accounts",
        id: current._id,
        set: { status: "closed", closedAt: now },
        ifVersion: current._v,
      },
      ...next.ops,
      auditOp({
        action: "account.reset",
        outcome: "success",
        userId: current.userId,
        origin,
        details: { closedAccount: current.number, newAccount: next.account.number },
      }, now),
    ]);
    return { closed: current, opened: next.account };
  }, "The account is busy. Please try again.");
  // The closed account's working orders end now; if this stops half-way, the worker ends the rest.
  await cancelOrdersOfClosedAccount(store, closed._id, now);
  return (await store.get<Account>("accounts", opened._id))!;
}

/** Cancels the working orders of a closed account, in units small enough for any store. */
export async function cancelOrdersOfClosedAccount(
  store: Store,
  accountId: string,
  now: Date,
): Promise<number> {
  let cancelled = 0;
  for (;;) {
    // 25 orders, their 25 events, the account and at most 25 positions: within KV's 100 checks
    // per unit.
    const page = await store.find<Order>("orders", {
      where: { accountId, open: true },
      limit: 25,
    });
    if (page.items.length === 0) return cancelled;
    // The account's totals and the positions' reservations move with the orders (open_orders.ts).
    const sold = [...new Set(page.items.filter((o) => o.side === "sell").map((o) => o.symbol))];
    const [account, positions] = await Promise.all([
      store.get<Account>("accounts", accountId),
      store.getMany<Position>("positions", sold.map((s) => positionId(accountId, s))),
    ]);
    if (!account) return cancelled;
    const set = cancelledOrderFields(now);
    try {
      await store.commit(withOpenTotals(
        page.items.map((o): WriteOp => ({
          op: "update",
          collection: "orders",
          id: o._id,
          set,
          ifVersion: o._v,
        })),
        account,
        positions,
        page.items.map((o) => ({ before: o, after: { ...o, ...set } })),
      ));
      cancelled += page.items.length;
    } catch (err) {
      // An order filled or was cancelled meanwhile: read the page again.
      if (!(err instanceof ConflictError)) throw err;
    }
  }
}

/** A human account number: PA and 8 digits, unique by index (a rare clash just retries). */
function accountNumber(): string {
  const n = crypto.getRandomValues(new Uint32Array(1))[0] % 100_000_000;
  return `PA${String(n).padStart(8, "0")}`;
}

/** The starting cash of an account as an amount. */
export function startingCashOf(account: Account): Fixed {
  return parseFixed(account.startingCash, 2);
}

export type Account = Doc & {
  userId: string;
  epoch: number;
  number: string;
  type: "demo";
  currency: "USD";
  status: "active" | "closed";
  startingCash: string;
  /** The sequence number of the latest ledger entry; bumped in every commit that moves cash or holds. */
  ledgerSeq: number;
  /**
   * How many of its orders work, and the buying power their buys hold (dollars): running totals
   * moved in every unit that changes a working order (open_orders.ts). Absent on accounts from
   * before them until their next placement computes them.
   */
  openOrders?: number;
  heldForOrders?: string;
  /** The number of the account's latest order event (events.ts); absent before the first. */
  eventSeq?: number;
  /** The order in which sells close tax lots (lots.ts); absent means first in, first out. */
  lotMethod?: LotMethod;
  createdAt: Date;
  closedAt: Date | null;
};
