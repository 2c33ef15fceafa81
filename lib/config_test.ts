/** Tests for loading and validating configuration from the environment. */
import assert from "node:assert/strict";
import {
  type Config,
  ConfigError,
  describeConfig,
  DEV_AUTH_SECRET_FILE,
  loadConfig,
  readEnv,
  withDevAuthSecret,
  withListenAddress,
} from "./config.ts";

const SECRET = "s3cr3t-value-that-is-long-enough-for-prod";
const PRODUCTION = {
  NODE_ENV: "production",
  APP_URL: "https://broker.example.com",
  AUTH_SECRET: SECRET,
  RESEND_API_KEY: "re_test_key",
};

function rejects(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error;
  }
  assert.fail("expected a ConfigError");
}

function problemsOf(env: Record<string, string | undefined>): string[] {
  return rejects(env).problems;
}

Deno.test("[config] development defaults", () => {
  const config = loadConfig({});
  assert.equal(config.nodeEnv, "development");
  assert.equal(config.isProduction, false);
  assert.equal(config.port, 8000);
  assert.equal(config.appUrl, "http://localhost:8000");
  assert.equal(config.appUrlIsDefault, true);
  assert.equal(
    withListenAddress(loadConfig({ PORT: "0" }), "127.0.0.1", 43210).appUrl,
    "http://127.0.0.1:43210",
  );
  assert.equal(withListenAddress(loadConfig({}), "0.0.0.0", 8000).appUrl, "http://localhost:8000");
  const set = loadConfig({ APP_URL: "https://broker.example.com", PORT: "0" });
  assert.equal(withListenAddress(set, "127.0.0.1", 43210).appUrl, "https://broker.example.com");
  assert.equal(config.kvPath, "./data/orion.kv");
  assert.equal(
    loadConfig({ ...PRODUCTION, DENO_DEPLOYMENT_ID: "abc" }).kvPath,
    undefined,
    "Deno Deploy's own KV",
  );
  assert.equal(config.mongodbUri, undefined);
  assert.equal(config.mongodbDb, "orion-assets-broker");
  assert.equal(config.emailFrom, "Orion Assets Broker <no-reply@localhost>");
  assert.equal(config.logLevel, "info");
  assert.equal(config.enableAnalytics, false);
  assert.equal(config.marketHours, "nyse");
  assert.equal(config.demoStartingCash, "100000");
  assert.equal(config.requireEmailVerification, false);
  assert.deepEqual(config.corsOrigins, []);
  assert.equal(config.bodyLimitBytes, 65536);
  assert.equal(config.bodyTimeoutMs, 10_000);
  assert.deepEqual(config.trustProxy, { hops: 0, proxies: undefined });
  assert.deepEqual(config.email, { kind: "dev" });
  assert.equal(config.emailServer, undefined);
  assert.equal(config.upstash, undefined);
});

Deno.test("[config] a missing secret outside production is generated once per process", () => {
  const first = loadConfig({});
  const second = loadConfig({ NODE_ENV: "test" });
  assert.equal(first.authSecretGenerated, true);
  assert.match(first.authSecret, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(second.authSecret, first.authSecret);
  assert.equal(loadConfig({ AUTH_SECRET: "short" }).authSecretGenerated, false);
});

Deno.test("[config] outside production the secret is kept beside the KV file, so a restart keeps it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const kvPath = `${dir}/data/orion.kv`;
    const file = `${dir}/data/${DEV_AUTH_SECRET_FILE}`;
    // Two processes starting at once on a fresh folder agree on one secret.
    const [a, b] = await Promise.all([
      withDevAuthSecret({ KV_PATH: kvPath }),
      withDevAuthSecret({ KV_PATH: kvPath }),
    ]);
    assert.match(a.AUTH_SECRET!, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(b.AUTH_SECRET, a.AUTH_SECRET);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600, "readable by its owner only");
    // A later start reads the file, whatever this process would have made.
    await Deno.writeTextFile(file, "kept-from-an-earlier-start-of-the-app-0123456789\n");
    const restarted = loadConfig(await withDevAuthSecret({ KV_PATH: kvPath }));
    assert.equal(restarted.authSecret, "kept-from-an-earlier-start-of-the-app-0123456789");
    assert.equal(restarted.authSecretGenerated, false);

    // A secret given, production, KV in memory, the platform's KV and MongoDB: nothing read or
    // written.
    const untouched = [
      { KV_PATH: `${dir}/given/orion.kv`, AUTH_SECRET: "s".repeat(32) },
      { KV_PATH: `${dir}/given/orion.kv`, BETTER_AUTH_SECRET: "s".repeat(32) },
      { KV_PATH: `${dir}/prod/orion.kv`, NODE_ENV: "production" },
      { KV_PATH: ":memory:" },
      // Deno Deploy's own KV (no KV_PATH), even when NODE_ENV says development.
      { NODE_ENV: "development", DENO_DEPLOYMENT_ID: "d1" },
      { KV_PATH: `${dir}/mongo/orion.kv`, MONGODB_URI: "mongodb://127.0.0.1:27017" },
    ];
    for (const env of untouched) assert.deepEqual(await withDevAuthSecret(env), env);
    for (const sub of ["given", "prod", "mongo"]) {
      await assert.rejects(Deno.stat(`${dir}/${sub}`), Deno.errors.NotFound);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("[config] empty and blank values count as unset; unknown variables are ignored", () => {
  const config = loadConfig({ PORT: "", LOG_LEVEL: "  ", APP_URL: "", UNRELATED: "x" });
  assert.equal(config.port, 8000);
  assert.equal(config.logLevel, "info");
  assert.equal(config.appUrl, "http://localhost:8000");
});

Deno.test("[config] old names work as aliases", () => {
  assert.equal(
    loadConfig({ BETTER_AUTH_URL: "https://a.example.com/" }).appUrl,
    "https://a.example.com",
  );
  assert.equal(
    loadConfig({ NEXTAUTH_URL: "https://b.example.com/api/auth" }).appUrl,
    "https://b.example.com",
  );
  assert.equal(loadConfig({ BETTER_AUTH_SECRET: SECRET }).authSecret, SECRET);
  assert.equal(
    loadConfig({ APP_URL: "https://main.example.com", NEXTAUTH_URL: "https://old.example.com" })
      .appUrl,
    "https://main.example.com",
  );
});

Deno.test("[config] production accepts a complete setup", () => {
  const config = loadConfig(PRODUCTION);
  assert.equal(config.isProduction, true);
  assert.equal(config.authSecretGenerated, false);
  assert.equal(config.requireEmailVerification, true);
  assert.deepEqual(config.email, { kind: "resend" });
});

Deno.test("[config] production rejects a short secret and an http APP_URL, one line each", () => {
  const short = "too-short-secret";
  const error = rejects({
    ...PRODUCTION,
    AUTH_SECRET: short,
    APP_URL: "http://broker.example.com",
  });
  assert.deepEqual(error.problems, [
    'APP_URL: must use https in production (got "http://broker.example.com")',
    "AUTH_SECRET: must be at least 32 characters in production",
  ]);
  assert.ok(!error.message.includes(short));
});

Deno.test("[config] production problems name the alias that was used", () => {
  const problems = problemsOf({
    ...PRODUCTION,
    APP_URL: undefined,
    BETTER_AUTH_URL: "http://broker.example.com",
    AUTH_SECRET: undefined,
    BETTER_AUTH_SECRET: "short",
  });
  assert.equal(problems.length, 2);
  assert.match(problems[0], /^BETTER_AUTH_URL: /);
  assert.match(problems[1], /^BETTER_AUTH_SECRET: /);
});

const TRANSPORT_PROBLEM =
  "RESEND_API_KEY or EMAIL_SERVER_HOST: an email transport is required in production (verification and password-reset emails need one)";

Deno.test("[config] production requires a secret, an APP_URL and an email transport", () => {
  assert.deepEqual(problemsOf({ NODE_ENV: "production" }), [
    "APP_URL: is required in production (the public https origin)",
    "AUTH_SECRET: is required in production",
    TRANSPORT_PROBLEM,
  ]);
  const smtp = loadConfig({
    ...PRODUCTION,
    RESEND_API_KEY: undefined,
    EMAIL_SERVER_HOST: "smtp.example.com",
  });
  assert.deepEqual(smtp.email, { kind: "smtp" });
});

Deno.test("[config] production needs an email transport even with verification off", () => {
  // Password reset still sends email, and the development mailbox is refused in production.
  for (const value of ["false", "off"]) {
    assert.deepEqual(
      problemsOf({ ...PRODUCTION, RESEND_API_KEY: undefined, REQUIRE_EMAIL_VERIFICATION: value }),
      [TRANSPORT_PROBLEM],
      value,
    );
  }
  const withoutVerification = loadConfig({ ...PRODUCTION, REQUIRE_EMAIL_VERIFICATION: "off" });
  assert.equal(withoutVerification.requireEmailVerification, false);
  assert.deepEqual(withoutVerification.email, { kind: "resend" });
});

Deno.test("[config] production requires https CORS origins", () => {
  assert.deepEqual(
    problemsOf({ ...PRODUCTION, CORS_ORIGINS: "https://ok.example.com,http://bad.example.com" }),
    ['CORS_ORIGINS: must use https in production (got "http://bad.example.com")'],
  );
});

Deno.test("[config] secret values never appear in error text", () => {
  const secrets = {
    AUTH_SECRET: "hunter2-auth",
    MONGODB_URI: "hunter2-mongo",
    RATE_LIMIT_REDIS_URL: "hunter2-redis",
    UPSTASH_REDIS_REST_TOKEN: "hunter2-upstash",
    EMAIL_SERVER_PASSWORD: "hunter2-smtp",
    RESEND_API_KEY: "hunter2-resend",
    WEBHOOK_SECRET: "hunter2-webhook",
    MARKET_DATA_API_KEY: "hunter2-market",
    TRADING_API_KEY: "hunter2-trading-key",
    TRADING_API_SECRET: "hunter2-trading-secret",
  };
  const error = rejects({ NODE_ENV: "production", ...secrets });
  assert.ok(error.problems.length >= 5);
  assert.ok(!error.message.includes("hunter2"), error.message);
  assert.ok(!JSON.stringify(error.problems).includes("hunter2"));
});

Deno.test("[config] bad PORT values are rejected", () => {
  for (const port of ["abc", "-1", "65536", "80.5", "1e3"]) {
    assert.deepEqual(problemsOf({ PORT: port }), [
      `PORT: must be an integer from 0 to 65535 (got "${port}")`,
    ]);
  }
  assert.equal(loadConfig({ PORT: "0" }).port, 0);
  assert.equal(loadConfig({ PORT: " 3000 " }).port, 3000);
});

Deno.test("[config] bad LOG_LEVEL, NODE_ENV and MARKET_HOURS are rejected", () => {
  assert.deepEqual(problemsOf({ LOG_LEVEL: "verbose" }), [
    'LOG_LEVEL: must be one of error, warn, info, debug (got "verbose")',
  ]);
  assert.match(problemsOf({ NODE_ENV: "staging" })[0], /^NODE_ENV: must be one of/);
  assert.match(problemsOf({ MARKET_HOURS: "24x7" })[0], /^MARKET_HOURS: must be one of/);
  assert.equal(loadConfig({ LOG_LEVEL: "debug", MARKET_HOURS: "always" }).marketHours, "always");
});

Deno.test("[config] DEMO_STARTING_CASH must be a positive amount with at most 2 decimals", () => {
  for (const cash of ["-5", "1.234", "abc", "0", "0.00", "1e5", "007", "12."]) {
    const problems = problemsOf({ DEMO_STARTING_CASH: cash });
    assert.equal(problems.length, 1, cash);
    assert.match(problems[0], /^DEMO_STARTING_CASH: must be a positive amount/);
  }
  for (const cash of ["250000", "2500.5", "0.01", "1000.00"]) {
    const config = loadConfig({ DEMO_STARTING_CASH: cash });
    assert.equal(config.demoStartingCash, cash);
    assert.equal(typeof config.demoStartingCash, "string");
  }
});

Deno.test("[config] booleans accept the usual spellings, case-insensitively", () => {
  for (const value of ["true", "TRUE", "1", "yes", "On"]) {
    assert.equal(loadConfig({ ENABLE_ANALYTICS: value }).enableAnalytics, true, value);
  }
  for (const value of ["false", "False", "0", "no", "OFF"]) {
    assert.equal(loadConfig({ ENABLE_ANALYTICS: value }).enableAnalytics, false, value);
  }
  assert.equal(loadConfig({ REQUIRE_EMAIL_VERIFICATION: "yes" }).requireEmailVerification, true);
  assert.deepEqual(problemsOf({ ENABLE_ANALYTICS: "maybe" }), [
    'ENABLE_ANALYTICS: must be true or false (or 1/0, yes/no, on/off; got "maybe")',
  ]);
});

Deno.test("[config] email kind is derived from the configured transport", () => {
  assert.deepEqual(loadConfig({ RESEND_API_KEY: "re_1", EMAIL_SERVER_HOST: "smtp.x" }).email, {
    kind: "resend",
  });
  const smtp = loadConfig({
    EMAIL_SERVER_HOST: "smtp.example.com",
    EMAIL_SERVER_USER: "mailer",
    EMAIL_SERVER_PASSWORD: "pw",
  });
  assert.deepEqual(smtp.email, { kind: "smtp" });
  assert.deepEqual(smtp.emailServer, {
    host: "smtp.example.com",
    port: 587,
    user: "mailer",
    password: "pw",
  });
  assert.equal(
    loadConfig({ EMAIL_SERVER_HOST: "h", EMAIL_SERVER_PORT: "2525" }).emailServer?.port,
    2525,
  );
  assert.deepEqual(loadConfig({}).email, { kind: "dev" });
});

Deno.test("[config] settings that only work together are checked together", () => {
  assert.deepEqual(problemsOf({ UPSTASH_REDIS_REST_URL: "https://eu1.upstash.io" }), [
    "UPSTASH_REDIS_REST_TOKEN: is required when UPSTASH_REDIS_REST_URL is set",
  ]);
  assert.deepEqual(problemsOf({ EMAIL_SERVER_PORT: "25" }), [
    "EMAIL_SERVER_HOST: is required when EMAIL_SERVER_PORT is set",
  ]);
  assert.deepEqual(
    problemsOf({ APP_URL: "https://app.example.com", SESSION_COOKIE_DOMAIN: "other.com" }),
    [
      'SESSION_COOKIE_DOMAIN: must be the APP_URL host app.example.com or a parent domain of it (got "other.com")',
    ],
  );
  const config = loadConfig({
    APP_URL: "https://app.example.com",
    SESSION_COOKIE_DOMAIN: ".Example.com",
    UPSTASH_REDIS_REST_URL: "https://eu1.upstash.io/",
    UPSTASH_REDIS_REST_TOKEN: "tok",
  });
  assert.equal(config.sessionCookieDomain, "example.com");
  assert.deepEqual(config.upstash, { url: "https://eu1.upstash.io", token: "tok" });
});

Deno.test("[config] URLs and lists are validated and normalised", () => {
  const config = loadConfig({
    CORS_ORIGINS: "https://a.example.com/, http://localhost:5173 ,,https://a.example.com",
    MONGODB_URI: "mongodb+srv://user:pw@cluster.example.net/db",
    RATE_LIMIT_REDIS_URL: "rediss://default:pw@redis.example.com:6380",
    KV_PATH: ":memory:",
  });
  assert.deepEqual(config.corsOrigins, ["https://a.example.com", "http://localhost:5173"]);
  assert.equal(config.kvPath, ":memory:");
  assert.deepEqual(problemsOf({ CORS_ORIGINS: "example.com" }), [
    'CORS_ORIGINS: must be an absolute http(s) URL (got "example.com")',
  ]);
  assert.deepEqual(problemsOf({ APP_URL: "ftp://example.com" }), [
    'APP_URL: must be an absolute http(s) URL (got "ftp://example.com")',
  ]);
  assert.deepEqual(problemsOf({ MONGODB_URI: "postgres://x" }), [
    "MONGODB_URI: must start with mongodb:// or mongodb+srv://",
  ]);
  assert.deepEqual(problemsOf({ RATE_LIMIT_REDIS_URL: "http://x" }), [
    "RATE_LIMIT_REDIS_URL: must start with redis:// or rediss://",
  ]);
  assert.match(problemsOf({ EMAIL_FROM: "not an address" })[0], /^EMAIL_FROM: /);
  assert.equal(loadConfig({ EMAIL_FROM: "ops@example.com" }).emailFrom, "ops@example.com");
  assert.match(problemsOf({ BODY_LIMIT_BYTES: "0" })[0], /^BODY_LIMIT_BYTES: /);
});

Deno.test("[config] NODE_ENV defaults to production on Deno Deploy, and only there", () => {
  const { NODE_ENV: _, ...deployment } = PRODUCTION;
  const deployed = loadConfig({ ...deployment, DENO_DEPLOYMENT_ID: "abc123" });
  assert.equal(deployed.nodeEnv, "production");
  assert.equal(deployed.isProduction, true);
  // Production's requirements apply, so a bare deployment does not start in development mode.
  const problems = problemsOf({ DENO_DEPLOYMENT_ID: "abc123" });
  assert.ok(
    problems.some((p) => p.startsWith("AUTH_SECRET: is required in production")),
    problems.join("; "),
  );
  assert.ok(
    problems.some((p) => p.startsWith("APP_URL: is required in production")),
    problems.join("; "),
  );
  assert.equal(loadConfig({ DENO_DEPLOYMENT_ID: "abc123", NODE_ENV: "test" }).nodeEnv, "test");
  assert.equal(loadConfig({ DENO_DEPLOYMENT_ID: " " }).nodeEnv, "development", "blank is unset");
  assert.equal(loadConfig(deployment).nodeEnv, "development");
});

Deno.test("[config] TRUST_PROXY is off, true (one proxy) or a number of proxies", () => {
  const hops = (value: string) => loadConfig({ TRUST_PROXY: value }).trustProxy.hops;
  for (const value of ["false", "OFF", "no", "0"]) assert.equal(hops(value), 0, value);
  for (const value of ["true", "True", "yes", "on", "1"]) assert.equal(hops(value), 1, value);
  assert.equal(hops("2"), 2);
  assert.equal(hops("10"), 10);
  for (const value of ["11", "-1", "1.5", "maybe", "10.0.0.1"]) {
    assert.deepEqual(problemsOf({ TRUST_PROXY: value }), [
      `TRUST_PROXY: must be false, true (one proxy) or the number of proxies in front of the app, 0 to 10 (got "${value}")`,
    ]);
  }
});

Deno.test("[config] TRUSTED_PROXIES takes addresses and CIDR ranges and needs TRUST_PROXY", () => {
  const config = loadConfig({
    TRUST_PROXY: "2",
    TRUSTED_PROXIES: " 10.0.0.0/8, 192.0.2.7,FD00::/8 ,, 10.0.0.0/8, ::1",
  });
  assert.deepEqual(config.trustProxy, {
    hops: 2,
    proxies: ["10.0.0.0/8", "192.0.2.7/32", "fd00::/8", "::1/128"],
  });
  for (const entry of ["10.0.0.0/33", "10.0.0/8", "proxy.internal", "10.0.0.1/8/1", "::1/129"]) {
    assert.deepEqual(problemsOf({ TRUST_PROXY: "1", TRUSTED_PROXIES: entry }), [
      `TRUSTED_PROXIES: each entry must be an IP address or a CIDR range such as 10.0.0.0/8 or fd00::/8 (got "${entry}")`,
    ], entry);
  }
  for (const off of [{}, { TRUST_PROXY: "false" }]) {
    assert.deepEqual(problemsOf({ ...off, TRUSTED_PROXIES: "10.0.0.0/8" }), [
      "TRUST_PROXY: must be true or the number of proxies in front of the app when TRUSTED_PROXIES is set",
    ]);
  }
});

Deno.test("[config] BODY_TIMEOUT_MS is a whole number of milliseconds up to ten minutes", () => {
  assert.equal(loadConfig({ BODY_TIMEOUT_MS: "250" }).bodyTimeoutMs, 250);
  for (const value of ["0", "600001", "1s"]) {
    assert.deepEqual(problemsOf({ BODY_TIMEOUT_MS: value }), [
      `BODY_TIMEOUT_MS: must be an integer from 1 to 600000 (got "${value}")`,
    ]);
  }
});

Deno.test("[config] all problems are reported at once", () => {
  const problems = problemsOf({ PORT: "x", LOG_LEVEL: "loud", ENABLE_ANALYTICS: "sometimes" });
  assert.equal(problems.length, 3);
});

Deno.test("[config] describeConfig hides every secret", () => {
  const config: Config = loadConfig({
    ...PRODUCTION,
    MONGODB_URI: "mongodb://user:hunter2@db.example.com",
    EMAIL_SERVER_HOST: "smtp.example.com",
    EMAIL_SERVER_USER: "mailer",
    EMAIL_SERVER_PASSWORD: "hunter2",
    UPSTASH_REDIS_REST_URL: "https://eu1.upstash.io",
    UPSTASH_REDIS_REST_TOKEN: "hunter2",
    WEBHOOK_SECRET: "whsec_aHVudGVyMi1odW50ZXIyLWh1bnRlcjItaHVudGVyMg==",
  });
  const summary = describeConfig(config);
  const text = JSON.stringify(summary);
  assert.ok(!text.includes("hunter2"));
  assert.ok(!text.includes("aHVudGVyMi1odW50ZXIyLWh1bnRlcjItaHVudGVyMg"));
  assert.ok(!text.includes(SECRET));
  assert.ok(!text.includes("re_test_key"));
  assert.equal(summary.authSecret, "set");
  assert.equal(summary.mongodbUri, "set");
  assert.equal(summary.tradingApiKey, "unset");
  assert.deepEqual(summary.upstash, { url: "https://eu1.upstash.io", token: "set" });
  assert.equal(summary.appUrl, "https://broker.example.com");
});

Deno.test("[config] readEnv layers the environment over .env.local over .env", async () => {
  const dir = await Deno.makeTempDir();
  const names = ["ORION_TEST_A", "ORION_TEST_B", "ORION_TEST_C", "ORION_TEST_EMPTY"];
  try {
    await Deno.writeTextFile(
      `${dir}/.env`,
      names.map((name) => `${name}=from-env`).join("\n"),
    );
    await Deno.writeTextFile(
      `${dir}/.env.local`,
      "ORION_TEST_B=from-local\nORION_TEST_C=from-local\n",
    );
    Deno.env.set("ORION_TEST_C", "from-process");
    Deno.env.set("ORION_TEST_EMPTY", "");
    const env = await readEnv(dir);
    assert.equal(env.ORION_TEST_A, "from-env");
    assert.equal(env.ORION_TEST_B, "from-local");
    assert.equal(env.ORION_TEST_C, "from-process");
    assert.equal(env.ORION_TEST_EMPTY, "from-env");

    await Deno.remove(`${dir}/.env`);
    await Deno.remove(`${dir}/.env.local`);
    const bare = await readEnv(dir);
    assert.equal(bare.ORION_TEST_A, undefined);
    assert.equal(bare.ORION_TEST_C, "from-process");
  } finally {
    for (const name of names) Deno.env.delete(name);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("[config] webhooks to loopback are a development switch that production refuses", () => {
  assert.equal(loadConfig({ NODE_ENV: "test" }).webhookAllowLoopback, false);
  assert.equal(
    loadConfig({ NODE_ENV: "test", WEBHOOK_ALLOW_LOOPBACK: "1" }).webhookAllowLoopback,
    true,
  );
  assert.equal(
    loadConfig({ ...PRODUCTION, WEBHOOK_ALLOW_LOOPBACK: "0" }).webhookAllowLoopback,
    false,
  );
  assert.deepEqual(problemsOf({ ...PRODUCTION, WEBHOOK_ALLOW_LOOPBACK: "true" }), [
    "WEBHOOK_ALLOW_LOOPBACK: must be off in production",
  ]);
});

Deno.test("[config] WEBHOOK_SECRET must be a Standard Webhooks secret", () => {
  const good = `whsec_${btoa("0123456789abcdef01234567")}`;
  assert.equal(loadConfig({ WEBHOOK_SECRET: good }).webhookSecret, good);
  for (const bad of ["hunter2-webhook", "whsec_", "whsec_c2hvcnQ=", "whsec_not base64!"]) {
    assert.deepEqual(problemsOf({ WEBHOOK_SECRET: bad }), [
      "WEBHOOK_SECRET: must be a Standard Webhooks secret: whsec_ followed by 24 to 64 bytes in base64",
    ]);
  }
});
