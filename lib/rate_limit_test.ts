/** The rate limiter on every backend (memory, real Redis, Upstash REST over it) and when it fails. */
import assert from "node:assert/strict";
import { createLogger, type Logger } from "./log.ts";
import {
  createRateLimiter,
  limitWithDeadline,
  type RateDecision,
  type RateLimiter,
  type RateRule,
} from "./rate_limit.ts";
import { redisTest, startRedis } from "../tests/support/redis.ts";
import { startUpstashRestAdapter } from "../tests/support/upstash_rest_adapter.ts";

// Long enough that a burst of hits never straddles the boundary of the library's fixed buckets,
// where its weighted count of the previous bucket rounds down and lets one extra hit through.
const LONG_WINDOW_S = 60;
const DEADLINE_MS = 500;
const DENIED_FAIL_CLOSED: RateDecision = { allowed: false, remaining: 0, retryAfterS: 5 };

const BACKENDS: Backend[] = [
  { kind: "memory", needsRedis: false, open: () => Promise.resolve(harness({}, [])) },
  {
    kind: "redis",
    needsRedis: true,
    open: async () => {
      const redis = await startRedis();
      return harness({ rateLimitRedisUrl: redis.url }, [redis]);
    },
  },
  {
    kind: "upstash",
    needsRedis: true,
    open: async () => {
      const redis = await startRedis();
      try {
        const rest = await startUpstashRestAdapter(redis.url);
        return harness({ upstash: { url: rest.url, token: rest.token } }, [rest, redis]);
      } catch (error) {
        await redis.stop();
        throw error;
      }
    },
  },
];

for (const backend of BACKENDS) {
  const test = (name: string, fn: (h: Harness) => Promise<void>) => {
    const definition = {
      name: `[rate-limit] ${backend.kind}: ${name}`,
      fn: async () => {
        await using h = await backend.open();
        await fn(h);
      },
    };
    if (backend.needsRedis) redisTest(import.meta.url, definition);
    else Deno.test(definition);
  };

  test("allows exactly `limit` hits, then denies with a retry-after inside the window", async (h) => {
    const limiter = await h.create();
    assert.equal(limiter.kind, backend.kind);
    const rule = { name: "exact", limit: 3, windowS: LONG_WINDOW_S };
    for (const remaining of [2, 1, 0]) {
      assert.deepEqual(await limiter.hit(rule, "k"), { allowed: true, remaining, retryAfterS: 0 });
    }
    for (let i = 0; i < 2; i++) {
      const denied = await limiter.hit(rule, "k");
      assert.equal(denied.allowed, false);
      assert.equal(denied.remaining, 0);
      assert.ok(
        denied.retryAfterS >= 1 && denied.retryAfterS <= rule.windowS,
        `retryAfterS ${denied.retryAfterS} is within 1..${rule.windowS}`,
      );
    }
  });

  test("different keys and different rules count separately", async (h) => {
    const limiter = await h.create();
    const signIn = { name: "sign_in", limit: 2, windowS: LONG_WINDOW_S };
    const signUp = { name: "sign_up", limit: 2, windowS: LONG_WINDOW_S };
    await exhaust(limiter, signIn, "ip:1");
    assert.equal((await limiter.hit(signIn, "ip:1")).allowed, false);
    assert.deepEqual(await limiter.hit(signIn, "ip:2"), {
      allowed: true,
      remaining: 1,
      retryAfterS: 0,
    });
    assert.deepEqual(await limiter.hit(signUp, "ip:1"), {
      allowed: true,
      remaining: 1,
      retryAfterS: 0,
    });
  });

  test("reset() restores the whole allowance of that key only", async (h) => {
    const limiter = await h.create();
    const rule = { name: "reset_me", limit: 2, windowS: LONG_WINDOW_S };
    await exhaust(limiter, rule, "a");
    await exhaust(limiter, rule, "b");
    await limiter.reset(rule, "a");
    await limiter.reset(rule, "never-seen");
    await exhaust(limiter, rule, "a");
    assert.equal((await limiter.hit(rule, "a")).allowed, false);
    assert.equal((await limiter.hit(rule, "b")).allowed, false, "b was not reset");
  });

  test("a key is allowed again once the window has passed", async (h) => {
    const limiter = await h.create();
    const rule = { name: "short", limit: 2, windowS: 1 };
    await earlyInBucket(rule.windowS * 1000);
    await exhaust(limiter, rule, "k");
    assert.deepEqual(await limiter.hit(rule, "k"), {
      allowed: false,
      remaining: 0,
      retryAfterS: 1,
    });
    await sleep(rule.windowS * 1000 + 150);
    assert.equal((await limiter.hit(rule, "k")).allowed, true);
  });

  test("20 concurrent hits under a limit of 5 allow exactly 5", async (h) => {
    const limiter = await h.create();
    const rule = { name: "burst", limit: 5, windowS: LONG_WINDOW_S };
    const decisions = await Promise.all(
      Array.from({ length: 20 }, () => limiter.hit(rule, "k")),
    );
    const allowed = decisions.filter((decision) => decision.allowed);
    assert.equal(allowed.length, 5);
    assert.deepEqual(allowed.map((decision) => decision.remaining).sort(), [0, 1, 2, 3, 4]);
  });

  if (backend.kind !== "memory") {
    test("two app instances share counts and resets", async (h) => {
      const first = await h.create();
      const second = await h.create();
      const rule = { name: "shared", limit: 3, windowS: LONG_WINDOW_S };
      await first.hit(rule, "k");
      await first.hit(rule, "k");
      assert.deepEqual(await second.hit(rule, "k"), {
        allowed: true,
        remaining: 0,
        retryAfterS: 0,
      });
      assert.equal((await first.hit(rule, "k")).allowed, false);
      // A sign-in on the second instance must free the key on the first one too.
      await second.reset(rule, "k");
      assert.equal((await first.hit(rule, "k")).allowed, true);
    });
  }
}

Deno.test("[rate-limit] the backend follows the config: Upstash first, then Redis, else memory", async () => {
  const log = capture().log;
  const limiters = await Promise.all([
    createRateLimiter({
      upstash: { url: "http://127.0.0.1:9", token: "t" },
      rateLimitRedisUrl: "redis://127.0.0.1:9",
    }, log),
    createRateLimiter({ rateLimitRedisUrl: "redis://127.0.0.1:9" }, log),
    createRateLimiter({}, log),
  ]);
  try {
    assert.deepEqual(limiters.map((limiter) => limiter.kind), ["upstash", "redis", "memory"]);
  } finally {
    for (const limiter of limiters) await limiter.close();
  }
});

Deno.test("[rate-limit] a rule name cannot be reused with other numbers or carry glob characters", async () => {
  const limiter = await createRateLimiter({}, capture().log);
  try {
    await limiter.hit({ name: "login", limit: 5, windowS: 60 }, "k");
    await assert.rejects(limiter.hit({ name: "login", limit: 6, windowS: 60 }, "k"), /already 5/);
    await assert.rejects(limiter.hit({ name: "log*", limit: 5, windowS: 60 }, "k"), /must match/);
    await assert.rejects(limiter.hit({ name: "zero", limit: 0, windowS: 60 }, "k"), /limit/);
    await assert.rejects(limiter.hit({ name: "frac", limit: 1, windowS: 0.5 }, "k"), /windowS/);
  } finally {
    await limiter.close();
  }
});

redisTest(import.meta.url, {
  name: "[rate-limit] redis: a Redis that goes down denies within the deadline when failing closed",
  fn: async () => {
    const { log, warnings } = capture();
    await using redis = await startRedis();
    const limiter = await createRateLimiter({ rateLimitRedisUrl: redis.url }, log);
    try {
      const rule = { name: "down", limit: 5, windowS: LONG_WINDOW_S };
      assert.equal((await limiter.hit(rule, "k")).allowed, true);
      await redis.stop();
      await assert.rejects(limiter.hit(rule, "k"), "an error, never a silent allow");
      await assertFailsWithinDeadline(limiter, rule, log);
      // The client may hear of the closed socket only after a command has already timed out.
      const warned = () => warnings().some((line) => line.msg === "rate limit redis unreachable");
      for (let waited = 0; !warned() && waited < 5000; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(warned(), "the outage is logged");
    } finally {
      await limiter.close();
    }
  },
});

Deno.test({
  name:
    "[rate-limit] redis: a Redis that never answered denies within the deadline when failing closed",
  fn: async () => {
    const { log } = capture();
    const limiter = await createRateLimiter(
      { rateLimitRedisUrl: `redis://127.0.0.1:${deadPort()}` },
      log,
    );
    try {
      const rule = { name: "never", limit: 5, windowS: LONG_WINDOW_S };
      await assert.rejects(limiter.hit(rule, "k"));
      await assertFailsWithinDeadline(limiter, rule, log);
    } finally {
      await limiter.close();
    }
  },
});

Deno.test("[rate-limit] upstash: an unreachable endpoint denies within the deadline when failing closed", async () => {
  const { log } = capture();
  const limiter = await createRateLimiter({
    upstash: { url: `http://127.0.0.1:${deadPort()}`, token: "t" },
  }, log);
  try {
    const rule = { name: "unreachable", limit: 5, windowS: LONG_WINDOW_S };
    await assert.rejects(limiter.hit(rule, "k"));
    await assertFailsWithinDeadline(limiter, rule, log);
  } finally {
    await limiter.close();
  }
});

redisTest(import.meta.url, {
  name: "[rate-limit] upstash: a refused token is an error, not an allow",
  fn: async () => {
    await using redis = await startRedis();
    await using rest = await startUpstashRestAdapter(redis.url);
    const { log } = capture();
    const limiter = await createRateLimiter({ upstash: { url: rest.url, token: "wrong" } }, log);
    try {
      const rule = { name: "token", limit: 5, windowS: LONG_WINDOW_S };
      await assert.rejects(limiter.hit(rule, "k"), /Unauthorized/);
      await assertFailsWithinDeadline(limiter, rule, log);
    } finally {
      await limiter.close();
    }
  },
});

Deno.test("[rate-limit] upstash: an endpoint that never answers is an error, not the library's timeout-allow", async () => {
  // Accepts connections and never answers on them.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connections: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) connections.push(conn);
  })();
  const { log } = capture();
  const limiter = await createRateLimiter({
    upstash: { url: `http://127.0.0.1:${listener.addr.port}`, token: "t" },
  }, log);
  try {
    const rule = { name: "silent", limit: 5, windowS: LONG_WINDOW_S };
    const started = performance.now();
    assert.deepEqual(
      await limitWithDeadline(limiter, rule, "k", { failClosed: true, log }),
      DENIED_FAIL_CLOSED,
    );
    assert.ok(performance.now() - started < DEADLINE_MS + 250);
    // Ratelimit's own timeout (5 s by default) would answer success: true here.
    await assert.rejects(limiter.hit(rule, "k"));
  } finally {
    await limiter.close();
    listener.close();
    await accepting;
    for (const conn of connections) conn.close();
  }
});

Deno.test("[rate-limit] a limiter that never answers is denied at the deadline when failing closed", async () => {
  const { log, warnings } = capture();
  const hanging: RateLimiter = {
    kind: "memory",
    hit: () => new Promise<never>(() => {}),
    reset: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const rule = { name: "hang", limit: 5, windowS: 60 };
  const started = performance.now();
  const decision = await limitWithDeadline(hanging, rule, "k", {
    failClosed: true,
    timeoutMs: 200,
    log,
  });
  const elapsed = performance.now() - started;
  assert.deepEqual(decision, DENIED_FAIL_CLOSED);
  assert.ok(elapsed >= 190 && elapsed < 400, `denied after ${Math.round(elapsed)} ms`);
  assert.deepEqual(
    await limitWithDeadline(hanging, rule, "k", { failClosed: false, timeoutMs: 50, log }),
    { allowed: true, remaining: 5, retryAfterS: 0 },
  );
  const lines = warnings().filter((line) => line.msg === "rate limiter unavailable");
  assert.deepEqual(lines.map((line) => line.failClosed), [true, false]);
  assert.match(String(lines[0].error), /no answer within 200 ms/);
});

Deno.test("[rate-limit] limitWithDeadline passes a healthy limiter's answer through", async () => {
  const { log, warnings } = capture();
  const limiter = await createRateLimiter({}, log);
  try {
    const rule = { name: "healthy", limit: 1, windowS: 60 };
    const options = { failClosed: true, log };
    assert.deepEqual(await limitWithDeadline(limiter, rule, "k", options), {
      allowed: true,
      remaining: 0,
      retryAfterS: 0,
    });
    const denied = await limitWithDeadline(limiter, rule, "k", options);
    assert.equal(denied.allowed, false);
    assert.equal(denied.retryAfterS, 60);
    assert.deepEqual(warnings(), []);
  } finally {
    await limiter.close();
  }
});

/** Fails closed (deny, quickly) and open (allow) on the same broken limiter. */
async function assertFailsWithinDeadline(limiter: RateLimiter, rule: RateRule, log: Logger) {
  const started = performance.now();
  assert.deepEqual(
    await limitWithDeadline(limiter, rule, "k", { failClosed: true, log }),
    DENIED_FAIL_CLOSED,
  );
  const elapsed = performance.now() - started;
  assert.ok(elapsed < DEADLINE_MS + 100, `answered after ${Math.round(elapsed)} ms`);
  assert.equal(
    (await limitWithDeadline(limiter, rule, "k", { failClosed: false, log })).allowed,
    true,
  );
}

async function exhaust(limiter: RateLimiter, rule: RateRule, key: string): Promise<void> {
  for (let i = 0; i < rule.limit; i++) {
    assert.equal((await limiter.hit(rule, key)).allowed, true, `hit ${i + 1} of ${rule.limit}`);
  }
}

/**
 * Waits until the first half of one of the library's fixed buckets (aligned to the epoch), so a
 * short test neither straddles a boundary nor lands where the previous bucket still weighs fully.
 */
async function earlyInBucket(bucketMs: number): Promise<void> {
  const into = Date.now() % bucketMs;
  if (into > bucketMs / 2) await sleep(bucketMs - into + 10);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A loopback port that nothing listens on. */
function deadPort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger("debug", (line) => lines.push(JSON.parse(line)));
  return { log, warnings: () => lines.filter((line) => line.level === "warn") };
}

/**
 * Limiters made by `create()` are closed, then the servers stopped, when the harness is disposed;
 * a healthy run, closing included, must not have logged a warning.
 */
function harness(
  config: Parameters<typeof createRateLimiter>[0],
  servers: { stop(): Promise<void> }[],
): Harness {
  const { log, warnings } = capture();
  const limiters: RateLimiter[] = [];
  return {
    async create() {
      const limiter = await createRateLimiter(config, log);
      limiters.push(limiter);
      return limiter;
    },
    async [Symbol.asyncDispose]() {
      try {
        for (const limiter of limiters) await limiter.close();
        assert.deepEqual(warnings(), []);
      } finally {
        for (const server of servers) await server.stop();
      }
    },
  };
}

type Harness = { create(): Promise<RateLimiter>; [Symbol.asyncDispose](): Promise<void> };
type Backend = { kind: RateLimiter["kind"]; needsRedis: boolean; open(): Promise<Harness> };
