/**
 * The trading figures of `deno task bench`: market orders end to end against the store port's and
 * raw Deno KV's rate for the same atomic write, order-list latency with 100 or 100 000 orders
 * behind it, and the execution pass with 1 000 or 100 000 orders resting.
 */
import { createLogger } from "../lib/log.ts";
import { createMarketClock } from "../lib/market/clock.ts";
import { SecurityCatalog, seedSecurities } from "../lib/market/securities.ts";
import { parseFixed } from "../lib/money.ts";
import { openKvStore } from "../lib/store/kv.ts";
import { type Account, openAccountOps } from "../lib/trading/accounts.ts";
import { checkIntegrity } from "../lib/trading/integrity.ts";
import type { Lot } from "../lib/trading/lots.ts";
import type { TradingContext } from "../lib/trading/orders.ts";
import type { Position } from "../lib/trading/positions.ts";
import { openMarket } from "../lib/trading/setup.ts";
import { runExecutionPass, sweepWorkingOrders } from "../lib/trading/worker.ts";
import {
  clientAddress,
  type KvCommit,
  type KvCommitSize,
  kvCommitSize,
  kvReplayer,
  type LatencySummary,
  type LoadOptions,
  type LoadResult,
  ratio,
  recordKv,
  runLoad,
  summarize,
} from "./bench_lib.ts";
import {
  type Book,
  createTrader,
  marketFillUnit,
  seedClosedOrders,
  seedRestingOrders,
} from "./seed_orders.ts";

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
 * Placing a market order reaches at least this share of the store port's rate for its commit, and
 * of raw Deno KV's rate for a commit of the same size (docs/design.md, Performance budgets).
 */
export const ORDER_TARGET = 0.5;
/** The two order histories compared, and the requests timed against each. */
export const LIST = { small: 100, large: 100_000, requests: 200, warmupMs: 500 } as const;
/**
 * A list costs the same with 100 or 100 000 orders behind it (docs/design.md, Performance
 * budgets); allow this much for noise between two runs of 200 requests.
 */
export const LIST_TOLERANCE = 1.5;
/**
 * The two resting books the execution pass is timed against, the symbols they are spread over,
 * and the passes timed on each (after a few untimed ones). A pass over the large book may take at
 * most `target` times the small one's (docs/design.md, Performance budgets).
 */
export const BOOK = {
  small: 1_000,
  large: 100_000,
  symbols: 100,
  passes: 20,
  warmupPasses: 3,
  target: 2,
} as const;
const STARTING_CASH = "100000";
/** Enough for an account of a resting book: 500 orders' holds and the shares its sells reserve. */
const BOOK_CASH = "10000000";
const PASSWORD = "bench-otter-planet-42";
const ACCEPT_ENCODING = "br, gzip";
const REQUEST_TIMEOUT_MS = 10_000;
/** As the app the bench starts (MARKET_HOURS=always): a market order's day ends at UTC midnight. */
const CLOCK = createMarketClock("always");

/** Starts the app with these variables on top of the bench's own; `stop()` ends it. */
export type StartApp = (env: Record<string, string>) => Promise<Server>;
export type Server = { origin: string; pid: number; readyMs: number; stop(): Promise<void> };

/**
 * Market orders per second through HTTP (session, validation, quote, reads, one atomic commit),
 * then the commit alone through the store port against a store of the same kind, with the same
 * concurrency, then raw Deno KV commits of the same size, and the invariants of the store the app
 * wrote. Every store is a KV file in `dir`: the app runs on a file in production, and a file
 * commit pays for SQLite's write-ahead log, which `:memory:` would leave out, so an in-memory
 * figure would describe a store nobody runs.
 */
export async function measureMarketOrders(start: StartApp, dir: string): Promise<OrderFigures> {
  const appFile = `${dir}/orders-app.kv`;
  const endToEnd = await measureEndToEnd(start, appFile);
  const integrity = await scanIntegrity(appFile);
  const port = await measureRawFills(`${dir}/orders-raw.kv`);
  const rawKv = await measureRawKv(`${dir}/orders-kv.kv`, port.recorded);
  const sizes = port.recorded.flatMap((worker) => worker.commits.map(kvCommitSize));
  const mean = (pick: (size: KvCommitSize) => number) =>
    Math.round(sizes.reduce((sum, size) => sum + pick(size), 0) / sizes.length);
  return {
    ...ORDER_LOAD,
    symbols: [...ORDER_SYMBOLS],
    endToEnd,
    rawStore: port.figures,
    rawKv,
    unit: {
      checks: mean((size) => size.checks),
      sets: mean((size) => size.sets),
      deletes: mean((size) => size.deletes),
      keyBytes: mean((size) => size.keyBytes),
      valueBytes: mean((size) => size.valueBytes),
      keysReadFirst: Math.round(
        port.recorded.reduce((sum, worker) => sum + worker.keysRead, 0) / sizes.length,
      ),
      recorded: sizes.length,
    },
    ratio: ratio(endToEnd.perSecond, port.figures.perSecond),
    kvRatio: ratio(endToEnd.perSecond, rawKv.perSecond),
    target: ORDER_TARGET,
    integrityAfterLoad: integrity,
  };
}

/**
 * Market orders through `POST /api/orders` by ORDER_LOAD.concurrency traders signed up through the
 * API, each alternating a buy and a sell of one share, on the app started on `file`. With `settle`,
 * nobody signs up until the app is done with its start-up work (waitUntilIdle).
 */
async function measureEndToEnd(
  start: StartApp,
  file: string,
  { settle = false } = {},
): Promise<LoadFigures & { settle: Settled | null }> {
  // Each trader places far more than the per-account limit of 10 a second: the figure is the
  // store's throughput, not the limit's, so the limit is lifted out of the way.
  const app = await start({ KV_PATH: file, ORDERS_PER_SECOND: "100000" });
  try {
    const settled = settle ? await waitUntilIdle(app.pid) : null;
    const api = apiClient(app.origin, ORDER_LOAD.concurrency);
    try {
      const traders = await Promise.all(
        Array.from(
          { length: ORDER_LOAD.concurrency },
          (_, n) => api.signUp(`bench-trader-${n}@example.com`),
        ),
      );
      const holding = traders.map(() => false);
      const load = figures(
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
      return { ...load, settle: settled };
    } finally {
      api.close();
    }
  } finally {
    await app.stop();
  }
}

/** The app is idle enough to time once it spends less than this share of a CPU. */
const IDLE_CPU = 0.6;
const IDLE_POLL_MS = 1_000;
const IDLE_WAIT_MAX_MS = 120_000;

/**
 * Waits until process `pid` spends less than IDLE_CPU of a CPU over a second (at most
 * IDLE_WAIT_MAX_MS): an app started on a large book sweeps every working order first
 * (worker.ts, sweepWorkingOrders), which is start-up work, not the steady state being timed.
 * The CPU time is read from /proc, outside the app, where asking the app would cost it work; where
 * there is no /proc, it waits IDLE_WAIT_MAX_MS / 4.
 */
async function waitUntilIdle(pid: number): Promise<Settled> {
  const begin = performance.now();
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  let before = await cpuSeconds(pid);
  if (before === null) {
    await sleep(IDLE_WAIT_MAX_MS / 4);
    return { waitedMs: performance.now() - begin, cpuShare: null, idle: false };
  }
  for (;;) {
    const from = performance.now();
    await sleep(IDLE_POLL_MS);
    const after = await cpuSeconds(pid);
    const share = after === null ? 0 : (after - before) / ((performance.now() - from) / 1000);
    const waitedMs = performance.now() - begin;
    if (share < IDLE_CPU || waitedMs >= IDLE_WAIT_MAX_MS) {
      return { waitedMs, cpuShare: share, idle: share < IDLE_CPU };
    }
    before = after!;
  }
}

/** User and system CPU seconds of process `pid` from /proc (Linux); null where there is none. */
async function cpuSeconds(pid: number): Promise<number | null> {
  let stat: string;
  try {
    stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  // Fields after the command name, which is in parentheses and may hold spaces: utime and stime
  // are the 12th and 13th, in clock ticks (USER_HZ, 100 a second on Linux).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** How long the bench waited for the app to idle, and the CPU share it saw last. */
export type Settled = { waitedMs: number; cpuShare: number | null; idle: boolean };

/**
 * The atomic unit a market order commits in orders.ts — the order inserted as filled, the trade,
 * the position, the ledger entry, the account's sequence, both audit entries and the order's
 * events — built with the trading code's own fillOps (seed_orders.ts, marketFillUnit) and
 * committed through the store port in a closed loop, each worker on its own account. The state
 * for the next unit comes from what the commit returned, so only the commit is timed.
 *
 * Before the timed loop, each worker buys once (its position then exists, as in the loop), and
 * its next sell and buy are recorded at the Deno KV level (recordKv): what the port checked,
 * wrote and deleted, and what it read first. measureRawKv replays exactly those.
 */
async function measureRawFills(
  file: string,
): Promise<{ figures: LoadFigures; recorded: RecordedUnits[] }> {
  const store = await openKvStore(file);
  try {
    await store.ensureSchema();
    await seedSecurities(store);
    const catalog = await SecurityCatalog.load(store);
    const now = new Date();
    const books: Book[] = await Promise.all(
      Array.from({ length: ORDER_LOAD.concurrency }, async (_, n) => {
        const opened = openAccountOps(`bench-raw-${n}`, 1, STARTING_CASH, now);
        const written = await store.commit(opened.ops);
        const security = catalog.get(ORDER_SYMBOLS[n % ORDER_SYMBOLS.length])!;
        return {
          account: written[0] as Account,
          cash: parseFixed(STARTING_CASH, 2),
          position: null,
          security,
          price: parseFixed(security.referencePrice, security.priceDecimals),
        };
      }),
    );
    /** One market order of the worker's book, committed. */
    const step = async (book: Book) => {
      const side = book.position && book.position.qty !== "0" ? "sell" : "buy";
      const unit = marketFillUnit(book, side, CLOCK, new Date());
      const written = await store.commit(unit.ops);
      book.account = written[unit.accountAt] as Account;
      book.position = written[unit.positionAt] as Position;
      book.lots = side === "buy" ? [written[unit.lotAt] as Lot] : [];
      book.cash = unit.cashAfter;
    };
    const recorded: RecordedUnits[] = [];
    for (const book of books) {
      await step(book);
      const record = await recordKv(async () => {
        await step(book);
        await step(book);
      });
      recorded.push({ commits: record.commits, keysRead: record.keysRead });
    }
    const result = await runLoad((worker) => step(books[worker]), ORDER_LOAD);
    return { figures: figures("store.commit (market fill unit)", result), recorded };
  } finally {
    await store.close();
  }
}

/** Commits of one worker's market orders as Deno KV saw them, and the keys read for them. */
type RecordedUnits = { commits: KvCommit[]; keysRead: number };

/**
 * Raw Deno KV: `Deno.openKv(file)` and atomic commits with the checks, sets (same values) and
 * deletes the port made for market orders (measureRawFills), each worker replaying its own
 * recording, at the same concurrency and for as long, with nothing read before each commit.
 */
async function measureRawKv(file: string, recorded: RecordedUnits[]): Promise<LoadFigures> {
  const kv = await Deno.openKv(file);
  try {
    const replay = recorded.map((worker) => kvReplayer(kv, worker.commits));
    return figures(
      "Deno KV atomic (same checks, writes and bytes)",
      await runLoad((worker) => replay[worker](), ORDER_LOAD),
    );
  } finally {
    kv.close();
  }
}

/**
 * The execution pass (worker.ts, runExecutionPass) with BOOK.small and with BOOK.large working
 * limit orders resting on KV files in `dir`, none marketable, spread over BOOK.symbols symbols:
 * BOOK.passes timed passes on each, run here against the store as the app's worker runs them.
 * Each book is seeded straight through the store port (seed_orders.ts, seedRestingOrders); on the
 * large one the working-order sweep (run at start and hourly) is timed too, and must find every
 * order already in its place in the execution index, as placement puts it. Then market orders
 * through the API are timed on an empty store and with the large book resting.
 *
 * A KV file on disk commits at the pace of its disk's syncs, which would make seeding 100 000
 * orders take minutes; given `seedDir` (a RAM-backed folder), the books are seeded there and
 * copied into `dir` once closed, and everything is timed on the copies.
 */
export async function measureExecution(
  start: StartApp,
  dir: string,
  seedDir?: string,
): Promise<BookFigures> {
  const small = await seedBook(dir, "book-small.kv", BOOK.small, seedDir);
  const large = await seedBook(dir, "book-large.kv", BOOK.large, seedDir);
  const passes = await timePasses(`${dir}/book-small.kv`, `${dir}/book-large.kv`);
  // Back to back, so whatever else the machine is doing weighs on both alike.
  const withoutBook = await measureEndToEnd(start, `${dir}/book-none.kv`, { settle: true });
  const withBook = await measureEndToEnd(start, `${dir}/book-large.kv`, { settle: true });
  return {
    symbols: BOOK.symbols,
    small: { ...small, ...passes.small, sweep: null },
    large: { ...large, ...passes.large, sweep: passes.sweep },
    p50Ratio: ratio(passes.large.latency.p50Ms, passes.small.latency.p50Ms),
    target: BOOK.target,
    ordersWithoutBook: withoutBook,
    ordersWithLargeBook: withBook,
  };
}

/**
 * A resting book of `orders` in `dir/name`, seeded in `seedDir` and copied over when given, and
 * synced to disk, so no write-back of it competes with what is timed next. The time includes the
 * copy; the size is the file's once closed.
 */
async function seedBook(dir: string, name: string, orders: number, seedDir?: string) {
  const file = `${dir}/${name}`;
  const begin = performance.now();
  const store = await openKvStore(`${seedDir ?? dir}/${name}`);
  let seeded;
  try {
    await store.ensureSchema();
    const log = createLogger("warn");
    const market = await openMarket(store, { marketHours: "always", marketDataBaseUrl: "" }, log);
    seeded = await seedRestingOrders(store, market, {
      orders,
      symbols: bookSymbols(market.catalog),
      startingCash: BOOK_CASH,
    });
  } finally {
    await store.close();
  }
  if (seedDir) {
    // Closed, the store is the one file: SQLite folds its write-ahead log back in on close.
    await Deno.copyFile(`${seedDir}/${name}`, file);
    await Deno.remove(`${seedDir}/${name}`);
  }
  using copy = await Deno.open(file, { read: true, write: true });
  await copy.sync();
  return {
    ...seeded,
    elapsedMs: performance.now() - begin,
    seededInRam: seedDir !== undefined,
    fileBytes: (await Deno.stat(file)).size,
  };
}

/**
 * The first BOOK.symbols listed stocks and ETFs of the catalog priced $10 or more: a limit at 40 %
 * of the bid is then still worth the smallest order.
 */
function bookSymbols(catalog: SecurityCatalog): string[] {
  const symbols = catalog.all()
    .filter((s) =>
      s.tradable && s.assetClass !== "crypto" && parseFixed(s.referencePrice, 8) >= 10n * 10n ** 8n
    )
    .slice(0, BOOK.symbols)
    .map((s) => s.symbol);
  if (symbols.length < BOOK.symbols) {
    throw new Error(`the catalog has ${symbols.length} symbols for a book, not ${BOOK.symbols}`);
  }
  return symbols;
}

/**
 * BOOK.passes timed execution passes over each book, taking turns, so a change in the machine's
 * load weighs on both alike; then the working-order sweep over the large one.
 */
async function timePasses(smallFile: string, largeFile: string) {
  const log = createLogger("warn");
  const open = async (file: string): Promise<TradingContext> => {
    const store = await openKvStore(file);
    const market = await openMarket(store, { marketHours: "always", marketDataBaseUrl: "" }, log);
    return { store, market, settings: { startingCash: BOOK_CASH, commission: 0n }, log };
  };
  const books = [await open(smallFile), await open(largeFile)];
  try {
    const samples: number[][] = [[], []];
    // A pass over a book that nothing can reach changes nothing; anything else is reported.
    const changed = [0, 0];
    for (let n = 0; n < BOOK.warmupPasses + BOOK.passes; n++) {
      for (const [b, ctx] of books.entries()) {
        const begin = performance.now();
        const result = await runExecutionPass(ctx);
        const elapsed = performance.now() - begin;
        changed[b] += result.filled + result.expired + result.rejected + result.triggered +
          result.conflicts;
        if (n >= BOOK.warmupPasses) samples[b].push(elapsed);
      }
    }
    const begin = performance.now();
    const swept = await sweepWorkingOrders(books[1]);
    const figures = (b: number) => ({
      passes: BOOK.passes,
      latency: summarize(samples[b]),
      changed: changed[b],
    });
    return {
      small: figures(0),
      large: figures(1),
      sweep: { elapsedMs: performance.now() - begin, ...swept },
    };
  } finally {
    for (const ctx of books) await ctx.store.close();
  }
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

export function figures(what: string, result: LoadResult): LoadFigures {
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
  /** The market order's commit through the store port (store.commit). */
  rawStore: LoadFigures;
  /** Raw Deno KV commits of the same checks, writes and bytes. */
  rawKv: LoadFigures;
  /** A market order's commit as Deno KV sees it, the mean of the recorded ones. */
  unit: KvCommitSize & { keysReadFirst: number; recorded: number };
  /** End-to-end orders/s as a fraction of port commits/s. */
  ratio: number | null;
  /** End-to-end orders/s as a fraction of raw KV commits/s. */
  kvRatio: number | null;
  target: number;
  integrityAfterLoad: IntegrityFigures;
};

/** The execution pass over one resting book, and how the book was seeded. */
export type PassFigures = {
  orders: number;
  accounts: number;
  commits: number;
  elapsedMs: number;
  /** Seeded in a RAM-backed folder and copied to disk (measureExecution). */
  seededInRam: boolean;
  fileBytes: number;
  passes: number;
  latency: LatencySummary;
  /** Orders the timed passes filled, expired, rejected or triggered, and conflicts: 0 expected. */
  changed: number;
  sweep: { elapsedMs: number; cancelled: number; indexed: number } | null;
};

export type BookFigures = {
  symbols: number;
  small: PassFigures;
  large: PassFigures;
  /** Large ÷ small pass p50. */
  p50Ratio: number | null;
  target: number;
  /** Market orders end to end on an empty store, just before those with the large book. */
  ordersWithoutBook: LoadFigures & { settle: Settled | null };
  /** Market orders end to end with the large book resting, once the app had settled. */
  ordersWithLargeBook: LoadFigures & { settle: Settled | null };
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
