/** Sliding-window rate limits behind one port: Upstash over REST, Redis over TCP, or in-process. */
import { createHash } from "node:crypto";
import type { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis";
import type { Redis as IoRedis } from "ioredis";
import type { Config } from "./config.ts";
import type { Logger } from "./log.ts";
import { TIMED_OUT, withTimeout } from "./timeout.ts";

const KEY_PREFIX = "orion:rl";
const DEFAULT_DEADLINE_MS = 500;
const FAIL_CLOSED_RETRY_AFTER_S = 5;
// Twice the default deadline: by then the caller has decided without us, so a slower request
// would only hold a socket open.
const REQUEST_TIMEOUT_MS = 1000;
const CONNECT_TIMEOUT_MS = 1000;
const MEMORY_SWEEP_INTERVAL_MS = 60_000;
// The rule name becomes part of a Redis key and of the SCAN MATCH pattern that reset() runs;
// glob characters or ":" there would let one reset reach another rule's or key's counters.
const RULE_NAME = /^[A-Za-z0-9_-]+$/;
// Upstash-only hint (lock only the script's KEYS). Upstream Redis rejects the script with
// "Unexpected flag in script shebang"; without the line it runs the same Lua under its usual
// whole-server script lock, which is what upstream Redis does for every script anyway.
const UPSTASH_ONLY_SHEBANG = /^#!lua flags=allow-key-locking\n/;

/**
 * Picks the backend: Upstash when `config.upstash` is set, else Redis when `rateLimitRedisUrl`
 * is set, else an in-process limiter (counts are per process, so only right for one instance).
 */
export async function createRateLimiter(
  config: Pick<Config, "upstash" | "rateLimitRedisUrl">,
  log: Logger,
): Promise<RateLimiter> {
  // The clients load only when configured: a single instance on the in-process limiter (and
  // its cold start) never pays for them.
  if (config.upstash) {
    const [{ Redis }, { Ratelimit }] = await Promise.all([
      import("@upstash/redis"),
      import("@upstash/ratelimit"),
    ]);
    const redis = new Redis({
      url: config.upstash.url,
      token: config.upstash.token,
      // One quick retry covers a dropped keep-alive connection; the default five, backing off
      // for seconds, would only keep failed requests alive long after the caller gave up.
      retry: { retries: 1, backoff: () => 50 },
      // A function, not a signal: with a plain AbortSignal the client turns an abort into the
      // *result* "Aborted" instead of an error.
      signal: () => AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      enableTelemetry: false,
    });
    log.info("rate limiter", { kind: "upstash" });
    return createScriptedLimiter(Ratelimit, "upstash", redis, () => Promise.resolve());
  }
  if (config.rateLimitRedisUrl) {
    const [{ Redis: IoRedisClient }, { Ratelimit }] = await Promise.all([
      import("ioredis"),
      import("@upstash/ratelimit"),
    ]);
    const { client, close } = connectRedis(IoRedisClient, config.rateLimitRedisUrl, log);
    log.info("rate limiter", { kind: "redis" });
    return createScriptedLimiter(Ratelimit, "redis", ioredisScripts(client), close);
  }
  log.info("rate limiter", { kind: "memory" });
  return createMemoryLimiter();
}

/**
 * hit() with a deadline. When the limiter throws or does not answer within timeoutMs (default 500):
 * failClosed → { allowed: false, remaining: 0, retryAfterS: 5 } and a warn log line; otherwise allowed.
 */
export async function limitWithDeadline(
  limiter: RateLimiter,
  rule: RateRule,
  key: string,
  options: { failClosed: boolean; timeoutMs?: number; log: Logger },
): Promise<RateDecision> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_DEADLINE_MS;
  let failure: unknown;
  try {
    const decision = await withTimeout(limiter.hit(rule, key), timeoutMs);
    if (decision !== TIMED_OUT) return decision;
    failure = new Error(`no answer within ${timeoutMs} ms`);
  } catch (error) {
    failure = error;
  }
  options.log.warn("rate limiter unavailable", {
    limiter: limiter.kind,
    rule: rule.name,
    failClosed: options.failClosed,
    // Upstash errors quote the whole command, Lua script included.
    error: String(failure instanceof Error ? failure.message : failure).slice(0, 300),
  });
  // Failing open counted nothing, so the whole allowance is what is known to remain.
  return options.failClosed
    ? { allowed: false, remaining: 0, retryAfterS: FAIL_CLOSED_RETRY_AFTER_S }
    : { allowed: true, remaining: rule.limit, retryAfterS: 0 };
}

/** The Upstash and Redis backends: @upstash/ratelimit's sliding window over either client. */
function createScriptedLimiter(
  Ratelimit: typeof import("@upstash/ratelimit").Ratelimit,
  kind: "upstash" | "redis",
  redis: ScriptRedis,
  close: () => Promise<void>,
): RateLimiter {
  const ratelimitFor = ruleRegistry((rule) =>
    new Ratelimit({
      // Ratelimit's type asks for get/set as well; it calls them only for dynamicLimits (off here).
      redis: redis as unknown as RatelimitRedis,
      limiter: Ratelimit.slidingWindow(rule.limit, `${rule.windowS} s`),
      prefix: `${KEY_PREFIX}:${rule.name}`,
      // The cache remembers a deny in this process until the window ends, so a reset() made by
      // another app instance (a sign-in that landed there) would not reach it.
      ephemeralCache: false,
      // The library's own timeout answers *allowed* when Redis is slow; limitWithDeadline decides.
      timeout: 0,
      analytics: false,
      enableTelemetry: false,
    })
  );
  return {
    kind,
    async hit(rule, key) {
      const { success, remaining, reset } = await ratelimitFor(rule).limit(storedIdentifier(key));
      if (success) return { allowed: true, remaining, retryAfterS: 0 };
      return {
        allowed: false,
        remaining: 0,
        retryAfterS: Math.max(1, Math.ceil((reset - Date.now()) / 1000)),
      };
    },
    async reset(rule, key) {
      await ratelimitFor(rule).resetUsedTokens(storedIdentifier(key));
    },
    close,
  };
}

/**
 * Hashes the caller's key (an email, an IP) so no personal data sits in a third-party store and
 * no glob character reaches the SCAN MATCH pattern of reset().
 */
function storedIdentifier(key: string): string {
  return createHash("sha256").update(key).digest("base64url");
}

/**
 * Opens the TCP client. It logs once when Redis becomes unreachable and once when it is back,
 * rather than at every reconnect attempt.
 */
function connectRedis(
  IoRedisClient: typeof import("ioredis").Redis,
  url: string,
  log: Logger,
): { client: IoRedis; close(): Promise<void> } {
  const client = new IoRedisClient(url, {
    lazyConnect: false,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: REQUEST_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    // A queued command would wait for a reconnect; a refused one lets the caller fail closed now.
    enableOfflineQueue: false,
    connectionName: "orion-rate-limit",
  });
  let reachable: boolean | undefined;
  let closing = false;
  const lost = (error?: Error) => {
    if (closing || reachable === false) return;
    reachable = false;
    log.warn("rate limit redis unreachable", { error: error?.message ?? "connection closed" });
  };
  // Without an "error" listener ioredis prints every failed reconnect to the console.
  client.on("error", lost);
  client.on("close", () => lost());
  client.on("ready", () => {
    if (reachable === false) log.info("rate limit redis reachable again");
    reachable = true;
  });
  const close = async () => {
    closing = true;
    if (client.status === "ready") {
      try {
        await client.quit();
        return;
      } catch {
        // The connection dropped mid-QUIT; disconnect() below still stops the reconnect timer.
      }
    }
    client.disconnect();
  };
  return { client, close };
}

/**
 * The part of @upstash/redis that @upstash/ratelimit calls for a sliding window without dynamic
 * limits, deny lists or analytics: `evalsha`, and `eval` when EVALSHA answers NOSCRIPT.
 */
function ioredisScripts(client: IoRedis): ScriptRedis {
  // The library's hash is that of the script with the Upstash shebang; Redis stores the script
  // without it, under another hash.
  const storedHash = new Map<string, string>();
  let handshake: Promise<void> | undefined;
  const run = async (
    command: "EVAL" | "EVALSHA",
    body: string,
    keys: string[],
    args: unknown[],
  ) => {
    // Without an offline queue a command sent mid-handshake is refused, which would deny the
    // first requests after start-up; a client waiting to reconnect after a failure is not waited for.
    if (client.status === "connecting" || client.status === "connect") {
      handshake ??= settled(client).finally(() => handshake = undefined);
      await handshake;
    }
    return await client.call(command, body, keys.length, ...keys, ...args.map(redisArgument));
  };
  return {
    evalsha: async <TArgs extends unknown[], TData = unknown>(
      sha: string,
      keys: string[],
      args: TArgs,
    ) => await run("EVALSHA", storedHash.get(sha) ?? sha, keys, args) as TData,
    eval: async <TArgs extends unknown[], TData = unknown>(
      script: string,
      keys: string[],
      args: TArgs,
    ) => {
      const runnable = script.replace(UPSTASH_ONLY_SHEBANG, "");
      storedHash.set(sha1(script), sha1(runnable));
      return await run("EVAL", runnable, keys, args) as TData;
    },
  };
}

/** Resolves when the connection attempt in flight succeeds or fails, or after the connect timeout. */
async function settled(client: IoRedis): Promise<void> {
  const { promise, resolve } = Promise.withResolvers<void>();
  const timer = setTimeout(() => resolve(), CONNECT_TIMEOUT_MS);
  client.once("ready", resolve).once("close", resolve);
  try {
    await promise;
  } finally {
    clearTimeout(timer);
    client.off("ready", resolve).off("close", resolve);
  }
}

/** Serialises an argument the way @upstash/redis does, so both backends store the same values. */
function redisArgument(value: unknown): string {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean"
    ? String(value)
    : JSON.stringify(value);
}

function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

/** An in-process sliding log: exact, but each process counts on its own. */
function createMemoryLimiter(): RateLimiter {
  const buckets: MemoryBucket[] = [];
  const bucketFor = ruleRegistry((rule) => {
    const bucket = { windowMs: rule.windowS * 1000, events: new Map<string, number[]>() };
    buckets.push(bucket);
    return bucket;
  });
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const { windowMs, events } of buckets) {
      for (const [key, times] of events) {
        if (times.at(-1)! <= now - windowMs) events.delete(key);
      }
    }
  }, MEMORY_SWEEP_INTERVAL_MS);
  Deno.unrefTimer(sweep);
  return {
    kind: "memory",
    // Promise.try turns a refused rule into a rejection, as the other backends report it.
    hit: (rule, key) => Promise.try(() => memoryHit(bucketFor(rule), rule.limit, key)),
    reset: (rule, key) => Promise.try(() => void bucketFor(rule).events.delete(key)),
    close() {
      clearInterval(sweep);
      for (const bucket of buckets) bucket.events.clear();
      return Promise.resolve();
    },
  };
}

// The monotonic clock, so a wall-clock step can neither forgive nor extend a window.
function memoryHit({ windowMs, events }: MemoryBucket, limit: number, key: string): RateDecision {
  const now = performance.now();
  const times = events.get(key) ?? [];
  while (times.length > 0 && times[0] <= now - windowMs) times.shift();
  if (times.length >= limit) {
    const retryAfterS = Math.max(1, Math.ceil((times[0] + windowMs - now) / 1000));
    return { allowed: false, remaining: 0, retryAfterS };
  }
  times.push(now);
  events.set(key, times);
  return { allowed: true, remaining: limit - times.length, retryAfterS: 0 };
}

/**
 * Builds one value per rule name, once, and refuses the same name with other numbers: both
 * would count into the same keys, and whichever was built first would silently win.
 */
function ruleRegistry<T>(build: (rule: RateRule) => T): (rule: RateRule) => T {
  const known = new Map<string, { limit: number; windowS: number; value: T }>();
  return (rule) => {
    const entry = known.get(rule.name);
    if (entry) {
      if (entry.limit !== rule.limit || entry.windowS !== rule.windowS) {
        throw new Error(
          `rate limit rule "${rule.name}" is already ${entry.limit} per ${entry.windowS} s; got ${rule.limit} per ${rule.windowS} s`,
        );
      }
      return entry.value;
    }
    if (!RULE_NAME.test(rule.name)) {
      throw new Error(`rate limit rule name must match ${RULE_NAME} (got "${rule.name}")`);
    }
    if (!Number.isSafeInteger(rule.limit) || rule.limit < 1) {
      throw new Error(`rate limit rule "${rule.name}": limit must be a whole number ≥ 1`);
    }
    if (!Number.isSafeInteger(rule.windowS) || rule.windowS < 1) {
      throw new Error(`rate limit rule "${rule.name}": windowS must be a whole number ≥ 1`);
    }
    const value = build(rule);
    known.set(rule.name, { limit: rule.limit, windowS: rule.windowS, value });
    return value;
  };
}

/** A limit: at most `limit` events per `windowS` seconds per key, sliding window. */
export type RateRule = { name: string; limit: number; windowS: number };

/** The limiter's answer; retryAfterS is whole seconds until the next event would be allowed (0 when allowed). */
export type RateDecision = { allowed: boolean; remaining: number; retryAfterS: number };

/** A rate limiter; `hit` and `reset` throw when its store cannot be reached. */
export interface RateLimiter {
  readonly kind: "upstash" | "redis" | "memory";
  /** Counts one event for `key` under `rule` and says whether it is within the limit. */
  hit(rule: RateRule, key: string): Promise<RateDecision>;
  /** Forgets the events of `key` under `rule` (e.g. after a successful sign-in). */
  reset(rule: RateRule, key: string): Promise<void>;
  close(): Promise<void>;
}

type RatelimitRedis = ConstructorParameters<typeof Ratelimit>[0]["redis"];
type ScriptRedis = Pick<Redis, "evalsha" | "eval">;
type MemoryBucket = { windowMs: number; events: Map<string, number[]> };
