/**
 * Tax lots (`lots`) and the gains their sales realize (`realized_gains`). Each buy fill opens a lot
 * under its trade's id, costing the cash the buy booked plus its commission; each sell fill closes
 * lots in the account's order (`lotMethod`: first in first out by default, last in first out, or
 * highest unit cost first) and records, per lot it closed, the quantity, its share of the net
 * proceeds and of the lot's cost, the gain and the holding term. All of it is written in the fill's
 * own unit (fills.ts), each lot at the version read, so two sells can never close one lot twice.
 *
 * Positions keep their average cost (positions.ts): their realized P&L is what the app shows as a
 * holding's result; lots are the additional record a tax statement needs. The two agree on the
 * total only when a position is sold out with no commission.
 */
import { auditOp, type RequestOrigin } from "../audit.ts";
import { AppError } from "../errors.ts";
import type { Doc, Store, WriteOp } from "../store/port.ts";
import { retryOnConflict } from "../store/retry.ts";
import { divFixed, type Fixed, formatFixed, parseFixed, SCALE } from "../money.ts";
import type { Account } from "./accounts.ts";
import type { Position } from "./positions.ts";

export const LOT_METHODS = ["fifo", "lifo", "hifo"] as const;
export type LotMethod = typeof LOT_METHODS[number];
export const LOT_METHOD_LABELS: Record<LotMethod, string> = {
  fifo: "First in, first out",
  lifo: "Last in, first out",
  hifo: "Highest cost first",
};

/**
 * A fill closes at most this many lots: each costs two writes (the lot, its gain), and a unit on
 * Deno KV checks at most 100 keys, of which a fill with its linked orders needs up to about 30. A
 * sell that would close more fills this many lots' worth now and the rest at the next pass, like
 * a sell larger than the bid size (the fill takes the smaller of the two).
 */
export const MAX_LOTS_PER_FILL = 25;

/** One cent, in the store's units. */
const CENT = 10n ** BigInt(SCALE - 2);

/** The lots a sell may close, in the order it closes them, and how much they hold together. */
export type SellLots = { method: LotMethod; lots: Lot[]; qty: Fixed };

export function lotMethodOf(account: Pick<Account, "lotMethod">): LotMethod {
  return account.lotMethod ?? "fifo";
}

/**
 * Sets the order in which the account's sells close lots, from its next sell on. Written at the
 * account's version, which every fill also checks, so a sell committed after the change used the
 * new method and one committed before it the old. Audited; the same method again changes nothing.
 */
export async function setLotMethod(
  store: Store,
  accountId: string,
  method: LotMethod,
  origin?: RequestOrigin,
  now = new Date(),
): Promise<Account> {
  return await retryOnConflict(async () => {
    const account = (await store.get<Account>("accounts", accountId))!;
    if (account.status !== "active") {
      throw new AppError(422, "account_closed", "This account is closed.");
    }
    const from = lotMethodOf(account);
    if (from === method) return account;
    await store.commit([
      {
        op: "update",
        collection: "accounts",
        id: account._id,
        set: { lotMethod: method },
        ifVersion: account._v,
      },
      auditOp({
        action: "account.lot_method_changed",
        outcome: "success",
        userId: account.userId,
        origin,
        details: { account: account.number, from, to: method },
      }, now),
    ]);
    return { ...account, lotMethod: method, _v: account._v + 1 };
  }, "The account is busy. Please try again.");
}

/**
 * The lot a position from before lots stands for: all of it, opened when the position was, at its
 * cost basis. Stored (with `_v` 0 until then) by the first fill that touches the position, which
 * then marks it `lotsTracked`; null when the position is flat or already tracked.
 */
export function openingLot(position: Position | null): Lot | null {
  if (!position || position.lotsTracked || parseFixed(position.qty, SCALE) === 0n) return null;
  const qty = parseFixed(position.qty, SCALE);
  const cost = parseFixed(position.costBasis, SCALE);
  return lotDoc(`${position._id}:opening`, position, position.openedAt, qty, cost, null);
}

/**
 * The open lots a sell of this position closes, first MAX_LOTS_PER_FILL of them in the account's
 * order; null for a buy. Read before the fill's unit is built (fillOps is pure), at the versions
 * the unit then checks.
 */
export async function lotsToSell(
  store: Store,
  account: Account,
  side: "buy" | "sell",
  position: Position | null,
): Promise<SellLots | null> {
  if (side === "buy") return null;
  const method = lotMethodOf(account);
  const opening = openingLot(position);
  const lots = opening ? [opening] : (await store.find<Lot>("lots", {
    where: { accountId: account._id, symbol: position?.symbol ?? "", open: true },
    sort: method === "hifo"
      ? { field: "costKey", direction: -1 }
      : { field: "openedAt", direction: method === "fifo" ? 1 : -1 },
    limit: MAX_LOTS_PER_FILL,
  })).items;
  let qty = 0n;
  for (const lot of lots) qty += parseFixed(lot.remainingQty, SCALE);
  return { method, lots, qty };
}

/**
 * The most a sell may fill now: the quote's size, or less when the position's lots are more than
 * one fill may close and the first MAX_LOTS_PER_FILL hold less.
 */
export function sellableNow(shown: Fixed, lots: SellLots | null): Fixed {
  const capped = lots !== null && lots.lots.length === MAX_LOTS_PER_FILL;
  return capped && lots.qty < shown ? lots.qty : shown;
}

/** A new lot's document. */
function lotDoc(
  id: string,
  owner: Pick<Position, "userId" | "accountId" | "symbol">,
  openedAt: Date,
  qty: Fixed,
  cost: Fixed,
  tradeId: string | null,
): Lot {
  const unit = divFixed(cost, qty, SCALE);
  return {
    _id: id,
    _v: 0,
    userId: owner.userId,
    accountId: owner.accountId,
    symbol: owner.symbol,
    tradeId,
    openedAt,
    qty: formatFixed(qty, 0),
    remainingQty: formatFixed(qty, 0),
    costBasis: formatFixed(cost),
    remainingCost: formatFixed(cost),
    unitCost: formatFixed(unit),
    costKey: costKeyOf(unit),
    open: true,
    closedAt: null,
  };
}

/** Unit cost as a fixed-width string, so the index orders lots by it exactly. */
export function costKeyOf(unit: Fixed): string {
  return String(unit).padStart(24, "0");
}

/** The insert of the lot a buy fill opens: its trade's id, its cash plus commission as cost. */
export function openLotOp(
  account: Pick<Account, "_id" | "userId">,
  symbol: string,
  tradeId: string,
  qty: Fixed,
  cost: Fixed,
  at: Date,
): WriteOp {
  const { _v: _, ...doc } = lotDoc(
    tradeId,
    { userId: account.userId, accountId: account._id, symbol },
    at,
    qty,
    cost,
    tradeId,
  );
  return { op: "insert", collection: "lots", doc };
}

/** The write that stores a position's opening lot as it stands (a buy adds a lot beside it). */
export function openingLotOp(lot: Lot): WriteOp {
  const { _v: _, ...doc } = lot;
  return { op: "insert", collection: "lots", doc };
}

/** One lot's part of a sell. */
export type LotClose = {
  lot: Lot;
  qty: Fixed;
  proceeds: Fixed;
  cost: Fixed;
  remainingQty: Fixed;
  remainingCost: Fixed;
  term: "short" | "long";
};

/**
 * Closes `qty` of the lots in their order for `proceeds` (net of commission, cents). Proceeds are
 * split in proportion to quantity, each share rounded down to the cent and the last lot taking the
 * rest, so the shares add up to the proceeds exactly. A lot's cost share is its remaining cost ×
 * sold ÷ remaining, half-even to the cent, and the close that empties it takes all that is left,
 * so its shares add up to its cost basis. Throws RangeError when the lots hold less than `qty`.
 */
export function closeLots(lots: Lot[], qty: Fixed, proceeds: Fixed, at: Date): LotClose[] {
  const closes: LotClose[] = [];
  let left = qty;
  for (const lot of lots) {
    if (left === 0n) break;
    const remaining = parseFixed(lot.remainingQty, SCALE);
    const remainingCost = parseFixed(lot.remainingCost, SCALE);
    const take = remaining < left ? remaining : left;
    if (take === 0n) continue;
    const cost = take === remaining ? remainingCost : roundToCent(remainingCost * take / remaining);
    closes.push({
      lot,
      qty: take,
      proceeds: 0n,
      cost,
      remainingQty: remaining - take,
      remainingCost: remainingCost - cost,
      term: holdingTerm(lot.openedAt, at),
    });
    left -= take;
  }
  if (left > 0n) throw new RangeError("the lots hold less than the sell");
  let given = 0n;
  closes.forEach((close, n) => {
    close.proceeds = n === closes.length - 1
      ? proceeds - given
      : floorToCent(proceeds * close.qty / qty);
    given += close.proceeds;
  });
  return closes;
}

/** The writes of a sell's closes: each lot at its version (or stored, if new) and its gain. */
export function closeLotOps(
  closes: LotClose[],
  tradeId: string,
  method: LotMethod,
  at: Date,
): WriteOp[] {
  const ops: WriteOp[] = [];
  for (const close of closes) {
    const { lot } = close;
    const set = {
      remainingQty: formatFixed(close.remainingQty, 0),
      remainingCost: formatFixed(close.remainingCost),
      open: close.remainingQty > 0n,
      closedAt: close.remainingQty > 0n ? null : at,
    };
    if (lot._v === 0) {
      const { _v: _, ...doc } = lot;
      ops.push({ op: "insert", collection: "lots", doc: { ...doc, ...set } });
    } else {
      ops.push({ op: "update", collection: "lots", id: lot._id, set, ifVersion: lot._v });
    }
    ops.push({
      op: "insert",
      collection: "realized_gains",
      doc: {
        _id: `${tradeId}:${lot._id}`,
        userId: lot.userId,
        accountId: lot.accountId,
        symbol: lot.symbol,
        lotId: lot._id,
        tradeId,
        qty: formatFixed(close.qty, 0),
        proceeds: formatFixed(close.proceeds),
        cost: formatFixed(close.cost),
        gain: formatFixed(close.proceeds - close.cost),
        openedAt: lot.openedAt,
        closedAt: at,
        term: close.term,
        method,
      } satisfies Omit<RealizedGain, "_v">,
    });
  }
  return ops;
}

/**
 * Long term when held more than one year, counted in calendar days in New York as the IRS counts
 * them: the day after the purchase starts the period, so a lot bought on 10 March 2025 is long term
 * when sold on 11 March 2026 or later. A purchase on 29 February has its anniversary on 28 February.
 */
export function holdingTerm(openedAt: Date, closedAt: Date): "short" | "long" {
  const [y, m, d] = newYorkDate(openedAt);
  const lastDayOfMonth = new Date(Date.UTC(y + 1, m, 0)).getUTCDate();
  const anniversary = Date.UTC(y + 1, m - 1, Math.min(d, lastDayOfMonth));
  const [cy, cm, cd] = newYorkDate(closedAt);
  return Date.UTC(cy, cm - 1, cd) > anniversary ? "long" : "short";
}

const NEW_YORK_DATE = new Intl.DateTimeFormat("en-CA", {
  timeZone: "America/New_York",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
});

function newYorkDate(at: Date): [number, number, number] {
  const [y, m, d] = NEW_YORK_DATE.format(at).split("-").map(Number);
  return [y, m, d];
}

/** The tax year's bounds: 1 January in New York (always EST, UTC−5) to the next. */
export function taxYearRange(year: number): { gte: Date; lt: Date } {
  return { gte: new Date(Date.UTC(year, 0, 1, 5)), lt: new Date(Date.UTC(year + 1, 0, 1, 5)) };
}

/** The tax year a moment falls in, in New York. */
export function taxYearOf(at: Date): number {
  return newYorkDate(at)[0];
}

function roundToCent(value: Fixed): Fixed {
  const down = floorToCent(value);
  const rest = value - down;
  // Half-even, as positions.ts rounds the cost it removes.
  if (rest * 2n > CENT || (rest * 2n === CENT && (down / CENT) % 2n !== 0n)) return down + CENT;
  return down;
}

function floorToCent(value: Fixed): Fixed {
  const r = value % CENT;
  return r < 0n ? value - r - CENT : value - r;
}

/** The open lots of a position, oldest first, for its page (at most `limit`). */
export async function positionLots(
  store: Store,
  accountId: string,
  symbol: string,
  limit = 100,
): Promise<Lot[]> {
  return (await store.find<Lot>("lots", {
    where: { accountId, symbol, open: true },
    sort: { field: "openedAt", direction: 1 },
    limit,
  })).items;
}

/**
 * A tax year's realized gains of an account: totals by term over the whole year, and a page of
 * the rows, latest sale first.
 */
export async function realizedGains(
  store: Store,
  accountId: string,
  year: number,
  limit: number,
  cursor?: string,
) {
  const range = taxYearRange(year);
  const query = {
    where: { accountId },
    sort: { field: "closedAt", direction: -1 as const },
    range,
  };
  const page = await store.find<RealizedGain>("realized_gains", { ...query, limit, cursor });
  const totals = { short: zeroTotals(), long: zeroTotals() };
  // Totals cover the whole year, read in large pages; a year of rows is bounded by its sells.
  let next: string | undefined;
  do {
    const all = await store.find<RealizedGain>("realized_gains", {
      ...query,
      limit: 1000,
      cursor: next,
    });
    for (const row of all.items) {
      const t = totals[row.term];
      t.proceeds += parseFixed(row.proceeds, SCALE);
      t.cost += parseFixed(row.cost, SCALE);
      t.gain += parseFixed(row.gain, SCALE);
    }
    next = all.nextCursor ?? undefined;
  } while (next);
  return { page, totals };
}

function zeroTotals() {
  return { proceeds: 0n, cost: 0n, gain: 0n };
}

export function totalsJson(t: { proceeds: Fixed; cost: Fixed; gain: Fixed }) {
  return {
    proceeds: formatFixed(t.proceeds),
    cost: formatFixed(t.cost),
    gain: formatFixed(t.gain),
  };
}

export function realizedGainJson(row: RealizedGain) {
  return {
    symbol: row.symbol,
    qty: row.qty,
    openedAt: row.openedAt.toISOString(),
    closedAt: row.closedAt.toISOString(),
    proceeds: row.proceeds,
    cost: row.cost,
    gain: row.gain,
    term: row.term,
    method: row.method,
    lotId: row.lotId,
    tradeId: row.tradeId,
  };
}

export type Lot = Doc & {
  userId: string;
  accountId: string;
  symbol: string;
  /** The buy fill that opened it; null for the opening lot of a position from before lots. */
  tradeId: string | null;
  openedAt: Date;
  /** Decimal strings: the quantity bought and what is left of it; the cost of each (cents). */
  qty: string;
  remainingQty: string;
  costBasis: string;
  remainingCost: string;
  unitCost: string;
  /** unitCost in the store's units, zero-padded: the highest-cost order of the index. */
  costKey: string;
  open: boolean;
  closedAt: Date | null;
};

export type RealizedGain = Doc & {
  userId: string;
  accountId: string;
  symbol: string;
  lotId: string;
  tradeId: string;
  qty: string;
  proceeds: string;
  cost: string;
  gain: string;
  openedAt: Date;
  closedAt: Date;
  term: "short" | "long";
  method: LotMethod;
};
