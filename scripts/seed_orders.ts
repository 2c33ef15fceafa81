/** Seeds traders and large order histories straight into a store, for benchmarks of list pages. */
import { hashPassword } from "../lib/auth/password.ts";
import type { User } from "../lib/auth/users.ts";
import { newId } from "../lib/ids.ts";
import type { Store, WriteOp } from "../lib/store/port.ts";
import { openAccountOps } from "../lib/trading/accounts.ts";
import type { Order } from "../lib/trading/orders.ts";

/**
 * Orders per atomic commit. The KV backend checks every written document and every unique index
 * value it claims (orders have one: accountId + clientOrderId), at most 100 checks per commit.
 */
export const ORDERS_PER_COMMIT = 50;
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
  const user: Omit<User, "_v"> = {
    _id: userId,
    email: input.email,
    name: input.name,
    passwordHash: await hashPassword(input.password),
    role: "USER",
    emailVerifiedAt: now,
    createdAt: now,
    passwordChangedAt: now,
    totp: null,
    totpPendingKey: null,
    recoveryCodeHashes: [],
  };
  const { account, ops } = openAccountOps(userId, 1, input.startingCash, now);
  await store.commit([{ op: "insert", collection: "users", doc: user }, ...ops]);
  return { userId, accountId: account._id, accountNumber: account.number };
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
