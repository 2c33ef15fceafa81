/** The instrumented store: the conformance suite through the wrapper, and what it records. */
import assert from "node:assert/strict";
import { createMetrics, type Metrics } from "../metrics.ts";
import { defineStoreConformance } from "./conformance.ts";
import { instrumentStore } from "./instrumented.ts";
import { openKvStore } from "./kv.ts";
import { ConflictError, type Doc, StoreUnavailableError } from "./port.ts";

type User = Doc & { email: string; role: string };

// Every port method's semantics, errors included, must come through unchanged.
defineStoreConformance(
  "kv+metrics",
  async () => instrumentStore(await openKvStore(":memory:"), createMetrics()),
);

async function withStore(
  fn: (store: ReturnType<typeof instrumentStore>, metrics: Metrics) => Promise<void>,
) {
  const metrics = createMetrics();
  const store = instrumentStore(await openKvStore(":memory:"), metrics);
  try {
    await store.ensureSchema();
    await fn(store, metrics);
  } finally {
    await store.close();
  }
}

const count = (metrics: Metrics, operation: string) =>
  metrics.sample("store_operation_duration_seconds_count", { backend: "kv", operation });
const errors = (metrics: Metrics, operation: string, kind: string) =>
  metrics.sample("store_operation_errors_total", { backend: "kv", operation, kind });

Deno.test("[store:kv+metrics] each call is timed under its own operation, once", async () => {
  await withStore(async (store, metrics) => {
    assert.equal(store.backend, "kv");
    const user = await store.insert<User>("users", { email: "a@x.test", role: "USER" });
    await store.get("users", user._id);
    await store.get("users", "missing");
    await store.getMany("users", [user._id]);
    await store.findOne("users", { role: "USER" });
    await store.find("users", { where: { role: "USER" }, limit: 10 });
    await store.update<User>("users", user._id, { role: "ADMIN" });
    await store.ping();
    assert.equal(await count(metrics, "insert"), 1);
    assert.equal(await count(metrics, "get"), 2);
    assert.equal(await count(metrics, "getMany"), 1);
    // The backend's findOne calls its own find; only the call the app made is counted.
    assert.equal(await count(metrics, "findOne"), 1);
    assert.equal(await count(metrics, "find"), 1);
    assert.equal(await count(metrics, "update"), 1);
    assert.equal(await count(metrics, "ping"), 1);
    assert.equal(await count(metrics, "commit"), undefined, "insert and update are not commits");
    assert.ok(
      (await metrics.sample("store_operation_duration_seconds_sum", {
        backend: "kv",
        operation: "get",
      }))! > 0,
    );
  });
});

Deno.test("[store:kv+metrics] failures are counted by kind and rethrown as they were", async () => {
  await withStore(async (store, metrics) => {
    const user = await store.insert<User>("users", { email: "a@x.test", role: "USER" });
    await store.update<User>("users", user._id, { role: "DEMO" }, { ifVersion: 1 });
    await assert.rejects(
      store.update<User>("users", user._id, { role: "ADMIN" }, { ifVersion: 1 }),
      (e) => e instanceof ConflictError && e.reason === "version",
    );
    await assert.rejects(
      store.commit([{ op: "delete", collection: "users", id: "missing" }]),
      (e) => e instanceof ConflictError && e.reason === "missing",
    );
    await assert.rejects(store.find("users", { limit: 0 }), RangeError);
    assert.equal(await errors(metrics, "update", "conflict"), 1);
    assert.equal(await errors(metrics, "commit", "conflict"), 1);
    assert.equal(await errors(metrics, "find", "other"), 1);
    assert.equal(await count(metrics, "update"), 2, "a failed call is timed too");
  });
  const metrics = createMetrics();
  const store = instrumentStore(await openKvStore(":memory:"), metrics);
  await store.close();
  await assert.rejects(store.ping(), StoreUnavailableError);
  assert.equal(await errors(metrics, "ping", "unavailable"), 1);
});

Deno.test("[store:kv+metrics] committed writes that set an order's status are counted", async () => {
  await withStore(async (store, metrics) => {
    const order = (clientOrderId: string, status: string) => ({
      userId: "u1",
      accountId: "a1",
      clientOrderId,
      symbol: "AAPL",
      status,
      open: status === "new",
      placedAt: new Date(),
    });
    const placed = await store.insert("orders", order("c1", "new"));
    await store.commit([
      { op: "insert", collection: "orders", doc: order("c2", "filled") },
      {
        op: "insert",
        collection: "audit_logs",
        doc: { userId: "u1", action: "x", at: new Date() },
      },
    ]);
    await store.update("orders", placed._id, { status: "cancelled", open: false });
    // A write that leaves the status alone (a replaced price) is no status change.
    await store.update("orders", placed._id, { symbol: "MSFT" });
    // Refused writes changed nothing, so they count nothing.
    await assert.rejects(
      store.commit([
        {
          op: "update",
          collection: "orders",
          id: placed._id,
          set: { status: "expired" },
          ifVersion: 1,
        },
      ]),
      ConflictError,
    );
    const changes = (status: string) => metrics.sample("orders_status_changes_total", { status });
    assert.equal(await changes("new"), 1);
    assert.equal(await changes("filled"), 1);
    assert.equal(await changes("cancelled"), 1);
    assert.equal(await changes("expired"), 0);
  });
});
