/** Production readiness checks run by `deno task check`: each one small, named and grouped. */
import { ALIASES, type Config, ConfigError, loadConfig, nodeEnvOf } from "./config.ts";
import { transactionSupport } from "./store/mongo.ts";
import { openStore } from "./store/open.ts";
import { TIMED_OUT, withTimeout } from "./timeout.ts";
import type { Doc, Store } from "./store/port.ts";
import { COLLECTION_NAMES, indexName, type IndexSpec, SCHEMA } from "./store/schema.ts";

/** How long one check may run before it counts as failed. */
const CHECK_TIMEOUT_MS = 5000;
const LATENCY_PINGS = 5;
const LATENCY_WARN_MS = 50;
const LATENCY_FAIL_MS = 500;
const INDEXED_QUERY_WARN_MS = 100;
const INDEXED_QUERY_FAIL_MS = 1000;
const MIN_SECRET_LENGTH = 32;
const MIN_DISTINCT_SECRET_CHARS = 10;
const ADMIN_PAGE_SIZE = 50;
/** config.ts accepts these older names too; the first one set wins, as it does there. */
const SECRET_NAMES = ALIASES.AUTH_SECRET;
const APP_URL_NAMES = ALIASES.APP_URL;
/**
 * Values people paste from docs and samples, compared with case and punctuation removed.
 * The last one is the generator command that .env.example shows in place of a sample value.
 */
const PLACEHOLDER_SECRETS = new Set(
  [
    "secret",
    "super-secret",
    "my-secret",
    "password",
    "default",
    "development",
    "openssl rand -base64 32",
  ].map(normalizeSecret),
);
/** Fragments that mark a sample however long it is ("your-secret-key-change-in-production"). */
const PLACEHOLDER_FRAGMENT =
  /changeme|changethis|changeinproduction|replaceme|yoursecret|placeholder/;
/** Local parts that seed scripts and tutorials give the first admin. */
const DEFAULT_ADMIN_EMAIL = /^(?:admin|administrator|root|superuser|sysadmin)@/i;
/** Variables whose values must never reach the output, even inside an error message. */
const SECRET_VARIABLE = /SECRET|TOKEN|PASSWORD|API_KEY|MONGODB_URI|REDIS_URL/;
/** Below this length a value is too likely to be an ordinary word to be redacted from text. */
const MIN_REDACTED_LENGTH = 8;
/** Hosts an https APP_URL may name on a developer's machine without looking like a deployment. */
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
/** HOST values that accept connections from this machine only. */
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "::1"]);
/** MongoDB creates this index on every collection by itself; it is never declared. */
const IMPLICIT_INDEX = "_id_";

/** The first-version checks, in display order; later issues append theirs here. */
export const defaultChecks: Check[] = [
  {
    id: "config.parse",
    group: "configuration",
    title: "Configuration parses",
    run: (ctx) =>
      Promise.resolve(
        ctx.config
          ? pass("every variable is valid")
          : fail((ctx.configProblems ?? ["no configuration was loaded"]).join("; ")),
      ),
  },
  {
    id: "config.node_env",
    group: "configuration",
    title: "NODE_ENV",
    run: (ctx) => Promise.resolve(nodeEnvOutcome(ctx)),
  },
  {
    id: "store.connectivity",
    group: "store",
    title: "Store answers",
    run: withStore(async (store, ctx) => {
      await store.ping();
      const where = store.backend === "kv" && ctx.config?.kvPath ? ` at ${ctx.config.kvPath}` : "";
      return pass(`${store.backend === "kv" ? "Deno KV" : "MongoDB"}${where} answered a ping`);
    }),
  },
  {
    id: "store.transactions",
    group: "store",
    title: "Atomic units (transactions)",
    run: withStore(async (store) => {
      const support = await transactionSupport(store);
      return support.ok ? pass(support.detail) : fail(support.detail);
    }),
  },
  {
    id: "store.latency",
    group: "store",
    title: "Store latency",
    run: withStore(async (store) => {
      const times: number[] = [];
      for (let i = 0; i < LATENCY_PINGS; i++) {
        const start = performance.now();
        try {
          await store.ping();
        } catch (error) {
          return fail(`unreachable: ${messageOf(error)}`);
        }
        times.push(performance.now() - start);
      }
      const median = times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
      const detail = `median ${median.toFixed(2)} ms over ${LATENCY_PINGS} pings`;
      if (median > LATENCY_FAIL_MS) return fail(`${detail} (limit ${LATENCY_FAIL_MS} ms)`);
      if (median > LATENCY_WARN_MS) return warn(`${detail} (aim for under ${LATENCY_WARN_MS} ms)`);
      return pass(detail);
    }),
  },
  {
    id: "store.collections",
    group: "store",
    title: "Collections present",
    run: withStore(async (store) => {
      const present = await store.describeSchema();
      const missing = COLLECTION_NAMES.filter((name) => !(name in present));
      return missing.length > 0
        ? fail(`missing: ${missing.join(", ")} (opening the app creates them)`)
        : pass(`all ${COLLECTION_NAMES.length} collections`);
    }),
  },
  {
    id: "store.indexes",
    group: "store",
    title: "Indexes match the schema",
    run: withStore(async (store) => {
      const present = await store.describeSchema();
      const missing: string[] = [];
      const extra: string[] = [];
      for (const collection of COLLECTION_NAMES) {
        const declared = (SCHEMA[collection] as readonly IndexSpec[]).map(indexName);
        const have = (present[collection] ?? []).filter((name) => name !== IMPLICIT_INDEX);
        missing.push(
          ...declared.filter((name) => !have.includes(name)).map((name) => `${collection}.${name}`),
        );
        extra.push(
          ...have.filter((name) => !declared.includes(name)).map((name) => `${collection}.${name}`),
        );
      }
      const extraNote = extra.length > 0 ? `not declared: ${extra.join(", ")}` : "";
      if (missing.length > 0) {
        return fail([`missing: ${missing.join(", ")}`, extraNote].filter(Boolean).join("; "));
      }
      if (extra.length > 0) return warn(`${extraNote} (they cost writes and no query uses them)`);
      const count = COLLECTION_NAMES.reduce((sum, c) => sum + SCHEMA[c].length, 0);
      return pass(`all ${count} declared indexes, no others`);
    }),
  },
  {
    id: "store.indexed_query",
    group: "store",
    title: "Indexed query speed",
    run: withStore(async (store) => {
      // The worker's own query: every working order, oldest first, through the {open, placedAt} index.
      const start = performance.now();
      await store.find("orders", {
        where: { open: true },
        sort: { field: "placedAt", direction: 1 },
        limit: 50,
      });
      const ms = performance.now() - start;
      const detail = `a page of working orders in ${ms.toFixed(1)} ms`;
      if (ms > INDEXED_QUERY_FAIL_MS) return fail(`${detail} (limit ${INDEXED_QUERY_FAIL_MS} ms)`);
      if (ms > INDEXED_QUERY_WARN_MS) {
        return warn(`${detail} (aim for under ${INDEXED_QUERY_WARN_MS} ms)`);
      }
      return pass(detail);
    }),
  },
  {
    id: "security.auth_secret",
    group: "security",
    title: "AUTH_SECRET strength",
    run: (ctx) => Promise.resolve(authSecretOutcome(ctx)),
  },
  {
    id: "security.app_url",
    group: "security",
    title: "APP_URL uses https",
    run: (ctx) => Promise.resolve(appUrlOutcome(ctx)),
  },
  {
    id: "security.transport",
    group: "security",
    title: "HSTS and allowed origins",
    run: ({ config }) => {
      if (!config) return Promise.resolve(fail("not checked until the configuration parses"));
      const origins = config.corsOrigins.length
        ? config.corsOrigins.join(", ")
        : "none besides APP_URL";
      // Production refuses http CORS origins at start-up, so what is left to report is the list.
      return Promise.resolve(pass(
        config.isProduction
          ? `HSTS max-age=31536000 with includeSubDomains on every response; cross-origin writes allowed from: ${origins}`
          : `HSTS is sent only in production; cross-origin writes allowed from: ${origins}`,
      ));
    },
  },
  {
    id: "security.trust_proxy",
    group: "security",
    title: "Client address (TRUST_PROXY)",
    run: ({ config }) => Promise.resolve(trustProxyOutcome(config)),
  },
  {
    id: "security.default_admin",
    group: "security",
    title: "No default admin account",
    run: withStore(async (store) => {
      const admins: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.find<Doc & { email?: string }>("users", {
          where: { role: "ADMIN" },
          limit: ADMIN_PAGE_SIZE,
          cursor,
        });
        admins.push(...page.items.map((user) => String(user.email ?? "")));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      const defaults = admins.filter((email) => DEFAULT_ADMIN_EMAIL.test(email));
      if (defaults.length > 0) {
        const accounts = defaults.join(", ");
        return fail(`default-looking admin ${accounts}: demote it and promote a named person`);
      }
      if (admins.length === 0) {
        return pass("no admins yet; promote one with deno task admin:promote <email>");
      }
      return pass(
        `${admins.length} admin${admins.length === 1 ? "" : "s"}, none a default account`,
      );
    }),
  },
];

/**
 * Runs the checks one after another and returns their results in the same order. A check that
 * throws or outlasts `timeoutMs` fails with a one-line reason; secret values never appear.
 */
export async function runChecks(
  checks: readonly Check[],
  ctx: CheckContext,
  options: { timeoutMs?: number } = {},
): Promise<CheckResult[]> {
  const timeoutMs = options.timeoutMs ?? CHECK_TIMEOUT_MS;
  const secrets = secretValues(ctx);
  const results: CheckResult[] = [];
  for (const check of checks) {
    const outcome = await runOne(check, ctx, check.timeoutMs ?? timeoutMs);
    results.push({
      id: check.id,
      group: check.group,
      title: check.title,
      status: outcome.status,
      detail: redact(outcome.detail, secrets),
    });
  }
  return results;
}

/**
 * Builds the context from raw environment variables: the configuration (or its problems) and,
 * when it parsed, the store that `open` returns (or why it would not open).
 */
export async function prepareContext(
  env: Record<string, string | undefined>,
  open: (config: Config) => Promise<Store> = openStore,
): Promise<CheckContext> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { env, configProblems: error.problems };
  }
  try {
    return { env, config, store: await open(config) };
  } catch (error) {
    return { env, config, storeError: messageOf(error) };
  }
}

/**
 * The line `deno task check` prints before anything else when the app would not run in production
 * mode, so nobody mistakes a development setup for a ready one; undefined in production.
 */
export function environmentBanner(ctx: CheckContext): string | undefined {
  const value = ctx.config?.nodeEnv ?? nodeEnvOf(ctx.env);
  if (value === "production") return undefined;
  return `⚠️  NOT PRODUCTION: NODE_ENV is ${value}, so ${
    developmentRisks(ctx.config)
  }. Set NODE_ENV=production on any server other people can reach.`;
}

/** Counts results by status; the run is ready when `failed` is 0. */
export function summarize(results: readonly CheckResult[]): CheckSummary {
  const count = (status: CheckStatus) => results.filter((r) => r.status === status).length;
  return { passed: count("pass"), warnings: count("warn"), failed: count("fail") };
}

async function runOne(check: Check, ctx: CheckContext, timeoutMs: number): Promise<CheckOutcome> {
  try {
    const outcome = await withTimeout(check.run(ctx), timeoutMs);
    return outcome === TIMED_OUT ? fail(`did not finish within ${timeoutMs} ms`) : outcome;
  } catch (error) {
    return fail(messageOf(error));
  }
}

/** Wraps a check that needs the store; without one it fails and says why. */
function withStore(
  run: (store: Store, ctx: CheckContext) => Promise<CheckOutcome>,
): Check["run"] {
  return (ctx) => {
    if (ctx.store) return run(ctx.store, ctx);
    if (ctx.storeError) return Promise.resolve(fail(`the store did not open: ${ctx.storeError}`));
    return Promise.resolve(fail("not checked until the configuration parses"));
  };
}

function authSecretOutcome(ctx: CheckContext): CheckOutcome {
  const production = isProduction(ctx);
  const name = firstSet(ctx.env, SECRET_NAMES)?.[0] ?? SECRET_NAMES[0];
  const value = ctx.config
    ? (ctx.config.authSecretGenerated ? undefined : ctx.config.authSecret)
    : firstSet(ctx.env, SECRET_NAMES)?.[1];
  const generate = "generate one with: openssl rand -base64 32";
  if (value === undefined) {
    if (production) return fail(`${name} is not set; production requires one (${generate})`);
    return warn(
      `${name} is not set, so one was generated for this process: flash messages, emailed codes, recovery codes and two-factor keys will not survive a restart (${generate})`,
    );
  }
  const normalized = normalizeSecret(value);
  const guessable = PLACEHOLDER_SECRETS.has(normalized) || PLACEHOLDER_FRAGMENT.test(normalized)
    ? ["is a well-known placeholder"]
    : new Set(value).size < MIN_DISTINCT_SECRET_CHARS
    ? [`uses fewer than ${MIN_DISTINCT_SECRET_CHARS} distinct characters`]
    : [];
  const tooFew = value.length >= MIN_SECRET_LENGTH
    ? []
    : production
    ? [`has fewer than the ${MIN_SECRET_LENGTH} characters production requires`]
    : [`has fewer than ${MIN_SECRET_LENGTH} characters, which production will refuse`];
  const problems = [...tooFew, ...guessable];
  if (problems.length === 0) {
    return pass(`${name} is set, at least ${MIN_SECRET_LENGTH} characters, not a placeholder`);
  }
  const detail = `${name} ${problems.join(" and ")}; ${generate}`;
  // Outside production only a guessable secret fails: a short random one is fine on a laptop.
  return guessable.length > 0 || production ? fail(detail) : warn(detail);
}

function nodeEnvOutcome(ctx: CheckContext): CheckOutcome {
  // A bad value is config.ts's to judge; its problem line is repeated here, not re-derived.
  const problem = ctx.configProblems?.find((line) => line.startsWith("NODE_ENV:"));
  if (problem) return fail(problem);
  const value = ctx.config?.nodeEnv ?? nodeEnvOf(ctx.env);
  if (value === "production") {
    return pass(
      ctx.env.NODE_ENV?.trim()
        ? "production"
        : "production (NODE_ENV is unset and DENO_DEPLOYMENT_ID is set: Deno Deploy defaults to production)",
    );
  }
  const risks = developmentRisks(ctx.config);
  const deployment = deploymentSign(ctx);
  if (deployment) {
    return fail(`${value}, but ${deployment}: ${risks}; set NODE_ENV=production`);
  }
  return warn(`${value}: ${risks}; fine on a laptop, never on a server others can reach`);
}

/** What development mode gives away, for the NODE_ENV check and the banner. */
function developmentRisks(config: Config | undefined): string {
  const mailbox = !config || config.email.kind === "dev"
    ? "anyone can read every email sent, password-reset links included, at /dev/mailbox; "
    : "";
  return `${mailbox}cookies are not Secure and the production-only rules are off`;
}

/** Why the configuration looks like a real deployment, or undefined when it looks local. */
function deploymentSign(ctx: CheckContext): string | undefined {
  if (ctx.env.DENO_DEPLOYMENT_ID?.trim()) return "DENO_DEPLOYMENT_ID is set (this is Deno Deploy)";
  const appUrl = ctx.config
    ? (ctx.config.appUrlIsDefault ? undefined : ctx.config.appUrl)
    : firstSet(ctx.env, APP_URL_NAMES)?.[1];
  const url = appUrl === undefined ? null : URL.parse(appUrl);
  if (url?.protocol === "https:" && !LOCAL_HOSTS.has(url.hostname)) {
    return `APP_URL is ${url.origin}, a public https address`;
  }
  return undefined;
}

function trustProxyOutcome(config: Config | undefined): CheckOutcome {
  if (!config) return fail("not checked until the configuration parses");
  const { hops, proxies } = config.trustProxy;
  if (hops === 0) {
    return pass(
      "off: X-Forwarded-For is ignored and each client is known by its connection's address (behind a proxy, set TRUST_PROXY or every client shares the proxy's address and rate limits)",
    );
  }
  const source = `the client is the address ${hops} hop${
    hops === 1 ? "" : "s"
  } from the right of X-Forwarded-For`;
  if (proxies) {
    const everyone = proxies.filter((range) => range.endsWith("/0"));
    if (everyone.length > 0) {
      return warn(
        `TRUSTED_PROXIES includes ${
          everyone.join(", ")
        }, which matches every address, so any client can choose its own address with X-Forwarded-For; list only the proxies' addresses`,
      );
    }
    return pass(
      `${source}, believed only on connections from ${
        proxies.join(", ")
      }; any other connection is known by its own address`,
    );
  }
  if (LOOPBACK_HOSTS.has(config.host)) {
    return pass(
      `${source}; HOST=${config.host} accepts connections from this machine only, so only a proxy here can set it (TRUSTED_PROXIES=127.0.0.1 would say so explicitly)`,
    );
  }
  return warn(
    `${source}, from any connection: a client that reaches port ${config.port} directly, not through the proxy, chooses its own address by sending X-Forwarded-For, which escapes every per-address rate limit and is recorded on its sessions; list the proxies in TRUSTED_PROXIES, or make sure only the proxy can reach the app`,
  );
}

function appUrlOutcome(ctx: CheckContext): CheckOutcome {
  const production = isProduction(ctx);
  const [name, value] = ctx.config
    ? [firstSet(ctx.env, APP_URL_NAMES)?.[0] ?? APP_URL_NAMES[0], ctx.config.appUrl]
    : firstSet(ctx.env, APP_URL_NAMES) ?? [APP_URL_NAMES[0], undefined];
  if (value === undefined) {
    return production
      ? fail(`${name} is not set; production requires the public https origin`)
      : pass(`${name} is not set; http://localhost is used (fine outside production)`);
  }
  const url = URL.parse(value);
  if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
    return fail(`${name} is not an absolute http(s) URL`);
  }
  if (url.protocol === "https:") return pass(`${name} is ${url.origin}`);
  return production
    ? fail(`${name} is ${url.origin}; production requires https so cookies stay Secure`)
    : pass(`${name} is ${url.origin} (http is fine outside production)`);
}

function isProduction(ctx: CheckContext): boolean {
  return ctx.config?.isProduction ?? nodeEnvOf(ctx.env) === "production";
}

/** The first of `names` with a non-blank value, as config.ts picks it. */
function firstSet(
  env: Record<string, string | undefined>,
  names: readonly string[],
): [string, string] | undefined {
  const name = names.find((n) => env[n]?.trim());
  return name === undefined ? undefined : [name, env[name]!.trim()];
}

function normalizeSecret(value: string): string {
  return value.toLowerCase().replace(/[^a-z\d]/g, "");
}

function secretValues(ctx: CheckContext): string[] {
  const values = Object.entries(ctx.env)
    .filter(([name]) => SECRET_VARIABLE.test(name))
    .map(([, value]) => value?.trim() ?? "");
  if (ctx.config) values.push(ctx.config.authSecret);
  return values.filter((value) => value.length >= MIN_REDACTED_LENGTH);
}

// A store error may quote a connection string; this keeps credentials out of the output anyway.
function redact(text: string, secrets: readonly string[]): string {
  return secrets.reduce((out, secret) => out.replaceAll(secret, "[redacted]"), text);
}

/** The error's message on one line; a stack trace is never shown. */
function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.trim().replace(/\s*\n\s*/g, "; ") || "failed without a message";
}

/** A check outcome. */
export function pass(detail: string): CheckOutcome {
  return { status: "pass", detail };
}

/** A check outcome. */
export function warn(detail: string): CheckOutcome {
  return { status: "warn", detail };
}

/** A check outcome. */
export function fail(detail: string): CheckOutcome {
  return { status: "fail", detail };
}

/** How a check ended. */
export type CheckStatus = "pass" | "warn" | "fail";

/** What one check found; `detail` is one line for a person and never holds a secret. */
export type CheckOutcome = { status: CheckStatus; detail: string };

/** What checks can look at. `config` is absent when it did not parse, `store` when it did not open. */
export type CheckContext = {
  /** The raw environment, so checks can explain a configuration that did not parse. */
  env: Record<string, string | undefined>;
  config?: Config;
  /** One line per problem, from ConfigError; never a secret value. */
  configProblems?: string[];
  store?: Store;
  /** Why the store did not open, when the configuration parsed but opening failed. */
  storeError?: string;
};

/** One readiness check; `id` is stable for scripts, `group` and `title` are for people. */
export type Check = {
  id: string;
  group: string;
  title: string;
  /** How long this check may take; scans of the whole store need more than a ping. */
  timeoutMs?: number;
  run(ctx: CheckContext): Promise<CheckOutcome>;
};

/** A check's outcome with the check's identity, as printed and as JSON. */
export type CheckResult = {
  id: string;
  group: string;
  title: string;
  status: CheckStatus;
  detail: string;
};

/** Totals over a run. */
export type CheckSummary = { passed: number; warnings: number; failed: number };
