/** Prometheus metrics (prom-client): HTTP, store, sign-ins, orders, MongoDB pool and process. */
import process from "node:process";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { AppError } from "./errors.ts";
import { type MongoPoolFigures, mongoPoolFigures } from "./store/mongo.ts";
import { ConflictError, type Store, StoreUnavailableError } from "./store/port.ts";
import { TIMED_OUT, withTimeout } from "./timeout.ts";
import type { Order, OrderStatus } from "./trading/orders.ts";

/** Request latency from 5 ms (a cached page) to 5 s (past any budget). */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Store calls start well under a millisecond (embedded KV), so the buckets start lower. */
const STORE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Any other method is a client's invention; one label keeps them from adding series. */
const HTTP_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * Which statuses are counted at scrape time. Working orders hold buying power and rest in the
 * book, so there are few of them and a gauge is cheap; finished ones accumulate forever, so they
 * are counted as they happen (orders_status_changes_total) instead of by reading history.
 * A Record, so a new status fails to compile until it is placed here.
 */
const ORDER_STATUSES: Record<OrderStatus, "working" | "finished"> = {
  held: "working",
  new: "working",
  partially_filled: "working",
  filled: "finished",
  cancelled: "finished",
  expired: "finished",
  rejected: "finished",
};
const WORKING_STATUSES = (Object.keys(ORDER_STATUSES) as OrderStatus[])
  .filter((status) => ORDER_STATUSES[status] === "working");
/** A scrape reads at most this many working orders per status; the gauge then shows the cap. */
const ORDER_COUNT_CAP = 10_000;
const ORDER_PAGE = 1000;
/** A scrape must answer even when the store does not; the order gauge is left out instead. */
const COLLECT_TIMEOUT_MS = 2000;

/** The error codes sign-in throws, and the outcome each is counted as. */
const SIGN_IN_FAILURES = new Map([
  ["invalid_credentials", "invalid_credentials"],
  ["rate_limited", "throttled"],
  ["totp_required", "totp_required"],
  ["invalid_totp", "invalid_totp"],
  ["totp_locked", "totp_locked"],
  ["sign_in_expired", "expired"],
  ["account_suspended", "suspended"],
  ["email_not_verified", "email_not_verified"],
]);
/** Anything else (the store down, a bug) is counted as `error`. */
const SIGN_IN_OUTCOMES = ["success", ...new Set(SIGN_IN_FAILURES.values()), "error"];

/** Every storage port method that is timed (all but `close`). */
const STORE_OPERATIONS = [
  "ensureSchema",
  "describeSchema",
  "ping",
  "get",
  "getMany",
  "find",
  "findOne",
  "insert",
  "update",
  "delete",
  "commit",
] as const;

/**
 * Creates a registry with every metric of the app. Label values come from fixed sets (route
 * patterns, methods, statuses, outcomes), never from ids, emails or tokens.
 */
export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  let source: Store | null = null;

  const httpRequests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests answered, by method, route pattern and status.",
    labelNames: ["method", "route", "status"] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Time to answer an HTTP request (until the handler returns; a stream may go on), " +
      "by method and route pattern.",
    labelNames: ["method", "route"] as const,
    buckets: HTTP_BUCKETS,
    registers,
  });
  const storeDuration = new Histogram({
    name: "store_operation_duration_seconds",
    help: "Time of one storage port call, failed ones included, by backend and operation.",
    labelNames: ["backend", "operation"] as const,
    buckets: STORE_BUCKETS,
    registers,
  });
  const storeErrors = new Counter({
    name: "store_operation_errors_total",
    help: "Failed storage port calls by backend, operation and kind: conflict (a version or " +
      "unique value changed; the caller retries or reports it), unavailable (the store did not " +
      "answer), other.",
    labelNames: ["backend", "operation", "kind"] as const,
    registers,
  });
  const signIns = new Counter({
    name: "auth_sign_in_total",
    help: "Sign-in attempts by outcome.",
    labelNames: ["outcome"] as const,
    registers,
  });
  const orderChanges = new Counter({
    name: "orders_status_changes_total",
    help: "Orders that entered a status (placed, filled, cancelled, expired, rejected) in writes " +
      "committed by this process.",
    labelNames: ["status"] as const,
    registers,
  });
  // prom-client collects every metric at once, so both metrics below join the same store read:
  // a failure is counted in the very scrape that left the gauge out, not in the next one.
  let ordersRead: Promise<void> | null = null;
  const readOrders = () =>
    ordersRead ??= refreshWorkingOrders().finally(() => {
      ordersRead = null;
    });
  const collectFailures = new Counter({
    name: "metrics_collect_failures_total",
    help: "Scrapes that left a store-backed metric out because the store failed or was too slow.",
    labelNames: ["metric"] as const,
    registers,
    collect: readOrders,
  });
  const workingOrders: Gauge<"status"> = new Gauge({
    name: "orders_by_status",
    help: `Working orders now, by status, counted through the status index at scrape time ` +
      `(at most ${ORDER_COUNT_CAP}: that value means at least as many). Finished orders are ` +
      `in orders_status_changes_total.`,
    labelNames: ["status"] as const,
    registers,
    collect: readOrders,
  });
  async function refreshWorkingOrders(): Promise<void> {
    if (!source) return;
    const counts = await withTimeout(
      countWorkingOrders(source).catch(() => null),
      COLLECT_TIMEOUT_MS,
    );
    if (counts === null || counts === TIMED_OUT) {
      workingOrders.reset();
      collectFailures.inc({ metric: "orders_by_status" });
      return;
    }
    for (const [status, count] of counts) workingOrders.set({ status }, count);
  }
  for (const outcome of SIGN_IN_OUTCOMES) signIns.inc({ outcome }, 0);
  for (const status of Object.keys(ORDER_STATUSES)) orderChanges.inc({ status }, 0);
  collectFailures.inc({ metric: "orders_by_status" }, 0);
  processMetrics(registers);
  let poolGauges = false;

  return {
    registry,
    contentType: registry.contentType,
    observeRequest({ method, route, status, seconds }) {
      const m = HTTP_METHODS.has(method) ? method : "other";
      httpRequests.inc({ method: m, route, status: String(status) });
      httpDuration.observe({ method: m, route }, seconds);
    },
    observeStoreOperation({ backend, operation, seconds, error }) {
      storeDuration.observe({ backend, operation }, seconds);
      if (error !== undefined) {
        storeErrors.inc({ backend, operation, kind: storeErrorKind(error) });
      }
    },
    countOrderStatus(status) {
      if (typeof status === "string" && Object.hasOwn(ORDER_STATUSES, status)) {
        orderChanges.inc({ status });
      }
    },
    countSignIn(failure) {
      signIns.inc({ outcome: failure ? signInFailure(failure.error) : "success" });
    },
    observeStore(store) {
      source = store;
      if (!poolGauges && mongoPoolFigures(store)) {
        poolGauges = true;
        mongoPoolMetrics(registers, () => source && mongoPoolFigures(source));
      }
    },
    render: () => registry.metrics(),
    async sample(name, labels = {}) {
      // A histogram's series are named after it with a suffix, and carry that name themselves.
      const metric = registry.getSingleMetric(name) ??
        registry.getSingleMetric(name.replace(/_(bucket|sum|count)$/, ""));
      if (!metric) return undefined;
      const { values } = await metric.get();
      const wanted = Object.entries(labels);
      return values.find((value) =>
        ((value as { metricName?: string }).metricName ?? name) === name &&
        wanted.every(([key, want]) => String(value.labels[key]) === want)
      )?.value;
    },
  };
}

/** The metrics of this process: main.ts serves them, and sign-in counts its outcomes into them. */
export const metrics: Metrics = createMetrics();

/**
 * Wraps the sign-in flow so each attempt is counted once in auth_sign_in_total by its outcome:
 * `success`, the refusal it ended with, or `error`.
 */
export function countSignIns<A extends unknown[], R>(
  signIn: (...args: A) => Promise<R>,
  into: Metrics = metrics,
): (...args: A) => Promise<R> {
  return async (...args: A): Promise<R> => {
    try {
      const result = await signIn(...args);
      into.countSignIn();
      return result;
    } catch (error) {
      into.countSignIn({ error });
      throw error;
    }
  };
}

function signInFailure(error: unknown): string {
  return (error instanceof AppError && SIGN_IN_FAILURES.get(error.code)) || "error";
}

function storeErrorKind(error: unknown): "conflict" | "unavailable" | "other" {
  if (error instanceof ConflictError) return "conflict";
  if (error instanceof StoreUnavailableError) return "unavailable";
  return "other";
}

/** Pages through the `{status: 1}` index, so the work is bounded by the cap, not by history. */
async function countWorkingOrders(store: Store): Promise<Map<OrderStatus, number>> {
  const counts = new Map<OrderStatus, number>();
  for (const status of WORKING_STATUSES) {
    let count = 0;
    let cursor: string | undefined;
    do {
      const page = await store.find<Order>("orders", {
        where: { status },
        limit: ORDER_PAGE,
        cursor,
      });
      count += page.items.length;
      cursor = page.nextCursor ?? undefined;
    } while (cursor && count < ORDER_COUNT_CAP);
    counts.set(status, Math.min(count, ORDER_COUNT_CAP));
  }
  return counts;
}

/** Uptime, memory and CPU, named as Prometheus' own client libraries name them. */
function processMetrics(registers: Registry[]): void {
  new Gauge({
    name: "process_start_time_seconds",
    help: "When the process started, in seconds since the Unix epoch.",
    registers,
  }).set(performance.timeOrigin / 1000);
  new Gauge({
    name: "process_uptime_seconds",
    help: "Seconds since the process started.",
    registers,
    collect() {
      this.set(performance.now() / 1000);
    },
  });
  const memory = (name: string, help: string, read: (usage: Deno.MemoryUsage) => number) => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(Deno.memoryUsage()));
      },
    });
  };
  memory("process_resident_memory_bytes", "Resident set size in bytes.", (u) => u.rss);
  memory("process_heap_total_bytes", "V8 heap size in bytes.", (u) => u.heapTotal);
  memory("process_heap_used_bytes", "V8 heap in use, in bytes.", (u) => u.heapUsed);
  memory(
    "process_external_memory_bytes",
    "Memory outside the V8 heap held by JavaScript objects, in bytes.",
    (u) => u.external,
  );
  let counted = 0;
  new Counter({
    name: "process_cpu_seconds_total",
    help: "User and system CPU time spent, in seconds.",
    registers,
    collect() {
      const { user, system } = process.cpuUsage();
      const total = (user + system) / 1e6;
      // A counter only goes up; it is advanced by what was spent since the last scrape.
      this.inc(Math.max(0, total - counted));
      counted = Math.max(counted, total);
    },
  });
}

/** Registered only on MongoDB, so a KV deployment shows no empty pool metrics. */
function mongoPoolMetrics(
  registers: Registry[],
  read: () => MongoPoolFigures | null,
): void {
  const figures = [
    ["mongodb_pool_connections", "Pooled MongoDB connections: in use, idle or connecting.", "open"],
    [
      "mongodb_pool_checked_out_connections",
      "MongoDB connections lent to an operation now.",
      "checkedOut",
    ],
    ["mongodb_pool_available_connections", "Idle MongoDB connections ready to lend.", "available"],
    ["mongodb_pool_pending_connections", "MongoDB connections still connecting.", "pending"],
    [
      "mongodb_pool_max_connections",
      "maxPoolSize: the most connections per server.",
      "maxPerServer",
    ],
  ] as const;
  for (const [name, help, field] of figures) {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const now = read();
        if (now) this.set(now[field]);
        else this.reset();
      },
    });
  }
}

/** The app's metrics; label values are bounded sets, never ids, emails or tokens. */
export type Metrics = {
  /** The prom-client registry, for adding a metric elsewhere. */
  readonly registry: Registry;
  /** The exposition format's content type: `text/plain; version=0.0.4; charset=utf-8`. */
  readonly contentType: string;
  /** Counts and times one answered request; `route` is the matched pattern or `unmatched`. */
  observeRequest(request: { method: string; route: string; status: number; seconds: number }): void;
  /** Times one storage port call; `error` is what it threw, if it failed. */
  observeStoreOperation(
    operation: { backend: string; operation: StoreOperation; seconds: number; error?: unknown },
  ): void;
  /** Counts an order entering `status` in a committed write; anything not a status is ignored. */
  countOrderStatus(status: unknown): void;
  /** Counts one sign-in attempt: a success without `failure`, otherwise by what it threw. */
  countSignIn(failure?: { error: unknown }): void;
  /**
   * Reads working orders, and MongoDB pool figures when on MongoDB, from this store at scrape
   * time. Pass the store the backend returned, not a wrapper: a scrape's reads are not app traffic.
   */
  observeStore(store: Store): void;
  /** Every metric in the text exposition format. */
  render(): Promise<string>;
  /**
   * The current value of one series (`x_count`, `x_sum`, `x_bucket` for a histogram), or
   * undefined when it has none; for tests and scripts that want one figure, not a scrape.
   */
  sample(name: string, labels?: Record<string, string>): Promise<number | undefined>;
};

/** A timed storage port method. */
export type StoreOperation = (typeof STORE_OPERATIONS)[number];
