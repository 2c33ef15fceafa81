/** Configuration from the environment, validated with zod (docs/design.md, Configuration). */
import { isIP } from "node:net";
import { parse } from "dotenv";
import { z } from "zod";
import { LOG_LEVELS, type LogLevel } from "./log.ts";

const NODE_ENVS = ["development", "test", "production"] as const;
const MARKET_HOURS = ["nyse", "always"] as const;
const DEFAULT_SMTP_PORT = 587;
const DEFAULT_KV_PATH = "./data/orion.kv";
const MAX_BODY_LIMIT_BYTES = 100 * 1024 * 1024;
const MAX_BODY_TIMEOUT_MS = 10 * 60 * 1000;
/** More proxies than this in front of one app is a typo, not an architecture. */
const MAX_PROXY_HOPS = 10;
const HOSTNAME =
  /^(?=.{1,253}$)[a-z\d](?:[a-z\d-]{0,61}[a-z\d])?(?:\.[a-z\d](?:[a-z\d-]{0,61}[a-z\d])?)*$/;
const MAILBOX = /^(?:[^<>]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/;
const CASH = /^(?:0|[1-9]\d*)(?:\.\d{1,2})?$/;
const MONGODB_DB_NAME = /^[^/\\. "$*<>:|?]{1,63}$/;

/** Names that older deployments used are accepted too; the first one that is set wins. */
export const ALIASES = {
  APP_URL: ["APP_URL", "BETTER_AUTH_URL", "NEXTAUTH_URL"],
  AUTH_SECRET: ["AUTH_SECRET", "BETTER_AUTH_SECRET"],
} as const satisfies Partial<Record<Variable, readonly string[]>>;

/** The problem line for production without Resend or SMTP; readiness output repeats it. */
export const EMAIL_TRANSPORT_PROBLEM =
  "RESEND_API_KEY or EMAIL_SERVER_HOST: an email transport is required in production (verification and password-reset emails need one)";

/** Thrown by `loadConfig`; `problems` holds one line per bad or missing variable. */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  ${problem}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/**
 * Parses and validates a plain object of environment variables. Empty values count as unset
 * and unknown variables are ignored. Throws `ConfigError` listing every problem at once.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const production = nodeEnvOf(env) === "production";
  const schema = envSchema(production, present(env.DENO_DEPLOYMENT_ID));
  const names = {} as Record<Variable, string>;
  const raw: RawEnv = {};
  for (const key of Object.keys(schema.shape) as Variable[]) {
    const candidates: readonly string[] = ALIASES[key as keyof typeof ALIASES] ?? [key];
    names[key] = candidates.find((name) => present(env[name])) ?? key;
    raw[key] = present(env[names[key]]) ? env[names[key]]?.trim() : undefined;
  }

  const result = schema.safeParse(raw);
  const problems = [
    ...(result.error?.issues ?? []).map((issue) =>
      `${names[issue.path[0] as Variable]}: ${issue.message}`
    ),
    ...combinationProblems(schema, raw, production),
  ];
  if (!result.success || problems.length > 0) throw new ConfigError(problems);
  return toConfig(result.data, production);
}

/**
 * NODE_ENV as the app will read it, before validation: the value set, else production on Deno
 * Deploy (which sets DENO_DEPLOYMENT_ID itself), else development. A deployment that forgot
 * NODE_ENV must not serve the development mailbox or drop the Secure flag from cookies.
 */
export function nodeEnvOf(env: Record<string, string | undefined>): string {
  const value = env.NODE_ENV?.trim();
  if (value) return value;
  return present(env.DENO_DEPLOYMENT_ID) ? "production" : "development";
}

/**
 * Returns the process environment layered over `.env.local`, then `.env`, from `dir` (the working
 * directory by default): real variables win over `.env.local`, which wins over `.env`. Missing
 * files are fine.
 */
export async function readEnv(dir = "."): Promise<Record<string, string | undefined>> {
  const [dotenv, local] = await Promise.all([
    readDotenv(`${dir}/.env`),
    readDotenv(`${dir}/.env.local`),
  ]);
  const merged: Record<string, string | undefined> = {};
  for (const layer of [dotenv, local, Deno.env.toObject()]) {
    for (const [name, value] of Object.entries(layer)) {
      // An empty variable counts as unset, so it must not hide a value from a lower layer.
      if (present(value)) merged[name] = value;
    }
  }
  return merged;
}

/** KV_PATH, else the platform's KV on Deno Deploy (undefined), else the local default file. */
function kvPathOf(kvPath: string | undefined, onDeploy: boolean): string | undefined {
  return kvPath ?? (onDeploy ? undefined : DEFAULT_KV_PATH);
}

/** The file beside the KV database that keeps a development AUTH_SECRET across restarts. */
export const DEV_AUTH_SECRET_FILE = "auth-secret";

/**
 * `env` with AUTH_SECRET set, outside production, when none is given and the store is a local KV
 * file: the secret generated on the first start is kept in `auth-secret` beside that file (mode
 * 600), so after a restart the app can still open what it sealed (two-factor keys, webhook and
 * signal secrets) and check the codes it keyed. Production must set its own (loadConfig refuses to
 * start without it); with KV in memory or MongoDB nothing is written and each process makes one.
 */
export async function withDevAuthSecret(
  env: Record<string, string | undefined>,
): Promise<Record<string, string | undefined>> {
  if (nodeEnvOf(env) === "production") return env;
  if (ALIASES.AUTH_SECRET.some((name) => present(env[name])) || present(env.MONGODB_URI)) {
    return env;
  }
  const kvPath = kvPathOf(
    present(env.KV_PATH) ? env.KV_PATH!.trim() : undefined,
    present(env.DENO_DEPLOYMENT_ID),
  );
  // The platform KV, a KV Connect URL or memory: no folder of ours to keep a file in.
  if (kvPath === undefined || kvPath === ":memory:" || /^https?:\/\//.test(kvPath)) return env;
  const dir = kvPath.replace(/[^/]*$/, "") || "./";
  const file = `${dir}${DEV_AUTH_SECRET_FILE}`;
  const kept = await Deno.readTextFile(file).catch((error) => {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  });
  if (kept?.trim()) return { ...env, AUTH_SECRET: kept.trim() };
  await Deno.mkdir(dir, { recursive: true });
  try {
    // createNew: of two processes starting at once, one writes and the other reads its secret.
    await Deno.writeTextFile(file, `${processSecret()}\n`, { createNew: true, mode: 0o600 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  return { ...env, AUTH_SECRET: (await Deno.readTextFile(file)).trim() };
}

/**
 * The configuration once the server listens: without APP_URL, links in emails must point where
 * the server really is (PORT=0 picks the port only at listen time).
 */
export function withListenAddress(config: Config, hostname: string, port: number): Config {
  if (!config.appUrlIsDefault) return config;
  const host = hostname === "0.0.0.0" || hostname === "::" ? "localhost" : hostname;
  return {
    ...config,
    appUrl: new URL(`http://${host.includes(":") ? `[${host}]` : host}:${port}`).origin,
  };
}

/** A summary safe for logs and readiness output: secrets appear only as "set" or "unset". */
export function describeConfig(config: Config): Record<string, unknown> {
  // Every field is listed, so a new one fails to compile until someone decides how to show it.
  return {
    nodeEnv: config.nodeEnv,
    isProduction: config.isProduction,
    port: config.port,
    host: config.host,
    appUrl: config.appUrl,
    authSecret: secretState(config.authSecret),
    authSecretGenerated: config.authSecretGenerated,
    kvPath: config.kvPath,
    mongodbUri: secretState(config.mongodbUri),
    mongodbDb: config.mongodbDb,
    resendApiKey: secretState(config.resendApiKey),
    emailFrom: config.emailFrom,
    emailServer: config.emailServer && {
      host: config.emailServer.host,
      port: config.emailServer.port,
      user: config.emailServer.user,
      password: secretState(config.emailServer.password),
    },
    upstash: config.upstash && {
      url: config.upstash.url,
      token: secretState(config.upstash.token),
    },
    rateLimitRedisUrl: secretState(config.rateLimitRedisUrl),
    webhookSecret: secretState(config.webhookSecret),
    webhookAllowLoopback: config.webhookAllowLoopback,
    marketDataApiKey: secretState(config.marketDataApiKey),
    marketDataBaseUrl: config.marketDataBaseUrl,
    tradingApiKey: secretState(config.tradingApiKey),
    tradingApiSecret: secretState(config.tradingApiSecret),
    logLevel: config.logLevel,
    enableAnalytics: config.enableAnalytics,
    marketHours: config.marketHours,
    demoStartingCash: config.demoStartingCash,
    commissionPerOrder: config.commissionPerOrder,
    ordersPerSecond: config.ordersPerSecond,
    requireEmailVerification: config.requireEmailVerification,
    sessionCookieDomain: config.sessionCookieDomain,
    corsOrigins: config.corsOrigins,
    bodyLimitBytes: config.bodyLimitBytes,
    bodyTimeoutMs: config.bodyTimeoutMs,
    trustProxy: config.trustProxy,
    readOnly: config.readOnly,
    metricsToken: secretState(config.metricsToken),
    email: config.email,
  } satisfies Record<Exclude<keyof Config, "appUrlIsDefault">, unknown>;
}

// Only the helpers used for non-secret variables echo the input in their messages.
function envSchema(production: boolean, onDenoDeploy: boolean) {
  return z.object({
    NODE_ENV: oneOf(NODE_ENVS).default(onDenoDeploy ? "production" : "development"),
    PORT: integer(0, 65535).default(8000),
    HOST: z.string().default("0.0.0.0"),
    APP_URL: production
      ? z.string("is required in production (the public https origin)").pipe(origin(true))
      : origin(false).optional(),
    AUTH_SECRET: production
      ? z.string("is required in production").min(
        32,
        "must be at least 32 characters in production",
      )
      : secret(),
    KV_PATH: z.string().optional(),
    // Set by Deno Deploy; there the platform's own KV is the default store.
    DENO_DEPLOYMENT_ID: z.string().optional(),
    MONGODB_URI: secret().refine(
      (value) => value === undefined || /^mongodb(\+srv)?:\/\//.test(value),
      "must start with mongodb:// or mongodb+srv://",
    ),
    MONGODB_DB: z.string().regex(
      MONGODB_DB_NAME,
      'must be 1-63 characters without spaces or any of / \\ . " $ * < > : | ?',
    ).default("orion-assets-broker"),
    RESEND_API_KEY: secret(),
    EMAIL_FROM: z.string().regex(
      MAILBOX,
      { error: (issue) => `must be an address or "Name <address>" (got "${issue.input}")` },
    ).default("Orion Assets Broker <no-reply@localhost>"),
    EMAIL_SERVER_HOST: z.string().optional(),
    EMAIL_SERVER_PORT: integer(1, 65535).optional(),
    EMAIL_SERVER_USER: z.string().optional(),
    EMAIL_SERVER_PASSWORD: secret(),
    UPSTASH_REDIS_REST_URL: origin(false).optional(),
    UPSTASH_REDIS_REST_TOKEN: secret(),
    RATE_LIMIT_REDIS_URL: secret().refine(
      (value) => value === undefined || /^rediss?:\/\//.test(value),
      "must start with redis:// or rediss://",
    ),
    WEBHOOK_SECRET: secret().refine(
      (value) => value === undefined || isWebhookSecret(value),
      "must be a Standard Webhooks secret: whsec_ followed by 24 to 64 bytes in base64",
    ),
    WEBHOOK_ALLOW_LOOPBACK: boolean().default(false),
    MARKET_DATA_API_KEY: secret(),
    MARKET_DATA_BASE_URL: z.url("must be an absolute http(s) URL").default(
      "https://finnhub.io/api/v1",
    ),
    TRADING_API_KEY: secret(),
    TRADING_API_SECRET: secret(),
    LOG_LEVEL: oneOf(LOG_LEVELS).default("info"),
    ENABLE_ANALYTICS: boolean().default(false),
    MARKET_HOURS: oneOf(MARKET_HOURS).default("nyse"),
    DEMO_STARTING_CASH: z.string().refine(
      (value) => CASH.test(value) && Number(value) > 0,
      {
        error: (issue) =>
          `must be a positive amount with at most 2 decimals, like 100000 or 2500.50 (got "${issue.input}")`,
      },
    ).default("100000"),
    COMMISSION_PER_ORDER: z.string().refine((value) => CASH.test(value), {
      error: (issue) =>
        `must be an amount of 0 or more with at most 2 decimals, like 0 or 1.00 (got "${issue.input}")`,
    }).default("0"),
    ORDERS_PER_SECOND: integer(1, 100_000).default(10),
    REQUIRE_EMAIL_VERIFICATION: boolean().default(production),
    SESSION_COOKIE_DOMAIN: z.string().transform((value, ctx) => {
      // Browsers ignore a leading dot in the Domain attribute, so accept and drop it.
      const host = value.replace(/^\./, "").toLowerCase();
      if (HOSTNAME.test(host)) return host;
      ctx.addIssue(`must be a hostname such as example.com (got "${value}")`);
      return z.NEVER;
    }).optional(),
    CORS_ORIGINS: z.string()
      .transform((value) => value.split(",").map((entry) => entry.trim()).filter(Boolean))
      .pipe(z.array(origin(production)))
      .transform((origins) => [...new Set(origins)])
      .default([]),
    BODY_LIMIT_BYTES: integer(1, MAX_BODY_LIMIT_BYTES).default(65536),
    BODY_TIMEOUT_MS: integer(1, MAX_BODY_TIMEOUT_MS).default(10_000),
    TRUST_PROXY: proxyHops().default(0),
    TRUSTED_PROXIES: z.string()
      .transform((value) => value.split(",").map((entry) => entry.trim()).filter(Boolean))
      .pipe(z.array(proxyRange()))
      .transform((ranges) => [...new Set(ranges)])
      .optional(),
    READ_ONLY: boolean().default(false),
    // GET /metrics has no rate limit, so the token alone must resist guessing.
    METRICS_TOKEN: secret().refine(
      (value) => value === undefined || value.length >= 32,
      "must be at least 32 characters",
    ),
  });
}

/** Rules that tie variables together; they read the raw values so they report alongside field errors. */
function combinationProblems(
  schema: ReturnType<typeof envSchema>,
  raw: RawEnv,
  production: boolean,
): string[] {
  const problems: string[] = [];
  const bothOrNeither = (a: Variable, b: Variable) => {
    if (raw[a] !== undefined && raw[b] === undefined) {
      problems.push(`${b}: is required when ${a} is set`);
    }
    if (raw[b] !== undefined && raw[a] === undefined) {
      problems.push(`${a}: is required when ${b} is set`);
    }
  };
  bothOrNeither("UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN");
  bothOrNeither("EMAIL_SERVER_USER", "EMAIL_SERVER_PASSWORD");

  // Loopback webhooks reach the server's own ports; a production server must never send there.
  if (
    production && schema.shape.WEBHOOK_ALLOW_LOOPBACK.safeParse(raw.WEBHOOK_ALLOW_LOOPBACK).data
  ) {
    problems.push("WEBHOOK_ALLOW_LOOPBACK: must be off in production");
  }

  // A proxy list with trust off would silently do nothing; say so instead of guessing a hop count.
  if (
    raw.TRUSTED_PROXIES !== undefined &&
    schema.shape.TRUST_PROXY.safeParse(raw.TRUST_PROXY).data === 0
  ) {
    problems.push(
      "TRUST_PROXY: must be true or the number of proxies in front of the app when TRUSTED_PROXIES is set",
    );
  }

  const smtpSettings =
    (["EMAIL_SERVER_PORT", "EMAIL_SERVER_USER", "EMAIL_SERVER_PASSWORD"] as const)
      .filter((key) => raw[key] !== undefined);
  if (raw.EMAIL_SERVER_HOST === undefined && smtpSettings.length > 0) {
    problems.push(`EMAIL_SERVER_HOST: is required when ${smtpSettings.join(", ")} is set`);
  }

  // Password reset needs email even with verification off, and the dev mailbox is not served here.
  if (production && raw.RESEND_API_KEY === undefined && raw.EMAIL_SERVER_HOST === undefined) {
    problems.push(EMAIL_TRANSPORT_PROBLEM);
  }

  // A Domain attribute that does not cover the app's host makes browsers drop the cookie silently.
  const domain = schema.shape.SESSION_COOKIE_DOMAIN.safeParse(raw.SESSION_COOKIE_DOMAIN).data;
  const appUrl = schema.shape.APP_URL.safeParse(raw.APP_URL).data;
  if (domain !== undefined && appUrl !== undefined) {
    const host = new URL(appUrl).hostname;
    if (host !== domain && !host.endsWith(`.${domain}`)) {
      problems.push(
        `SESSION_COOKIE_DOMAIN: must be the APP_URL host ${host} or a parent domain of it (got "${domain}")`,
      );
    }
  }
  return problems;
}

function toConfig(env: z.output<ReturnType<typeof envSchema>>, production: boolean): Config {
  const appUrl = env.APP_URL ?? new URL(`http://localhost:${env.PORT}`).origin;
  return {
    nodeEnv: env.NODE_ENV,
    isProduction: production,
    port: env.PORT,
    host: env.HOST,
    appUrl,
    appUrlIsDefault: env.APP_URL === undefined,
    authSecret: env.AUTH_SECRET ?? processSecret(),
    authSecretGenerated: env.AUTH_SECRET === undefined,
    kvPath: kvPathOf(env.KV_PATH, env.DENO_DEPLOYMENT_ID !== undefined),
    mongodbUri: env.MONGODB_URI,
    mongodbDb: env.MONGODB_DB,
    resendApiKey: env.RESEND_API_KEY,
    emailFrom: env.EMAIL_FROM,
    emailServer: env.EMAIL_SERVER_HOST === undefined ? undefined : {
      host: env.EMAIL_SERVER_HOST,
      port: env.EMAIL_SERVER_PORT ?? DEFAULT_SMTP_PORT,
      user: env.EMAIL_SERVER_USER,
      password: env.EMAIL_SERVER_PASSWORD,
    },
    upstash: env.UPSTASH_REDIS_REST_URL === undefined || env.UPSTASH_REDIS_REST_TOKEN === undefined
      ? undefined
      : { url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN },
    rateLimitRedisUrl: env.RATE_LIMIT_REDIS_URL,
    webhookSecret: env.WEBHOOK_SECRET,
    webhookAllowLoopback: env.WEBHOOK_ALLOW_LOOPBACK,
    marketDataApiKey: env.MARKET_DATA_API_KEY,
    marketDataBaseUrl: env.MARKET_DATA_BASE_URL.replace(/\/+$/, ""),
    tradingApiKey: env.TRADING_API_KEY,
    tradingApiSecret: env.TRADING_API_SECRET,
    logLevel: env.LOG_LEVEL,
    enableAnalytics: env.ENABLE_ANALYTICS,
    marketHours: env.MARKET_HOURS,
    demoStartingCash: env.DEMO_STARTING_CASH,
    commissionPerOrder: env.COMMISSION_PER_ORDER,
    ordersPerSecond: env.ORDERS_PER_SECOND,
    requireEmailVerification: env.REQUIRE_EMAIL_VERIFICATION,
    sessionCookieDomain: env.SESSION_COOKIE_DOMAIN,
    corsOrigins: env.CORS_ORIGINS,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    bodyTimeoutMs: env.BODY_TIMEOUT_MS,
    trustProxy: { hops: env.TRUST_PROXY, proxies: env.TRUSTED_PROXIES },
    readOnly: env.READ_ONLY,
    metricsToken: env.METRICS_TOKEN,
    email: {
      kind: env.RESEND_API_KEY !== undefined
        ? "resend"
        : env.EMAIL_SERVER_HOST !== undefined
        ? "smtp"
        : "dev",
    },
  };
}

function secret() {
  return z.string().optional();
}

/**
 * A Standard Webhooks signing secret (signal URLs verify with it): `whsec_` and the key in base64,
 * the shape every Standard Webhooks library reads.
 */
function isWebhookSecret(value: string): boolean {
  const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(value);
  if (!match) return false;
  try {
    const bytes = Uint8Array.fromBase64(match[1]).length;
    return bytes >= 24 && bytes <= 64;
  } catch {
    return false;
  }
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, {
    error: (issue) => `must be one of ${values.join(", ")} (got "${issue.input}")`,
  });
}

function boolean() {
  return z.stringbool({
    truthy: ["true", "1", "yes", "on"],
    falsy: ["false", "0", "no", "off"],
    case: "insensitive",
    error: (issue) => `must be true or false (or 1/0, yes/no, on/off; got "${issue.input}")`,
  });
}

/** TRUST_PROXY: off, true (one proxy, as before it took a count) or the number of proxies. */
function proxyHops() {
  return z.string().transform((value, ctx) => {
    const word = value.toLowerCase();
    if (["false", "no", "off"].includes(word)) return 0;
    if (["true", "yes", "on"].includes(word)) return 1;
    const hops = /^\d+$/.test(value) ? Number(value) : NaN;
    if (hops >= 0 && hops <= MAX_PROXY_HOPS) return hops;
    ctx.addIssue(
      `must be false, true (one proxy) or the number of proxies in front of the app, 0 to ${MAX_PROXY_HOPS} (got "${value}")`,
    );
    return z.NEVER;
  });
}

/** One TRUSTED_PROXIES entry: an address or a CIDR range, normalised to `address/prefix`. */
function proxyRange() {
  return z.string().transform((value, ctx) => {
    const [address, prefix, ...rest] = value.split("/");
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    const length = prefix === undefined ? bits : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (family === 0 || rest.length > 0 || !(length >= 0 && length <= bits)) {
      ctx.addIssue(
        `each entry must be an IP address or a CIDR range such as 10.0.0.0/8 or fd00::/8 (got "${value}")`,
      );
      return z.NEVER;
    }
    return `${address.toLowerCase()}/${length}`;
  });
}

function integer(min: number, max: number) {
  return z.string().transform((value, ctx) => {
    const number = /^\d+$/.test(value) ? Number(value) : NaN;
    if (number >= min && number <= max) return number;
    ctx.addIssue(`must be an integer from ${min} to ${max} (got "${value}")`);
    return z.NEVER;
  });
}

/** An absolute http(s) URL, normalised to its origin (no path, no trailing slash). */
function origin(httpsOnly: boolean) {
  return z.string().transform((value, ctx) => {
    const url = URL.parse(value);
    if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
      ctx.addIssue(`must be an absolute http(s) URL (got "${value}")`);
      return z.NEVER;
    }
    if (httpsOnly && url.protocol !== "https:") {
      ctx.addIssue(`must use https in production (got "${url.origin}")`);
      return z.NEVER;
    }
    return url.origin;
  });
}

function present(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== "";
}

async function readDotenv(path: string): Promise<Record<string, string>> {
  try {
    return parse(await Deno.readTextFile(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return {};
    throw error;
  }
}

function secretState(value: string | undefined): "set" | "unset" {
  return value === undefined ? "unset" : "set";
}

let generatedSecret: string | undefined;

// One secret per process, so every loadConfig call agrees and sessions survive a config reload.
function processSecret(): string {
  generatedSecret ??= crypto.getRandomValues(new Uint8Array(32)).toBase64({
    alphabet: "base64url",
    omitPadding: true,
  });
  return generatedSecret;
}

type Variable = keyof ReturnType<typeof envSchema>["shape"];
type RawEnv = Partial<Record<Variable, string>>;

/** Deployment environment. */
export type NodeEnv = (typeof NODE_ENVS)[number];

/** Validated configuration; optional fields are absent when their variable is unset. */
export type Config = {
  nodeEnv: NodeEnv;
  isProduction: boolean;
  /** 0 asks the OS for any free port. */
  port: number;
  /** The interface to listen on: 0.0.0.0 for every interface, 127.0.0.1 for this machine only. */
  host: string;
  /** Public origin without a trailing slash, e.g. `https://broker.example.com`. */
  appUrl: string;
  /** True when APP_URL was not set and `appUrl` is only a guess from PORT. */
  appUrlIsDefault: boolean;
  authSecret: string;
  /** True when no secret was configured and one was generated for this process only. */
  authSecretGenerated: boolean;
  /** Deno KV file path, or `:memory:`. */
  /** A file path or `:memory:`; undefined means the platform's KV (on Deno Deploy). */
  kvPath?: string;
  mongodbUri?: string;
  mongodbDb: string;
  resendApiKey?: string;
  emailFrom: string;
  emailServer?: { host: string; port: number; user?: string; password?: string };
  upstash?: { url: string; token: string };
  rateLimitRedisUrl?: string;
  /** The app-wide Standard Webhooks secret that signal URLs with signing "app" verify with. */
  webhookSecret?: string;
  /**
   * Outbound webhooks may go to loopback addresses (127.0.0.0/8, ::1) and over plain http: for
   * development and tests only, refused in production (lib/webhooks/ssrf.ts).
   */
  webhookAllowLoopback: boolean;
  marketDataApiKey?: string;
  /** The quote API's base URL (Finnhub's by default). */
  marketDataBaseUrl: string;
  tradingApiKey?: string;
  tradingApiSecret?: string;
  logLevel: LogLevel;
  enableAnalytics: boolean;
  marketHours: (typeof MARKET_HOURS)[number];
  /** Decimal string with at most 2 decimals; never a float. */
  demoStartingCash: string;
  /** A flat commission booked on each filled order, as a decimal string ("0" by default). */
  commissionPerOrder: string;
  /** Orders (placed or replaced) per second sustained per account; bursts of twice as many pass. */
  ordersPerSecond: number;
  requireEmailVerification: boolean;
  sessionCookieDomain?: string;
  /** Allowed cross-origin callers, normalised to origins. */
  corsOrigins: string[];
  bodyLimitBytes: number;
  /** How long a request body may take to arrive once the headers are in; slower ones get 408. */
  bodyTimeoutMs: number;
  /** Which X-Forwarded-For entries to believe; see routes/request.ts clientAddress. */
  trustProxy: TrustProxy;
  /** Emergency switch for every instance: stop all writes but signing in and out and admin work. */
  readOnly: boolean;
  /** Bearer token that lets a Prometheus scraper read GET /metrics; admins may read it signed in. */
  metricsToken?: string;
  email: { kind: "resend" | "smtp" | "dev" };
};

/**
 * How the client address is found behind reverse proxies. `hops` is the number of proxies in
 * front of the app (0: X-Forwarded-For is ignored); `proxies`, when set, lists the addresses
 * (`address/prefix`) those proxies connect from, and a hop is believed only when it comes from one.
 */
export type TrustProxy = { hops: number; proxies?: string[] };
