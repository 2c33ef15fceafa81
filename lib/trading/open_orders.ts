/**
 * Running totals of an account's working orders, kept on the documents they limit so that placing
 * an order never re-reads the others: the account carries how many of its orders work
 * (`openOrders`) and the buying power they hold (`heldForOrders`), each position the shares its
 * working sells still have to sell (`reservedToSell`). Every unit that creates, fills, cancels,
 * replaces, expires or rejects an order moves them in the same commit, checked against the
 * versions read, so they cannot drift from the orders under concurrency; `deno task check`
 * compares them with the sums over the working orders (integrity.ts).
 *
 * Accounts written before the totals existed lack them. Until the first placement, replacement or
 * fill computes and stores them (`ensureOpenTotals`), the account's writes only bump its version,
 * which is what makes that one-time computation safe: it commits against the version it read
 * before reading the orders, so any order change in between makes it read again.
 */
import { type Fixed, formatFixed, parseFixed, SCALE } from "../money.ts";
import { findAll } from "../store/find_all.ts";
import type { Store, WriteOp } from "../store/port.ts";
import { type Account, accountStep } from "./accounts.ts";
import { withOrderEvents } from "./events.ts";
import { watchFields } from "./order_watch.ts";
import type { Order } from "./orders.ts";
import { type Position, positionId } from "./positions.ts";

/** At most this many working orders per account; the next placement is refused. */
export const MAX_OPEN_ORDERS = 500;

/** The fields of an order that decide what it holds or reserves. */
export type OrderFootprint =
  & Pick<Order, "open" | "side" | "symbol" | "holdAmount" | "qty" | "filledQty">
  & Partial<Pick<Order, "status" | "type" | "pairedWith">>;

/**
 * What one order adds to the totals: 1 and its hold (buys) or unfilled quantity (sells) while it
 * works. An exit held until its entry fills holds nothing yet, and the two orders of a pair sell
 * the same shares, so only the take-profit (the pair's limit order) reserves them
 * (order_classes.ts).
 */
export function footprint(order: OrderFootprint | null | undefined) {
  if (!order || !order.open) return { count: 0, held: 0n, reserved: 0n };
  if (order.status === "held" || (order.pairedWith && order.type !== "limit")) {
    return { count: 1, held: 0n, reserved: 0n };
  }
  return {
    count: 1,
    held: order.side === "buy" ? parseFixed(order.holdAmount, 2) : 0n,
    reserved: order.side === "sell"
      ? parseFixed(order.qty, SCALE) - parseFixed(order.filledQty, SCALE)
      : 0n,
  };
}

/** The account's totals as amounts; null for an account from before they existed. */
export function openTotals(account: Account): { openOrders: number; held: Fixed } | null {
  if (account.openOrders === undefined || account.heldForOrders === undefined) return null;
  return { openOrders: account.openOrders, held: parseFixed(account.heldForOrders, 2) };
}

/** The shares of a position that working sells reserve (absent: none). */
export function reservedOf(position: Position | null): Fixed {
  return position?.reservedToSell === undefined ? 0n : parseFixed(position.reservedToSell, SCALE);
}

/** An order's state before and after a unit (null: it did not exist before). */
export type OrderChange = { before: Omit<Order, "_v"> | null; after: Omit<Order, "_v"> };

/**
 * Adds the totals' movement for `changes` to a unit: into its update of the account (one bumping
 * the version is added when it has none) and into its write of each position whose reservation
 * moves (an update at the version read is added when it has none). `positions` are those read for
 * the unit; a working sell always has one, since it could only be placed against shares held.
 * On an account without totals the unit only bumps the account's version. Every unit that changes
 * an order comes through here, so this is also where its events join the unit (events.ts) and
 * where its place in the execution index follows its state (order_watch.ts).
 */
export function withOpenTotals(
  ops: WriteOp[],
  account: Account,
  positions: (Position | null)[],
  changes: OrderChange[],
): WriteOp[] {
  // Each changed order waits where its new state says (order_watch.ts), in this same unit.
  const out = ops.map((op) => withWatch(op, changes));
  const accountAt = out.findIndex((op) =>
    op.op === "update" && op.collection === "accounts" && op.id === account._id
  );
  if (accountAt < 0) out.push(accountStep(account));
  // Every order change is also an event on the account's log, in this same unit (events.ts).
  const totals = openTotals(account);
  if (!totals) return withOrderEvents(out, account, changes);

  let count = totals.openOrders;
  let held = totals.held;
  const reservedBySymbol = new Map<string, Fixed>();
  for (const { before, after } of changes) {
    const [was, is] = [footprint(before), footprint(after)];
    count += is.count - was.count;
    held += is.held - was.held;
    const symbol = after.symbol;
    const moved = is.reserved - was.reserved;
    if (moved !== 0n) reservedBySymbol.set(symbol, (reservedBySymbol.get(symbol) ?? 0n) + moved);
  }
  const at = accountAt < 0 ? out.length - 1 : accountAt;
  const step = out[at] as Extract<WriteOp, { op: "update" }>;
  out[at] = {
    ...step,
    set: { ...step.set, openOrders: count, heldForOrders: formatFixed(held) },
  };

  for (const [symbol, moved] of reservedBySymbol) {
    if (moved === 0n) continue;
    const id = positionId(account._id, symbol);
    const at = out.findIndex((op) =>
      (op.op === "update" && op.collection === "positions" && op.id === id) ||
      (op.op === "insert" && op.collection === "positions" && op.doc._id === id)
    );
    const existing = out[at];
    // A position this unit opens (an entry's first fill, with its exits) reserves from nothing.
    const position = positions.find((p) => p?._id === id) ?? null;
    if (!position && existing?.op !== "insert") {
      throw new Error(`a working sell of ${symbol} without a position in ${id}`);
    }
    const reserved = formatFixed(reservedOf(position) + moved, 0);
    if (existing?.op === "update") {
      out[at] = { ...existing, set: { ...existing.set, reservedToSell: reserved } };
    } else if (existing?.op === "insert") {
      out[at] = { ...existing, doc: { ...existing.doc, reservedToSell: reserved } };
    } else {
      out.push({
        op: "update",
        collection: "positions",
        id,
        set: { reservedToSell: reserved },
        ifVersion: position!._v,
      });
    }
  }
  return withOrderEvents(out, account, changes);
}

/** An order's write with the watch fields of its state after the unit; other writes as they are. */
function withWatch(op: WriteOp, changes: OrderChange[]): WriteOp {
  if (op.op === "insert" && op.collection === "orders") {
    const change = changes.find((c) => c.after._id === op.doc._id);
    return change ? { ...op, doc: { ...op.doc, ...watchFields(change.after) } } : op;
  }
  if (op.op === "update" && op.collection === "orders") {
    const change = changes.find((c) => c.after._id === op.id);
    return change ? { ...op, set: { ...op.set, ...watchFields(change.after) } } : op;
  }
  return op;
}

/** Position writes per unit while computing totals, leaving room for the account (KV: 100 checks). */
const POSITIONS_PER_UNIT = 90;

/**
 * The account with its totals: as read when it has them, otherwise computed once from its working
 * orders and stored, with the reservation of every position of the account, against the account's
 * version read before the orders. Many positions are written in several units, each checking that
 * version, the account's totals last: positions written by an attempt that then lost a race are
 * rewritten by the next one, and count for nothing while the account has no totals.
 * Throws ConflictError when the account moved meanwhile; the caller reads it again and retries.
 */
export async function ensureOpenTotals(store: Store, account: Account): Promise<Account> {
  if (openTotals(account)) return account;
  const [working, positions] = await Promise.all([
    workingOrders(store, account._id),
    accountPositions(store, account._id),
  ]);
  let held = 0n;
  const reservedBySymbol = new Map<string, Fixed>();
  for (const order of working) {
    const { held: h, reserved } = footprint(order);
    held += h;
    if (reserved !== 0n) {
      reservedBySymbol.set(order.symbol, (reservedBySymbol.get(order.symbol) ?? 0n) + reserved);
    }
  }
  for (const symbol of reservedBySymbol.keys()) {
    // Sells are placed against shares held, and positions are never deleted.
    if (!positions.some((p) => p.symbol === symbol)) {
      throw new Error(`working sells of ${symbol} in ${account._id} without a position`);
    }
  }
  const writes: WriteOp[] = positions
    .map((position) => ({
      position,
      reserved: formatFixed(reservedBySymbol.get(position.symbol) ?? 0n, 0),
    }))
    .filter(({ position, reserved }) => (position.reservedToSell ?? "0") !== reserved)
    .map(({ position, reserved }) => ({
      op: "update",
      collection: "positions",
      id: position._id,
      set: { reservedToSell: reserved },
      ifVersion: position._v,
    }));
  while (writes.length > POSITIONS_PER_UNIT) {
    await store.commit([
      ...writes.splice(0, POSITIONS_PER_UNIT),
      { op: "check", collection: "accounts", id: account._id, version: account._v },
    ]);
  }
  const set = { openOrders: working.length, heldForOrders: formatFixed(held) };
  const [written] = await store.commit([
    { op: "update", collection: "accounts", id: account._id, set, ifVersion: account._v },
    ...writes,
  ]);
  return written as Account;
}

/** Every position of an account, open or flat. */
async function accountPositions(store: Store, accountId: string): Promise<Position[]> {
  return await findAll<Position>(store, "positions", { where: { accountId } });
}

/** The fields that end a working order as cancelled, releasing whatever it held. */
export function cancelledOrderFields(now: Date) {
  return {
    status: "cancelled" as const,
    open: false,
    holdAmount: "0.00",
    cancelledAt: now,
    updatedAt: now,
  };
}

/** The working (open) orders of an account: read only where totals are computed or checked. */
export async function workingOrders(store: Store, accountId: string): Promise<Order[]> {
  return await findAll<Order>(store, "orders", { where: { accountId, open: true } });
}
