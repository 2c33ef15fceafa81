/** The auth readiness checks against real limiters. */
import assert from "node:assert/strict";
import { redisTest, startRedis } from "../../tests/support/redis.ts";
import { loadConfig } from "../config.ts";
import { runChecks } from "../readiness.ts";
import { authChecks } from "./readiness.ts";

const production = {
  NODE_ENV: "production",
  APP_URL: "https://broker.example.com",
  AUTH_SECRET: "k2Jq9XvB7mN4pR8sT1wY5zA3cD6fG0hL",
  RESEND_API_KEY: "re_test",
};

async function outcomes(env: Record<string, string>) {
  const results = await runChecks(authChecks, { env, config: loadConfig(env) });
  return Object.fromEntries(results.map((r) => [r.id, r]));
}

Deno.test("[check] auth: production on an in-process limiter warns; a dead Redis fails", async () => {
  const memory = await outcomes(production);
  assert.equal(memory["auth.rate_limiter"].status, "warn");
  assert.match(memory["auth.session_cookie"].detail, /__Host-orion_session/);
  assert.match(memory["auth.email_verification"].detail, /required; emails go through Resend/);

  const dead = await outcomes({ ...production, RATE_LIMIT_REDIS_URL: "redis://127.0.0.1:1" });
  assert.equal(dead["auth.rate_limiter"].status, "fail");
  const domain = await outcomes({
    ...production,
    SESSION_COOKIE_DOMAIN: "example.com",
    REQUIRE_EMAIL_VERIFICATION: "false",
  });
  assert.match(domain["auth.session_cookie"].detail, /__Secure-orion_session for example.com/);
  assert.equal(domain["auth.email_verification"].status, "warn");
});

// Apart from the checks above, so a machine without redis-server skips only this one.
redisTest(import.meta.url, {
  name: "[check] auth: production on a reachable Redis limiter passes",
  async fn() {
    await using redis = await startRedis();
    const shared = await outcomes({ ...production, RATE_LIMIT_REDIS_URL: redis.url });
    assert.equal(shared["auth.rate_limiter"].status, "pass", shared["auth.rate_limiter"].detail);
  },
});
