/** `deno task db:backup` and `db:restore` from one real KV file to another, as ops run them. */
import assert from "node:assert/strict";
import { openKvStore } from "../lib/store/kv.ts";
import type { Doc, Store } from "../lib/store/port.ts";
import { COLLECTION_NAMES } from "../lib/store/schema.ts";

const root = new URL("../", import.meta.url).pathname;
type Named = Doc & { email?: string; userId?: string; createdAt?: Date; expiresAt?: Date };

async function run(script: string, env: Record<string, string>, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", `${root}deno.json`, `${root}scripts/${script}`, ...args],
    cwd: await Deno.makeTempDir(),
    env: { NODE_ENV: "development", ...env },
    clearEnv: true,
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

async function withStore<T>(kvPath: string, use: (store: Store) => Promise<T>): Promise<T> {
  const store = await openKvStore(kvPath);
  try {
    await store.ensureSchema();
    return await use(store);
  } finally {
    await store.close();
  }
}

async function everything(store: Store) {
  const all: Record<string, Named[]> = {};
  for (const collection of COLLECTION_NAMES) {
    all[collection] = (await store.find<Named>(collection, { limit: 1000 })).items
      .map(({ _v, ...doc }) => doc as Named);
  }
  return all;
}

Deno.test("[db:backup] a KV file is backed up and restored into another KV file by the scripts", async () => {
  const dir = await Deno.makeTempDir();
  const source = `${dir}/source.kv`;
  const target = `${dir}/target.kv`;
  const backup = `${dir}/backups/nightly`;
  const original = await withStore(source, async (store) => {
    const user = await store.insert<Named>("users", {
      email: "ada@example.com",
      createdAt: new Date("2031-03-14T15:09:26.535Z"),
    });
    await store.update<Named>("users", user._id, { email: "ada@example.org" });
    for (let n = 0; n < 3; n++) {
      await store.insert<Named>("sessions", { userId: user._id, expiresAt: new Date(n) });
    }
    return await everything(store);
  });

  const backedUp = await run("db_backup.ts", { KV_PATH: source }, backup);
  assert.equal(backedUp.code, 0, backedUp.stderr);
  assert.match(backedUp.stdout, /^backed up the kv store to .*nightly:$/m);
  assert.match(backedUp.stdout, /^ {2}users +1$/m);
  assert.match(backedUp.stdout, /^ {2}sessions +3$/m);
  assert.match(backedUp.stdout, /^ {2}total +4 documents in \d+\.\ds$/m);
  const manifest = JSON.parse(await Deno.readTextFile(`${backup}/manifest.json`));
  assert.equal(
    manifest.appVersion,
    JSON.parse(await Deno.readTextFile(`${root}deno.json`)).version,
  );

  const again = await run("db_backup.ts", { KV_PATH: source }, backup);
  assert.equal(again.code, 1);
  assert.match(
    again.stderr,
    /^db:backup: .*nightly is not empty; back up into a new or empty directory\n$/,
  );

  const restored = await run("db_restore.ts", { KV_PATH: target }, backup);
  assert.equal(restored.code, 0, restored.stderr);
  assert.equal(restored.stderr, "", "no warning when nothing is wiped");
  assert.match(restored.stdout, /^restored the backup of \S+ \(kv, app \S+\) into the kv store:$/m);
  assert.match(restored.stdout, /^ {2}total +4 documents in \d+\.\ds$/m);
  assert.match(restored.stdout, /starts again at version 1/);
  assert.deepStrictEqual(await withStore(target, everything), original);

  const refused = await run("db_restore.ts", { KV_PATH: target }, backup);
  assert.equal(refused.code, 1);
  assert.equal(refused.stderr.trim().split("\n").length, 1, "one line, no stack");
  assert.match(
    refused.stderr,
    /^db:restore: the target store is not empty \(documents in users, sessions\)/,
  );

  const forced = await run("db_restore.ts", { KV_PATH: target }, "--force", backup);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stderr, /^WARNING: --force: deleting every document .* in users, sessions/);
  assert.match(forced.stdout, /^ {2}4 documents that were there before were deleted$/m);
  assert.deepStrictEqual(await withStore(target, everything), original);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("[db:backup] usage errors exit 2, configuration errors exit 1 with one line per problem", async () => {
  const dir = await Deno.makeTempDir();
  const env = { KV_PATH: `${dir}/orion.kv` };
  for (
    const [script, args] of [
      ["db_backup.ts", []],
      ["db_backup.ts", ["a", "b"]],
      ["db_restore.ts", []],
      ["db_restore.ts", ["--merge", dir]],
    ] as const
  ) {
    const out = await run(script, env, ...args);
    assert.equal(out.code, 2, `${script} ${args.join(" ")}`);
    assert.match(out.stderr, /^usage: deno task db:(backup|restore) <dir>/);
  }
  const bad = await run("db_backup.ts", { ...env, PORT: "eighty", LOG_LEVEL: "loud" }, dir);
  assert.equal(bad.code, 1);
  const lines = bad.stderr.trim().split("\n");
  assert.equal(lines.length, 2, bad.stderr);
  assert.ok(lines.every((line) => line.startsWith("config: ")), bad.stderr);
  const missing = await run("db_restore.ts", env, `${dir}/nothing-here`);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^db:restore: .*nothing-here has no manifest\.json/);
  await Deno.remove(dir, { recursive: true });
});
