/**
 * The trading figures of `deno task bench`: market orders end to end against the raw store's rate
 * for the same atomic write, and order-list latency with 100 or 100 000 orders behind it.
 */
import { withOpenTotals } from "../lib/trading/open_orders.ts";
import { auditOp } from "../lib/audit.ts";
import { newId } from "../lib/ids.ts";
import { type Security, SecurityCatalog, seedSecurities } from "../lib/market/securities.ts";
import { fixed, parseFixed } from "../lib/money.ts";
import { openKvStore } from "../lib/store/kv.ts";
import type { WriteOp } from "../lib/store/port.ts";
import { type Account, openAccountOps } from "../lib/trading/accounts.ts";
import { fillOps, orderFillFields } from "../lib/trading/fills.ts";
import { checkIntegrity } from "../lib/trading/integrity.ts";
import type { Order } from "../lib/trading/orders.ts";
import type { Position } from "../lib/trading/positions.ts";
import {
  clientAddress,
  type LatencySummary,
  type LoadOptions,
  type LoadResult,
  ratio,
  runLoad,
  summarize,
} from "./bench_lib.ts";
import { createTrader, seedClosedOrders } from "./seed_orders.ts";

/**
 * One trader per client, so clients never serialise on one account's version check, as real
 * traders do not. Buys and sells of one share alternate, so cash and shares last for any duration.
 */
export const ORDER_LOAD = {
  concurrency: 8,
  warmupMs: 1_000,
  durationMs: 8_000,
  maxRequests: 1_000_000,
} as const satisfies LoadOptions;
/** Cheap listed shares, so a share costs little of the $100 000 and several books are touched. */
export const ORDER_SYMBOLS = ["INTC", "T", "CSCO", "NFLX"] as const;
/**
 * Placing a market order reaches at least this share of the raw store's rate (docs/design.md,
 * Performance budgets).
 */
export const ORDER_TARGET = 0.5;
/** The two order histories compared, and the requests timed against each. */
export const LIST = { small: 100, large: 100_000, requests: 200, warmupMs: 500 } as const;
/**
 * A list costs the same with 100 or 100 000 orders behind it (docs/design.md, Performance
 * budgets); allow this much for noise between two runs of 200 requests.
 */
export const LIST_TOLERANCE = 1.5;
const STARTING_CASH = "100000";
const PASSWORD = "bench-otter-planet-42";
const ACCEPT_ENCODING = "br, gzip";
const REQUEST_TIMEOUT_MS = 10_000;

/** Starts the app with these variables on top of the bench's own; `stop()` ends it. */
export type StartApp = (env: Record<string, string>) => Promise<Server>;
export type Server = { origin: string; readyMs: number; stop(): Promise<void> };

/**
 * Market orders per second through HTTP (session, validation, quote, reads, one atomic commit),
 * then the commit alone against a store of the same kind, with the same concurrency, and the
 * invariants of the store the app wrote. Both stores are KV files in `dir`: the app runs on a
 * file in production, and a file commit pays for SQLite's write-ahead log, which `:memory:` would
 * leave out, so an in-memory figure would describe a store nobody runs.
 */
export async function measureMarketOrders(start: StartApp, dir: string): Promise<OrderFigures> {
  const appFile = `${dir}/orders-app.kv`;
  // Each trader places far more than the per-account limit of 10 a second: the figure is the
  // store's throughput, not the limit's, so the limit is lifted out of the way.
  const app = await start({ KV_PATH: appFile, ORDERS_PER_SECOND: "100000" });
  let endToEnd: LoadFigures;
  try {
    const api = apiClient(app.origin, ORDER_LOAD.concurrency);
    try {
      const traders = await Promise.all(
        Array.from(
          { length: ORDER_LOAD.concurrency },
          (_, n) => api.signUp(`bench-trader-${n}@example.com`),
        ),
      );
      const holding = traders.map(() => false);
      endToEnd = figures(
        "POST /api/orders",
        await runLoad(async (worker) => {
          const side = holding[worker] ? "sell" : "buy";
          const res = await api.request("POST", "/api/orders", {
            cookie: traders[worker],
            body: {
              symbol: ORDER_SYMBOLS[worker % ORDER_SYMBOLS.length],
              side,
              type: "market",
              qty: "1",
              timeInForce: "day",
            },
          });
          if (res.status !== 201) throw new Error(`HTTP ${res.status}: ${errorCode(res.body)}`);
          holding[worker] = !holding[worker];
        }, ORDER_LOAD),
      );
    } finally {
      api.close();
    }
  } finally {
    await app.stop();
  }
  const integrity = await scanIntegrity(appFile);
  const rawStore = await measureRawFills(`${dir}/orders-raw.kv`);
  return {
    ...ORDER_LOAD,
    symbols: [...ORDER_SYMBOLS],
    endToEnd,
    rawStore,
    ratio: ratio(endToEnd.perSecond, rawStore.perSecond),
    target: ORDER_TARGET,
    integrityAfterLoad: integrity,
  };
}

/**
 * The atomic unit a market order commits in orders.ts — the order inserted as filled, the trade,
 * the position, the ledger entry, the account's sequence and both audit entries — built with the
 * trading code's own fillOps and committed in a closed loop, each worker on its own account. The
 * state for the next unit comes from what the commit returned, so only the commit is timed.
 */
async function measureRawFills(file: string): Promise<LoadFigures> {
  const store = await openKvStore(file);
  try {
    await store.ensureSchema();
    await seedSecurities(store);
    const catalog = await SecurityCatalog.load(store);
    const now = new Date();
    const books = await Promise.all(
      Array.from({ length: ORDER_LOAD.concurrency }, async (_, n) => {
        const opened = openAccountOps(`bench-raw-${n}`, 1, STARTING_CASH, now);
        const written = await store.commit(opened.ops);
        const security = catalog.get(ORDER_SYMBOLS[n % ORDER_SYMBOLS.length])!;
        return {
          account: written[0] as Account,
          cash: parseFixed(STARTING_CASH, 2),
          position: null as Position | null,
          security,
          price: parseFixed(security.referencePrice, security.priceDecimals),
        };
      }),
    );
    return figures(
      "store.commit (market fill unit)",
      await runLoad(async (worker) => {
        const book = books[worker];
        const side = book.position && book.position.qty !== "0" ? "sell" : "buy";
        const unit = marketFillUnit(book, side, new Date());
        const written = await store.commit(unit.ops);
        book.account = written[unit.accountAt] as Account;
        book.position = written[unit.positionAt] as Position;
        book.cash = unit.cashAfter;
      }, ORDER_LOAD),
    );
  } finally {
    await store.close();
  }
}

/** The ops of one market order that fills at once, as tryPlace in orders.ts builds them. */
function marketFillUnit(
  book: {
    account: Account;
    cash: bigint;
    position: Position | null;
    security: Security;
    price: bigint;
  },
  side: "buy" | "sell",
  at: Date,
) {
  const { account, security } = book;
  const qty = fixed(1);
  const orderId = newId(at.getTime());
  const order: Omit<Order, "_v"> = {
    _id: orderId,
    userId: account.userId,
    accountId: account._id,
    clientOrderId: crypto.randomUUID(),
    symbol: security.symbol,
    assetClass: security.assetClass,
    side,
    type: "market",
    timeInForce: "day",
    qty: "1",
    filledQty: "0",
    filledAvgPrice: null,
    limitPrice: null,
    stopPrice: null,
    status: "new",
    open: true,
    holdAmount: "0.00",
    fillCount: 0,
    lastFillAt: null,
    triggeredAt: null,
    expiresAt: new Date(at.getTime() + 86_400_000),
    placedAt: at,
    updatedAt: at,
    filledAt: null,
    cancelledAt: null,
    expiredAt: null,
    rejectReason: null,
  };
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
        orderId,
        symbol: security.symbol,
        side,
        type: "market",
        qty: "1",
        status: "filled",
      },
    }, at),
  ];
  // The order's events and execution-index fields join the unit as at placement (open_orders.ts).
  const ops = withOpenTotals(unit, account, [book.position], [{ before: null, after: filled }]);
  return {
    ops,
    accountAt: ops.findIndex((op) => op.collection === "accounts"),
    positionAt: ops.findIndex((op) => op.collection === "positions"),
    cashAfter: fill.cashAfter,
  };
}

/**
 * GET latency of one trader's order list with LIST.small and with LIST.large orders behind it.
 * The orders go straight into a KV file (closed orders, batched commits), the traders are created
 * with real password hashes and sign in through the API, and the HTML page `/orders` is timed
 * when the app has it; otherwise the JSON list `/api/orders`, and the result says so.
 */
export async function measureOrderLists(start: StartApp, dir: string): Promise<ListFigures> {
  const file = `${dir}/orders-list.kv`;
  const store = await openKvStore(file);
  let seed: ListFigures["seed"];
  const emails = { small: "bench-small@example.com", large: "bench-large@example.com" };
  try {
    await store.ensureSchema();
    const [small, large] = await Promise.all([
      createTrader(store, {
        email: emails.small,
        password: PASSWORD,
        name: "Small",
        startingCash: STARTING_CASH,
      }),
      createTrader(store, {
        email: emails.large,
        password: PASSWORD,
        name: "Large",
        startingCash: STARTING_CASH,
      }),
    ]);
    const symbols = [...ORDER_SYMBOLS];
    await seedClosedOrders(store, small, LIST.small, { symbols });
    const seeded = await seedClosedOrders(store, large, LIST.large, { symbols });
    seed = {
      orders: seeded.count,
      elapsedMs: seeded.elapsedMs,
      perSecond: seeded.count / (seeded.elapsedMs / 1000),
      fileBytes: 0,
    };
  } finally {
    await store.close();
  }
  seed.fileBytes = (await Deno.stat(file)).size;

  const app = await start({ KV_PATH: file });
  let result: Omit<ListFigures, "seed" | "integrityScan">;
  try {
    const api = apiClient(app.origin, 1);
    try {
      const cookies = {
        small: await api.signIn(emails.small),
        large: await api.signIn(emails.large),
      };
      const page = await api.request("GET", "/orders?status=all", { cookie: cookies.small });
      const html = page.status === 200 && page.contentType.startsWith("text/html");
      const path = html ? "/orders?status=all" : "/api/orders?status=all";
      const time = async (cookie: string) => {
        let bodyBytes = 0;
        const run = await runLoad(async () => {
          const res = await api.request("GET", path, { cookie });
          if (res.status !== 200) throw new Error(`HTTP ${res.status} from GET ${path}`);
          bodyBytes = res.bytes;
        }, {
          concurrency: 1,
          warmupMs: LIST.warmupMs,
          durationMs: 60_000,
          maxRequests: LIST.requests,
        });
        return { ...figures(`GET ${path}`, run), bodyBytes };
      };
      const smallFigures = { orders: LIST.small, ...(await time(cookies.small)) };
      const largeFigures = { orders: LIST.large, ...(await time(cookies.large)) };
      result = {
        path,
        htmlPage: html,
        htmlProbeStatus: page.status,
        small: smallFigures,
        large: largeFigures,
        p50Ratio: ratio(largeFigures.latency.p50Ms, smallFigures.latency.p50Ms),
        p99Ratio: ratio(largeFigures.latency.p99Ms, smallFigures.latency.p99Ms),
        tolerance: LIST_TOLERANCE,
      };
    } finally {
      api.close();
    }
  } finally {
    await app.stop();
  }
  return { ...result, seed, integrityScan: await scanIntegrity(file) };
}

/** The integrity scan over a KV file after the load, timed (docs/design.md, Money invariants). */
async function scanIntegrity(file: string): Promise<IntegrityFigures> {
  const store = await openKvStore(file);
  try {
    const start = performance.now();
    const report = await checkIntegrity(store);
    return {
      elapsedMs: performance.now() - start,
      accounts: report.accounts,
      ledgerEntries: report.ledgerEntries,
      orders: report.orders,
      trades: report.trades,
      positions: report.positions,
      problems: report.problems.length,
      firstProblems: report.problems.slice(0, 5),
      warnings: report.warnings.length,
    };
  } finally {
    await store.close();
  }
}

/**
 * A small API client for one app: its own keep-alive pool, a fresh X-Forwarded-For per request
 * (see clientAddress), and answers read to the end.
 */
export function apiClient(origin: string, connections: number) {
  const client = Deno.createHttpClient({ http2: false, poolMaxIdlePerHost: connections });
  let sent = 0;

  async function request(
    method: string,
    path: string,
    init: { cookie?: string; body?: unknown } = {},
  ) {
    const headers: Record<string, string> = {
      "Accept-Encoding": ACCEPT_ENCODING,
      "X-Forwarded-For": clientAddress(sent++),
    };
    if (init.cookie) headers.Cookie = init.cookie;
    if (init.body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(`${origin}${path}`, {
      method,
      client,
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      redirect: "manual",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    const contentType = response.headers.get("Content-Type") ?? "";
    const text = new TextDecoder().decode(bytes);
    return {
      status: response.status,
      contentType,
      bytes: bytes.length,
      setCookies: response.headers.getSetCookie(),
      body: contentType.includes("json") && text ? JSON.parse(text) as unknown : text,
    };
  }

  async function signIn(email: string): Promise<string> {
    const res = await request("POST", "/api/auth/sign-in", { body: { email, password: PASSWORD } });
    if (res.status !== 200) {
      throw new Error(`sign-in of ${email}: HTTP ${res.status} ${errorCode(res.body)}`);
    }
    const cookie = res.setCookies.map((c) => c.split(";")[0]).find((c) =>
      /^(?:__Host-|__Secure-)?orion_session=./.test(c)
    );
    if (!cookie) throw new Error(`sign-in of ${email} set no session cookie`);
    return cookie;
  }

  /** Signs a new trader up through the API (email verification off) and signs them in. */
  async function signUp(email: string): Promise<string> {
    const res = await request("POST", "/api/auth/sign-up", {
      body: { email, password: PASSWORD, name: "Bench Trader" },
    });
    if (res.status !== 201) {
      throw new Error(`sign-up of ${email}: HTTP ${res.status} ${errorCode(res.body)}`);
    }
    return await signIn(email);
  }

  return { request, signIn, signUp, close: () => client.close() };
}

function errorCode(body: unknown): string {
  const error = (body as { error?: { code?: string } } | null)?.error;
  return error?.code ?? "no error code";
}

function figures(what: string, result: LoadResult): LoadFigures {
  return {
    what,
    requests: result.requests,
    errors: result.errors,
    firstError: result.firstError ?? null,
    elapsedMs: result.elapsedMs,
    perSecond: result.perSecond,
    latency: summarize(result.samplesMs),
  };
}

/** One measured loop: what was called, how often, how fast. */
export type LoadFigures = {
  what: string;
  requests: number;
  errors: number;
  firstError: string | null;
  elapsedMs: number;
  perSecond: number;
  latency: LatencySummary;
};

export type IntegrityFigures = {
  elapsedMs: number;
  accounts: number;
  ledgerEntries: number;
  orders: number;
  trades: number;
  positions: number;
  problems: number;
  firstProblems: string[];
  warnings: number;
};

export type OrderFigures = typeof ORDER_LOAD & {
  symbols: string[];
  endToEnd: LoadFigures;
  rawStore: LoadFigures;
  /** End-to-end orders/s as a fraction of raw commits/s. */
  ratio: number | null;
  target: number;
  integrityAfterLoad: IntegrityFigures;
};

export type ListFigures = {
  path: string;
  /** False when /orders was not an HTML page yet and the JSON list stood in. */
  htmlPage: boolean;
  htmlProbeStatus: number;
  small: LoadFigures & { orders: number; bodyBytes: number };
  large: LoadFigures & { orders: number; bodyBytes: number };
  /** Large ÷ small latency. */
  p50Ratio: number | null;
  p99Ratio: number | null;
  tolerance: number;
  seed: { orders: number; elapsedMs: number; perSecond: number; fileBytes: number };
  integrityScan: IntegrityFigures;
};
