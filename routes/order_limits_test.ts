/**
 * Order limits through the HTTP API and the order form: simultaneous orders on one account are
 * placed in turn rather than refused as busy, one per-account rate limit covers every way in, an
 * account has at most 500 working orders, and placing never re-reads the working orders.
 */
import assert from "node:assert/strict";
import { newId } from "../lib/ids.ts";
import { createRateLimiter } from "../lib/rate_limit.ts";
import type { Store, WriteOp } from "../lib/store/port.ts";
import type { Account } from "../lib/trading/accounts.ts";
import { checkIntegrity } from "../lib/trading/integrity.ts";
import { MAX_OPEN_ORDERS } from "../lib/trading/open_orders.ts";
import { type Order, placeOrder } from "../lib/trading/orders.ts";
import { positionId } from "../lib/trading/positions.ts";
import { redisTest, startRedis } from "../tests/support/redis.ts";
import { testApi, testApp, testBrowser } from "./testing.ts";

type App = Awaited<ReturnType<typeof testApp>>;

/** A limit buy far below the market: it rests and holds qty × 1.00. */
const RESTING_BUY = {
  symbol: "CSCO",
  side: "buy",
  type: "limit",
  limitPrice: "1.00",
  qty: 1,
  timeInForce: "gtc",
};

async function problems(t: App): Promise<string[]> {
  return (await checkIntegrity(t.deps.store)).problems;
}

/** Commits the store refused with a conflict, as the metrics count them. */
async function commitConflicts(t: App): Promise<number> {
  const metric = await t.deps.metrics.registry.getSingleMetric("store_operation_errors_total")!
    .get();
  return metric.values
    .filter((v) => v.labels.operation === "commit" && v.labels.kind === "conflict")
    .reduce((sum, v) => sum + v.value, 0);
}

async function accountOf(t: App, accountId: string): Promise<Account> {
  return (await t.deps.store.get<Account>("accounts", accountId))!;
}

Deno.test("[order limits] 20 simultaneous API orders on one account are all placed, and every invariant holds", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const ada = await api.trader("ada@example.com");
  // Shares to sell, bought outside the rate limit so the burst below has all of it.
  const { userId } = await accountOf(t, ada.accountId);
  await placeOrder({ ...t.deps.trading, limiter: undefined }, userId, {
    symbol: "INTC",
    side: "buy",
    type: "market",
    qty: 20,
    timeInForce: "day",
  }, {});

  // Market buys and sells that fill at once, and limit orders that rest, all at the same moment.
  const bodies = Array.from(
    { length: 20 },
    (_, n) =>
      n % 4 === 0
        ? { symbol: "INTC", side: "sell", type: "market", qty: 1, timeInForce: "day" }
        : n % 4 === 1
        ? { symbol: "INTC", side: "sell", type: "limit", limitPrice: "9000", qty: 1 }
        : n % 4 === 2
        ? { symbol: "T", side: "buy", type: "market", qty: 1, timeInForce: "day" }
        : RESTING_BUY,
  );
  const responses = await Promise.all(
    bodies.map((body) => api.request("/api/orders", { cookie: ada.cookie, body })),
  );
  const statuses = await Promise.all(
    responses.map(async (res) => `${res.status} ${res.status === 201 ? "" : await res.text()}`),
  );
  assert.deepEqual(statuses, Array(20).fill("201 "), "no order was refused as busy");
  assert.equal(await commitConflicts(t), 0, "in turn, no order's commit lost a race to another");

  assert.deepEqual(await problems(t), []);
  const account = await accountOf(t, ada.accountId);
  assert.equal(account.openOrders, 10, "5 resting sells and 5 resting buys");
  assert.equal(account.heldForOrders, "5.00");
  const position = await t.deps.store.get<{ _id: string; _v: number; reservedToSell?: string }>(
    "positions",
    positionId(ada.accountId, "INTC"),
  );
  assert.equal(position!.reservedToSell, "5");

  const { accounts } = await api.call("/api/accounts", { cookie: ada.cookie });
  assert.equal(accounts[0].openOrders, 10);
  assert.equal(accounts[0].openOrderLimit, MAX_OPEN_ORDERS);
  assert.equal(accounts[0].heldForOrders, "5.00");
});

Deno.test("[order limits] a burst of 20 passes; the 21st order and a replace get 429 with Retry-After; cancels still work", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const ada = await api.trader("ada@example.com");
  const bob = await api.trader("bob@example.com");

  const burst = await Promise.all(
    Array.from(
      { length: 20 },
      () => api.request("/api/orders", { cookie: ada.cookie, body: RESTING_BUY }),
    ),
  );
  assert.deepEqual(burst.map((r) => r.status), Array(20).fill(201));
  const [first] = await Promise.all(burst.map((r) => r.json()));

  const over = await api.request("/api/orders", { cookie: ada.cookie, body: RESTING_BUY });
  assert.equal(over.status, 429);
  const wait = Number(over.headers.get("Retry-After"));
  assert.ok(wait >= 1 && wait <= 2, `Retry-After ${wait}`);
  const body = await over.json();
  assert.equal(body.error.code, "rate_limited");
  assert.match(body.error.message, /Too many orders for this account/);

  const replace = await api.request(`/api/orders/${first.id}`, {
    method: "PATCH",
    cookie: ada.cookie,
    body: { qty: 2 },
  });
  assert.equal(replace.status, 429, "a replacement counts as an order");
  assert.ok(replace.headers.get("Retry-After"));

  const cancel = await api.request(`/api/orders/${first.id}`, {
    method: "DELETE",
    cookie: ada.cookie,
  });
  assert.equal(cancel.status, 200, "taking risk off is never limited");

  // The count is per account: another trader (from the same address) is not affected.
  await api.order(bob.cookie, RESTING_BUY);
  assert.equal((await accountOf(t, ada.accountId)).openOrders, 19);
  assert.deepEqual(await problems(t), []);
});

Deno.test("[order limits] the order form shares the account's limit and says so on the page", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const ada = await api.trader("ada@example.com");
  const b = testBrowser(t);
  const [name, value] = ada.cookie.split("=");
  b.jar.set(name, value);

  const burst = await Promise.all(
    Array.from(
      { length: 20 },
      () => api.request("/api/orders", { cookie: ada.cookie, body: RESTING_BUY }),
    ),
  );
  assert.deepEqual(burst.map((r) => r.status), Array(20).fill(201));

  const html = await b.page("/trade/CSCO");
  const idempotencyKey = html.match(/name="idempotencyKey" value="([^"]+)"/)![1];
  const res = await b.post("/trade", {
    symbol: "CSCO",
    idempotencyKey,
    side: "buy",
    type: "limit",
    limitPrice: "1.00",
    qty: "1",
    timeInForce: "gtc",
  });
  assert.equal(res.status, 429);
  assert.ok(Number(res.headers.get("Retry-After")) >= 1);
  const page = await res.text();
  assert.match(page, /<h2>Order ticket<\/h2>/, "the ticket is shown again");
  assert.match(page, /Too many orders for this account: at most 20 at once and 10 a second\./);
  assert.equal((await accountOf(t, ada.accountId)).openOrders, 20, "the form placed nothing");
});

/** Inserts `count` resting limit buys for the account, with its running totals to match. */
async function seedWorkingBuys(store: Store, account: Account, count: number) {
  const now = new Date();
  for (let done = 0; done < count;) {
    const ops: WriteOp[] = [];
    for (; done < count && ops.length < 50; done++) {
      const order: Omit<Order, "_v"> = {
        _id: newId(now.getTime() - done),
        userId: account.userId,
        accountId: account._id,
        clientOrderId: `seed-${done}`,
        symbol: "CSCO",
        assetClass: "us_equity",
        side: "buy",
        type: "limit",
        timeInForce: "gtc",
        qty: "1",
        filledQty: "0",
        filledAvgPrice: null,
        limitPrice: "1.00",
        stopPrice: null,
        status: "new",
        open: true,
        holdAmount: "1.00",
        fillCount: 0,
        lastFillAt: null,
        triggeredAt: null,
        expiresAt: null,
        placedAt: now,
        updatedAt: now,
        filledAt: null,
        cancelledAt: null,
        expiredAt: null,
        rejectReason: null,
      };
      ops.push({ op: "insert", collection: "orders", doc: order });
    }
    await store.commit(ops);
  }
  await store.update<Account>("accounts", account._id, {
    openOrders: count,
    heldForOrders: `${count}.00`,
  });
}

Deno.test("[order limits] at most 500 open orders per account, also when the last ones race", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const ada = await api.trader("ada@example.com");
  await seedWorkingBuys(t.deps.store, await accountOf(t, ada.accountId), MAX_OPEN_ORDERS - 5);
  assert.deepEqual(await problems(t), [], "the seeded orders and totals agree");

  const responses = await Promise.all(
    Array.from(
      { length: 20 },
      () => api.request("/api/orders", { cookie: ada.cookie, body: RESTING_BUY }),
    ),
  );
  const refused = responses.filter((r) => r.status === 422);
  assert.equal(responses.filter((r) => r.status === 201).length, 5);
  assert.equal(refused.length, 15);
  const error = (await refused[0].json()).error;
  assert.equal(error.code, "too_many_open_orders");
  assert.match(error.message, /has 500 open orders, the most it may have/);

  const account = await accountOf(t, ada.accountId);
  assert.equal(account.openOrders, MAX_OPEN_ORDERS);
  const working = await t.deps.store.find<Order>("orders", {
    where: { accountId: ada.accountId, open: true },
    limit: 1000,
  });
  assert.equal(working.items.length, MAX_OPEN_ORDERS);
  assert.deepEqual(await problems(t), []);
});

Deno.test("[order limits] placing an order reads none of the account's working orders", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const ada = await api.trader("ada@example.com");
  await seedWorkingBuys(t.deps.store, await accountOf(t, ada.accountId), 300);
  const ordersRead: string[] = [];
  const store = new Proxy(t.deps.store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop === "find" || prop === "findOne") {
        return (collection: string, ...rest: unknown[]) => {
          if (collection === "orders") ordersRead.push(String(prop));
          return (value as (...args: unknown[]) => unknown).call(target, collection, ...rest);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const ctx = { ...t.deps.trading, store };
  const user = await t.deps.store.get<Account>("accounts", ada.accountId);
  const buy = await placeOrder(ctx, user!.userId, RESTING_BUY, {});
  assert.equal(buy.order.status, "new");
  await placeOrder(ctx, user!.userId, {
    symbol: "T",
    side: "buy",
    type: "market",
    qty: 1,
    timeInForce: "day",
  }, {});
  assert.deepEqual(ordersRead, [], "no query over the orders collection");
  assert.equal((await accountOf(t, ada.accountId)).openOrders, 301);
  assert.deepEqual(await problems(t), []);
});

Deno.test("[order limits] an account from before the running totals gets them at its next order", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const ada = await api.trader("ada@example.com");
  await api.order(ada.cookie, { symbol: "INTC", side: "buy", qty: 10 });
  await api.order(ada.cookie, {
    symbol: "INTC",
    side: "sell",
    type: "limit",
    limitPrice: "9000",
    qty: 3,
    timeInForce: "gtc",
  });
  await api.order(ada.cookie, RESTING_BUY);
  // As a store written before the totals existed holds them: absent (undefined removes a field).
  const { store } = t.deps;
  await store.update<Account>("accounts", ada.accountId, {
    openOrders: undefined,
    heldForOrders: undefined,
  });
  await store.update("positions", positionId(ada.accountId, "INTC"), {
    reservedToSell: undefined,
  });
  assert.deepEqual(await problems(t), [], "an account without totals is not a problem");

  // The 3 shares in the working sell stay reserved: 7 of the 10 may be sold, not 8.
  const tooMany = await api.request("/api/orders", {
    cookie: ada.cookie,
    body: { symbol: "INTC", side: "sell", type: "market", qty: 8, timeInForce: "day" },
  });
  assert.equal(tooMany.status, 422);
  assert.equal((await tooMany.json()).error.code, "insufficient_position");
  const account = await accountOf(t, ada.accountId);
  assert.equal(account.openOrders, 2, "computed from the working orders and stored");
  assert.equal(account.heldForOrders, "1.00");

  await api.order(ada.cookie, { symbol: "INTC", side: "sell", qty: 7 });
  await api.order(ada.cookie, RESTING_BUY);
  assert.equal((await accountOf(t, ada.accountId)).openOrders, 3);
  assert.deepEqual(await problems(t), []);
});

redisTest(import.meta.url, {
  name: "[order limits] with the rate limiter down, orders still go through (fail open)",
  fn: async () => {
    const redis = await startRedis();
    let stopped = false;
    try {
      await using t = await testApp({ RATE_LIMIT_REDIS_URL: redis.url });
      const api = testApi(t);
      const ada = await api.trader("ada@example.com");
      await redis.stop();
      stopped = true;
      const res = await api.request("/api/orders", { cookie: ada.cookie, body: RESTING_BUY });
      assert.equal(res.status, 201, await res.clone().text());
      assert.ok(
        t.logLines.some((line) =>
          line.includes("rate limiter unavailable") && line.includes("orders-account")
        ),
        "the outage is logged",
      );
      // The limiter itself is what is down, not a stand-in for it.
      const limiter = await createRateLimiter({ rateLimitRedisUrl: redis.url }, t.deps.log);
      await assert.rejects(
        limiter.hit({ name: "probe", limit: 1, windowS: 1 }, "k"),
      );
      await limiter.close();
    } finally {
      if (!stopped) await redis.stop();
    }
  },
});

Deno.test("[order limits] computing missing totals rewrites stale reservations, in several units when there are many", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const ada = await api.trader("ada@example.com");
  const { store } = t.deps;
  const account = await accountOf(t, ada.accountId);
  // Flat positions in 120 symbols whose reservations are stale (left by an attempt that lost a
  // race): more than one unit of KV checks can write.
  const symbols = t.deps.trading.market.catalog.all().slice(0, 120).map((s) => s.symbol);
  for (let n = 0; n < symbols.length; n += 40) {
    await store.commit(
      symbols.slice(n, n + 40).map((symbol): WriteOp => ({
        op: "insert",
        collection: "positions",
        doc: {
          _id: positionId(account._id, symbol),
          userId: account.userId,
          accountId: account._id,
          symbol,
          qty: "0",
          costBasis: "0",
          realizedPnl: "0.00",
          reservedToSell: "1",
          status: "closed",
          openedAt: new Date(),
          updatedAt: new Date(),
        },
      })),
    );
  }
  await store.update<Account>("accounts", account._id, {
    openOrders: undefined,
    heldForOrders: undefined,
  });
  await api.order(ada.cookie, RESTING_BUY);
  const after = await store.getMany<{ _id: string; _v: number; reservedToSell?: string }>(
    "positions",
    symbols.map((s) => positionId(account._id, s)),
  );
  assert.deepEqual(new Set(after.map((p) => p!.reservedToSell)), new Set(["0"]));
  assert.equal((await accountOf(t, ada.accountId)).openOrders, 1);
  assert.deepEqual(await problems(t), []);
});
