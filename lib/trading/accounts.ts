/**
 * Paper trading accounts. A user holds up to MAX_OPEN_ACCOUNTS open demo accounts at once, each
 * named and funded by a ledger deposit of its own starting cash when it opens. Its `_id` is
 * `<userId>:<epoch>`, the epoch counting every account the user ever opened: a new account and a
 * reset both take the next one, so two concurrent openings compete for the same id and only one
 * succeeds — that insert is the claim that keeps the count of open accounts within the limit.
 * A reset closes the account (its history kept) and opens the next epoch under the same name, in
 * the same place in the user's list (`rank`).
 * Cash, buying power and equity are never stored on the account; they are derived (portfolio.ts).
 * What its working orders hold and how many there are is kept as running totals (open_orders.ts).
 */
import { auditOp, type RequestOrigin } from "../audit.ts";
import { AppError } from "../errors.ts";
import { type Fixed, fixed, formatFixed, parseFixed } from "../money.ts";
import { eventOp } from "../notify/outbox.ts";
import { ConflictError, type Doc, type Store, type WriteOp } from "../store/port.ts";
import { findAll } from "../store/find_all.ts";
import { retryOnConflict } from "../store/retry.ts";
import { appendEntries } from "./ledger.ts";
import type { LotMethod } from "./lots.ts";
import { cancelledOrderFields, withOpenTotals } from "./open_orders.ts";
import type { Order } from "./orders.ts";
import { type Position, positionId } from "./positions.ts";

/** How many demo accounts a user may hold open at once. */
export const MAX_OPEN_ACCOUNTS = 5;
/** The starting cash a new account may choose, in dollars. */
export const STARTING_CASH_MIN = 1_000;
export const STARTING_CASH_MAX = 10_000_000;
/** What an account opened without a name (and every account from before names) is called. */
export const DEFAULT_ACCOUNT_NAME = "Main";

/** The ops that open a demo account for `userId` with `startingCash`, deposit included. */
export function openAccountOps(
  userId: string,
  epoch: number,
  startingCash: string,
  now: Date,
  options: { name?: string; rank?: number; lotMethod?: LotMethod } = {},
): { account: Account; ops: WriteOp[] } {
  // One spelling of the amount whatever the caller's ("100000" from the config, "2500.5").
  startingCash = formatFixed(parseFixed(startingCash, 2));
  const account: Account = {
    _id: `${userId}:${epoch}`,
    _v: 1,
    userId,
    epoch,
    rank: options.rank ?? epoch,
    name: options.name ?? DEFAULT_ACCOUNT_NAME,
    number: accountNumber(),
    type: "demo",
    currency: "USD",
    status: "active",
    startingCash,
    ledgerSeq: 0,
    openOrders: 0,
    heldForOrders: "0.00",
    ...(options.lotMethod ? { lotMethod: options.lotMethod } : {}),
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

/**
 * A new account's starting cash in dollars ("25000", 25000, "25000.00"), whole cents, from
 * STARTING_CASH_MIN to STARTING_CASH_MAX; else a 422 on `startingCash`. Absent means `fallback`.
 */
export function parseStartingCash(input: unknown, fallback: string): string {
  if (input === undefined || input === null || input === "") return fallback;
  const message = `Choose a starting cash from $${STARTING_CASH_MIN.toLocaleString("en-US")} to $${
    STARTING_CASH_MAX.toLocaleString("en-US")
  }, in whole cents.`;
  let amount: Fixed;
  try {
    amount = parseFixed(typeof input === "string" ? input.replaceAll(",", "") : input, 2);
  } catch {
    throw new AppError(422, "validation_failed", message, { fields: { startingCash: message } });
  }
  if (amount < fixed(STARTING_CASH_MIN) || amount > fixed(STARTING_CASH_MAX)) {
    throw new AppError(422, "validation_failed", message, { fields: { startingCash: message } });
  }
  return formatFixed(amount);
}

/** An account's name; accounts from before names are the user's "Main" one. */
export function accountName(account: Pick<Account, "name">): string {
  return account.name ?? DEFAULT_ACCOUNT_NAME;
}

/** The user's open accounts in their list order: the default account (the API's) first. */
export async function openAccounts(store: Store, userId: string): Promise<Account[]> {
  const page = await store.find<Account>("accounts", {
    where: { userId, status: "active" },
    limit: 50,
  });
  return page.items.sort((a, b) => rankOf(a) - rankOf(b) || a.epoch - b.epoch);
}

const rankOf = (account: Account) => account.rank ?? account.epoch;

/** The user's default account (the first open one), or null. */
export async function activeAccount(store: Store, userId: string): Promise<Account | null> {
  return (await openAccounts(store, userId))[0] ?? null;
}

/**
 * The user's open accounts, opening the first one when they have none (a new user, or one who
 * signed up before trading existed). Safe against concurrent calls (see claimNextAccount).
 */
export async function ensureOpenAccounts(
  store: Store,
  userId: string,
  startingCash: string,
  now = new Date(),
): Promise<Account[]> {
  const open = await openAccounts(store, userId);
  if (open.length > 0) return open;
  await retryOnConflict(async () => {
    const all = await userAccounts(store, userId);
    if (all.some((a) => a.status === "active")) return;
    await store.commit(openAccountOps(userId, nextEpoch(all), startingCash, now).ops);
  }, "Could not open a trading account. Please try again.");
  return await openAccounts(store, userId);
}

/** The user's default account: the API's account when a request names none. */
export async function ensureActiveAccount(
  store: Store,
  userId: string,
  startingCash: string,
  now = new Date(),
): Promise<Account> {
  return (await ensureOpenAccounts(store, userId, startingCash, now))[0];
}

/** The epoch the user's next account takes: one past the highest of `all` their accounts. */
function nextEpoch(all: Account[]): number {
  return Math.max(0, ...all.map((a) => a.epoch)) + 1;
}

/**
 * Opens another demo account (POST /api/accounts). At most MAX_OPEN_ACCOUNTS are open at once:
 * the count is read, then the next epoch's id is claimed by insert, so two requests racing for
 * the last place take the same id and the loser reads the count again. Audited.
 */
export async function openAccount(
  store: Store,
  userId: string,
  request: { name: string; startingCash: string },
  origin: RequestOrigin,
  now = new Date(),
): Promise<Account> {
  const opened = await retryOnConflict(async () => {
    const all = await userAccounts(store, userId);
    if (all.filter((a) => a.status === "active").length >= MAX_OPEN_ACCOUNTS) {
      throw new AppError(
        409,
        "account_limit",
        `You already have ${MAX_OPEN_ACCOUNTS} open accounts. Close one to open another.`,
      );
    }
    const next = openAccountOps(userId, nextEpoch(all), request.startingCash, now, {
      name: request.name,
    });
    await store.commit([
      ...next.ops,
      accountEventOp("account.opened", next.account, now),
      auditOp({
        action: "account.opened",
        outcome: "success",
        userId,
        origin,
        details: { account: next.account.number, startingCash: request.startingCash },
      }, now),
    ]);
    return next.account;
  }, "Could not open the account. Please try again.");
  return (await store.get<Account>("accounts", opened._id))!;
}

/**
 * Closes a demo account (POST /api/accounts/:id/close): like a reset it needs the account's
 * number typed back (confirmReset's rule). Its working orders are cancelled and its history is
 * kept. The last open account cannot be closed: the unit checks that another open account is
 * unchanged, so two closes racing for the last two conflict and one of them reads again.
 */
export async function closeAccount(
  store: Store,
  account: Account,
  confirmation: unknown,
  origin: RequestOrigin,
  now = new Date(),
): Promise<Account> {
  await confirmAccountNumber(store, account, confirmation, "account.closed", origin, now);
  await retryOnConflict(async () => {
    const current = (await store.get<Account>("accounts", account._id))!;
    if (current.status !== "active") {
      throw new AppError(409, "account_closed", "This account is already closed.");
    }
    const keeper = (await openAccounts(store, current.userId)).find((a) => a._id !== current._id);
    if (!keeper) {
      throw new AppError(
        409,
        "last_account",
        "This is your only open account. Open another before closing it, or reset it instead.",
      );
    }
    await store.commit([
      closingOp(current, now),
      { op: "check", collection: "accounts", id: keeper._id, version: keeper._v },
      accountEventOp("account.closed", { ...current, status: "closed", closedAt: now }, now),
      auditOp({
        action: "account.closed",
        outcome: "success",
        userId: current.userId,
        origin,
        details: { account: current.number },
      }, now),
    ]);
  }, "The account is busy. Please try again.");
  // As after a reset: if this stops half-way, the worker ends the rest.
  await cancelOrdersOfClosedAccount(store, account._id, now);
  return (await store.get<Account>("accounts", account._id))!;
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
 * default one, opened on first use.
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

/** Every account of the user: the open ones in list order, then the closed, newest first. */
export async function userAccounts(store: Store, userId: string): Promise<Account[]> {
  const all = await findAll<Account>(store, "accounts", { where: { userId } });
  const open = all.filter((a) => a.status === "active").sort((a, b) => rankOf(a) - rankOf(b));
  const closed = all.filter((a) => a.status !== "active").sort((a, b) => b.epoch - a.epoch);
  return [...open, ...closed];
}

/**
 * A reset or a close wipes the portfolio, so one request is not enough: like a broker closing an
 * account, it needs the account's number typed back (the page shows it; an API client reads it
 * from GET /api/accounts). Case and surrounding spaces do not matter. Anything else is a 422 on
 * the `confirm` field, audited, and nothing changes.
 */
export function confirmReset(
  store: Store,
  account: Account,
  confirmation: unknown,
  origin: RequestOrigin,
  now = new Date(),
): Promise<void> {
  return confirmAccountNumber(store, account, confirmation, "account.reset", origin, now);
}

async function confirmAccountNumber(
  store: Store,
  account: Account,
  confirmation: unknown,
  action: "account.reset" | "account.closed",
  origin: RequestOrigin,
  now: Date,
): Promise<void> {
  const typed = typeof confirmation === "string" ? confirmation.trim().toUpperCase() : "";
  if (typed === account.number) return;
  await store.commit([auditOp({
    action,
    outcome: "failure",
    userId: account.userId,
    origin,
    details: { account: account.number, reason: typed ? "wrong_confirmation" : "no_confirmation" },
  }, now)]);
  const what = action === "account.reset" ? "the reset" : "closing it";
  const message = typed
    ? `That is not this account's number. Type ${account.number} to confirm ${what}.`
    : `Type the account number, ${account.number}, to confirm ${what}.`;
  throw new AppError(422, "validation_failed", message, { fields: { confirm: message } });
}

/**
 * Starts the demo account over: open orders are cancelled, the account is closed (its history
 * kept), and a new one opens with `startingCash`, keeping the name, the place in the user's list
 * and the lot method. The user's other accounts are untouched. Audited. Callers ask for
 * confirmReset first.
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
    const next = openAccountOps(
      current.userId,
      nextEpoch(await userAccounts(store, current.userId)),
      startingCash,
      now,
      { name: current.name, rank: rankOf(current), lotMethod: current.lotMethod },
    );
    await store.commit([
      closingOp(current, now),
      ...next.ops,
      accountEventOp("account.reset", next.account, now, { closedAccountId: current._id }),
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

/**
 * An account's event for webhooks (lib/notify/outbox.ts): what it is, not what it is worth — the
 * valuation moves every second and is a GET away.
 */
function accountEventOp(
  type: "account.opened" | "account.reset" | "account.closed",
  account: Omit<Account, "_v">,
  now: Date,
  extra: Record<string, unknown> = {},
): WriteOp {
  return eventOp(account.userId, type, {
    id: account._id,
    number: account.number,
    name: accountName(account),
    status: account.status,
    startingCash: account.startingCash,
    ...extra,
  }, now);
}

/** The write that closes `account` (a reset or a close), at the version read. */
function closingOp(account: Account, now: Date): WriteOp {
  return {
    op: "update",
    collection: "accounts",
    id: account._id,
    set: { status: "closed", closedAt: now },
    ifVersion: account._v,
  };
}

/** Cancels the working orders of a closed account, in units small enough for any store. */
export async function cancelOrdersOfClosedAccount(
  store: Store,
  accountId: string,
  now: Date,
): Promise<number> {
  let cancelled = 0;
  for (;;) {
    // 20 orders, their 20 events and 20 outbox entries, the account and at most 20 positions:
    // within KV's 100 checks per unit.
    const page = await store.find<Order>("orders", {
      where: { accountId, open: true },
      limit: 20,
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
  /** The how-manieth account the user opened (resets included): the `_id`'s suffix. */
  epoch: number;
  /** The user's name for it; absent on accounts from before names (accountName). */
  name?: string;
  /** Its place in the user's list, kept across resets; absent means its epoch. */
  rank?: number;
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
