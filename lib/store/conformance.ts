/**
 * The storage port's conformance suite: every backend must pass it unchanged.
 * `defineStoreConformance("kv", factory)` registers the tests for one backend.
 */
import assert from "node:assert/strict";
import {
  BadCursorError,
  ConflictError,
  type Doc,
  type Store,
  type StoreFactory,
  StoreUnavailableError,
} from "./port.ts";
import { COLLECTION_NAMES, indexName, SCHEMA } from "./schema.ts";

type User = Doc & { email: string; role: string; name?: string };
type Audit = Doc & { userId: string; action: string; at: Date };
type Watched = Doc & { watchKey: string; watchPrice: number };
/** A document's id and its value on the field a range test sorts by. */
type Entry<V> = { id: string; value: V };

/** Registers the conformance tests for one backend; each test gets a fresh, empty store. */
export function defineStoreConformance(backend: string, factory: StoreFactory): void {
  const test = (name: string, fn: (store: Store) => Promise<void>) =>
    Deno.test({
      name: `[store:${backend}] ${name}`,
      sanitizeResources: false,
      sanitizeOps: false,
      fn: async () => {
        const store = await factory();
        try {
          await store.ensureSchema();
          await fn(store);
        } finally {
          await store.close();
        }
      },
    });

  test("insert then get round-trips the document with an id and version 1", async (store) => {
    const at = new Date("2026-01-02T03:04:05.678Z");
    const made = await store.insert<Audit>("audit_logs", { userId: "u1", action: "x", at });
    assert.equal(typeof made._id, "string");
    assert.equal(made._v, 1);
    const read = await store.get<Audit>("audit_logs", made._id);
    assert.deepEqual(read, made);
    assert.ok(read!.at instanceof Date, "dates come back as dates");
    assert.equal(read!.at.getTime(), at.getTime());
    assert.deepEqual(await store.getMany("audit_logs", ["nope", made._id]), [null, made]);
  });

  test("an id or value of any length reads as absent, never as an error", async (store) => {
    const made = await store.insert<Audit>("audit_logs", {
      userId: "u1",
      action: "x",
      at: new Date(),
    });
    const long = "A".repeat(5000);
    assert.equal(await store.get("orders", long), null);
    assert.deepEqual(await store.getMany("audit_logs", [long, made._id, `${long}é`]), [
      null,
      made,
      null,
    ]);
    const page = await store.find("orders", { where: { accountId: long }, limit: 10 });
    assert.deepEqual(page, { items: [], nextCursor: null });
    assert.equal(await store.findOne("users", { email: long }), null);
    await assert.rejects(
      store.update<User>("users", long, { name: "x" }),
      (e) => e instanceof ConflictError,
    );
  });

  test("an insert with a taken id is refused", async (store) => {
    await store.insert<User>("users", { _id: "same", email: "a@x.test", role: "USER" });
    await assert.rejects(
      store.insert<User>("users", { _id: "same", email: "b@x.test", role: "USER" }),
      (e) => e instanceof ConflictError && e.reason === "exists",
    );
  });

  test("update sets fields, removes undefined ones and bumps the version", async (store) => {
    const u = await store.insert<User>("users", { email: "a@x.test", role: "USER", name: "A" });
    const next = await store.update<User>("users", u._id, { role: "ADMIN", name: undefined });
    assert.equal(next._v, 2);
    assert.equal(next.role, "ADMIN");
    assert.equal("name" in next, false);
    assert.deepEqual(await store.get("users", u._id), next);
    assert.equal((await store.findOne<User>("users", { role: "ADMIN" }))?._id, u._id);
    assert.equal(await store.findOne("users", { role: "USER" }), null, "old index entry is gone");
  });

  test("a stale version is refused and changes nothing", async (store) => {
    const u = await store.insert<User>("users", { email: "a@x.test", role: "USER" });
    await store.update<User>("users", u._id, { role: "DEMO" }, { ifVersion: 1 });
    await assert.rejects(
      store.update<User>("users", u._id, { role: "ADMIN" }, { ifVersion: 1 }),
      (e) => e instanceof ConflictError && e.reason === "version",
    );
    await assert.rejects(
      store.delete("users", u._id, { ifVersion: 1 }),
      (e) => e instanceof ConflictError && e.reason === "version",
    );
    assert.equal((await store.get<User>("users", u._id))?.role, "DEMO");
  });

  test("updating or deleting a missing document is a conflict", async (store) => {
    await assert.rejects(
      store.update("users", "ghost", { role: "X" }),
      (e) => e instanceof ConflictError && e.reason === "missing",
    );
    await assert.rejects(
      store.delete("users", "ghost"),
      (e) => e instanceof ConflictError && e.reason === "missing",
    );
  });

  test("delete removes the document and its index entries", async (store) => {
    const u = await store.insert<User>("users", { email: "a@x.test", role: "USER" });
    await store.delete("users", u._id, { ifVersion: 1 });
    assert.equal(await store.get("users", u._id), null);
    assert.equal(await store.findOne("users", { email: "a@x.test" }), null);
    await store.insert<User>("users", { email: "a@x.test", role: "USER" });
  });

  test("a unique index refuses a taken value on insert and update, and frees it on change", async (store) => {
    const a = await store.insert<User>("users", { email: "a@x.test", role: "USER" });
    const b = await store.insert<User>("users", { email: "b@x.test", role: "USER" });
    const isDuplicate = (e: unknown) =>
      e instanceof ConflictError && e.reason === "duplicate" && e.index === "email_1";
    await assert.rejects(
      store.insert<User>("users", { email: "a@x.test", role: "USER" }),
      isDuplicate,
    );
    await assert.rejects(store.update<User>("users", b._id, { email: "a@x.test" }), isDuplicate);
    await store.update<User>("users", a._id, { email: "c@x.test" });
    await store.update<User>("users", b._id, { email: "a@x.test" });
    assert.equal((await store.findOne<User>("users", { email: "a@x.test" }))?._id, b._id);
    assert.equal((await store.findOne<User>("users", { email: "c@x.test" }))?._id, a._id);
  });

  test("an atomic unit applies every operation or none", async (store) => {
    const u = await store.insert<User>("users", { email: "a@x.test", role: "USER" });
    await store.update<User>("users", u._id, { role: "DEMO" });
    await assert.rejects(
      store.commit([
        {
          op: "insert",
          collection: "audit_logs",
          doc: { userId: u._id, action: "y", at: new Date() },
        },
        { op: "update", collection: "users", id: u._id, set: { role: "ADMIN" }, ifVersion: 1 },
      ]),
      (e) => e instanceof ConflictError && e.reason === "version",
    );
    assert.equal(
      (await store.find("audit_logs", { where: { userId: u._id }, limit: 10 })).items.length,
      0,
    );
    await assert.rejects(
      store.commit([
        { op: "update", collection: "users", id: u._id, set: { role: "ADMIN" } },
        { op: "check", collection: "users", id: "ghost", version: 1 },
      ]),
      (e) => e instanceof ConflictError && e.reason === "missing",
    );
    assert.equal((await store.get<User>("users", u._id))?.role, "DEMO");
    const [audit, user] = await store.commit([
      {
        op: "insert",
        collection: "audit_logs",
        doc: { userId: u._id, action: "z", at: new Date() },
      },
      { op: "update", collection: "users", id: u._id, set: { role: "ADMIN" }, ifVersion: 2 },
    ]);
    assert.equal(audit?._v, 1);
    assert.equal((user as User).role, "ADMIN");
    assert.deepEqual(
      await store.commit([{ op: "check", collection: "users", id: u._id, version: 3 }]),
      [null],
    );
  });

  test("a check fails the unit when the checked document moved on", async (store) => {
    const u = await store.insert<User>("users", { email: "a@x.test", role: "USER" });
    await store.update<User>("users", u._id, { name: "moved" });
    await assert.rejects(
      store.commit([
        {
          op: "insert",
          collection: "audit_logs",
          doc: { userId: u._id, action: "c", at: new Date() },
        },
        { op: "check", collection: "users", id: u._id, version: 1 },
      ]),
      (e) => e instanceof ConflictError && e.reason === "version",
    );
    assert.equal(
      (await store.find("audit_logs", { where: { userId: u._id }, limit: 5 })).items.length,
      0,
    );
  });

  test("of concurrent commits from the same version exactly one wins", async (store) => {
    const u = await store.insert<User>("users", { email: "a@x.test", role: "USER" });
    const results = await Promise.allSettled(
      Array.from(
        { length: 20 },
        (_, n) => store.update<User>("users", u._id, { name: `writer ${n}` }, { ifVersion: 1 }),
      ),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    assert.equal(won.length, 1);
    for (const r of results) {
      if (r.status === "rejected") {
        assert.ok(r.reason instanceof ConflictError && r.reason.reason === "version");
      }
    }
    const final = await store.get<User>("users", u._id);
    assert.equal(final?._v, 2);
    assert.equal(final?.name, (won[0] as PromiseFulfilledResult<User>).value.name);
  });

  test("read-modify-write with retry on conflict loses no increment", async (store) => {
    const counter = await store.insert<Doc & { email: string; role: string; n: number }>("users", {
      email: "n@x.test",
      role: "USER",
      n: 0,
    });
    const increment = async () => {
      for (;;) {
        const doc = (await store.get<typeof counter>("users", counter._id))!;
        try {
          await store.update("users", doc._id, { n: doc.n + 1 }, { ifVersion: doc._v });
          return;
        } catch (e) {
          if (!(e instanceof ConflictError)) throw e;
        }
      }
    };
    await Promise.all(Array.from({ length: 25 }, increment));
    assert.equal((await store.get<typeof counter>("users", counter._id))?.n, 25);
  });

  test("of concurrent inserts of one unique value exactly one wins", async (store) => {
    const results = await Promise.allSettled(
      Array.from(
        { length: 10 },
        () => store.insert<User>("users", { email: "race@x.test", role: "USER" }),
      ),
    );
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    assert.equal(
      (await store.find("users", { where: { email: "race@x.test" }, limit: 10 })).items.length,
      1,
    );
  });

  test("find orders by the sort field, breaks ties by id, and pages by cursor", async (store) => {
    const base = Date.UTC(2026, 0, 1);
    for (let n = 0; n < 23; n++) {
      // Pairs of equal times exercise the tie-break.
      await store.insert<Audit>("audit_logs", {
        userId: "u1",
        action: "a",
        at: new Date(base + Math.floor(n / 2) * 1000),
      });
    }
    await store.insert<Audit>("audit_logs", { userId: "u2", action: "a", at: new Date(base) });
    const seen: Audit[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.find<Audit>("audit_logs", {
        where: { userId: "u1" },
        sort: { field: "at", direction: -1 },
        limit: 5,
        cursor,
      });
      seen.push(...page.items);
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    assert.equal(pages, 5);
    assert.equal(seen.length, 23);
    assert.equal(new Set(seen.map((d) => d._id)).size, 23);
    for (let i = 1; i < seen.length; i++) {
      const [prev, cur] = [seen[i - 1], seen[i]];
      const order = prev.at.getTime() - cur.at.getTime() || (prev._id > cur._id ? 1 : -1);
      assert.ok(order > 0, "descending by time, then by id");
    }
    const asc = await store.find<Audit>("audit_logs", {
      where: { userId: "u1" },
      sort: { field: "at", direction: 1 },
      limit: 100,
    });
    assert.deepEqual(asc.items.map((d) => d._id), seen.map((d) => d._id).reverse());
    assert.equal(asc.nextCursor, null);
  });

  test("paging stays stable while documents are added and removed", async (store) => {
    const base = Date.UTC(2026, 0, 1);
    const ids: string[] = [];
    for (let n = 0; n < 30; n++) {
      ids.push(
        (await store.insert<Audit>("audit_logs", {
          userId: "u1",
          action: "a",
          at: new Date(base + n * 1000),
        }))._id,
      );
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let round = 0;
    do {
      const page = await store.find<Audit>("audit_logs", {
        where: { userId: "u1" },
        sort: { field: "at", direction: -1 },
        limit: 7,
        cursor,
      });
      seen.push(...page.items.map((d) => d._id));
      cursor = page.nextCursor ?? undefined;
      // Newer rows land before the cursor; a row already seen is deleted: neither shifts the pages.
      await store.insert<Audit>("audit_logs", {
        userId: "u1",
        action: "new",
        at: new Date(base + 100_000 + round * 1000),
      });
      if (round === 1) await store.delete("audit_logs", ids[29]);
      round++;
    } while (cursor);
    assert.deepEqual(seen, [...ids].reverse());
  });

  test("range bounds the sort field", async (store) => {
    const base = Date.UTC(2026, 0, 1);
    for (let n = 0; n < 10; n++) {
      await store.insert<Audit>("audit_logs", {
        userId: "u1",
        action: "a",
        at: new Date(base + n * 1000),
      });
    }
    const range = { gte: new Date(base + 3000), lt: new Date(base + 7000) };
    for (const direction of [1, -1] as const) {
      const page = await store.find<Audit>("audit_logs", {
        where: { userId: "u1" },
        sort: { field: "at", direction },
        range,
        limit: 2,
      });
      const times = page.items.map((d) => d.at.getTime() - base);
      assert.deepEqual(times, direction === 1 ? [3000, 4000] : [6000, 5000]);
      const rest = await store.find<Audit>("audit_logs", {
        where: { userId: "u1" },
        sort: { field: "at", direction },
        range,
        limit: 10,
        cursor: page.nextCursor!,
      });
      assert.deepEqual(
        rest.items.map((d) => d.at.getTime() - base),
        direction === 1 ? [5000, 6000] : [4000, 3000],
      );
      assert.equal(rest.nextCursor, null);
    }
  });

  test("a numeric range is exact at its bounds, through ties and cursors, either way", async (store) => {
    // Two or three documents per value, so bounds and page breaks fall between ties on `_id`.
    const values = [-Number.MAX_VALUE, -1e15, -2.5, -1, 0, 0.5, 1, 2.5, 2 ** 53, Number.MAX_VALUE];
    const rows: Entry<number>[] = [];
    for (const [n, value] of values.entries()) {
      for (const tie of n % 2 ? ["a", "b"] : ["a", "b", "c"]) {
        rows.push({ id: `n${String(n).padStart(2, "0")}${tie}`, value });
      }
    }
    for (const { id, value } of rows) {
      await store.insert<Watched>("orders", order(id, { watchKey: "k", watchPrice: value }));
    }
    await store.insert<Watched>("orders", order("other", { watchKey: "j", watchPrice: 1 }));
    const bounds = [undefined, -Number.MAX_VALUE, -1e15, -1, 0, 1, 2 ** 53, Number.MAX_VALUE];
    for (const gte of [...bounds, 2]) {
      for (const lt of [...bounds, 3]) {
        await assertRangePages(store, { field: "watchKey", value: "k" }, "watchPrice", rows, {
          gte,
          lt,
        });
      }
    }
  });

  test("a string range is exact at its bounds, in code point order", async (store) => {
    // "\u{1F600}" sorts after "\uffff" by code point (and UTF-8 bytes), before it by UTF-16 units.
    const values = ["", "A", "AB", "B", "a", "a\u0000", "ab", "é", "\uffff", "\u{1F600}"];
    const rows: Entry<string>[] = [];
    for (const [n, value] of values.entries()) {
      for (const tie of ["a", "b"]) {
        rows.push({ id: `s${String(n).padStart(2, "0")}${tie}`, value });
      }
    }
    for (const { id, value } of rows) {
      await store.insert<Doc & { open: boolean; symbol: string }>(
        "orders",
        order(id, { open: true, symbol: value }),
      );
    }
    const bounds = [undefined, "", "A", "AB", "a", "a\u0000", "é", "\uffff", "\u{1F600}"];
    for (const gte of [...bounds, "Z"]) {
      for (const lt of [...bounds, "\u{10FFFF}"]) {
        await assertRangePages(store, { field: "open", value: true }, "symbol", rows, { gte, lt });
      }
    }
  });

  test("a cursor and a range together admit only what both admit", async (store) => {
    for (let n = 0; n < 10; n++) {
      await store.insert<Watched>("orders", order(`w${n}`, { watchKey: "k", watchPrice: n }));
    }
    const ids = (page: { items: Doc[] }) => page.items.map((d) => d._id);
    for (const direction of [1, -1] as const) {
      const sort = { field: "watchPrice", direction };
      const where = { watchKey: "k" };
      // A cursor taken without the range, used with one that starts or ends past it.
      const first = await store.find<Watched>("orders", { where, sort, limit: 2 });
      const range = direction === 1 ? { gte: 5, lt: 7 } : { gte: 3, lt: 5 };
      const next = await store.find<Watched>("orders", {
        where,
        sort,
        range,
        limit: 10,
        cursor: first.nextCursor!,
      });
      assert.deepEqual(ids(next), direction === 1 ? ["w5", "w6"] : ["w4", "w3"]);
      assert.equal(next.nextCursor, null);
      // A cursor already past the range's far end: nothing is left.
      const far = await store.find<Watched>("orders", { where, sort, limit: 8 });
      const past = await store.find<Watched>("orders", {
        where,
        sort,
        range: { gte: 3, lt: 6 },
        limit: 10,
        cursor: far.nextCursor!,
      });
      assert.deepEqual(past, { items: [], nextCursor: null });
    }
  });

  test("a range on the id bounds a scan by id, with paging", async (store) => {
    for (const id of ["a1", "a2", "b1", "b2", "b3", "c1"]) {
      await store.insert<User>("users", { _id: id, email: `${id}@x.test`, role: "USER" });
    }
    const sort = { field: "_id", direction: 1 } as const;
    const first = await store.find<User>("users", { sort, range: { lt: "b" }, limit: 1 });
    assert.deepEqual(first.items.map((u) => u._id), ["a1"]);
    const rest = await store.find<User>("users", {
      sort,
      range: { lt: "b" },
      limit: 10,
      cursor: first.nextCursor!,
    });
    assert.deepEqual(rest.items.map((u) => u._id), ["a2"]);
    const middle = await store.find<User>("users", {
      sort,
      range: { gte: "b", lt: "c" },
      limit: 10,
    });
    assert.deepEqual(middle.items.map((u) => u._id), ["b1", "b2", "b3"]);
  });

  test("a scan without a filter pages the whole collection by id", async (store) => {
    for (let n = 0; n < 12; n++) {
      await store.insert<User>("users", { email: `${n}@x.test`, role: "USER" });
    }
    const first = await store.find<User>("users", { limit: 5 });
    const second = await store.find<User>("users", { limit: 10, cursor: first.nextCursor! });
    const all = [...first.items, ...second.items].map((u) => u._id);
    assert.equal(all.length, 12);
    assert.deepEqual(all, [...all].sort());
  });

  test("a page of the largest size (1000) works", async (store) => {
    for (let n = 0; n < 3; n++) {
      await store.insert<User>("users", { email: `${n}@x.test`, role: "USER" });
    }
    assert.equal(
      (await store.find("users", { where: { role: "USER" }, limit: 1000 })).items.length,
      3,
    );
    assert.equal((await store.find("users", { limit: 1000 })).items.length, 3);
  });

  test("a query that no declared index serves is refused", async (store) => {
    await assert.rejects(
      store.find("users", { where: { name: "x" }, limit: 1 }),
      /no declared index/,
    );
  });

  test("a forged cursor is refused", async (store) => {
    await assert.rejects(
      store.find("audit_logs", {
        where: { userId: "u" },
        sort: { field: "at", direction: -1 },
        limit: 1,
        cursor: "bm9wZQ",
      }),
      BadCursorError,
    );
  });

  test("ensureSchema is idempotent and creates every declared collection and index", async (store) => {
    await store.ensureSchema();
    const schema = await store.describeSchema();
    for (const name of COLLECTION_NAMES) {
      assert.deepEqual(
        [...(schema[name] ?? [])].sort(),
        SCHEMA[name].map(indexName).sort(),
        `indexes of ${name}`,
      );
    }
  });

  test("ping answers while open and reports the store unavailable once closed", async (store) => {
    await store.ping();
    const other = await factory();
    await other.close();
    await assert.rejects(other.ping(), StoreUnavailableError);
  });
}

/** An order with just the fields a test sets; its own client order id keeps that unique index quiet. */
function order<F extends Record<string, unknown>>(id: string, fields: F) {
  return { _id: id, clientOrderId: id, ...fields };
}

/**
 * Pages through `range` on `sortField` (after equality on `where`) both ways and at several page
 * sizes, and checks each run against `rows` filtered and sorted here: by value (numbers by
 * magnitude, strings by code point), ties by id.
 */
async function assertRangePages<V extends number | string>(
  store: Store,
  where: { field: string; value: string | boolean },
  sortField: string,
  rows: Entry<V>[],
  range: { gte?: V; lt?: V },
): Promise<void> {
  const order = (a: Entry<V>, b: Entry<V>) =>
    compareValues(a.value, b.value) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const inRange = rows.filter(({ value }) =>
    (range.gte === undefined || compareValues(value, range.gte) >= 0) &&
    (range.lt === undefined || compareValues(value, range.lt) < 0)
  );
  const ascending = inRange.sort(order).map((r) => r.id);
  for (const direction of [1, -1] as const) {
    const expected = direction === 1 ? ascending : [...ascending].reverse();
    for (const limit of [1, 2, 1000]) {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.find<Doc>("orders", {
          where: { [where.field]: where.value },
          sort: { field: sortField, direction },
          range,
          limit,
          cursor,
        });
        const label = `${JSON.stringify(range)} ${direction} by ${limit} after ${seen.length}`;
        // Only a query that matches nothing has an empty page, and only a full page has a next.
        assert.ok(page.items.length > 0 || (seen.length === 0 && !page.nextCursor), label);
        if (page.nextCursor) assert.equal(page.items.length, limit, label);
        seen.push(...page.items.map((d) => d._id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      assert.deepEqual(seen, expected, `${JSON.stringify(range)} ${direction} by ${limit}`);
    }
  }
}

/** Numbers by magnitude; strings by code point, as UTF-8 bytes order them in both stores. */
function compareValues(a: number | string, b: number | string): number {
  if (typeof a === "number" || typeof b === "number") return (a as number) - (b as number);
  const [x, y] = [[...a].map((c) => c.codePointAt(0)!), [...b].map((c) => c.codePointAt(0)!)];
  for (let n = 0; n < Math.min(x.length, y.length); n++) if (x[n] !== y[n]) return x[n] - y[n];
  return x.length - y.length;
}
