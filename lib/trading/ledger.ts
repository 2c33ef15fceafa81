/**
 * The cash ledger (`cash_ledger`): every movement of cash is an immutable entry with the running
 * balance after it, like a bank statement. Entries are numbered per account and their `_id` is
 * `<accountId>:<seq>`, so two writers can never append the same entry: one of them conflicts.
 * Corrections are new entries, never edits.
 */
import type { Doc, Store, WriteOp } from "../store/port.ts";
import { type Fixed, formatFixed, parseFixed } from "../money.ts";
import type { Account } from "./accounts.ts";

/** What moved the cash; a `dividend` is a cash dividend paid on shares held (corporate_actions.ts). */
export const LEDGER_ENTRY_TYPES = [
  "deposit",
  "fill",
  "commission",
  "adjustment",
  "dividend",
] as const;
export type LedgerEntryType = typeof LEDGER_ENTRY_TYPES[number];

/** The entry's id: zero-padded so ids sort in sequence order too. */
export function ledgerEntryId(accountId: string, seq: number): string {
  return `${accountId}:${String(seq).padStart(12, "0")}`;
}

/** The account's cash now: the balance after its latest entry (0 before the first). */
export async function currentCash(store: Store, account: Account): Promise<Fixed> {
  if (account.ledgerSeq === 0) return 0n;
  const latest = await store.get<LedgerEntry>(
    "cash_ledger",
    ledgerEntryId(account._id, account.ledgerSeq),
  );
  if (!latest) {
    throw new Error(`ledger entry ${account.ledgerSeq} of account ${account._id} is missing`);
  }
  return parseFixed(latest.balanceAfter, 2);
}

/**
 * The inserts that append `movements` to the ledger after entry `seq` with balance `cash`, and the
 * resulting sequence number and balance. The caller commits them together with the account's
 * new `ledgerSeq` (checked against the version it read), so appends are serialised per account.
 */
export function appendEntries(
  account: Account,
  cash: Fixed,
  movements: {
    type: LedgerEntryType;
    amount: Fixed;
    description: string;
    orderId?: string;
    tradeId?: string;
    /** A dividend's symbol and corporate action. */
    symbol?: string;
    actionId?: string;
  }[],
  at: Date,
): { ops: WriteOp[]; seq: number; cash: Fixed } {
  let seq = account.ledgerSeq;
  let balance = cash;
  const ops: WriteOp[] = [];
  for (const m of movements) {
    seq++;
    balance += m.amount;
    ops.push({
      op: "insert",
      collection: "cash_ledger",
      doc: {
        _id: ledgerEntryId(account._id, seq),
        accountId: account._id,
        userId: account.userId,
        seq,
        type: m.type,
        amount: formatFixed(m.amount),
        balanceAfter: formatFixed(balance),
        description: m.description,
        orderId: m.orderId ?? null,
        tradeId: m.tradeId ?? null,
        ...(m.actionId ? { symbol: m.symbol ?? null, actionId: m.actionId } : {}),
        at,
      } satisfies Omit<LedgerEntry, "_v">,
    });
  }
  return { ops, seq, cash: balance };
}

/** A page of the account's ledger, newest first (the cash activity of /history). */
export async function listLedger(
  store: Store,
  accountId: string,
  limit: number,
  cursor?: string,
): Promise<{ items: LedgerEntry[]; nextCursor: string | null }> {
  return await store.find<LedgerEntry>("cash_ledger", {
    where: { accountId },
    sort: { field: "seq", direction: -1 },
    limit,
    cursor,
  });
}

/** An entry as the API shows it. */
export function ledgerEntryJson(entry: LedgerEntry) {
  return {
    id: entry._id,
    accountId: entry.accountId,
    type: entry.type,
    amount: entry.amount,
    balanceAfter: entry.balanceAfter,
    description: entry.description,
    orderId: entry.orderId,
    tradeId: entry.tradeId,
    symbol: entry.symbol ?? null,
    actionId: entry.actionId ?? null,
    at: entry.at.toISOString(),
  };
}

export type LedgerEntry = Doc & {
  accountId: string;
  userId: string;
  seq: number;
  type: LedgerEntryType;
  /** Signed decimal string, cents: credits positive, debits negative. */
  amount: string;
  balanceAfter: string;
  description: string;
  orderId: string | null;
  tradeId: string | null;
  /** On a dividend: the symbol it was paid on and its corporate action (absent on other entries). */
  symbol?: string | null;
  actionId?: string;
  at: Date;
};
