/** `deno task admin:promote` against a real KV file, as ops run it. */
import assert from "node:assert/strict";
import { hashPassword } from "../lib/auth/password.ts";
import type { User } from "../lib/auth/users.ts";
import { openKvStore } from "../lib/store/kv.ts";
import type { Doc } from "../lib/store/port.ts";

const root = new URL("../", import.meta.url).pathname;

async function promote(kvPath: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", `${root}deno.json`, `${root}scripts/admin_promote.ts`, ...args],
    cwd: await Deno.makeTempDir(),
    env: { KV_PATH: kvPath, NODE_ENV: "development", USER: "ops-person" },
    clearEnv: true,
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test("[admin:promote] promotes a signed-up user, audits it as the cli, and ends their sessions", async () => {
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/orion.kv`;
  let store = await openKvStore(kvPath);
  await store.ensureSchema();
  const user = await store.insert<User>("users", {
    email: "boss@example.com",
    name: "Boss",
    passwordHash: await hashPassword("vivid-otter-planet-42"),
    role: "USER",
    emailVerifiedAt: new Date(),
    createdAt: new Date(),
    passwordChangedAt: new Date(),
    totp: null,
    totpPendingKey: null,
    recoveryCodeHashes: [],
  });
  await store.insert<Doc & { userId: string; expiresAt: Date }>("sessions", {
    userId: user._id,
    expiresAt: new Date(Date.now() + 1e6),
  });
  await store.close();

  const ok = await promote(kvPath, "Boss@Example.com");
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /boss@example.com is now an ADMIN/);
  const again = await promote(kvPath, "boss@example.com");
  assert.equal(again.code, 0, "promoting an admin again is not an error");
  const missing = await promote(kvPath, "nobody@example.com");
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /must sign up first/);
  assert.equal((await promote(kvPath)).code, 2);

  store = await openKvStore(kvPath);
  try {
    assert.equal((await store.get<User>("users", user._id))?.role, "ADMIN");
    assert.equal(
      (await store.find("sessions", { where: { userId: user._id }, limit: 5 })).items.length,
      0,
    );
    const [entry] = (await store.find<
      Doc & { actorId: string; details: Record<string, string>; userAgent: string }
    >("audit_logs", {
      where: { action: "admin.role_changed" },
      sort: { field: "at", direction: -1 },
      limit: 5,
    })).items;
    assert.equal(entry.actorId, "cli");
    assert.deepEqual([entry.details.from, entry.details.to], ["USER", "ADMIN"]);
    assert.match(entry.userAgent, /ops-person/);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
