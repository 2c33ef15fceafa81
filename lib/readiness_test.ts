/** Tests for the readiness checks, in process against in-memory KV and through `scripts/check.ts`. */
import assert from "node:assert/strict";
import { allChecks } from "./checks.ts";
import {
  type CheckContext,
  type CheckResult,
  defaultChecks,
  environmentBanner,
  prepareContext,
  runChecks,
} from "./readiness.ts";
import { openKvStore } from "./store/kv.ts";
import type { Doc, Store } from "./store/port.ts";

const SCRIPT = new URL("../scripts/check.ts", import.meta.url).pathname;
const DENO_JSON = new URL("../deno.json", import.meta.url).pathname;
const GOOD_SECRET = "k7Qp2vXw9Lr4Tz8Nb3Hm6Jc1Fd5Gs0Ya";

/**
 * Runs the default checks with `env` against a fresh in-memory store, which `prepare` may seed
 * or wrap. The store is given even when the configuration does not parse, so every check runs.
 */
async function check(
  env: Record<string, string | undefined>,
  prepare: (store: Store) => Promise<Store> | Store = (store) => store,
): Promise<Map<string, CheckResult>> {
  const store = await openKvStore(":memory:");
  try {
    await store.ensureSchema();
    const ctx = { ...(await prepareContext(env, () => never())), store: await prepare(store) };
    const results = await runChecks(defaultChecks, ctx);
    return new Map(results.map((result) => [result.id, result]));
  } finally {
    await store.close();
  }
}

function never(): Promise<Store> {
  return Promise.reject(new Error("unused: the test supplies the store"));
}

/** The store with some methods replaced; the rest still run on the real store. */
function override(store: Store, methods: Partial<Store>): Store {
  return new Proxy(store, {
    get(target, prop) {
      if (prop in methods) return methods[prop as keyof Store];
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function failures(results: Map<string, CheckResult>): CheckResult[] {
  return [...results.values()].filter((result) => result.status === "fail");
}

Deno.test("[check] a default development config has no failures", async () => {
  const results = await check({});
  assert.deepEqual(failures(results), []);
  assert.equal(results.get("security.auth_secret")?.status, "warn");
  assert.match(results.get("security.auth_secret")!.detail, /generated for this process/);
  assert.match(results.get("security.default_admin")!.detail, /deno task admin:promote <email>/);
  assert.equal(results.size, defaultChecks.length);
});

Deno.test("[check] production with a 10-character secret and http APP_URL fails on both", async () => {
  const secret = "0123456789";
  const results = await check({
    NODE_ENV: "production",
    AUTH_SECRET: secret,
    APP_URL: "http://broker.example.com",
  });
  assert.equal(results.get("config.parse")?.status, "fail");
  assert.equal(results.get("security.auth_secret")?.status, "fail");
  assert.match(results.get("security.auth_secret")!.detail, /AUTH_SECRET/);
  assert.equal(results.get("security.app_url")?.status, "fail");
  assert.match(results.get("security.app_url")!.detail, /APP_URL.*https/);
  for (const result of results.values()) assert.ok(!result.detail.includes(secret));
});

Deno.test("[check] development warns, and fails when the configuration looks deployed", async () => {
  const local = await check({});
  assert.equal(local.get("config.node_env")?.status, "warn");
  assert.match(local.get("config.node_env")!.detail, /^development: .*\/dev\/mailbox.*not Secure/);
  for (const env of [{ NODE_ENV: "test" }, { APP_URL: "https://localhost:8443" }]) {
    assert.equal((await check(env)).get("config.node_env")?.status, "warn", JSON.stringify(env));
  }
  for (
    const [env, sign] of [
      [{ APP_URL: "https://broker.example.com" }, /APP_URL is https:\/\/broker\.example\.com/],
      [{ NEXTAUTH_URL: "https://broker.example.com" }, /APP_URL is https:/],
      [{ NODE_ENV: "development", DENO_DEPLOYMENT_ID: "abc123" }, /Deno Deploy/],
    ] as const
  ) {
    const result = (await check(env)).get("config.node_env")!;
    assert.equal(result.status, "fail", JSON.stringify(env));
    assert.match(result.detail, sign);
    assert.match(result.detail, /set NODE_ENV=production$/);
  }
  // Unset NODE_ENV on Deno Deploy is production, with production's own requirements.
  const deployed = await check({ DENO_DEPLOYMENT_ID: "abc123" });
  assert.equal(deployed.get("config.node_env")?.status, "pass");
  assert.match(deployed.get("config.node_env")!.detail, /defaults to production/);
  assert.equal(deployed.get("security.auth_secret")?.status, "fail");
});

Deno.test("[check] the not-production banner names the risks, and is absent in production", async () => {
  const banner = environmentBanner(await prepareContext({}, never));
  assert.match(banner!, /^⚠️ {2}NOT PRODUCTION: NODE_ENV is development, so .*\/dev\/mailbox/);
  const withTransport = environmentBanner(
    await prepareContext({ NODE_ENV: "test", RESEND_API_KEY: "re_x" }, never),
  );
  assert.match(withTransport!, /NODE_ENV is test, so cookies are not Secure/);
  const production = await prepareContext({
    NODE_ENV: "production",
    AUTH_SECRET: GOOD_SECRET,
    APP_URL: "https://broker.example.com",
    RESEND_API_KEY: "re_test_key",
  }, () => openKvStore(":memory:"));
  assert.equal(environmentBanner(production), undefined);
  await production.store?.close();
});

Deno.test("[check] TRUST_PROXY warns when any client could choose its own address", async () => {
  const statusOf = async (env: Record<string, string>) =>
    (await check(env)).get("security.trust_proxy")!;
  assert.equal((await statusOf({})).status, "pass");
  const open = await statusOf({ TRUST_PROXY: "true" });
  assert.equal(open.status, "warn");
  assert.match(open.detail, /reaches port 8000 directly.*chooses its own address.*TRUSTED_PROXIES/);
  assert.equal((await statusOf({ TRUST_PROXY: "2", HOST: "127.0.0.1" })).status, "pass");
  const listed = await statusOf({ TRUST_PROXY: "1", TRUSTED_PROXIES: "10.0.0.0/8" });
  assert.equal(listed.status, "pass");
  assert.match(listed.detail, /1 hop from the right.*only on connections from 10\.0\.0\.0\/8/);
  const everyone = await statusOf({ TRUST_PROXY: "1", TRUSTED_PROXIES: "10.0.0.0/8, 0.0.0.0/0" });
  assert.equal(everyone.status, "warn");
  assert.match(everyone.detail, /0\.0\.0\.0\/0, which matches every address/);
});

Deno.test("[check] an unknown NODE_ENV fails with config.ts's own problem line", async () => {
  const results = await check({ NODE_ENV: "staging" });
  assert.equal(results.get("config.node_env")?.status, "fail");
  assert.match(results.get("config.node_env")!.detail, /^NODE_ENV: must be one of/);
});

Deno.test("[check] a strong production config passes the security checks", async () => {
  const results = await check({
    NODE_ENV: "production",
    AUTH_SECRET: GOOD_SECRET,
    APP_URL: "https://broker.example.com",
    RESEND_API_KEY: "re_test_key",
  });
  assert.deepEqual(failures(results), []);
  assert.equal(results.get("security.auth_secret")?.status, "pass");
});

Deno.test("[check] placeholder and low-entropy secrets fail outside production too", async () => {
  for (const secret of ["change-me", "CHANGE_ME_TO_SOMETHING_LONG_AND_RANDOM", "a".repeat(40)]) {
    const results = await check({ AUTH_SECRET: secret });
    const result = results.get("security.auth_secret")!;
    assert.equal(result.status, "fail", secret);
    assert.ok(!result.detail.includes(secret));
  }
  assert.equal(
    (await check({ AUTH_SECRET: "k7Qp2vXw9Lr4" })).get("security.auth_secret")?.status,
    "warn",
  );
});

Deno.test("[check] a missing index fails naming it; an extra one warns", async () => {
  const without = await check({}, (store) =>
    override(store, {
      describeSchema: async () => {
        const schema = await store.describeSchema();
        return { ...schema, orders: schema.orders.filter((name) => name !== "status_1") };
      },
    }));
  assert.equal(without.get("store.indexes")?.status, "fail");
  assert.match(without.get("store.indexes")!.detail, /orders\.status_1/);

  const extra = await check({}, (store) =>
    override(store, {
      describeSchema: async () => {
        const schema = await store.describeSchema();
        return { ...schema, users: [...schema.users, "name_1"] };
      },
    }));
  assert.equal(extra.get("store.indexes")?.status, "warn");
  assert.match(extra.get("store.indexes")!.detail, /users\.name_1/);
});

Deno.test("[check] an ADMIN user with a default email fails the default-admin check", async () => {
  const results = await check({}, async (store) => {
    await store.insert<Doc & { email: string; role: string }>("users", {
      email: "admin@example.com",
      role: "ADMIN",
    });
    await store.insert<Doc & { email: string; role: string }>("users", {
      email: "ops.lead@example.com",
      role: "ADMIN",
    });
    return store;
  });
  const result = results.get("security.default_admin")!;
  assert.equal(result.status, "fail");
  assert.match(result.detail, /admin@example\.com/);
  assert.ok(!result.detail.includes("ops.lead"));
});

Deno.test("[check] named admins pass with their count", async () => {
  const results = await check({}, async (store) => {
    await store.insert<Doc & { email: string; role: string }>("users", {
      email: "ada@example.com",
      role: "ADMIN",
    });
    await store.insert<Doc & { email: string; role: string }>("users", {
      email: "admin@example.com",
      role: "USER",
    });
    return store;
  });
  assert.equal(results.get("security.default_admin")?.status, "pass");
  assert.match(results.get("security.default_admin")!.detail, /^1 admin,/);
});

Deno.test("[check] a store whose ping throws fails connectivity and latency", async () => {
  const results = await check({}, (store) =>
    override(store, {
      ping: () => Promise.reject(new Error("connection refused")),
    }));
  assert.equal(results.get("store.connectivity")?.status, "fail");
  assert.equal(results.get("store.connectivity")?.detail, "connection refused");
  assert.equal(results.get("store.latency")?.status, "fail");
  assert.match(results.get("store.latency")!.detail, /unreachable/);
});

Deno.test("[check] a store that does not open fails the store checks with its reason", async () => {
  const ctx = await prepareContext({}, () => Promise.reject(new Error("database is locked")));
  const results = await runChecks(defaultChecks, ctx);
  for (const result of results.filter((r) => r.group === "store")) {
    assert.equal(result.status, "fail");
    assert.match(result.detail, /did not open: database is locked/);
  }
});

Deno.test("[check] a check that throws or hangs fails with one line; order is kept", async () => {
  const ctx: CheckContext = { env: {} };
  const error = new Error("first line\nsecond line");
  const results = await runChecks(
    [
      { id: "a", group: "g", title: "throws", run: () => Promise.reject(error) },
      { id: "b", group: "g", title: "hangs", run: () => new Promise(() => {}) },
      {
        id: "c",
        group: "g",
        title: "passes",
        run: () => Promise.resolve({ status: "pass", detail: "ok" }),
      },
    ],
    ctx,
    { timeoutMs: 20 },
  );
  assert.deepEqual(results.map((r) => [r.id, r.status]), [["a", "fail"], ["b", "fail"], [
    "c",
    "pass",
  ]]);
  assert.equal(results[0].detail, "first line; second line");
  assert.ok(!results[0].detail.includes("readiness_test.ts"), "no stack frames");
  assert.match(results[1].detail, /did not finish within 20 ms/);
});

Deno.test("[check] details never show a configured secret, even from an error message", async () => {
  const uri = "mongodb://user:hunter2hunter2@db.example.com";
  const results = await runChecks([
    {
      id: "x",
      group: "g",
      title: "leaks",
      run: () => Promise.reject(new Error(`cannot reach ${uri}`)),
    },
  ], { env: { MONGODB_URI: uri } });
  assert.equal(results[0].detail, "cannot reach [redacted]");
});

/** Runs scripts/check.ts in an empty directory with only the variables given. */
async function runScript(env: Record<string, string>, args: string[] = []) {
  const dir = await Deno.makeTempDir();
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      // The explicit config keeps the import map when the working directory is elsewhere.
      args: ["run", "-A", "--config", DENO_JSON, SCRIPT, ...args],
      cwd: dir,
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "",
        HOME: Deno.env.get("HOME") ?? dir,
        ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
        NO_COLOR: "1",
        KV_PATH: `${dir}/orion.kv`,
        ...env,
      },
    }).output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("[check] the script passes a clean development env and prints JSON with --json", async () => {
  const { code, stdout, stderr } = await runScript({}, ["--json"]);
  assert.equal(code, 0, stderr);
  assert.match(stderr.split("\n")[0], /^⚠️ {2}NOT PRODUCTION: NODE_ENV is development/);
  const report = JSON.parse(stdout);
  assert.equal(report.ok, true);
  assert.equal(report.summary.failed, 0);
  assert.equal(report.results.length, allChecks.length);
  assert.deepEqual(Object.keys(report.results[0]), ["id", "group", "title", "status", "detail"]);
});

Deno.test("[check] the script fails a weak production env without printing the secret", async () => {
  const secret = "short";
  const { code, stdout, stderr } = await runScript({
    NODE_ENV: "production",
    AUTH_SECRET: secret,
    APP_URL: "http://example.com",
  });
  const output = stdout + stderr;
  assert.equal(code, 1, output);
  const lines = stdout.split("\n");
  assert.ok(
    lines.some((line) => line.startsWith("  ❌ AUTH_SECRET strength: AUTH_SECRET")),
    output,
  );
  assert.ok(lines.some((line) => line.startsWith("  ❌ APP_URL uses https: APP_URL")), output);
  assert.match(stdout, /^\d+ passed, \d+ warnings?, \d+ failed$/m);
  assert.ok(!output.includes(secret), output);
  assert.equal(lines[0], "Configuration", "no development banner in production");
});

Deno.test("[check] the script warns first outside production and fails a deployed-looking one", async () => {
  const { code, stdout, stderr } = await runScript({ APP_URL: "https://broker.example.com" });
  assert.equal(code, 1, stdout + stderr);
  const lines = stdout.split("\n");
  assert.match(lines[0], /^⚠️ {2}NOT PRODUCTION: NODE_ENV is development, so anyone can read/);
  assert.ok(
    lines.some((line) =>
      line.startsWith(
        "  ❌ NODE_ENV: development, but APP_URL is https://broker.example.com, a public https address",
      )
    ),
    stdout,
  );
});

Deno.test("[check] the script fails production without an email transport, verification off or not", async () => {
  const { code, stdout, stderr } = await runScript({
    NODE_ENV: "production",
    AUTH_SECRET: GOOD_SECRET,
    APP_URL: "https://broker.example.com",
    REQUIRE_EMAIL_VERIFICATION: "false",
  });
  const output = stdout + stderr;
  assert.equal(code, 1, output);
  const problem =
    "RESEND_API_KEY or EMAIL_SERVER_HOST: an email transport is required in production (verification and password-reset emails need one)";
  const lines = stdout.split("\n");
  assert.ok(lines.includes(`  ❌ Configuration parses: ${problem}`), output);
  assert.ok(lines.includes(`  ❌ Email verification and transport: ${problem}`), output);
  assert.ok(!output.includes("development mailbox"), output);
  assert.ok(!output.includes("    at "), "no stack trace");
});
