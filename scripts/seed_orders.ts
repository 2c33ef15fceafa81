/**
 * Seeds traders, order histories and resting order books straight into a store, for benchmarks,
 * with the documents and atomic units the trading code builds.
 */
import { auditOp } from "../lib/audit.ts";
import { hashPassword } from "../lib/auth/password.ts";
import type { User } from "../lib/auth/users.ts";
import { newId } from "../lib/ids.ts";
import type { MarketClock } from "../lib/market/clock.ts";
import type { Security } from "../lib/market/securities.ts";
import { type Fixed, fixed, formatFixed, parseFixed, roundFixed } from "../lib/money.ts";
import type { Store, WriteOp } from "../lib/store/port.ts";
import { type Account, openAccountOps } from "../lib/trading/accounts.ts";
import { fillOps, orderFillFields } from "../lib/trading/fills.ts";
import type { Lot } from "../lib/trading/lots.ts";
import { liveQuotes, type Market } from "../lib/trading/market.ts";
import { MAX_OPEN_ORDERS, type OrderChange, withOpenTotals } from "../lib/trading/open_orders.ts";
import {
  checkOrderValue,
  holdFor,
  type OrderRequest,
  parseOrderRequest,
} from "../lib/trading/order_rules.ts";
import { newOrderDoc, type Order } from "../lib/trading/orders.ts";
import type { Position } from "../lib/trading/positions.ts";

/**
 * Orders per atomic commit. The KV backend checks every written document and every unique index
 * value it claims (orders have one: accountId + clientOrderId), at most 100 checks per commit.
 */
export const ORDERS_PER_COMMIT = 50;
/**
 * Working orders per atomic commit: each takes four of the 100 checks (its document, its
 * clientOrderId, its event on the account's log and in the outbox), the account and its positions
 * the rest.
 */
export const RESTING_PER_COMMIT = 22;
/** Symbols each account of a resting book trades: few, so its sells need few positions. */
const SYMBOLS_PER_ACCOUNT = 5;
/** Commits in flight at once: enough to overlap building ops with the store's writing. */
const COMMITS_IN_FLIGHT = 2;

/**
 * A verified user with a funded demo account, as sign-up and verification would leave them, so
 * they can sign in through the API with `password`.
 */
export async function createTrader(
  store: Store,
  input: { email: string; password: string; name: string; startingCash: string },
  now = new Date(),
): Promise<{ userId: string; accountId: string; accountNumber: string }> {
  const userId = newId(now.getTime());
  const user = verifiedUser(userId, input, await hashPassword(input.password), now);
  const { account, ops } = openAccountOps(userId, 1, input.startingCash, now);
  await store.commit([{ op: "insert", collection: "users", doc: user }, ...ops]);
  return { userId, accountId: account._id, accountNumber: account.number };
}

/** A user as sign-up and email verification leave them. */
function verifiedUser(
  userId: string,
  input: { email: string; name: string },
  passwordHash: string,
  now: Date,
): Omit<User, "_v"> {
  return {
    _id: userId,
    email: input.email,
    name: input.name,
    passwordHash,
    role: "USER",
    emailVerifiedAt: now,
    createdAt: now,
    passwordChangedAt: now,
    totp: null,
    totpPendingKey: null,
    recoveryCodeHashes: [],
  };
}

/**
 * Inserts `count` cancelled limit buys for the account, one second apart going back from `now`,
 * so every one has its own placedAt. Cancelled orders hold nothing and have no fills, so the
 * store keeps every money invariant (docs/design.md, Money invariants). Returns how long the
 * inserts took.
 */
export async function seedClosedOrders(
  store: Store,
  owner: { userId: string; accountId: string },
  count: number,
  options: { symbols: readonly string[]; now?: Date },
): Promise<{ count: number; elapsedMs: number }> {
  const now = options.now ?? new Date();
  const start = performance.now();
  let next = 0;
  const batch = (): WriteOp[] => {
    const ops: WriteOp[] = [];
    for (; ops.length < ORDERS_PER_COMMIT && next < count; next++) {
      const placedAt = new Date(now.getTime() - (next + 1) * 1000);
      ops.push({
        op: "insert",
        collection: "orders",
        doc: closedOrder(owner, options.symbols[next % options.symbols.length], placedAt),
      });
    }
    return ops;
  };
  async function writer() {
    for (let ops = batch(); ops.length > 0; ops = batch()) await store.commit(ops);
  }
  await Promise.all(Array.from({ length: COMMITS_IN_FLIGHT }, writer));
  return { count, elapsedMs: performance.now() - start };
}

function closedOrder(
  owner: { userId: string; accountId: string },
  symbol: string,
  placedAt: Date,
): Omit<Order, "_v"> {
  const cancelledAt = new Date(placedAt.getTime() + 500);
  return {
    _id: newId(placedAt.getTime()),
    userId: owner.userId,
    accountId: owner.accountId,
    clientOrderId: crypto.randomUUID(),
    symbol,
    assetClass: "us_equity",
    side: "buy",
    type: "limit",
    timeInForce: "day",
    qty: "1",
    filledQty: "0",
    filledAvgPrice: null,
    limitPrice: "1.00",
    stopPrice: null,
    status: "cancelled",
    open: false,
    holdAmount: "0.00",
    triggeredAt: null,
    expiresAt: null,
    placedAt,
    updatedAt: cancelledAt,
    filledAt: null,
    cancelledAt,
    expiredAt: null,
    rejectReason: null,
  };
}

/** A new limit or market order as placing writes it (`newOrderDoc` in orders.ts). */
export function newOrder(
  account: Pick<Account, "_id" | "userId">,
  security: Security,
  request: OrderRequest,
  clock: MarketClock,
  at: Date,
): Omit<Order, "_v"> {
  return newOrderDoc(account, security, request, clock, at, { clientOrderId: crypto.randomUUID() });
}

/** An account as a unit of work sees it: the versions it checks and the cash it moves. */
export type Book = {
  account: Account;
  cash: Fixed;
  position: Position | null;
  security: Security;
  /** What the fill pays or gets per unit. */
  price: Fixed;
  /** The open lots a sell closes, oldest first, as stored (lots.ts). */
  lots?: Lot[];
};

/**
 * The ops of one market order for `qty` (1 unless given) that fills at once, as tryPlace in
 * orders.ts builds them: the order inserted as filled, the trade, the position, the ledger entry,
 * the account's sequence, both audit entries and the order's events, with the indexes of the
 * account's and the position's writes, so the next unit can start from what the commit returned.
 */
export function marketFillUnit(
  book: Book,
  side: "buy" | "sell",
  clock: MarketClock,
  at: Date,
  qty: Fixed = fixed(1),
) {
  const { account, security } = book;
  const request = parseOrderRequest(
    { side, type: "market", timeInForce: "day", qty: formatFixed(qty, 0) },
    security,
  );
  const order = newOrder(account, security, request, clock, at);
  const input = {
    order,
    security,
    account,
    cash: book.cash,
    position: book.position,
    qty,
    price: book.price,
    commission: 0n,
    at,
    lots: side === "sell" ? { method: "fifo" as const, lots: book.lots ?? [], qty } : null,
  };
  const fill = fillOps(input);
  const filled = { ...order, ...orderFillFields(input) };
  const unit: WriteOp[] = [
    { op: "insert", collection: "orders", doc: filled },
    ...fill.ops,
    auditOp({
      action: "order.placed",
      outcome: "success",
      userId: account.userId,
      origin: { ip: "127.0.0.1", userAgent: "bench" },
      details: {
        orderId: order._id,
        symbol: security.symbol,
        side,
        type: "market",
        qty: filled.qty,
        status: filled.status,
      },
    }, at),
  ];
  // The order's events and execution-index fields join the unit as at placement (open_orders.ts).
  const ops = withOpenTotals(unit, account, [book.position], [{ before: null, after: filled }]);
  return {
    ops,
    accountAt: ops.findIndex((op) => op.collection === "accounts"),
    positionAt: ops.findIndex((op) => op.collection === "positions"),
    /** The lot a buy opens (the last lot written, after a position's opening lot). */
    lotAt: ops.findLastIndex((op) => op.collection === "lots"),
    cashAfter: fill.cashAfter,
  };
}

/**
 * A resting book: `orders` working limit orders, none marketable, spread evenly over `symbols`,
 * each written with the document, hold, running totals, execution-index fields and event that
 * placing it through the API writes (orders.ts, open_orders.ts), many to a commit.
 *
 * Accounts hold at most MAX_OPEN_ORDERS working orders each, so the book is spread over as many
 * accounts as that needs (and at least one per SYMBOLS_PER_ACCOUNT symbols). Each account trades
 * SYMBOLS_PER_ACCOUNT neighbouring symbols, alternating buys limited at 40–60 % of the bid and
 * sells limited at 150–200 % of the ask; the shares those sells reserve are bought first, each
 * symbol in one market fill. Day orders are half of the book unless the session closes within the
 * hour, when all are gtc, so none can expire while a benchmark reads the book.
 */
export async function seedRestingOrders(
  store: Store,
  market: Market,
  options: {
    orders: number;
    symbols: readonly string[];
    startingCash: string;
    /** Held with each buy, as placement does (COMMISSION_PER_ORDER, 0 unless set). */
    commission?: Fixed;
    now?: Date;
  },
): Promise<{ orders: number; accounts: number; commits: number; elapsedMs: number }> {
  const now = options.now ?? new Date();
  const commission = options.commission ?? 0n;
  const start = performance.now();
  const securities = options.symbols.map((symbol) => {
    const security = market.catalog.get(symbol);
    if (!security) throw new Error(`no security ${symbol} in the catalog`);
    return security;
  });
  const quotes = await liveQuotes(market, securities, now);
  const accounts = Math.max(
    Math.ceil(options.orders / MAX_OPEN_ORDERS),
    Math.ceil(securities.length / SYMBOLS_PER_ACCOUNT),
  );
  const dayOrders = market.clock.nextSession(now).close.getTime() - now.getTime() > 3_600_000;
  let commits = 0;

  async function seedAccount(n: number) {
    const count = Math.floor(options.orders / accounts) + (n < options.orders % accounts ? 1 : 0);
    // An empty hash matches no password: nobody signs in as a book's trader.
    const user = verifiedUser(
      `bench-book-${n}`,
      { email: `bench-book-${n}@example.com`, name: "Resting Book" },
      "",
      now,
    );
    const opened = openAccountOps(user._id!, 1, options.startingCash, now);
    let account = (await store.commit([
      ...opened.ops,
      { op: "insert", collection: "users", doc: user },
    ]))[0] as Account;
    commits++;
    let cash = parseFixed(options.startingCash, 2);
    let held = 0n;
    const traded = Array.from(
      { length: Math.min(SYMBOLS_PER_ACCOUNT, securities.length) },
      (_, k) => (n * SYMBOLS_PER_ACCOUNT + k) % securities.length,
    );
    // The k-th order of the account: its symbol, side and how far from the quote it rests.
    const plan = Array.from({ length: count }, (_, k) => ({
      at: traded[k % traded.length],
      side: Math.floor(k / traded.length) % 2 === 0 ? "buy" as const : "sell" as const,
      spread: BigInt((k * 7919) % 1000),
      timeInForce: dayOrders && k % 2 === 0 ? "day" : "gtc",
    }));

    const positions = new Map<number, Position>();
    for (const at of traded) {
      const shares = plan.filter((p) => p.at === at && p.side === "sell").length;
      if (shares === 0) continue;
      const book: Book = {
        account,
        cash,
        position: null,
        security: securities[at],
        price: quotes[at].ask,
      };
      const unit = marketFillUnit(book, "buy", market.clock, now, fixed(shares));
      const written = await store.commit(unit.ops);
      commits++;
      account = written[unit.accountAt] as Account;
      positions.set(at, written[unit.positionAt] as Position);
      cash = unit.cashAfter;
    }

    for (let from = 0; from < plan.length; from += RESTING_PER_COMMIT) {
      const changes: OrderChange[] = [];
      for (const { at, side, spread, timeInForce } of plan.slice(from, from + RESTING_PER_COMMIT)) {
        const security = securities[at];
        const quote = quotes[at];
        // Far from the touch: a buy at 40–60 % of the bid, a sell at 150–200 % of the ask.
        const limit = side === "buy"
          ? quote.bid * (400n + spread / 5n) / 1000n
          : quote.ask * (1500n + spread / 2n) / 1000n;
        const request = parseOrderRequest({
          side,
          type: "limit",
          timeInForce,
          qty: "1",
          limitPrice: formatFixed(roundFixed(limit, security.priceDecimals, "floor")),
        }, security);
        checkOrderValue(request, side === "buy" ? quote.ask : quote.bid);
        const hold = holdFor(request, quote.last, commission);
        held += hold;
        if (held > cash) throw new Error(`bench-book-${n} cannot hold ${formatFixed(held)}`);
        const order = newOrder(account, security, request, market.clock, now);
        changes.push({ before: null, after: { ...order, holdAmount: formatFixed(hold) } });
      }
      const touched = [...new Set(plan.slice(from, from + RESTING_PER_COMMIT).map((p) => p.at))];
      const ops = withOpenTotals(
        changes.map(({ after }) => ({ op: "insert", collection: "orders", doc: after })),
        account,
        touched.map((at) => positions.get(at) ?? null),
        changes,
      );
      const written = await store.commit(ops);
      commits++;
      ops.forEach((op, k) => {
        if (op.collection === "accounts") account = written[k] as Account;
        if (op.collection === "positions") {
          const position = written[k] as Position;
          positions.set(traded.find((at) => securities[at].symbol === position.symbol)!, position);
        }
      });
    }
  }

  let next = 0;
  async function writer() {
    while (next < accounts) await seedAccount(next++);
  }
  await Promise.all(Array.from({ length: COMMITS_IN_FLIGHT }, writer));
  return { orders: options.orders, accounts, commits, elapsedMs: performance.now() - start };
}
