/** Runs the storage conformance suite against the Deno KV backend (in memory), then KV's own cases. */
import assert from "node:assert/strict";
import { defineStoreConformance } from "./conformance.ts";
import { kvStoreOn, openKvStore } from "./kv.ts";
import type { Doc, Fields, Query, WriteOp } from "./port.ts";

defineStoreConformance("kv", () => openKvStore(":memory:"));

/**
 * Counts the entries a Deno.Kv's `list` reads from the database. KV's list iterator fetches
 * `batchSize` entries (or what is left before `limit` or the selector's end) per read, whether or
 * not the caller goes on to use them; this wrapper reads the same batches and counts them.
 */
function countListReads(kv: Deno.Kv): { read: number } {
  const counter = { read: 0 };
  const list = kv.list.bind(kv);
  kv.list = (<T>(selector: Deno.KvListSelector, options: Deno.KvListOptions = {}) => {
    const source = list<T>(selector, options);
    const batchSize = options.batchSize ?? 500;
    async function* batches() {
      for (;;) {
        const batch: Deno.KvEntry<T>[] = [];
        while (batch.length < batchSize) {
          const next = await source.next();
          if (next.done) break;
          batch.push(next.value);
        }
        counter.read += batch.length;
        yield* batch;
        if (batch.length < batchSize) return;
      }
    }
    return batches() as unknown as Deno.KvListIterator<T>;
  }) as Deno.Kv["list"];
  return counter;
}

Deno.test("[store:kv] a range reads only the index entries inside its bounds", async () => {
  const kv = await Deno.openKv(":memory:");
  const counter = countListReads(kv);
  const store = kvStoreOn(kv);
  try {
    await store.ensureSchema();
    // 1,000 sells resting at 1,000.00 to 1,999.00, as a book far from the quote.
    const ops: WriteOp[] = Array.from({ length: 1000 }, (_, n) => ({
      op: "insert",
      collection: "orders",
      doc: { _id: `o${n}`, clientOrderId: `o${n}`, watchKey: "K|sell|limit", watchPrice: 1000 + n },
    }));
    for (let n = 0; n < ops.length; n += 40) await store.commit(ops.slice(n, n + 40));

    const where = { watchKey: "K|sell|limit" };
    const reads = async (query: Omit<Query, "where" | "limit">) => {
      const before = counter.read;
      const page = await store.find<Doc>("orders", { where, limit: 200, ...query });
      return { items: page.items.length, read: counter.read - before };
    };
    const up = { field: "watchPrice", direction: 1 } as const;
    const down = { field: "watchPrice", direction: -1 } as const;
    // Nothing below the bid (a sell limit's range at a quote of 500): in either order.
    assert.deepEqual(await reads({ sort: up, range: { lt: 500 } }), { items: 0, read: 0 });
    assert.deepEqual(await reads({ sort: down, range: { lt: 500 } }), { items: 0, read: 0 });
    assert.deepEqual(await reads({ sort: up, range: { gte: 5000 } }), { items: 0, read: 0 });
    assert.deepEqual(await reads({ sort: down, range: { gte: 5000 } }), { items: 0, read: 0 });
    // Three inside, the rest outside on both sides: only the three are read.
    const three = { gte: 1500, lt: 1503 };
    assert.deepEqual(await reads({ sort: up, range: three }), { items: 3, read: 3 });
    assert.deepEqual(await reads({ sort: down, range: three }), { items: 3, read: 3 });
    // A full page reads one entry more, to know whether there is a next page.
    assert.deepEqual(await reads({ sort: up, range: { lt: 1500 } }), { items: 200, read: 201 });
  } finally {
    await store.close();
  }
});

Deno.test("[store:kv] a bound at zero holds -0 equal to 0, as MongoDB does", async () => {
  const store = await openKvStore(":memory:");
  try {
    await store.ensureSchema();
    const prices: [string, number][] = [["neg", -1], ["minus-zero", -0], ["zero", 0], ["pos", 1]];
    for (const [id, watchPrice] of prices) {
      await store.insert<Doc & Fields>("orders", {
        _id: id,
        clientOrderId: id,
        watchKey: "k",
        watchPrice,
      });
    }
    const ids = async (range: { gte?: number; lt?: number }) =>
      (await store.find<Doc>("orders", {
        where: { watchKey: "k" },
        sort: { field: "watchPrice", direction: 1 },
        range,
        limit: 10,
      })).items.map((d) => d._id);
    assert.deepEqual(await ids({ gte: 0 }), ["minus-zero", "zero", "pos"]);
    assert.deepEqual(await ids({ gte: -0 }), ["minus-zero", "zero", "pos"]);
    assert.deepEqual(await ids({ lt: 0 }), ["neg"]);
    assert.deepEqual(await ids({ lt: -0 }), ["neg"]);
  } finally {
    await store.close();
  }
});

/**
 * Another process that writes checked units to a KV file, one every millisecond or so (as busy as
 * another app instance under load, yet leaving room for this one), until killed.
 */
const RIVAL_WRITER = `
const kv = await Deno.openKv(Deno.args[0]);
await kv.set(["rival", "ready"], true);
for (let n = 0; ; n++) {
  try {
    const seen = await kv.get(["rival", "counter"]);
    await kv.atomic().check(seen).set(["rival", "counter"], n).commit();
  } catch {
    // Its own "database is locked" answers are not what is tested.
  }
  await new Promise((done) => setTimeout(done, 1));
}`;

Deno.test("[store:kv] a commit that races another process on the same file retries instead of failing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "orion-kv-rival-" });
  const path = `${dir}/orion.kv`;
  const store = await openKvStore(path);
  const rival = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--unstable-kv", RIVAL_WRITER, path],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await store.ensureSchema();
    const raw = await Deno.openKv(path);
    while (!(await raw.get(["rival", "ready"])).value) {
      await new Promise((done) => setTimeout(done, 20));
    }
    raw.close();
    // Without the retry, some of these fail at once with SQLite's "database is locked".
    const ids = Array.from({ length: 300 }, (_, n) => `key-${n}`);
    for (let n = 0; n < ids.length; n += 4) {
      await Promise.all(
        ids.slice(n, n + 4).map((id) =>
          store.commit([{
            op: "insert",
            collection: "idempotency_keys",
            doc: { _id: id, requestHash: "h", response: {}, createdAt: new Date() },
          }])
        ),
      );
    }
    const stored = await store.getMany("idempotency_keys", ids);
    assert.equal(stored.filter(Boolean).length, ids.length);
  } finally {
    rival.kill();
    await rival.status;
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
