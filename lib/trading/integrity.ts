/** A full scan of the trading data checking its invariants (docs/design.md, Money invariants). */
import { watchedRight, watchFields } from "./order_watch.ts";
import { DecimalError, type Fixed, formatFixed, mulFixed, parseFixed, SCALE } from "../money.ts";
import type { Doc, Store } from "../store/port.ts";
import type { CollectionName } from "../store/schema.ts";
import { type Account, MAX_OPEN_ACCOUNTS } from "./accounts.ts";
import { type Alert, type AlertSlot, alertSlotId, MAX_ACTIVE_ALERTS } from "./alerts.ts";
import type { Trade } from "./history.ts";
import { type LedgerEntry, ledgerEntryId } from "./ledger.ts";
import { nextAveragePrice } from "./fills.ts";
import { fillCash, MAX_TRAIL_PERCENT, trailingStopPrice } from "./order_rules.ts";
import type { Security } from "../market/securities.ts";
import type { Order } from "./orders.ts";
import { type Position, positionId } from "./positions.ts";
import { holdingTerm, type Lot, type RealizedGain } from "./lots.ts";
import {
  type Dividend,
  dividendsBetween,
  type Split,
  splitsBetween,
} from "../market/corporate_actions.ts";
import {
  bookingId,
  dividendCash,
  type DividendEntitlement,
  type SplitBooking,
} from "./corporate_actions.ts";

const DAY_MS = 86_400_000;

/** Documents per page of the scan: large enough to keep round trips few, small enough to stream. */
const PAGE_SIZE = 500;
/** Cash is kept to the cent; quantities and prices to the store's full scale. */
const CASH_DECIMALS = 2;
const WORKING_STATUSES: ReadonlySet<string> = new Set(["held", "new", "partially_filled"]);
const TERMINAL_STATUSES: ReadonlySet<string> = new Set([
  "filled",
  "cancelled",
  "expired",
  "rejected",
]);

/**
 * Reads every user, account, ledger entry, trade, order and position, page by page, and checks
 * the invariants of docs/design.md, Money invariants: cash = Σ ledger with an unbroken sequence
 * and running balance, cash ≥ 0, position qty = Σ fills, held buying power = Σ holds of open buy
 * orders (and within cash), a fill applied exactly once and moving exactly qty × price rounded
 * against the customer (plus its commission), the running totals of working orders
 * (open_orders.ts: the account's count and held buying power, each position's reserved shares)
 * equal to the sums over those orders, and no document pointing at an owner that does not exist.
 * Each violation is one
 * line naming the account number, order, trade or ledger entry (never an email address).
 *
 * The store offers no snapshot, so on a live system a scan can catch an order half-way: its
 * ledger entry read before it existed and its trade read after. When a scan finds problems, a
 * second one runs; a line both scans report is a problem, a line only one reports becomes a
 * warning (a write in flight, or a problem fixed meanwhile), so nothing found is dropped.
 * Memory grows with the numbers of accounts, ledger entries and trades; orders only stream past.
 */
export async function checkIntegrity(store: Store): Promise<IntegrityReport> {
  const first = await scanOnce(store);
  if (first.problems.length === 0) return first;
  const second = await scanOnce(store);
  const before = new Set(first.problems);
  const after = new Set(second.problems);
  const once = [
    ...first.problems.filter((line) => !after.has(line)),
    ...second.problems.filter((line) => !before.has(line)),
  ];
  return {
    ...second,
    problems: second.problems.filter((line) => before.has(line)),
    warnings: [
      ...second.warnings,
      ...once.map((line) => `found by one of two scans (a write in flight?): ${line}`),
    ],
  };
}

/** One pass over the store; see checkIntegrity. */
async function scanOnce(store: Store): Promise<IntegrityReport> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const amount = (value: unknown, decimals: number, where: string, field: string) =>
    parseAmount(value, decimals, where, field, problems);

  const users = new Set<string>();
  for await (const user of scan<Doc>(store, "users")) users.add(user._id);

  const accounts = new Map<string, AccountFacts>();
  const activeByUser = new Map<string, string[]>();
  const usersWithAccounts = new Set<string>();
  for await (const account of scan<Account>(store, "accounts")) {
    const label = `account ${account.number}`;
    accounts.set(account._id, {
      label,
      userId: account.userId,
      ledgerSeq: account.ledgerSeq,
      closed: account.status === "closed",
      // Only margin accounts may borrow; every account type this app opens must stay in credit.
      mayGoNegative: (account.type as string) === "margin",
      entries: [],
      held: 0n,
      working: 0,
      totals: account.openOrders === undefined && account.heldForOrders === undefined
        ? null
        : runningTotals(account, label, amount, problems),
    });
    usersWithAccounts.add(account.userId);
    if (!users.has(account.userId)) {
      problems.push(`${label}: its user ${account.userId} does not exist`);
    }
    if (account.status === "active") {
      const active = activeByUser.get(account.userId) ?? [];
      active.push(account.number);
      activeByUser.set(account.userId, active);
    }
  }
  for (const [userId, numbers] of activeByUser) {
    if (numbers.length > MAX_OPEN_ACCOUNTS) {
      problems.push(
        `user ${userId} has ${numbers.length} open accounts (at most ${MAX_OPEN_ACCOUNTS}): ${
          numbers.join(", ")
        }`,
      );
    }
  }
  for (const userId of users) {
    if (!usersWithAccounts.has(userId)) {
      warnings.push(`user ${userId} has no trading account yet (one opens at their first order)`);
    }
  }

  // Splits booked per holding (corporate_actions.ts): trades stay as they executed, so a trade
  // from before a split counts in today's shares, × the ratios of the splits booked after it.
  const splits = await scanSplitBookings(store, accounts, problems);
  const laterRatio = (accountId: string, symbol: string, at: Date) =>
    (splits.get(positionId(accountId, symbol)) ?? [])
      .filter((s) => s.effectiveAt > at)
      .reduce((product, s) => product * s.ratio, 1n);

  // Dividend entries per (action, account): each must be its entitlement's one payment.
  const dividendEntries = new Map<string, { at: string; amount: Fixed | null }[]>();

  // Ledger entries are grouped per account and judged once all are read, so the scan does not
  // depend on the order in which a backend returns them.
  const fillEntries = new Map<string, { entryIds: string[]; amount: Fixed | null }>();
  const commissionEntries = new Map<string, Fixed | null>();
  const tradeRefs = new Map<string, string>();
  let ledgerEntries = 0;
  for await (const entry of scan<LedgerEntry>(store, "cash_ledger")) {
    ledgerEntries++;
    const account = accounts.get(entry.accountId);
    const where = `ledger entry ${entry._id}`;
    if (!account) {
      problems.push(`${where}: its account ${entry.accountId} does not exist`);
      continue;
    }
    const at = `${account.label}: ledger entry ${entry.seq}`;
    const facts: EntryFacts = {
      id: entry._id,
      seq: entry.seq,
      amount: amount(entry.amount, CASH_DECIMALS, at, "amount"),
      balanceAfter: amount(entry.balanceAfter, CASH_DECIMALS, at, "balanceAfter"),
    };
    account.entries.push(facts);
    if (entry._id !== ledgerEntryId(entry.accountId, entry.seq)) {
      problems.push(`${at}: stored as ${entry._id}, not under its own sequence number`);
    }
    if (entry.tradeId) tradeRefs.set(entry.tradeId, `${at} (${entry.type})`);
    if (entry.type === "commission" && entry.tradeId) {
      // Summed, so a commission booked twice shows as twice the trade's; null when unreadable.
      const seen = commissionEntries.get(entry.tradeId);
      commissionEntries.set(
        entry.tradeId,
        seen === null || facts.amount === null ? null : (seen ?? 0n) + facts.amount,
      );
    }
    if (entry.type === "dividend") {
      const key = `${entry.actionId}:${entry.accountId}`;
      const seen = dividendEntries.get(key) ?? [];
      seen.push({ at, amount: facts.amount });
      dividendEntries.set(key, seen);
    }
    if (entry.type === "fill") {
      if (!entry.tradeId) {
        problems.push(`${at}: a fill entry without a trade`);
        continue;
      }
      const seen = fillEntries.get(entry.tradeId);
      if (seen) seen.entryIds.push(`${entry.seq}`);
      else fillEntries.set(entry.tradeId, { entryIds: [`${entry.seq}`], amount: facts.amount });
    }
  }
  for (const account of accounts.values()) checkLedger(account, problems);

  // Trades are kept (compactly) so orders and positions can be compared with them as they stream.
  const trades = new Map<string, TradeFacts>();
  const tradesByOrder = new Map<string, string[]>();
  const netByPosition = new Map<string, NetFacts>();
  for await (const trade of scan<Trade>(store, "trades")) {
    const where = `trade ${trade._id}`;
    const account = accounts.get(trade.accountId);
    if (!account) problems.push(`${where}: its account ${trade.accountId} does not exist`);
    else if (trade.userId !== account.userId) {
      problems.push(`${where}: its user is not the owner of ${account.label}`);
    }
    const qty = amount(trade.qty, SCALE, where, "qty");
    const price = amount(trade.price, SCALE, where, "price");
    const gross = amount(trade.gross, CASH_DECIMALS, where, "gross");
    const commission = amount(trade.commission, CASH_DECIMALS, where, "commission");
    if (qty !== null && qty <= 0n) problems.push(`${where}: qty ${trade.qty} is not positive`);
    if (qty !== null && price !== null && gross !== null) {
      // The cash of a fill is the exact qty × price rounded against the customer: a buy's cost
      // up, a sell's proceeds down. Anything else handed the customer (or took) a fraction of a cent.
      const side = trade.side === "sell" ? "sell" : "buy";
      const expected = fillCash(side, qty, price);
      // Trades booked before the rule (no cashRounding marker) were rounded half-even; they stay
      // valid history, while every newer trade must follow the rule exactly.
      const legacyOk = trade.cashRounding === undefined && gross === mulFixed(qty, price, 2);
      if (gross !== expected && !legacyOk) {
        problems.push(
          `${where}: gross ${trade.gross} is not qty × price rounded ${
            side === "buy" ? "up" : "down"
          } to the cent (${trade.qty} × ${trade.price} = ${formatFixed(expected)})`,
        );
      }
    }
    if (commission !== null) {
      if (commission < 0n) problems.push(`${where}: negative commission ${trade.commission}`);
      const booked = commissionEntries.get(trade._id);
      if (booked !== null && (booked ?? 0n) !== -commission) {
        problems.push(
          `${where}: its commission is ${trade.commission} but its commission entries moved ${
            formatFixed(booked ?? 0n)
          }`,
        );
      }
    }
    trades.set(trade._id, {
      orderId: trade.orderId,
      accountId: trade.accountId,
      symbol: trade.symbol,
      side: trade.side,
      qty,
      price,
      orderSeen: false,
      factor: laterRatio(trade.accountId, trade.symbol, trade.executedAt),
      executedAt: trade.executedAt,
    });
    const siblings = tradesByOrder.get(trade.orderId);
    if (siblings) siblings.push(trade._id);
    else tradesByOrder.set(trade.orderId, [trade._id]);

    if (qty !== null) {
      const key = positionId(trade.accountId, trade.symbol);
      const net = netByPosition.get(key) ??
        { label: account?.label ?? `account ${trade.accountId}`, symbol: trade.symbol, net: 0n };
      const shares = qty * laterRatio(trade.accountId, trade.symbol, trade.executedAt);
      net.net += trade.side === "buy" ? shares : -shares;
      netByPosition.set(key, net);
    }

    const fills = fillEntries.get(trade._id);
    if (!fills) problems.push(`${where}: no fill entry in the cash ledger moved its cash`);
    else {
      if (fills.entryIds.length > 1) {
        problems.push(
          `${where}: applied ${fills.entryIds.length} times — ledger entries ${
            fills.entryIds.join(", ")
          } of ${account?.label ?? trade.accountId} are all its fill`,
        );
      }
      const signed = gross === null ? null : trade.side === "buy" ? -gross : gross;
      if (signed !== null && fills.amount !== null && fills.amount !== signed) {
        problems.push(
          `${where}: its fill entry moved ${formatFixed(fills.amount)}, not ${formatFixed(signed)}`,
        );
      }
    }
  }
  // Dividends are judged against the trades: an entitlement is the shares held at its record date.
  let byHolding: Map<string, TradeFacts[]> | undefined;
  const heldAt = (accountId: string, symbol: string, at: Date) => {
    if (!byHolding) {
      // Grouped once, on the first entitlement: a scan with none never pays for it.
      byHolding = new Map();
      for (const trade of trades.values()) {
        const key = positionId(trade.accountId, trade.symbol);
        const list = byHolding.get(key);
        if (list) list.push(trade);
        else byHolding.set(key, [trade]);
      }
    }
    let held = 0n;
    for (const trade of byHolding.get(positionId(accountId, symbol)) ?? []) {
      if (trade.qty === null || trade.executedAt >= at) continue;
      held += (trade.side === "buy" ? trade.qty : -trade.qty) * trade.factor;
    }
    return held;
  };
  await checkDividends(store, accounts, dividendEntries, amount, problems, heldAt);
  for (const [tradeId, at] of tradeRefs) {
    if (!trades.has(tradeId)) problems.push(`${at}: names trade ${tradeId}, which does not exist`);
  }

  // A trailing stop's stop is recomputed at its security's tick (order_rules.ts).
  const priceDecimals = new Map<string, number>();
  // Quantities are judged against their security's unit too (fractional shares, crypto decimals).
  const units = new Map<string, UnitFacts>();
  for await (const security of scan<Security & Doc>(store, "securities")) {
    priceDecimals.set(security.symbol, security.priceDecimals);
    units.set(security.symbol, unitFacts(security));
  }
  checkTradeUnits(trades, units, { problems, warnings });

  let orders = 0;
  // What working sells still have to sell, per position: each position's reservation must match.
  const reservedByPosition = new Map<string, Fixed>();
  // Orders of brackets, OCO and OTO, checked together once all are read.
  const linked = new Map<string, Order>();
  for await (const order of scan<Order>(store, "orders")) {
    orders++;
    checkOrder(order, accounts.get(order.accountId), trades, tradesByOrder, amount, {
      problems,
      warnings,
    });
    if (order.type === "trailing_stop") {
      checkTrailingStop(order, priceDecimals.get(order.symbol), { problems, warnings });
    }
    checkTrailFields(order, units.get(order.symbol), problems);
    checkOrderUnits(order, units.get(order.symbol), trades, tradesByOrder, problems);
    // The execution pass finds a working order only where its watch fields say (order_watch.ts).
    const watch = watchFields(order);
    if (order.watchKey === undefined && order.watchPrice === undefined) {
      if (order.open) {
        warnings.push(
          `order ${order._id}: working without execution-index fields; the worker's sweep adds them`,
        );
      }
    } else if (!watchedRight(order)) {
      const trailing = order.type === "trailing_stop";
      const at = (w: Partial<typeof watch>) =>
        `${w.watchKey} ${w.watchPrice}` +
        (trailing ? ` (best price at ${w.hwmWatchKey} ${w.hwmWatchPrice})` : "");
      problems.push(`order ${order._id}: waits at ${at(order)}, but its state says ${at(watch)}`);
    }
    if (order.orderClass !== undefined) linked.set(order._id, order);
    // An exit held for its entry reserves nothing yet; a pair's take-profit reserves for both.
    const reserves = order.status !== "held" && !(order.pairedWith && order.type !== "limit");
    if (order.open && order.side === "sell" && reserves) {
      const qty = parseOrNull(order.qty, SCALE);
      const filled = parseOrNull(order.filledQty, SCALE);
      if (qty !== null && filled !== null) {
        const key = positionId(order.accountId, order.symbol);
        reservedByPosition.set(key, (reservedByPosition.get(key) ?? 0n) + qty - filled);
      }
    }
  }
  checkLinkedOrders(linked, problems);
  for (const account of accounts.values()) {
    if (!account.totals) continue;
    const { openOrders, held } = account.totals;
    if (openOrders !== null && openOrders !== account.working) {
      problems.push(
        `${account.label}: its running total counts ${openOrders} open orders, but ${account.working} are working`,
      );
    }
    if (held !== null && held !== account.held) {
      problems.push(
        `${account.label}: its running total holds ${
          formatFixed(held)
        } for open orders, but their holds sum to ${formatFixed(account.held)}`,
      );
    }
  }
  for (const [tradeId, trade] of trades) {
    if (!trade.orderSeen) {
      problems.push(`trade ${tradeId}: its order ${trade.orderId} does not exist`);
    }
  }

  let positions = 0;
  const positioned = new Set<string>();
  for await (const position of scan<Position>(store, "positions")) {
    positions++;
    positioned.add(position._id);
    const account = accounts.get(position.accountId);
    checkPosition(position, account, netByPosition.get(position._id), amount, problems);
    checkPositionUnits(position, account, units.get(position.symbol), problems);
    // Accounts from before the running totals carry none until their next order (open_orders.ts).
    if (account?.totals) {
      const where = `${account.label}: position ${position.symbol}`;
      const stored = position.reservedToSell === undefined
        ? 0n
        : amount(position.reservedToSell, SCALE, where, "reservedToSell");
      const expected = reservedByPosition.get(position._id) ?? 0n;
      if (stored !== null && stored !== expected) {
        problems.push(
          `${where}: reserves ${formatFixed(stored, 0)} for open sells, but they still have ${
            formatFixed(expected, 0)
          } to sell`,
        );
      }
    }
  }
  for (const [key, reserved] of reservedByPosition) {
    if (!positioned.has(key) && reserved > 0n) {
      problems.push(`position ${key}: open sells of ${formatFixed(reserved, 0)} but no position`);
    }
  }
  for (const [key, { label, symbol, net }] of netByPosition) {
    if (!positioned.has(key)) {
      problems.push(
        `${label}: trades in ${symbol} net ${formatFixed(net, 0)} but no position exists`,
      );
    }
  }

  await checkLots(store, accounts, trades, amount, problems, laterRatio);

  for (const account of accounts.values()) {
    if (account.cash !== undefined && account.held > account.cash) {
      problems.push(
        `${account.label}: open buy orders hold ${formatFixed(account.held)} but cash is ${
          formatFixed(account.cash)
        }`,
      );
    }
  }

  await checkAlertSlots(store, problems);

  return {
    users: users.size,
    accounts: accounts.size,
    ledgerEntries,
    orders,
    trades: trades.size,
    positions,
    problems,
    warnings,
  };
}

/**
 * Price alerts (alerts.ts): each active alert holds the slot `<userId>:<slot>` that names it, each
 * slot is held by an active alert of its user, and no user has more than MAX_ACTIVE_ALERTS active.
 */
async function checkAlertSlots(store: Store, problems: string[]): Promise<void> {
  const slots = new Map<string, AlertSlot>();
  for await (const slot of scan<AlertSlot>(store, "alert_slots")) slots.set(slot._id, slot);
  const held = new Set<string>();
  const activeByUser = new Map<string, number>();
  for await (const alert of scan<Alert>(store, "alerts")) {
    if (alert.status !== "active") continue;
    activeByUser.set(alert.userId, (activeByUser.get(alert.userId) ?? 0) + 1);
    const slotId = alert.slot === null ? null : alertSlotId(alert.userId, alert.slot);
    const slot = slotId === null ? undefined : slots.get(slotId);
    if (!slot || slot.alertId !== alert._id) {
      problems.push(`alert ${alert._id}: active, but slot ${slotId ?? "none"} is not its own`);
    } else {
      held.add(slot._id);
    }
  }
  for (const slot of slots.values()) {
    if (!held.has(slot._id)) {
      problems.push(`alert slot ${slot._id}: no active alert holds it (alert ${slot.alertId})`);
    }
  }
  for (const [userId, count] of activeByUser) {
    if (count > MAX_ACTIVE_ALERTS) {
      problems.push(`user ${userId} has ${count} active alerts (at most ${MAX_ACTIVE_ALERTS})`);
    }
  }
}

/** Sequence 1..ledgerSeq without gaps, a running balance that adds up, and never below zero. */
function checkLedger(account: AccountFacts, problems: string[]): void {
  const { label, entries, ledgerSeq } = account;
  entries.sort((a, b) => a.seq - b.seq);
  let expected = 1;
  let previous: EntryFacts | undefined;
  let balance = 0n;
  let sum = 0n;
  let cash: Fixed | undefined = ledgerSeq === 0 ? 0n : undefined;
  for (const entry of entries) {
    if (!Number.isInteger(entry.seq) || entry.seq < 1) {
      problems.push(`${label}: ledger entry ${entry.id} has no valid sequence number`);
      continue;
    }
    if (previous && entry.seq === previous.seq) {
      problems.push(
        `${label}: ledger entry ${entry.seq} exists twice (${previous.id}, ${entry.id})`,
      );
      continue;
    }
    const gap = entry.seq > expected;
    if (gap) problems.push(`${label}: ${missing(expected, entry.seq - 1)}`);
    if (entry.seq > ledgerSeq) {
      problems.push(
        `${label}: ledger entry ${entry.seq} is beyond the account's last entry ${ledgerSeq}`,
      );
    }
    if (entry.amount !== null) sum += entry.amount;
    if (entry.amount !== null && entry.balanceAfter !== null) {
      // After a gap the chain restarts at this entry, so one lost entry is reported once.
      if (!gap && entry.balanceAfter !== balance + entry.amount) {
        problems.push(
          `${label}: ledger entry ${entry.seq} says the balance is ${
            formatFixed(entry.balanceAfter)
          }, but ${formatFixed(balance)} ${entry.amount < 0n ? "−" : "+"} ${
            formatFixed(entry.amount < 0n ? -entry.amount : entry.amount)
          } is ${formatFixed(balance + entry.amount)}`,
        );
      }
    }
    if (entry.balanceAfter !== null) {
      balance = entry.balanceAfter;
      if (balance < 0n && !account.mayGoNegative) {
        problems.push(
          `${label}: cash is ${
            formatFixed(balance)
          } after ledger entry ${entry.seq}; it may never go below 0`,
        );
      }
      if (entry.seq === ledgerSeq) cash = balance;
    }
    previous = entry;
    expected = entry.seq + 1;
  }
  if (expected <= ledgerSeq) problems.push(`${label}: ${missing(expected, ledgerSeq)}`);
  if (cash !== undefined && cash !== sum) {
    problems.push(
      `${label}: cash is ${formatFixed(cash)} but its ${entries.length} ledger entries sum to ${
        formatFixed(sum)
      }`,
    );
  }
  // Without its latest entry the account's cash is unknown; the missing entry is reported above.
  account.cash = cash;
}

function missing(from: number, to: number): string {
  return from === to
    ? `ledger entry ${from} is missing`
    : `ledger entries ${from}..${to} are missing (${to - from + 1} entries)`;
}

/** One order against its account, its trades and the status rules. */
function checkOrder(
  order: Order,
  account: AccountFacts | undefined,
  trades: Map<string, TradeFacts>,
  tradesByOrder: Map<string, string[]>,
  amount: AmountParser,
  { problems, warnings }: { problems: string[]; warnings: string[] },
): void {
  const where = `order ${order._id}`;
  if (!account) problems.push(`${where}: its account ${order.accountId} does not exist`);
  else if (order.userId !== account.userId) {
    problems.push(`${where}: its user is not the owner of ${account.label}`);
  }

  const working = WORKING_STATUSES.has(order.status);
  if (!working && !TERMINAL_STATUSES.has(order.status)) {
    problems.push(`${where}: unknown status "${order.status}"`);
  } else if (order.open !== working) {
    problems.push(
      `${where}: ${order.open ? "open" : "closed"} but its status is ${order.status}`,
    );
  }
  if (order.open && account?.closed) {
    // A reset closes the account first and ends its orders right after; a crash in between
    // leaves them for the execution worker, so this is a loose end rather than wrong money.
    warnings.push(`${where}: still working on closed ${account.label}`);
  }

  const hold = amount(order.holdAmount, CASH_DECIMALS, where, "holdAmount");
  if (hold !== null && hold !== 0n) {
    if (hold < 0n) problems.push(`${where}: holds a negative amount, ${order.holdAmount}`);
    else if (!order.open) {
      problems.push(`${where}: ${order.status} but still holds ${order.holdAmount}`);
    } else if (order.side === "sell") {
      problems.push(`${where}: a sell order holding ${order.holdAmount} of cash`);
    }
  }
  if (order.open && account) account.working++;
  if (order.open && order.side === "buy") {
    if (hold === 0n) problems.push(`${where}: an open buy order that holds no buying power`);
    if (hold !== null && account) account.held += hold;
  }

  const qty = amount(order.qty, SCALE, where, "qty");
  const filledQty = amount(order.filledQty, SCALE, where, "filledQty");
  if (qty !== null && filledQty !== null) {
    if (filledQty > qty) problems.push(`${where}: filled ${order.filledQty} of only ${order.qty}`);
    if (filledQty < 0n) problems.push(`${where}: filledQty ${order.filledQty} is negative`);
    if (order.status === "filled" && filledQty !== qty) {
      problems.push(`${where}: filled but only ${order.filledQty} of ${order.qty} executed`);
    }
  }

  const tradeIds = tradesByOrder.get(order._id) ?? [];
  let executed = 0n;
  for (const tradeId of tradeIds) {
    const trade = trades.get(tradeId)!;
    trade.orderSeen = true;
    // A trade from before a split applied to this order counts in the shares after it.
    const ratio = (order.splits ?? []).filter((s) => new Date(s.effectiveAt) > trade.executedAt)
      .reduce((product, s) => product * BigInt(s.ratio), 1n);
    if (trade.qty !== null) executed += trade.qty * ratio;
    const differs = [
      trade.accountId !== order.accountId && "account",
      trade.symbol !== order.symbol && "symbol",
      trade.side !== order.side && "side",
    ].filter(Boolean);
    if (differs.length) {
      problems.push(
        `trade ${tradeId}: its ${differs.join(", ")} differ from its order ${order._id}`,
      );
    }
  }
  if (filledQty !== null && executed !== filledQty) {
    problems.push(
      `${where}: filledQty is ${order.filledQty} but its ${tradeIds.length} trade${
        tradeIds.length === 1 ? "" : "s"
      } executed ${formatFixed(executed, 0)}`,
    );
  }
  // Fills are numbered: the trades of an order are <id>:1 … <id>:n, n its fill count, and its
  // average price folds over them in that order (fills.ts nextAveragePrice).
  const count = order.fillCount ?? (tradeIds.length ? 1 : 0);
  const expectedIds = Array.from({ length: count }, (_, n) => `${order._id}:${n + 1}`);
  const sorted = [...tradeIds].sort((a, b) => tradeNumber(a) - tradeNumber(b));
  if (sorted.join() !== expectedIds.join()) {
    problems.push(
      `${where}: ${count} fill${count === 1 ? "" : "s"}, so it needs trades ${
        expectedIds.join(", ") || "none"
      }; found ${sorted.length ? sorted.join(", ") : "none"}`,
    );
  } else if (count > 0 && !order.splits?.length) {
    // An order split while it had fills carries its average in the new shares (÷ the ratio at
    // full scale), which no fold over the trades as executed reproduces; only unsplit ones fold.
    let average: Fixed | null = null;
    let filled = 0n;
    for (const tradeId of sorted) {
      const trade = trades.get(tradeId)!;
      if (trade.price === null || trade.qty === null) return;
      average = nextAveragePrice(average, filled, trade.price, trade.qty);
      filled += trade.qty;
    }
    const stored = amount(order.filledAvgPrice, SCALE, where, "filledAvgPrice");
    if (stored !== null && average !== stored) {
      problems.push(
        `${where}: filledAvgPrice ${order.filledAvgPrice} differs from its trades' average ${
          formatFixed(average!)
        }`,
      );
    }
  }
}

function tradeNumber(tradeId: string): number {
  return Number(tradeId.slice(tradeId.lastIndexOf(":") + 1));
}

/** One position against the trades of its account and symbol. */
function checkPosition(
  position: Position,
  account: AccountFacts | undefined,
  trades: NetFacts | undefined,
  amount: AmountParser,
  problems: string[],
): void {
  const label = account?.label ?? `account ${position.accountId}`;
  const where = `${label}: position ${position.symbol}`;
  if (!account) problems.push(`${where}: its account ${position.accountId} does not exist`);
  else if (position.userId !== account.userId) {
    problems.push(`${where}: its user is not the owner of the account`);
  }
  if (position._id !== positionId(position.accountId, position.symbol)) {
    problems.push(`${where}: stored as ${position._id}`);
  }
  const qty = amount(position.qty, SCALE, where, "qty");
  // The cost basis is the cash paid (positions.ts), but positions from before that rule keep eight
  // places, so it is read at the full scale.
  const costBasis = amount(position.costBasis, SCALE, where, "costBasis");
  if (qty === null) return;
  const net = trades?.net ?? 0n;
  if (qty !== net) {
    problems.push(
      `${where}: holds ${position.qty} but its trades net ${formatFixed(net, 0)}`,
    );
  }
  if (qty < 0n) problems.push(`${where}: holds a negative quantity, ${position.qty}`);
  const shouldBe = qty > 0n ? "open" : "closed";
  if (position.status !== shouldBe) {
    problems.push(`${where}: status ${position.status} with qty ${position.qty}`);
  }
  if (costBasis !== null) {
    if (costBasis < 0n) problems.push(`${where}: negative cost basis ${position.costBasis}`);
    else if (qty === 0n && costBasis !== 0n) {
      problems.push(`${where}: flat but its cost basis is ${position.costBasis}`);
    }
  }
}

/** Every document of a collection, a page at a time, in the order of its primary key. */
/**
 * A trailing stop carries exactly one valid trail and a best price, and its stop is the one that
 * best price and trail give (placement, every move and a replace write the three together).
 */
function checkTrailingStop(
  order: Order,
  priceDecimals: number | undefined,
  { problems, warnings }: { problems: string[]; warnings: string[] },
): void {
  const where = `order ${order._id}`;
  const percent = order.trailPercent == null ? null : parseOrNull(order.trailPercent, 2);
  const price = order.trailPrice == null ? null : parseOrNull(order.trailPrice, SCALE);
  if ((order.trailPercent == null) === (order.trailPrice == null)) {
    problems.push(`${where}: a trailing stop needs exactly one of trailPercent and trailPrice`);
    return;
  }
  if (
    order.trailPercent != null && (percent === null || percent <= 0n || percent > MAX_TRAIL_PERCENT)
  ) {
    problems.push(`${where}: trailPercent ${order.trailPercent} is not above 0 and at most 50`);
    return;
  }
  if (order.trailPrice != null && (price === null || price <= 0n)) {
    problems.push(`${where}: trailPrice ${order.trailPrice} is not a positive amount`);
    return;
  }
  const hwm = order.hwm == null ? null : parseOrNull(order.hwm, SCALE);
  const stop = order.stopPrice == null ? null : parseOrNull(order.stopPrice, SCALE);
  if (hwm === null || stop === null) {
    problems.push(`${where}: a trailing stop without a readable best price (hwm) and stop price`);
    return;
  }
  if (priceDecimals === undefined) {
    warnings.push(
      `${where}: ${order.symbol} is not in the catalog; its trailing stop is unchecked`,
    );
    return;
  }
  const expected = trailingStopPrice(
    order.side,
    hwm,
    { trailPercent: percent, trailPrice: price },
    priceDecimals,
  );
  if (stop !== expected) {
    problems.push(
      `${where}: its stop ${order.stopPrice} does not follow its best price ${order.hwm} and trail ${
        order.trailPercent != null ? `${order.trailPercent} %` : `$${order.trailPrice}`
      } (expected ${formatFixed(expected)})`,
    );
  }
}

/** What a quantity or a price of a security may be: its unit and tick (securities.ts). */
type UnitFacts = Pick<Security, "symbol" | "assetClass" | "qtyDecimals" | "priceDecimals">;

function unitFacts(security: Security): UnitFacts {
  const { symbol, assetClass, qtyDecimals, priceDecimals } = security;
  return { symbol, assetClass, qtyDecimals, priceDecimals };
}

/** One share (or coin) at the store's scale. */
const ONE_UNIT = 10n ** BigInt(SCALE);

/** Whether `value` has digits beyond `decimals` places. */
function finerThan(value: Fixed, decimals: number): boolean {
  return value % 10n ** BigInt(SCALE - decimals) !== 0n;
}

/** "AAPL trades in up to 6 decimals", "F trades in whole shares": what a quantity must fit. */
function unitRule(unit: UnitFacts): string {
  return unit.qtyDecimals === 0
    ? `${unit.symbol} trades in whole shares`
    : `${unit.symbol} trades in up to ${unit.qtyDecimals} decimals`;
}

/**
 * Every trade's quantity fits its security's unit: 6 decimals for a fractionable share, whole
 * shares for the others, a coin's own decimals for crypto (order_rules.ts parseOrderRequest).
 */
function checkTradeUnits(
  trades: Map<string, TradeFacts>,
  units: Map<string, UnitFacts>,
  { problems, warnings }: { problems: string[]; warnings: string[] },
): void {
  const unknown = new Map<string, number>();
  for (const [tradeId, trade] of trades) {
    const unit = units.get(trade.symbol);
    if (!unit) unknown.set(trade.symbol, (unknown.get(trade.symbol) ?? 0) + 1);
    else if (trade.qty !== null && finerThan(trade.qty, unit.qtyDecimals)) {
      problems.push(`trade ${tradeId}: qty ${formatFixed(trade.qty, 0)}, but ${unitRule(unit)}`);
    }
  }
  for (const [symbol, count] of unknown) {
    warnings.push(
      `${symbol} is not in the catalog; the quantities of its ${count} trade${
        count === 1 ? "" : "s"
      } are unchecked`,
    );
  }
}

/**
 * An order's quantities fit its security's unit, a fraction of a share is only on a market or
 * limit day order, and a dollar order (`notional`) is a market order whose fills together cost
 * (or, for a sell, bring in) no more than its amount: its quantity was rounded down so they never
 * do (order_rules.ts notionalQty).
 */
function checkOrderUnits(
  order: Order,
  unit: UnitFacts | undefined,
  trades: Map<string, TradeFacts>,
  tradesByOrder: Map<string, string[]>,
  problems: string[],
): void {
  const where = `order ${order._id}`;
  const qty = parseOrNull(order.qty, SCALE);
  if (unit) {
    for (const field of ["qty", "filledQty"] as const) {
      const value = parseOrNull(order[field], SCALE);
      if (value !== null && finerThan(value, unit.qtyDecimals)) {
        problems.push(`${where}: ${field} ${order[field]}, but ${unitRule(unit)}`);
      }
    }
    const fractionalShares = unit.assetClass !== "crypto" && qty !== null && qty % ONE_UNIT !== 0n;
    const mayBeFractional = (order.type === "market" || order.type === "limit") &&
      order.timeInForce === "day";
    if (fractionalShares && !mayBeFractional) {
      problems.push(
        `${where}: ${order.qty} shares on a ${order.type} ${order.timeInForce} order; fractions of a share are for market and limit day orders`,
      );
    }
  }
  if (order.notional === undefined) return;
  const notional = parseOrNull(order.notional, CASH_DECIMALS);
  if (notional === null || notional <= 0n) {
    problems.push(`${where}: notional ${JSON.stringify(order.notional)} is not a dollar amount`);
    return;
  }
  if (order.type !== "market") {
    problems.push(`${where}: a dollar order (notional ${order.notional}) of type ${order.type}`);
  }
  let cash = 0n;
  for (const tradeId of tradesByOrder.get(order._id) ?? []) {
    const trade = trades.get(tradeId)!;
    if (trade.qty === null || trade.price === null) return;
    cash += fillCash(order.side, trade.qty, trade.price);
  }
  if (cash > notional) {
    problems.push(
      `${where}: a dollar order for ${order.notional} whose fills ${
        order.side === "buy" ? "cost" : "brought in"
      } ${formatFixed(cash)}`,
    );
  }
}

/** A position's quantity fits its security's unit. */
function checkPositionUnits(
  position: Position,
  account: AccountFacts | undefined,
  unit: UnitFacts | undefined,
  problems: string[],
): void {
  const qty = parseOrNull(position.qty, SCALE);
  if (!unit || qty === null || !finerThan(qty, unit.qtyDecimals)) return;
  const label = account?.label ?? `account ${position.accountId}`;
  problems.push(
    `${label}: position ${position.symbol}: holds ${position.qty}, but ${unitRule(unit)}`,
  );
}

/**
 * Only a trailing stop carries a trail and a best price; on one, the best price, the stop and a
 * dollar trail are on the security's tick (the execution pass reads them at it, worker.ts) and the
 * best price and the stop are above zero, so the stop can still be reached.
 */
function checkTrailFields(order: Order, unit: UnitFacts | undefined, problems: string[]): void {
  const where = `order ${order._id}`;
  if (order.type !== "trailing_stop") {
    const stray = (["trailPercent", "trailPrice", "hwm"] as const).filter((f) => order[f] != null);
    if (stray.length) {
      problems.push(`${where}: a ${order.type} order carrying ${stray.join(", ")}`);
    }
    return;
  }
  for (const field of ["hwm", "stopPrice", "trailPrice"] as const) {
    const value = order[field];
    if (value == null) continue;
    const exact = parseOrNull(value, SCALE);
    if (exact === null) continue;
    if (exact <= 0n && field !== "trailPrice") {
      problems.push(`${where}: ${field} ${value} is not above zero`);
    } else if (unit && finerThan(exact, unit.priceDecimals)) {
      problems.push(
        `${where}: ${field} ${value} is off the tick of ${unit.symbol} (${unit.priceDecimals} decimals)`,
      );
    }
  }
}

async function* scan<T extends Doc>(store: Store, collection: CollectionName): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const page = await store.find<T>(collection, { limit: PAGE_SIZE, cursor });
    yield* page.items;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
}

/** The running totals an account carries, each null (and reported) when it is not a valid value. */
function runningTotals(
  account: Account,
  label: string,
  amount: AmountParser,
  problems: string[],
): { openOrders: number | null; held: Fixed | null } {
  const count = account.openOrders;
  const valid = Number.isSafeInteger(count) && count! >= 0;
  if (!valid) problems.push(`${label}: openOrders ${JSON.stringify(count)} is not a count`);
  return {
    openOrders: valid ? count! : null,
    held: amount(account.heldForOrders, CASH_DECIMALS, label, "heldForOrders"),
  };
}

/** An amount, or null when it is not one (already reported by the order's own check). */
function parseOrNull(value: unknown, decimals: number): Fixed | null {
  try {
    return parseFixed(value, decimals);
  } catch (err) {
    if (err instanceof DecimalError) return null;
    throw err;
  }
}

/** An amount, or null after recording why the stored value is not one. */
function parseAmount(
  value: unknown,
  decimals: number,
  where: string,
  field: string,
  problems: string[],
): Fixed | null {
  try {
    return parseFixed(value, decimals, field);
  } catch (err) {
    if (!(err instanceof DecimalError)) throw err;
    const why = err.code === "too_many_decimals"
      ? `has more than ${decimals} decimals`
      : err.code === "out_of_range"
      ? "is out of range"
      : "is not a decimal amount";
    problems.push(`${where}: ${field} ${JSON.stringify(value) ?? "undefined"} ${why}`);
    return null;
  }
}

type AmountParser = (value: unknown, decimals: number, where: string, field: string) =>
  | Fixed
  | null;

type EntryFacts = { id: string; seq: number; amount: Fixed | null; balanceAfter: Fixed | null };

type AccountFacts = {
  /** "account PA12345678": how a person finds it. */
  label: string;
  userId: string;
  ledgerSeq: number;
  closed: boolean;
  mayGoNegative: boolean;
  entries: EntryFacts[];
  /** Σ holds of its open buy orders. */
  held: Fixed;
  /** How many of its orders are working. */
  working: number;
  /** The running totals it carries (open_orders.ts); null on an account from before them. */
  totals: { openOrders: number | null; held: Fixed | null } | null;
  /** The balance after its latest entry, once the ledger is checked; undefined when unknown. */
  cash?: Fixed;
};

type TradeFacts = {
  orderId: string;
  accountId: string;
  symbol: string;
  side: string;
  qty: Fixed | null;
  price: Fixed | null;
  orderSeen: boolean;
  /** How many of today's shares one share of this trade is: Π ratios of splits booked after it. */
  factor: bigint;
  executedAt: Date;
};

type NetFacts = { label: string; symbol: string; net: Fixed };

/** What a scan found: how many of each it read, and one line per violation. */
export type IntegrityReport = {
  users: number;
  accounts: number;
  ledgerEntries: number;
  orders: number;
  trades: number;
  positions: number;
  /** Broken invariants: money or shares are wrong somewhere. */
  problems: string[];
  /**
   * Loose ends that are not wrong money: a user without an account (one opens at their first
   * order), an order still working on an account a reset has just closed.
   */
  warnings: string[];
};

/**
 * Brackets, OCO and OTO (order_classes.ts, legs.ts): a pair points at each other, and once one of
 * it has filled the other no longer works, while both work they have the same left to sell; an
 * exit held for its entry waits on a working entry that has filled nothing; a working exit never
 * sells more than its entry bought.
 */
function checkLinkedOrders(linked: Map<string, Order>, problems: string[]) {
  const left = (o: Order) => parseFixed(o.qty, SCALE) - parseFixed(o.filledQty, SCALE);
  for (const order of linked.values()) {
    const where = `order ${order._id} (${order.orderClass})`;
    if (order.pairedWith) {
      const other = linked.get(order.pairedWith);
      if (!other || other.pairedWith !== order._id) {
        problems.push(`${where}: paired with ${order.pairedWith}, which does not pair back`);
      } else if (order.status === "filled" && other.open) {
        problems.push(`${where}: filled, but its pair ${other._id} still works`);
      } else if (
        order.open && other.open && order.status !== "held" && other.status !== "held" &&
        left(order) !== left(other)
      ) {
        problems.push(
          `${where}: has ${formatFixed(left(order), 0)} left to sell, its pair ${other._id} ${
            formatFixed(left(other), 0)
          }`,
        );
      }
    }
    const entry = order.parentId ? linked.get(order.parentId) : undefined;
    if (order.parentId && !entry) {
      problems.push(`${where}: a leg of ${order.parentId}, which does not exist`);
    } else if (entry && !entry.pairedWith) {
      // A bracket's or OTO's exit, against the entry that buys its shares.
      if (order.status === "held" && (!entry.open || entry.filledQty !== "0")) {
        problems.push(`${where}: held for entry ${entry._id}, which is ${entry.status}`);
      }
      if (
        order.status !== "held" && order.open &&
        parseFixed(order.qty, SCALE) > parseFixed(entry.filledQty, SCALE)
      ) {
        problems.push(
          `${where}: sells ${order.qty}, more than its entry ${entry._id} bought (${entry.filledQty})`,
        );
      }
    }
  }
}

/**
 * Tax lots (lots.ts): a buy's lot is its trade's quantity at its cash plus commission; a lot's
 * remaining quantity and cost are what it opened with less what its gains rows closed, and it is
 * open exactly while some remains; each gain is proceeds − cost, with the term its dates give; a
 * sell's rows close exactly its quantity for exactly its cash less commission; and a position whose
 * every share is in lots (`lotsTracked`) holds what its open lots hold. Sells from before lots
 * have no rows and are not judged.
 */
async function checkLots(
  store: Store,
  accounts: Map<string, AccountFacts>,
  trades: Map<string, TradeFacts>,
  amount: (value: unknown, decimals: number, where: string, field: string) => Fixed | null,
  problems: string[],
  laterRatio: (accountId: string, symbol: string, at: Date) => bigint,
) {
  const label = (accountId: string) => accounts.get(accountId)?.label ?? `account ${accountId}`;
  // A trade's cash and commission (the trade scan above keeps neither).
  const cashOf = new Map<string, { gross: Fixed; commission: Fixed }>();
  for await (const trade of scan<Trade>(store, "trades")) {
    const gross = parseOrNull(trade.gross, CASH_DECIMALS);
    const commission = parseOrNull(trade.commission, CASH_DECIMALS);
    if (gross !== null && commission !== null) cashOf.set(trade._id, { gross, commission });
  }
  const lots = new Map<string, { lot: Lot; qty: Fixed; cost: Fixed }>();
  const openByPosition = new Map<string, Fixed>();
  for await (const lot of scan<Lot>(store, "lots")) {
    const where = `${label(lot.accountId)}: lot ${lot._id}`;
    const qty = amount(lot.qty, SCALE, where, "qty");
    const remaining = amount(lot.remainingQty, SCALE, where, "remainingQty");
    const cost = amount(lot.costBasis, SCALE, where, "costBasis");
    const remainingCost = amount(lot.remainingCost, SCALE, where, "remainingCost");
    if (qty === null || remaining === null || cost === null || remainingCost === null) continue;
    if (!accounts.has(lot.accountId)) problems.push(`${where}: its account does not exist`);
    if (qty <= 0n || remaining < 0n || remaining > qty) {
      problems.push(`${where}: ${lot.remainingQty} left of ${lot.qty}`);
    }
    if (lot.open !== remaining > 0n) {
      problems.push(`${where}: ${lot.open ? "open" : "closed"} with ${lot.remainingQty} left`);
    }
    if (lot.tradeId !== null) {
      const trade = trades.get(lot.tradeId);
      if (lot._id !== lot.tradeId || !trade || trade.side !== "buy") {
        problems.push(`${where}: no buy trade ${lot.tradeId} opened it`);
      } else if (
        trade.qty === null || trade.qty * trade.factor !== qty ||
        !sameCost(cashOf.get(lot.tradeId), cost)
      ) {
        problems.push(
          `${where}: opened with ${lot.qty} for ${lot.costBasis}, not its trade's quantity and cash plus commission`,
        );
      }
    }
    lots.set(lot._id, { lot, qty: qty - remaining, cost: cost - remainingCost });
    if (remaining > 0n) {
      const key = positionId(lot.accountId, lot.symbol);
      openByPosition.set(key, (openByPosition.get(key) ?? 0n) + remaining);
    }
  }
  const bySell = new Map<string, { qty: Fixed; proceeds: Fixed; label: string }>();
  for await (const row of scan<RealizedGain>(store, "realized_gains")) {
    const where = `${label(row.accountId)}: realized gain ${row._id}`;
    const qty = amount(row.qty, SCALE, where, "qty");
    const proceeds = amount(row.proceeds, SCALE, where, "proceeds");
    const cost = amount(row.cost, SCALE, where, "cost");
    const gain = amount(row.gain, SCALE, where, "gain");
    if (qty === null || proceeds === null || cost === null || gain === null) continue;
    if (row._id !== `${row.tradeId}:${row.lotId}`) {
      problems.push(`${where}: not stored under its trade and lot`);
    }
    if (gain !== proceeds - cost) {
      problems.push(
        `${where}: gain ${row.gain} is not proceeds ${row.proceeds} − cost ${row.cost}`,
      );
    }
    if (row.term !== holdingTerm(row.openedAt, row.closedAt)) {
      problems.push(`${where}: ${row.term} term, but its dates make it the other`);
    }
    const lot = lots.get(row.lotId);
    if (!lot || lot.lot.accountId !== row.accountId || lot.lot.symbol !== row.symbol) {
      problems.push(`${where}: its lot ${row.lotId} does not exist in this holding`);
    } else {
      // A lot split after this sale closed part of it holds that part in today's shares.
      lot.qty -= qty * laterRatio(row.accountId, row.symbol, row.closedAt);
      lot.cost -= cost;
    }
    const trade = trades.get(row.tradeId);
    if (!trade || trade.side !== "sell" || trade.accountId !== row.accountId) {
      problems.push(`${where}: no sell trade ${row.tradeId} of this account closed it`);
    }
    const sell = bySell.get(row.tradeId) ?? { qty: 0n, proceeds: 0n, label: label(row.accountId) };
    sell.qty += qty;
    sell.proceeds += proceeds;
    bySell.set(row.tradeId, sell);
  }
  for (const [id, { lot, qty, cost }] of lots) {
    // What is left after subtracting every row from what the lot has closed: zero when they agree.
    if (qty !== 0n || cost !== 0n) {
      problems.push(
        `${label(lot.accountId)}: lot ${id}: what it has closed differs from its gains rows by ${
          formatFixed(qty, 0)
        } shares and ${formatFixed(cost)} of cost`,
      );
    }
  }
  for (const [tradeId, sell] of bySell) {
    const trade = trades.get(tradeId);
    const cash = cashOf.get(tradeId);
    if (!trade || trade.side !== "sell" || trade.qty === null || !cash) continue;
    if (sell.proceeds !== cash.gross - cash.commission) {
      problems.push(
        `${sell.label}: trade ${tradeId} brought in ${
          formatFixed(cash.gross - cash.commission)
        } net of commission, but its lots' proceeds sum to ${formatFixed(sell.proceeds)}`,
      );
    }
    if (sell.qty !== trade.qty) {
      problems.push(
        `${sell.label}: trade ${tradeId} sold ${formatFixed(trade.qty, 0)} but closed lots of ${
          formatFixed(sell.qty, 0)
        }`,
      );
    }
  }
  for await (const position of scan<Position>(store, "positions")) {
    if (!position.lotsTracked) continue;
    const held = parseOrNull(position.qty, SCALE);
    const inLots = openByPosition.get(position._id) ?? 0n;
    if (held !== null && held !== inLots) {
      problems.push(
        `${
          label(position.accountId)
        }: position ${position.symbol} holds ${position.qty} but its open lots ${
          formatFixed(inLots, 0)
        }`,
      );
    }
  }
}

function sameCost(cash: { gross: Fixed; commission: Fixed } | undefined, cost: Fixed): boolean {
  return cash !== undefined && cash.gross + cash.commission === cost;
}

type SplitFacts = { effectiveAt: Date; ratio: bigint };

/**
 * Split bookings (corporate_actions.ts), per holding: stored under `<actionId>:<accountId>`, once
 * per account and split (the id rules out a second), the position multiplied by the ratio.
 */
async function scanSplitBookings(
  store: Store,
  accounts: Map<string, AccountFacts>,
  problems: string[],
): Promise<Map<string, SplitFacts[]>> {
  const byHolding = new Map<string, SplitFacts[]>();
  for await (const booking of scan<SplitBooking>(store, "split_bookings")) {
    const account = accounts.get(booking.accountId);
    const where = `${account?.label ?? `account ${booking.accountId}`}: split ${booking.actionId}`;
    if (!account) problems.push(`${where}: its account does not exist`);
    if (booking._id !== bookingId(booking.actionId, booking.accountId)) {
      problems.push(`${where}: not stored under its action and account`);
    }
    const declared = declaredSplit(booking.actionId);
    if (
      !declared || declared.symbol !== booking.symbol || declared.ratio !== booking.ratio ||
      declared.effectiveAt.getTime() !== new Date(booking.effectiveAt).getTime()
    ) {
      problems.push(`${where}: no such split was declared for ${booking.symbol}`);
      continue;
    }
    const before = parseOrNull(booking.qtyBefore, SCALE);
    const after = parseOrNull(booking.qtyAfter, SCALE);
    if (before === null || after === null || after !== before * BigInt(booking.ratio)) {
      problems.push(
        `${where}: took ${booking.qtyBefore} shares to ${booking.qtyAfter}, not × ${booking.ratio}`,
      );
    }
    const key = positionId(booking.accountId, booking.symbol);
    const list = byHolding.get(key) ?? [];
    list.push({ effectiveAt: new Date(booking.effectiveAt), ratio: BigInt(booking.ratio) });
    byHolding.set(key, list);
  }
  return byHolding;
}

/** The declared split an action id names (`split:<symbol>:<exDate>`), if there is one. */
function declaredSplit(actionId: string): Split | undefined {
  const match = /^split:(.+):(\d{4}-\d{2}-\d{2})$/.exec(actionId);
  if (!match) return undefined;
  const day = Date.parse(`${match[2]}T00:00:00Z`);
  return splitsBetween(match[1], new Date(day - DAY_MS), new Date(day + 2 * DAY_MS))
    .find((s) => s.id === actionId);
}

/**
 * Dividends (corporate_actions.ts): each entitlement stored under `<actionId>:<accountId>`, for a
 * declared dividend at its declared amount, its cash = qty × amount rounded down to the cent;
 * paid exactly when one `dividend` ledger entry of its account moved that cash; no dividend entry
 * without a paid entitlement, and none twice for one account and action.
 */
async function checkDividends(
  store: Store,
  accounts: Map<string, AccountFacts>,
  entries: Map<string, { at: string; amount: Fixed | null }[]>,
  amount: AmountParser,
  problems: string[],
  heldAt: (accountId: string, symbol: string, at: Date) => Fixed,
): Promise<void> {
  const securities = new Map<string, Security>();
  for await (const security of scan<Security & Doc>(store, "securities")) {
    securities.set(security.symbol, security);
  }
  for await (const right of scan<DividendEntitlement>(store, "dividend_entitlements")) {
    const account = accounts.get(right.accountId);
    const where = `${account?.label ?? `account ${right.accountId}`}: dividend ${right.actionId}`;
    if (!account) problems.push(`${where}: its account does not exist`);
    if (right._id !== bookingId(right.actionId, right.accountId)) {
      problems.push(`${where}: not stored under its action and account`);
    }
    const declared = declaredDividend(securities.get(right.symbol), right.actionId);
    if (!declared) problems.push(`${where}: no such dividend was declared for ${right.symbol}`);
    else if (declared.amount !== right.amountPerShare) {
      problems.push(
        `${where}: entitled at ${right.amountPerShare} a share, but ${declared.amount} was declared`,
      );
    }
    const qty = amount(right.qty, SCALE, where, "qty");
    const perShare = amount(right.amountPerShare, 4, where, "amountPerShare");
    const cash = amount(right.cash, CASH_DECIMALS, where, "cash");
    if (qty === null || perShare === null || cash === null) continue;
    const expected = dividendCash(qty, perShare);
    if (qty <= 0n) problems.push(`${where}: entitled on ${right.qty} shares`);
    const held = declared ? heldAt(right.accountId, right.symbol, declared.cutoffAt) : qty;
    if (held !== qty) {
      problems.push(
        `${where}: entitled on ${right.qty} shares, but ${
          formatFixed(held, 0)
        } were held when its ex-date began`,
      );
    }
    if (cash !== expected) {
      problems.push(
        `${where}: ${right.qty} × ${right.amountPerShare} rounded down is ${
          formatFixed(expected)
        }, not ${right.cash}`,
      );
    }
    const key = `${right.actionId}:${right.accountId}`;
    const paid = entries.get(key) ?? [];
    entries.delete(key);
    if (right.status === "paid" && paid.length === 0) {
      problems.push(`${where}: marked paid, but no dividend entry paid it`);
    }
    if (right.status !== "paid" && paid.length > 0) {
      problems.push(`${where}: pending, but ${paid.map((p) => p.at).join(", ")} paid it`);
    }
    if (paid.length > 1) {
      problems.push(`${where}: paid ${paid.length} times (${paid.map((p) => p.at).join(", ")})`);
    }
    for (const entry of paid) {
      if (entry.amount !== null && entry.amount !== cash) {
        problems.push(
          `${entry.at}: paid ${
            formatFixed(entry.amount)
          } of dividend ${right.actionId}, not its entitlement's ${right.cash}`,
        );
      }
    }
  }
  for (const [key, paid] of entries) {
    for (const entry of paid) {
      problems.push(`${entry.at}: a dividend entry with no entitlement (${key})`);
    }
  }
}

/** The declared dividend an action id names (`div:<symbol>:<exDate>`), if there is one. */
function declaredDividend(security: Security | undefined, actionId: string): Dividend | undefined {
  const match = /^div:(.+):(\d{4}-\d{2}-\d{2})$/.exec(actionId);
  if (!match || !security || security.symbol !== match[1]) return undefined;
  const day = Date.parse(`${match[2]}T00:00:00Z`);
  return dividendsBetween(security, new Date(day - DAY_MS), new Date(day + 2 * DAY_MS))
    .find((d) => d.id === actionId);
}
