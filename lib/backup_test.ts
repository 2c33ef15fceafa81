/** Tests of backup and restore: a real trading session round-trips, and damaged backups are refused before any write. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { testApi as api, testApp } from "../routes/testing.ts";
import { BackupError, backupStore, type Manifest, restoreStore } from "./backup.ts";
import { openKvStore } from "./store/kv.ts";
import type { Doc, Fields, Store, WriteOp } from "./store/port.ts";
import { COLLECTION_NAMES, type CollectionName } from "./store/schema.ts";
import { checkIntegrity } from "./trading/integrity.ts";
import { runExecutionPass } from "./trading/worker.ts";

const NOW = new Date("2031-03-14T15:09:26.535Z");
type App = Awaited<ReturnType<typeof testApp>>;
type Dump = Record<CollectionName, (Doc & Fields)[]>;

/** Two verified traders with fills, a resting limit order, a cancel, a worker fill and a watchlist. */
async function scenario(t: App) {
  const ada = await api(t).trader("ada@example.com");
  const bob = await api(t).trader("bob@example.com");
  await api(t).order(ada.cookie, { symbol: "INTC", side: "buy", qty: 10 });
  await api(t).order(ada.cookie, { symbol: "INTC", side: "sell", qty: 3 });
  await api(t).order(ada.cookie, {
    symbol: "CSCO",
    side: "buy",
    type: "limit",
    limitPrice: "1.00",
    qty: 2,
    timeInForce: "gtc",
  });
  const cancelled = await api(t).order(ada.cookie, {
    symbol: "NFLX",
    side: "buy",
    type: "limit",
    limitPrice: "1.00",
    qty: 1,
  });
  await api(t).call(`/api/orders/${cancelled.id}`, { method: "DELETE", cookie: ada.cookie });
  await api(t).order(bob.cookie, {
    symbol: "BTC/USD",
    side: "buy",
    qty: "0.0105",
    timeInForce: "gtc",
  });
  const resting = await api(t).order(bob.cookie, {
    symbol: "DIS",
    side: "buy",
    type: "limit",
    limitPrice: "1.00",
    qty: 1,
    timeInForce: "gtc",
  });
  // Replaced at a marketable price, it is left for the worker pass to fill.
  await api(t).call(`/api/orders/${resting.id}`, {
    method: "PATCH",
    cookie: bob.cookie,
    body: { limitPrice: "5000" },
  });
  assert.equal((await runExecutionPass(t.deps.trading, new Date())).filled, 1);
  const { watchlists } = await api(t).call("/api/watchlists", { cookie: ada.cookie });
  await api(t).call(`/api/watchlists/${watchlists[0].id}/symbols`, {
    cookie: ada.cookie,
    body: { symbol: "INTC" },
  });
}

/** Every document of every collection, in `_id` order. */
async function dump(store: Store): Promise<Dump> {
  const all = {} as Dump;
  for (const collection of COLLECTION_NAMES) {
    all[collection] = [];
    let cursor: string | undefined;
    do {
      const page = await store.find<Doc & Fields>(collection, { limit: 500, cursor });
      all[collection].push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    all[collection].sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
  }
  return all;
}

function withoutVersions(all: Dump) {
  return Object.fromEntries(
    Object.entries(all).map(([name, docs]) => [name, docs.map(({ _v, ...doc }) => doc)]),
  );
}

async function emptyStore(path = ":memory:"): Promise<Store & AsyncDisposable> {
  const store = await openKvStore(path);
  await store.ensureSchema();
  return Object.assign(store, { [Symbol.asyncDispose]: () => store.close() });
}

async function assertEmpty(store: Store) {
  for (const collection of COLLECTION_NAMES) {
    assert.equal((await store.find(collection, { limit: 1 })).items.length, 0, collection);
  }
}

let golden: Promise<{ dir: string; source: Dump; manifest: Manifest }> | undefined;

/** The scenario backed up once; tests copy the directory before damaging it. */
function goldenBackup() {
  golden ??= (async () => {
    await using t = await testApp();
    await scenario(t);
    const dir = `${await Deno.makeTempDir()}/backup`;
    const manifest = await backupStore(t.deps.store, dir, { now: NOW, version: "test" });
    return { dir, source: await dump(t.deps.store), manifest };
  })();
  return golden;
}

async function copyDir(from: string): Promise<string> {
  const to = await Deno.makeTempDir();
  for await (const entry of Deno.readDir(from)) {
    await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
  return to;
}

async function editManifest(dir: string, edit: (manifest: Manifest) => void) {
  const manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
  edit(manifest);
  await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(manifest));
}

/** Rewrites a collection's file and, like a careful forger, its count and hash in the manifest. */
async function forge(dir: string, collection: CollectionName, edit: (text: string) => string) {
  const text = edit(await Deno.readTextFile(`${dir}/${collection}.jsonl`));
  await Deno.writeTextFile(`${dir}/${collection}.jsonl`, text);
  await editManifest(dir, (manifest) => {
    manifest.collections[collection] = {
      file: `${collection}.jsonl`,
      count: text.split("\n").filter(Boolean).length,
      sha256: createHash("sha256").update(text).digest("hex"),
    };
  });
}

Deno.test("[backup] a trading session round-trips into a fresh store: same documents, dates and invariants", async () => {
  const { dir, source, manifest } = await goldenBackup();
  assert.equal(manifest.format, "orion-backup/1");
  assert.equal(manifest.createdAt, NOW.toISOString());
  assert.equal(manifest.appVersion, "test");
  assert.equal(manifest.backend, "kv");
  assert.deepEqual(Object.keys(manifest.collections), COLLECTION_NAMES);
  for (const collection of COLLECTION_NAMES) {
    const entry = manifest.collections[collection]!;
    const bytes = await Deno.readFile(`${dir}/${entry.file}`);
    assert.equal(entry.count, source[collection].length, collection);
    assert.equal(entry.sha256, createHash("sha256").update(bytes).digest("hex"), collection);
  }
  assert.equal(source.users.length, 2);
  assert.ok(source.users.every((u) => u.emailVerifiedAt instanceof Date), "both verified");
  for (const collection of ["sessions", "orders", "trades", "positions", "watchlist"] as const) {
    assert.ok(source[collection].length > 0, `the scenario writes ${collection}`);
  }
  assert.ok(source.accounts.some((a) => a._v > 1), "some versions are above 1 before the backup");
  const [firstUser] = (await Deno.readTextFile(`${dir}/users.jsonl`)).split("\n");
  assert.match(JSON.parse(firstUser).createdAt.$date, /^\d{4}-\d\d-\d\dT/);
  assert.equal(typeof JSON.parse(firstUser)._v, "number", "the file keeps _v");

  await using restored = await emptyStore();
  const report = await restoreStore(restored, dir);
  assert.equal(report.total, Object.values(source).reduce((n, docs) => n + docs.length, 0));
  assert.equal(report.wiped, 0);
  assert.equal(report.versions, "reset");
  assert.equal(report.collections.orders, source.orders.length);

  const after = await dump(restored);
  assert.deepStrictEqual(withoutVersions(after), withoutVersions(source));
  assert.ok(Object.values(after).flat().every((doc) => doc._v === 1));
  assert.ok(after.orders.every((o) => o.placedAt instanceof Date), "dates come back as Dates");
  const integrity = await checkIntegrity(restored);
  assert.deepEqual(integrity.problems, []);
  assert.deepEqual(integrity.warnings, []);
  assert.equal(integrity.users, 2);
});

Deno.test("[backup] a user signs in and trades on an app built over the restored store", async () => {
  const { dir, source } = await goldenBackup();
  const kvPath = `${await Deno.makeTempDir()}/orion.kv`;
  {
    await using store = await emptyStore(kvPath);
    await restoreStore(store, dir);
  }
  await using t = await testApp({ KV_PATH: kvPath });
  const ada = await api(t).signIn("ada@example.com");
  const user = source.users.find((u) => u.email === "ada@example.com")!;
  assert.equal(ada.accountId, source.accounts.find((a) => a.userId === user._id)?._id);
  // The first write after a restore goes through the version checks from _v 1.
  const placed = await api(t).order(ada.cookie, { symbol: "INTC", side: "buy", qty: 1 });
  assert.equal(placed.status, "filled");
  const { watchlists } = await api(t).call("/api/watchlists", { cookie: ada.cookie });
  assert.ok(watchlists[0].symbols.includes("INTC"));
  assert.deepEqual((await checkIntegrity(t.deps.store)).problems, []);
});

Deno.test("[backup] a non-empty target is refused without force, and replaced (not merged) with force", async () => {
  const { dir, source } = await goldenBackup();
  await using target = await emptyStore();
  // Ada's email under another id: only a wipe before the inserts lets the unique index pass.
  await target.commit([
    { op: "insert", collection: "users", doc: { _id: "01STRAY", email: "ada@example.com" } },
    { op: "insert", collection: "watchlist", doc: { _id: "01STRAY:default", userId: "01STRAY" } },
  ]);
  await assert.rejects(
    restoreStore(target, dir),
    (error: Error) =>
      error instanceof BackupError &&
      /target store is not empty \(documents in users, watchlist\)/.test(error.message),
  );
  assert.equal((await dump(target)).users.length, 1, "nothing was written or deleted");

  const wiped: CollectionName[][] = [];
  const report = await restoreStore(target, dir, { force: true, onWipe: (c) => wiped.push(c) });
  assert.deepEqual(wiped, [["users", "watchlist"]]);
  assert.equal(report.wiped, 2);
  assert.deepStrictEqual(withoutVersions(await dump(target)), withoutVersions(source));
});

Deno.test("[backup] a miscounted, tampered, corrupt or incomplete backup is refused before any write", async () => {
  const { dir } = await goldenBackup();
  const cases: [string, (copy: string) => Promise<unknown>, RegExp][] = [
    [
      "a wrong count",
      (copy) => editManifest(copy, (m) => m.collections.users!.count++),
      /^users\.jsonl \(users\) holds 2 documents but the manifest says 3; nothing was restored$/,
    ],
    [
      "a tampered line",
      async (copy) => {
        const text = await Deno.readTextFile(`${copy}/orders.jsonl`);
        assert.ok(text.includes('"cancelled"'));
        await Deno.writeTextFile(`${copy}/orders.jsonl`, text.replace('"cancelled"', '"filled"'));
      },
      /^orders\.jsonl \(orders\) has sha256 [0-9a-f]{64} but the manifest says [0-9a-f]{64}: it was changed/,
    ],
    [
      "a truncated file",
      async (copy) => {
        const text = await Deno.readTextFile(`${copy}/trades.jsonl`);
        await Deno.writeTextFile(`${copy}/trades.jsonl`, text.slice(0, text.length - 20));
      },
      /^trades\.jsonl \(trades\) (holds|has sha256)/,
    ],
    [
      "a missing file",
      (copy) => Deno.remove(`${copy}/cash_ledger.jsonl`),
      /^cash_ledger\.jsonl is missing from .*; nothing was restored$/,
    ],
    [
      "a corrupt line with a forged count and hash",
      (copy) => forge(copy, "watchlist", (text) => text.replace(/^[^\n]*/, "{not json")),
      /^watchlist\.jsonl \(watchlist\) is corrupt at line 1: /,
    ],
    [
      "an encoded value this format does not write",
      (copy) => forge(copy, "watchlist", (text) => text.replace(/\{"\$date":/, '{"$regex":')),
      /^watchlist\.jsonl \(watchlist\) is corrupt at line 1: \{"\$regex"/,
    ],
    [
      "no manifest",
      (copy) => Deno.remove(`${copy}/manifest.json`),
      /has no manifest\.json: not a backup, or one that did not finish/,
    ],
    [
      "another format",
      (copy) => editManifest(copy, (m) => (m as { format: string }).format = "orion-backup/2"),
      /format is "orion-backup\/2", expected "orion-backup\/1"/,
    ],
    [
      "a file outside the backup",
      (copy) => editManifest(copy, (m) => m.collections.users!.file = "../users.jsonl"),
      /the entry of users needs file "users\.jsonl"/,
    ],
    [
      "an undeclared collection",
      (copy) =>
        editManifest(copy, (m) => {
          (m.collections as Record<string, unknown>).ghosts = m.collections.users;
        }),
      /collection ghosts is not one this version of the app declares/,
    ],
  ];
  for (const [name, damage, expected] of cases) {
    const copy = await copyDir(dir);
    await damage(copy);
    await using target = await emptyStore();
    await assert.rejects(
      restoreStore(target, copy),
      (error: Error) => error instanceof BackupError && expected.test(error.message),
      name,
    );
    await assertEmpty(target);
  }
});

Deno.test("[backup] unique indexes hold during a restore, and a stopped restore says the target is incomplete", async () => {
  const { dir } = await goldenBackup();
  const copy = await copyDir(dir);
  // Both users with one email: the file is well-formed, so only the unique index can refuse it.
  await forge(copy, "users", (text) => text.replaceAll("bob@example.com", "ada@example.com"));
  await using target = await emptyStore();
  await assert.rejects(
    restoreStore(target, copy),
    (error: Error) =>
      error instanceof BackupError &&
      /^restore stopped in users after 0 documents \(duplicate conflict in users on email_1\); the target store is incomplete/
        .test(error.message),
  );
});

Deno.test("[backup] a backup refuses a non-empty directory and creates a missing one", async () => {
  await using store = await emptyStore();
  await store.insert<Doc & { email: string }>("users", { email: "ada@example.com" });
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/notes.txt`, "keep me");
  await assert.rejects(
    backupStore(store, dir),
    (error: Error) => error instanceof BackupError && /is not empty/.test(error.message),
  );
  assert.deepEqual(await Array.fromAsync(Deno.readDir(dir), (e) => e.name), ["notes.txt"]);

  const nested = `${dir}/nightly/2031-03-14`;
  const manifest = await backupStore(store, nested);
  assert.equal(manifest.collections.users?.count, 1);
  assert.equal(manifest.appVersion, "unknown");
});

Deno.test("[backup] a backup that stops part-way has no manifest, and a restore refuses it", async () => {
  await using store = await emptyStore();
  await store.insert<Doc & { email: string }>("users", { email: "ada@example.com" });
  const failing = new Proxy(store, {
    get(target, prop) {
      if (prop === "find") {
        return (collection: CollectionName, query: never) => {
          if (collection === "orders") throw new Error("the disk is full");
          return target.find(collection, query);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const dir = `${await Deno.makeTempDir()}/backup`;
  await assert.rejects(backupStore(failing, dir), /the disk is full/);
  const names = await Array.fromAsync(Deno.readDir(dir), (e) => e.name);
  assert.ok(names.includes("users.jsonl") && !names.includes("manifest.json"), names.join());

  await using target = await emptyStore();
  await assert.rejects(restoreStore(target, dir), /has no manifest\.json/);
  await assertEmpty(target);
});

Deno.test("[backup] values JSON cannot hold round-trip exactly; values no format holds are refused by name", async () => {
  await using store = await emptyStore();
  const exotic = {
    _id: "01EXOTIC",
    symbol: "T",
    time: new Date("1999-12-31T23:59:59.999Z"),
    volume: 12345678901234567890n,
    specials: [NaN, Infinity, -Infinity, -0, 0, 1.5],
    nested: { at: new Date(0), list: [new Date(1), -5n, null, "text", undefined], gone: undefined },
    lookalike: { $date: "2020-01-01" },
    dollars: { $set: { $date: new Date(2) } },
    invalid: new Date(NaN),
    farFuture: new Date("+275760-09-13T00:00:00.000Z"),
    unicode: 'naïve – 😀\n"quoted"',
  };
  await store.commit([{ op: "insert", collection: "market_data", doc: exotic }]);
  const dir = `${await Deno.makeTempDir()}/backup`;
  await backupStore(store, dir);
  const line = await Deno.readTextFile(`${dir}/market_data.jsonl`);
  assert.match(line, /"volume":\{"\$bigint":"12345678901234567890"\}/);
  assert.match(line, /"lookalike":\{"\$object":\{"\$date":"2020-01-01"\}\}/);

  await using restored = await emptyStore();
  await restoreStore(restored, dir);
  assert.deepStrictEqual(await restored.get("market_data", "01EXOTIC"), { ...exotic, _v: 1 });

  await store.commit([{
    op: "insert",
    collection: "market_data",
    doc: { _id: "01MAP", symbol: "T", time: new Date(), extra: { byVenue: new Map() } },
  }]);
  await assert.rejects(
    backupStore(store, `${await Deno.makeTempDir()}/again`),
    /^BackupError: market_data 01MAP\.extra\.byVenue: a Map value cannot be backed up$/,
  );
});

Deno.test("[backup] large collections are paged out and restored in units KV accepts", async () => {
  await using store = await emptyStore();
  const count = 1234;
  for (let i = 0; i < count; i += 50) {
    await store.commit(
      Array.from({ length: Math.min(50, count - i) }, (_, n) => ({
        op: "insert" as const,
        collection: "sessions" as const,
        doc: { userId: `user-${(i + n) % 7}`, expiresAt: new Date(NOW.getTime() + i + n) },
      })),
    );
  }
  const dir = `${await Deno.makeTempDir()}/backup`;
  assert.equal((await backupStore(store, dir)).collections.sessions?.count, count);

  await using target = await emptyStore();
  const units: number[] = [];
  const counting = new Proxy(target, {
    get(t, prop) {
      if (prop === "commit") {
        return (ops: WriteOp[]) => {
          units.push(ops.length);
          return t.commit(ops);
        };
      }
      const value = Reflect.get(t, prop, t);
      return typeof value === "function" ? value.bind(t) : value;
    },
  });
  const report = await restoreStore(counting, dir);
  assert.equal(report.collections.sessions, count);
  assert.equal(units.length, Math.ceil(count / 50));
  assert.ok(units.every((n) => n <= 50));
  assert.deepStrictEqual(withoutVersions(await dump(target)), withoutVersions(await dump(store)));
});
