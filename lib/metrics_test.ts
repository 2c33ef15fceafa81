/** The metrics registry: scrapes in the exposition format, bounded labels, store-read gauges. */
import assert from "node:assert/strict";
import { AppError } from "./errors.ts";
import { countSignIns, createMetrics, type Metrics } from "./metrics.ts";
import { openKvStore } from "./store/kv.ts";
import { openMongoStore } from "./store/mongo.ts";
import type { NewDoc, Store } from "./store/port.ts";
import type { Order, OrderStatus } from "./trading/orders.ts";
import { createLogger } from "./log.ts";
import { NO_MONGODB, reportSkip } from "../tests/support/skip_report.ts";

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

type Sample = { name: string; labels: Record<string, string>; value: number };
type Family = { help?: string; type?: string; samples: Sample[] };

/**
 * A strict reader of the text exposition format 0.0.4: every line is a HELP, a TYPE or a sample
 * of a family whose HELP and TYPE came first; it throws on anything else.
 */
function parseExposition(text: string): Map<string, Family> {
  assert.ok(text.endsWith("\n"), "the last line ends with a newline");
  const families = new Map<string, Family>();
  const family = (name: string) => {
    assert.match(name, METRIC_NAME);
    if (!families.has(name)) families.set(name, { samples: [] });
    return families.get(name)!;
  };
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const f = family(meta[2]);
      assert.equal(f.samples.length, 0, `${meta[1]} of ${meta[2]} comes before its samples`);
      if (meta[1] === "HELP") {
        assert.equal(f.help, undefined, `one HELP for ${meta[2]}`);
        f.help = meta[3].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
      } else {
        assert.equal(f.type, undefined, `one TYPE for ${meta[2]}`);
        assert.ok(TYPES.has(meta[3]), `type ${meta[3]}`);
        f.type = meta[3];
      }
      continue;
    }
    assert.ok(!line.startsWith("#"), `no other comment lines: ${line}`);
    const sample = parseSample(line);
    const owner = families.get(sample.name) ??
      families.get(sample.name.replace(/_(bucket|sum|count)$/, ""));
    assert.ok(owner?.help !== undefined && owner.type !== undefined, `HELP and TYPE of ${line}`);
    owner.samples.push(sample);
  }
  return families;
}

function parseSample(line: string): Sample {
  const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{)?/.exec(line);
  assert.ok(head, `a sample line: ${line}`);
  let at = head[0].length;
  const labels: Record<string, string> = {};
  if (head[2]) {
    while (line[at] !== "}") {
      const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(,)?/.exec(
        line.slice(at),
      );
      assert.ok(label, `a label at ${at} of ${line}`);
      assert.match(label[1], LABEL_NAME);
      assert.ok(!(label[1] in labels), `label ${label[1]} once`);
      labels[label[1]] = label[2].replace(/\\(["\\n])/g, (_, c) => (c === "n" ? "\n" : c));
      at += label[0].length;
      if (!label[3]) assert.equal(line[at], "}", `labels end in } in ${line}`);
    }
    at++;
  }
  const rest = /^ (\S+)(?: (-?\d+))?$/.exec(line.slice(at));
  assert.ok(rest, `a value after the labels: ${line}`);
  const value = rest[1] === "+Inf" ? Infinity : rest[1] === "-Inf" ? -Infinity : Number(rest[1]);
  assert.ok(!Number.isNaN(value) || rest[1] === "NaN", `a number: ${rest[1]}`);
  return { name: head[1], labels, value };
}

/** Buckets of every series rise with `le`, never fall, and end at +Inf with the count. */
function assertHistogram(families: Map<string, Family>, name: string): void {
  const f = families.get(name)!;
  assert.equal(f.type, "histogram");
  const key = (labels: Record<string, string>) =>
    JSON.stringify(Object.entries(labels).filter(([k]) => k !== "le").sort());
  const series = new Map<string, Sample[]>();
  for (const s of f.samples.filter((s) => s.name === `${name}_bucket`)) {
    series.set(key(s.labels), [...(series.get(key(s.labels)) ?? []), s]);
  }
  assert.ok(series.size > 0, `${name} has series`);
  for (const [labels, buckets] of series) {
    const bounds = buckets.map((b) => b.labels.le === "+Inf" ? Infinity : Number(b.labels.le));
    assert.deepEqual(bounds, [...bounds].sort((a, b) => a - b), `${name}${labels} le ascending`);
    assert.equal(buckets.at(-1)!.labels.le, "+Inf");
    buckets.reduce((previous, b) => {
      assert.ok(b.value >= previous, `${name}${labels} cumulative`);
      return b.value;
    }, 0);
    const count = f.samples.find((s) => s.name === `${name}_count` && key(s.labels) === labels);
    const sum = f.samples.find((s) => s.name === `${name}_sum` && key(s.labels) === labels);
    assert.equal(count?.value, buckets.at(-1)!.value, `${name}${labels} +Inf = count`);
    assert.ok(sum !== undefined, `${name}${labels} has a sum`);
  }
}

function value(families: Map<string, Family>, name: string, labels: Record<string, string>) {
  const owner = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ""));
  return owner?.samples.find((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  )?.value;
}

async function withKv(fn: (store: Store) => Promise<void>): Promise<void> {
  const store = await openKvStore(":memory:");
  try {
    await store.ensureSchema();
    await fn(store);
  } finally {
    await store.close();
  }
}

function order(n: number, status: OrderStatus): NewDoc<Order> {
  return {
    userId: "u1",
    accountId: "a1",
    clientOrderId: `c${n}`,
    symbol: "AAPL",
    status,
    open: status === "new" || status === "partially_filled",
    placedAt: new Date(Date.UTC(2026, 0, 2, 15, 0, n)),
  } as unknown as NewDoc<Order>;
}

Deno.test("[metrics] a scrape parses: HELP and TYPE for every family, cumulative histograms", async () => {
  const metrics = createMetrics();
  for (const seconds of [0.003, 0.2, 7]) {
    metrics.observeRequest({ method: "GET", route: "/api/orders/:id", status: 200, seconds });
  }
  // A Hono pattern may hold a regular expression: quotes and backslashes must be escaped.
  const odd = '/files/:name{[^\\\\/"]+}';
  metrics.observeRequest({ method: "POST", route: odd, status: 422, seconds: 0.01 });
  metrics.observeStoreOperation({ backend: "kv", operation: "get", seconds: 0.0004 });
  metrics.countSignIn();
  metrics.countOrderStatus("filled");

  const text = await metrics.render();
  const families = parseExposition(text);
  assertHistogram(families, "http_request_duration_seconds");
  assertHistogram(families, "store_operation_duration_seconds");
  const orders = { method: "GET", route: "/api/orders/:id" };
  assert.equal(
    value(families, "http_request_duration_seconds_bucket", { ...orders, le: "0.005" }),
    1,
  );
  assert.equal(
    value(families, "http_request_duration_seconds_bucket", { ...orders, le: "0.25" }),
    2,
  );
  assert.equal(value(families, "http_request_duration_seconds_bucket", { ...orders, le: "5" }), 2);
  assert.equal(
    value(families, "http_request_duration_seconds_bucket", { ...orders, le: "+Inf" }),
    3,
  );
  assert.equal(value(families, "http_request_duration_seconds_count", orders), 3);
  assert.ok(Math.abs(value(families, "http_request_duration_seconds_sum", orders)! - 7.203) < 1e-9);
  assert.equal(value(families, "http_requests_total", { ...orders, status: "200" }), 3);
  assert.equal(value(families, "http_requests_total", { route: odd, status: "422" }), 1);
  assert.equal(families.get("http_requests_total")?.type, "counter");
  assert.equal(value(families, "auth_sign_in_total", { outcome: "success" }), 1);
  assert.equal(value(families, "auth_sign_in_total", { outcome: "invalid_totp" }), 0);
  assert.equal(value(families, "orders_status_changes_total", { status: "filled" }), 1);
  assert.equal(value(families, "orders_status_changes_total", { status: "expired" }), 0);
  for (const name of ["process_uptime_seconds", "process_resident_memory_bytes"]) {
    assert.ok(value(families, name, {})! > 0, name);
  }
  assert.ok(value(families, "process_start_time_seconds", {})! > 1.7e9);
  assert.equal(families.get("process_cpu_seconds_total")?.type, "counter");
  assert.equal(metrics.contentType, "text/plain; version=0.0.4; charset=utf-8");
  assert.ok(!text.includes("mongodb_pool"), "no pool metrics without MongoDB");
});

Deno.test("[metrics] label values stay within fixed sets", async () => {
  const metrics = createMetrics();
  metrics.observeRequest({ method: "BREW", route: "unmatched", status: 404, seconds: 0.001 });
  metrics.countOrderStatus("u1@example.com");
  metrics.countOrderStatus(undefined);
  metrics.countSignIn({ error: new AppError(400, "made_up_code", "x") });
  metrics.countSignIn({ error: new AppError(400, "constructor", "x") });
  metrics.countSignIn({ error: new Error("store down") });
  const families = parseExposition(await metrics.render());
  assert.equal(value(families, "http_requests_total", { method: "other", status: "404" }), 1);
  assert.deepEqual(
    families.get("orders_status_changes_total")!.samples.map((s) => s.labels.status).sort(),
    ["cancelled", "expired", "filled", "held", "new", "partially_filled", "rejected"],
  );
  assert.equal(value(families, "auth_sign_in_total", { outcome: "error" }), 3);
});

Deno.test("[metrics] sign-in outcomes are counted once each, from what the attempt threw", async () => {
  const metrics = createMetrics();
  const attempt = countSignIns(async (error?: Error) => {
    await Promise.resolve();
    if (error) throw error;
    return "ok";
  }, metrics);
  assert.equal(await attempt(), "ok");
  const refusals: [string, string][] = [
    ["invalid_credentials", "invalid_credentials"],
    ["rate_limited", "throttled"],
    ["totp_required", "totp_required"],
    ["invalid_totp", "invalid_totp"],
    ["totp_locked", "totp_locked"],
    ["account_suspended", "suspended"],
    ["email_not_verified", "email_not_verified"],
  ];
  for (const [code] of refusals) {
    const error = new AppError(401, code, "no");
    await assert.rejects(attempt(error), (e) => e === error, "the error passes through");
  }
  assert.equal(await metrics.sample("auth_sign_in_total", { outcome: "success" }), 1);
  for (const [, outcome] of refusals) {
    assert.equal(await metrics.sample("auth_sign_in_total", { outcome }), 1, outcome);
  }
});

Deno.test("[metrics] orders_by_status counts working orders from the store at scrape time", async () => {
  await withKv(async (store) => {
    const statuses: OrderStatus[] = [
      "new",
      "new",
      "new",
      "partially_filled",
      "filled",
      "cancelled",
    ];
    for (const [n, status] of statuses.entries()) await store.insert("orders", order(n, status));
    const metrics = createMetrics();
    assert.equal(await metrics.sample("orders_by_status", { status: "new" }), undefined);
    metrics.observeStore(store);
    const families = parseExposition(await metrics.render());
    assert.equal(value(families, "orders_by_status", { status: "new" }), 3);
    assert.equal(value(families, "orders_by_status", { status: "partially_filled" }), 1);
    assert.equal(value(families, "orders_by_status", { status: "filled" }), undefined);
    await store.update("orders", (await store.findOne("orders", { status: "new" }))!._id, {
      status: "cancelled",
      open: false,
    });
    assert.equal(await metrics.sample("orders_by_status", { status: "new" }), 2);
  });
});

Deno.test("[metrics] a store that fails or hangs leaves orders_by_status out, not the scrape", async () => {
  const metrics = createMetrics();
  const closed = await openKvStore(":memory:");
  await closed.close();
  metrics.observeStore(closed);
  let families = parseExposition(await metrics.render());
  assert.equal(families.get("orders_by_status")!.samples.length, 0);
  assert.equal(value(families, "metrics_collect_failures_total", {}), 1);
  assert.ok(value(families, "process_uptime_seconds", {})! > 0, "the rest is there");

  const hanging = { backend: "kv", find: () => new Promise(() => {}) } as unknown as Store;
  metrics.observeStore(hanging);
  const start = performance.now();
  families = parseExposition(await metrics.render());
  assert.ok(performance.now() - start < 5000, "the scrape answers within its deadline");
  assert.equal(families.get("orders_by_status")!.samples.length, 0);
  assert.equal(value(families, "metrics_collect_failures_total", {}), 2);
});

const MONGODB_URI = Deno.env.get("MONGODB_URI");
if (MONGODB_URI) {
  Deno.test({
    name: "[metrics] MongoDB pool gauges follow the driver's connection events",
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const store = await openMongoStore({
        uri: MONGODB_URI,
        db: `orion_metrics_${crypto.randomUUID().slice(0, 8)}`,
        log: createLogger("error", () => {}),
      });
      try {
        const metrics: Metrics = createMetrics();
        metrics.observeStore(store);
        await store.ping();
        const families = parseExposition(await metrics.render());
        const open = value(families, "mongodb_pool_connections", {})!;
        assert.ok(open >= 1, `open ${open}`);
        assert.equal(value(families, "mongodb_pool_checked_out_connections", {}), 0);
        assert.equal(
          value(families, "mongodb_pool_available_connections", {})! +
            value(families, "mongodb_pool_pending_connections", {})!,
          open,
        );
        assert.ok(value(families, "mongodb_pool_max_connections", {})! >= 1);
      } finally {
        await store.close();
      }
    },
  });
} else {
  reportSkip(import.meta.url, NO_MONGODB);
  Deno.test({
    name: "[metrics] SKIPPED: MONGODB_URI is not set — the MongoDB pool gauges were not checked",
    ignore: true,
    fn() {},
  });
}
