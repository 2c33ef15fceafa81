/** Runs the storage conformance suite against MongoDB (MONGODB_URI) and tests what needs no server. */
import assert from "node:assert/strict";
import { BSON, MongoClient } from "mongodb";
import { defineStoreConformance } from "./conformance.ts";
import { openKvStore } from "./kv.ts";
import {
  decodeCursor,
  duplicateKeyConflict,
  encodeCursor,
  findSpec,
  helloSupport,
  mongoIndexKey,
  openMongoStore,
  planQuery,
  reconcileIndexes,
  transactionSupport,
} from "./mongo.ts";
import { BadCursorError, ConflictError, type Store, StoreUnavailableError } from "./port.ts";
import {
  COLLECTION_NAMES,
  type CollectionName,
  indexName,
  type IndexSpec,
  SCHEMA,
} from "./schema.ts";
import { loadConfig } from "../config.ts";
import { createLogger } from "../log.ts";
import { openStore } from "./open.ts";
import { NO_MONGODB, reportSkip } from "../../tests/support/skip_report.ts";

const MONGODB_URI = Deno.env.get("MONGODB_URI");
const quiet = createLogger("error", () => {});

if (MONGODB_URI) {
  defineStoreConformance("mongodb", () => openFreshDatabase(MONGODB_URI));

  Deno.test({
    name: "[store:mongodb] the server runs transactions and holds exactly the declared indexes",
    sanitizeResources: false,
    sanitizeOps: false,
    fn: () =>
      withFreshDatabase(MONGODB_URI, async (store, db) => {
        assert.equal((await transactionSupport(store)).ok, true, "CI runs a replica set");
        await store.ensureSchema();
        for (const name of COLLECTION_NAMES) {
          const indexes = await db.collection(name).listIndexes().toArray();
          const declared = (SCHEMA[name] as readonly IndexSpec[]).map((spec) => ({
            name: indexName(spec),
            key: mongoIndexKey(spec),
            unique: spec.unique === true,
          }));
          assert.deepEqual(
            indexes.filter((i) => i.name !== "_id_")
              .map((i) => ({ name: i.name, key: i.key, unique: i.unique === true }))
              .sort((a, b) => a.name.localeCompare(b.name)),
            declared.sort((a, b) => a.name.localeCompare(b.name)),
            `indexes of ${name}`,
          );
        }
      }),
  });

  Deno.test({
    name: "[store:mongodb] ensureSchema rebuilds a changed index and drops an undeclared one",
    sanitizeResources: false,
    sanitizeOps: false,
    fn: () =>
      withFreshDatabase(MONGODB_URI, async (store, db) => {
        await db.collection("users").createIndex({ role: 1 }, { name: "role_1" });
        await db.collection("users").createIndex({ name: 1 }, { name: "name_1" });
        await store.ensureSchema();
        const indexes = await db.collection("users").listIndexes().toArray();
        assert.deepEqual(indexes.map((i) => i.name).sort(), [
          "_id_",
          "email_1",
          "role_1",
          "weeklyStatement_1",
        ]);
        assert.deepEqual(indexes.find((i) => i.name === "role_1")?.key, { role: 1, _id: 1 });
      }),
  });

  Deno.test({
    name: "[store:mongodb] a page sorted by an indexed field and its id needs no in-memory sort",
    sanitizeResources: false,
    sanitizeOps: false,
    fn: () =>
      withFreshDatabase(MONGODB_URI, async (store, db) => {
        await store.ensureSchema();
        const plan = planQuery("audit_logs", { userId: "u1" }, "at");
        for (const direction of [1, -1] as const) {
          const spec = findSpec(plan, { sort: { field: "at", direction } }, undefined);
          const explained = await db.collection("audit_logs")
            .find(spec.filter!, { sort: spec.sort, limit: 11 })
            .explain("queryPlanner");
          const winning = JSON.stringify(explained.queryPlanner.winningPlan);
          assert.ok(!winning.includes('"stage":"SORT"'), winning);
        }
      }),
  });
} else {
  reportSkip(import.meta.url, NO_MONGODB);
  Deno.test({
    name:
      "[store:mongodb] SKIPPED: MONGODB_URI is not set — the MongoDB conformance suite did not run",
    ignore: true,
    fn() {},
  });
}

/** A store on a database of its own, dropped when the store is closed. */
async function openFreshDatabase(uri: string): Promise<Store> {
  const name = `orion_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const store = await openMongoStore({ uri, db: name, log: quiet });
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      const admin = new MongoClient(uri);
      try {
        await admin.db(name).dropDatabase();
      } finally {
        await admin.close();
        await store.close();
      }
    })();
  return new Proxy(store, {
    get(target, property) {
      if (property === "close") return close;
      const value = Reflect.get(target, property, target);
      // The store's private fields need the store itself as `this`, not the proxy.
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function withFreshDatabase(
  uri: string,
  fn: (store: Store, db: ReturnType<MongoClient["db"]>) => Promise<void>,
): Promise<void> {
  const name = `orion_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const client = new MongoClient(uri);
  const store = await openMongoStore({ uri, db: name, log: quiet });
  try {
    await fn(store, client.db(name));
  } finally {
    await client.db(name).dropDatabase();
    await client.close();
    await store.close();
  }
}

// What follows needs no MongoDB server.

Deno.test("[store:mongodb] queries are planned on the index KV would use, or refused as KV refuses them", async () => {
  assert.deepEqual(planQuery("users", {}, undefined), { index: "_id_", order: ["_id"], where: {} });
  assert.deepEqual(planQuery("users", { email: "a@x.test" }).order, [], "unique and fixed");
  assert.deepEqual(planQuery("users", {}, "email"), {
    index: "email_1",
    order: ["email"],
    where: {},
  });
  assert.deepEqual(planQuery("orders", { userId: "u" }, "placedAt"), {
    index: "userId_1_placedAt_-1",
    order: ["placedAt", "_id"],
    where: { userId: "u" },
  });
  assert.deepEqual(planQuery("positions", { userId: "u", symbol: "X" }).order, ["status", "_id"]);
  assert.throws(() => planQuery("users", { name: "x" }), /no declared index on users/);
  assert.throws(() => planQuery("orders", { userId: "u" }, "symbol"), /no declared index/);

  // Every query shape over every collection: KV and MongoDB accept and refuse the same ones, and
  // the order the plan names is the order in which KV returns the documents.
  const kv = await openKvStore(":memory:");
  try {
    await kv.ensureSchema();
    for (const collection of COLLECTION_NAMES) {
      const docs = await seed(kv, collection);
      const fields = indexedFields(collection);
      const wheres = [[], ...fields.map((f) => [f]), ...pairs(fields)];
      for (const whereFields of wheres) {
        for (const sortField of [undefined, "_id", ...fields]) {
          for (const direction of [1, -1] as const) {
            const where = Object.fromEntries(whereFields.map((f) => [f, valueFor(collection, f)]));
            const query = {
              where,
              sort: sortField === undefined ? undefined : { field: sortField, direction },
              limit: 1000,
            };
            const label = `${collection} where ${whereFields} sort ${sortField} ${direction}`;
            let kvIds: string[] | Error;
            try {
              kvIds = (await kv.find(collection, query)).items.map((d) => d._id);
            } catch (error) {
              kvIds = error as Error;
            }
            let plan;
            try {
              plan = planQuery(collection, where, sortField);
            } catch (error) {
              assert.ok(kvIds instanceof Error, `${label}: KV answers, MongoDB refuses`);
              assert.equal((error as Error).message, kvIds.message, label);
              continue;
            }
            assert.ok(!(kvIds instanceof Error), `${label}: MongoDB answers, KV refuses`);
            const sortDirection = query.sort?.direction === -1 ? -1 : 1;
            const expected = docs
              .filter((d) => whereFields.every((f) => (d[f] ?? null) === where[f]))
              .sort((a, b) => sortDirection * compareBy(plan.order, a, b))
              .map((d) => d._id);
            assert.deepEqual(kvIds, plan.order.length ? expected : expected.slice(0, 1), label);
          }
        }
      }
    }
  } finally {
    await kv.close();
  }
});

Deno.test("[store:mongodb] a page's filter and sort follow the plan, the range and the cursor", () => {
  const plan = planQuery("audit_logs", { userId: "u1" }, "at");
  const at = new Date("2026-01-02T03:04:05.678Z");
  const range = { gte: new Date(0), lt: at };
  assert.deepEqual(findSpec(plan, { sort: { field: "at", direction: -1 }, range }, undefined), {
    filter: { userId: "u1", at: { $gte: new Date(0), $lt: at } },
    sort: { at: -1, _id: -1 },
  });
  assert.deepEqual(findSpec(plan, { sort: { field: "at", direction: 1 } }, [at, "id9"]), {
    filter: { userId: "u1", $or: [{ at: { $gt: at } }, { at, _id: { $gt: "id9" } }] },
    sort: { at: 1, _id: 1 },
  });
  assert.deepEqual(
    findSpec(plan, { sort: { field: "at", direction: -1 } }, [at, "id9"]).filter,
    {
      userId: "u1",
      $or: [
        { $or: [{ at: { $lt: at } }, { at: null }] },
        { at, _id: { $lt: "id9" } },
      ],
    },
    "documents without a value come last when descending",
  );
  assert.deepEqual(
    findSpec(plan, { sort: { field: "at", direction: 1 } }, [null, "id9"]).filter,
    { userId: "u1", $or: [{ at: { $ne: null } }, { at: null, _id: { $gt: "id9" } }] },
  );
  assert.equal(findSpec(plan, { range: { lt: null } }, undefined).filter, null);
  assert.deepEqual(
    findSpec(planQuery("users", { role: null }), {}, undefined).filter,
    { role: null },
  );
  assert.throws(
    () => findSpec(planQuery("users", { role: {} as never }), {}, undefined),
    /role: object values cannot be indexed/,
  );
});

Deno.test("[store:mongodb] a cursor round-trips its values and types; a forged one is refused", () => {
  const order = ["at", "open", "n", "s", "_id"];
  const last = { at: new Date("2026-01-02T03:04:05.678Z"), open: true, n: -1.5, _id: "01ABC" };
  const cursor = encodeCursor(order, last);
  assert.match(cursor, /^[A-Za-z0-9_-]+$/, "URL-safe");
  const values = decodeCursor(cursor, order);
  assert.deepEqual(values, [last.at, true, -1.5, null, "01ABC"]);
  assert.ok(values[0] instanceof Date, "a date comes back as a date, not a string or a number");
  // Text beyond Latin-1 (which base64 alone cannot take) comes back as it was.
  const text = { ...last, s: "é\uffff\u{1F600}\u0000" };
  const wide = encodeCursor(order, text);
  assert.match(wide, /^[A-Za-z0-9_-]+$/, "URL-safe");
  assert.deepEqual(decodeCursor(wide, order), [last.at, true, -1.5, text.s, "01ABC"]);

  const forge = (parts: unknown) =>
    btoa(JSON.stringify(parts)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  const forged = [
    "bm9wZQ",
    "%%%",
    forge({ at: 1 }),
    forge([1, "id"]),
    forge([{ $date: 0 }, true, 1, null, 5]),
    forge([{ $date: "0" }, true, 1, null, "id"]),
    forge([{ $date: 0, x: 1 }, true, 1, null, "id"]),
    forge([[1], true, 1, null, "id"]),
    forge([{ $date: 1e300 }, true, 1, null, "id"]),
  ];
  for (const bad of forged) assert.throws(() => decodeCursor(bad, order), BadCursorError, bad);
});

Deno.test("[store:mongodb] duplicate-key errors become the conflict KV reports, naming the index", () => {
  const emailTaken = {
    code: 11000,
    keyPattern: { email: 1 },
    keyValue: { email: "a@x.test" },
    errmsg:
      'E11000 duplicate key error collection: orion.users index: email_1 dup key: { email: "a@x.test" }',
  };
  const duplicate = duplicateKeyConflict(emailTaken, "users", "u1");
  assert.ok(duplicate instanceof ConflictError);
  assert.deepEqual(
    [duplicate.reason, duplicate.collection, duplicate.id, duplicate.index],
    ["duplicate", "users", "u1", "email_1"],
  );

  const idTaken = {
    code: 11000,
    keyPattern: { _id: 1 },
    keyValue: { _id: "u1" },
    errmsg: 'E11000 duplicate key error collection: orion.users index: _id_ dup key: { _id: "u1" }',
  };
  assert.equal(duplicateKeyConflict(idTaken, "users", "u1")?.reason, "exists");

  const fromFindAndModify = {
    code: 11000,
    message: "Plan executor error during findAndModify :: caused by :: E11000 duplicate key " +
      'error collection: orion.orders index: accountId_1_clientOrderId_1 dup key: { accountId: "a" }',
  };
  assert.equal(
    duplicateKeyConflict(fromFindAndModify, "orders", "o1")?.index,
    "accountId_1_clientOrderId_1",
  );
  const patternOnly = { code: 11000, keyPattern: { accountId: 1, clientOrderId: 1 } };
  assert.equal(
    duplicateKeyConflict(patternOnly, "orders", "o1")?.index,
    "accountId_1_clientOrderId_1",
  );
  assert.equal(
    duplicateKeyConflict({ code: 11000, keyPattern: { _id: 1 } }, "users", "u")?.reason,
    "exists",
  );

  assert.equal(duplicateKeyConflict({ code: 112, errmsg: "WriteConflict" }, "users", "u"), null);
  assert.equal(duplicateKeyConflict(new Error("E11000"), "users", "u"), null);
});

Deno.test("[store:mongodb] indexes are reconciled to exactly the declared ones, never touching _id_", () => {
  const declared = (SCHEMA.users as readonly IndexSpec[]).map((spec) => ({
    name: indexName(spec),
    spec,
  }));
  assert.deepEqual(mongoIndexKey({ fields: { userId: 1, at: -1 } }), {
    userId: 1,
    at: -1,
    _id: -1,
  });
  assert.deepEqual(mongoIndexKey({ fields: { email: 1 }, unique: true }), { email: 1 });

  const fresh = reconcileIndexes(declared, [{ name: "_id_", key: { _id: 1 } }]);
  assert.deepEqual(fresh, {
    drop: [],
    create: [
      { key: { email: 1 }, name: "email_1", unique: true },
      { key: { role: 1, _id: 1 }, name: "role_1" },
      { key: { weeklyStatement: 1, _id: 1 }, name: "weeklyStatement_1" },
    ],
  });
  const current = [
    { name: "_id_", key: { _id: 1 } },
    { name: "email_1", key: { email: 1 }, unique: true },
    { name: "role_1", key: { role: 1, _id: 1 } },
    { name: "weeklyStatement_1", key: { weeklyStatement: 1, _id: 1 } },
  ];
  assert.deepEqual(reconcileIndexes(declared, current), { drop: [], create: [] });
  assert.deepEqual(
    reconcileIndexes(declared, [
      { name: "_id_", key: { _id: 1 } },
      { name: "email_1", key: { email: 1 } },
      { name: "role_1", key: { role: 1 } },
      { name: "name_1", key: { name: 1 } },
    ]),
    {
      drop: ["email_1", "role_1", "name_1"],
      create: [
        { key: { email: 1 }, name: "email_1", unique: true },
        { key: { role: 1, _id: 1 }, name: "role_1" },
        { key: { weeklyStatement: 1, _id: 1 }, name: "weeklyStatement_1" },
      ],
    },
  );
});

Deno.test("[store:mongodb] transaction support is read from hello", () => {
  assert.equal(helloSupport({ setName: "rs0", isWritablePrimary: true }).ok, true);
  assert.equal(helloSupport({ msg: "isdbgrid" }).ok, true);
  const standalone = helloSupport({ isWritablePrimary: true });
  assert.equal(standalone.ok, false);
  assert.match(standalone.detail, /replica set/);
});

Deno.test({
  name:
    "[store:mongodb] with no server, opening fails as unavailable; an outage is logged once and the store recovers",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const port = freePort();
    const uri = `mongodb://127.0.0.1:${port}/?directConnection=true`;
    const lines: string[] = [];
    const log = createLogger("info", (line) => lines.push(line));
    const timeout = { serverSelectionTimeoutMs: 500 };
    await assert.rejects(openMongoStore({ uri, db: "t", log, ...timeout }), StoreUnavailableError);

    let server = serveHello(port, HELLO);
    const store = await openMongoStore({ uri, db: "t", log, ...timeout });
    try {
      await store.ping();
      assert.deepEqual(await transactionSupport(store), helloSupport(HELLO));
      await server.close();
      for (let n = 0; n < 3; n++) await assert.rejects(store.ping(), StoreUnavailableError);
      const messages = () => lines.map((line) => JSON.parse(line).msg as string);
      assert.deepEqual(messages(), [
        "MongoDB is unreachable; store calls fail until it answers again",
      ]);
      server = serveHello(port, HELLO);
      // The driver finds the server again on its own schedule (a heartbeat, then a selection of
      // at most 500 ms): a busy machine may need a few tries, which must each fail cleanly.
      for (let attempt = 1;; attempt++) {
        try {
          await store.ping();
          break;
        } catch (error) {
          if (!(error instanceof StoreUnavailableError) || attempt === 20) throw error;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
      assert.deepEqual(messages().slice(1), ["MongoDB answers again"]);
    } finally {
      await store.close();
      await store.close();
      await server.close();
    }
    await assert.rejects(store.ping(), StoreUnavailableError);
  },
});

Deno.test({
  name: "[store:mongodb] openStore refuses a standalone server, which cannot run transactions",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const port = freePort();
    const server = serveHello(port, HELLO);
    try {
      const config = loadConfig({
        NODE_ENV: "test",
        MONGODB_URI: `mongodb://127.0.0.1:${port}/?directConnection=true`,
      });
      await assert.rejects(openStore(config, quiet), /MONGODB_URI: standalone server/);
    } finally {
      await server.close();
    }
  },
});

/** What a standalone mongod 7 says about itself, as much as the driver needs to use it. */
const HELLO = {
  helloOk: true,
  isWritablePrimary: true,
  maxBsonObjectSize: 16 * 1024 * 1024,
  maxMessageSizeBytes: 48_000_000,
  maxWriteBatchSize: 100_000,
  logicalSessionTimeoutMinutes: 30,
  connectionId: 1,
  minWireVersion: 0,
  maxWireVersion: 21,
  readOnly: false,
};

/**
 * A stand-in for a server that answers the handshake, `hello` and `ping` over the wire protocol
 * (OP_QUERY for the first handshake, OP_MSG after it): enough for the driver to connect, lose the
 * server and find it again, which a real server in CI cannot be made to do on cue.
 */
function serveHello(port: number, hello: Record<string, unknown>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const conns = new Set<Deno.Conn>();
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      answer(conn, hello).catch(() => {}).finally(() => conns.delete(conn));
    }
  })().catch(() => {});
  return {
    async close() {
      listener.close();
      for (const conn of conns) conn.close();
      await accepting;
    },
  };
}

async function answer(conn: Deno.Conn, hello: Record<string, unknown>): Promise<void> {
  for (let replyId = 1;; replyId++) {
    const header = await readFull(conn, 16);
    if (!header) return;
    const head = new DataView(header.buffer);
    const body = await readFull(conn, head.getInt32(0, true) - 16);
    if (!body) return;
    const legacy = head.getInt32(12, true) === 2004;
    // OP_QUERY: flags, collection name (a C string), skip, limit, then the command document.
    const start = legacy ? body.indexOf(0, 4) + 1 + 8 : 5;
    const command = BSON.deserialize(body.subarray(start));
    const name = Object.keys(command)[0];
    const reply = BSON.serialize(
      ["hello", "ismaster", "isMaster"].includes(name)
        ? { ...hello, localTime: new Date(), ok: 1 }
        : ["ping", "endSessions"].includes(name)
        ? { ok: 1 }
        : { ok: 0, code: 59, errmsg: `no such command: ${name}` },
    );
    const prefix = legacy ? 20 : 5;
    const message = new Uint8Array(16 + prefix + reply.length);
    const out = new DataView(message.buffer);
    out.setInt32(0, message.length, true);
    out.setInt32(4, replyId, true);
    out.setInt32(8, head.getInt32(4, true), true);
    out.setInt32(12, legacy ? 1 : 2013, true);
    // OP_REPLY: flags, cursor id, starting from, number returned (1); OP_MSG: flags, section kind 0.
    if (legacy) out.setInt32(32, 1, true);
    message.set(reply, 16 + prefix);
    await conn.write(message);
  }
}

async function readFull(conn: Deno.Conn, length: number): Promise<Uint8Array | null> {
  const buffer = new Uint8Array(length);
  for (let got = 0; got < length;) {
    const n = await conn.read(buffer.subarray(got));
    if (n === null) return null;
    got += n;
  }
  return buffer;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

type Seeded = { _id: string; [field: string]: string | null | undefined };

/** Documents whose indexed fields take few values (so where and ties are exercised), unique ones distinct. */
async function seed(kv: Store, collection: CollectionName): Promise<Seeded[]> {
  const docs: Seeded[] = [];
  for (let n = 0; n < 24; n++) {
    const doc: Record<string, string> = {};
    indexedFields(collection).forEach((field, i) => {
      if (uniqueFields(collection).has(field)) doc[field] = `${field}-${n}`;
      else if ((n + i) % 6 !== 0) doc[field] = (n * 7 + i * 3) % 5 < 2 ? "a" : "b";
    });
    docs.push(await kv.insert(collection, doc) as unknown as Seeded);
  }
  return docs;
}

function indexedFields(collection: CollectionName): string[] {
  return [
    ...new Set((SCHEMA[collection] as readonly IndexSpec[]).flatMap((s) => Object.keys(s.fields))),
  ];
}

function uniqueFields(collection: CollectionName): Set<string> {
  return new Set(
    (SCHEMA[collection] as readonly IndexSpec[]).filter((s) => s.unique).flatMap((s) =>
      Object.keys(s.fields)
    ),
  );
}

function valueFor(collection: CollectionName, field: string): string {
  return uniqueFields(collection).has(field) ? `${field}-3` : "a";
}

function pairs(fields: string[]): string[][] {
  return fields.flatMap((a, i) => fields.slice(i + 1).map((b) => [a, b]));
}

/** KV's order: null (or missing) first, then strings in code-unit order, field by field. */
function compareBy(order: string[], a: Seeded, b: Seeded): number {
  for (const field of order) {
    const [x, y] = [a[field] ?? null, b[field] ?? null];
    if (x === y) continue;
    if (x === null) return -1;
    if (y === null) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}
