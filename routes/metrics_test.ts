/** GET /metrics and the HTTP metrics, driven through the real app with the metrics pieces mounted. */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { createSession } from "../lib/auth/session.ts";
import type { Role, User } from "../lib/auth/users.ts";
import { ConfigError, describeConfig, loadConfig } from "../lib/config.ts";
import { createMetrics, metrics as processMetrics } from "../lib/metrics.ts";
import type { AppEnv } from "./env.ts";
import { metricsRoutes } from "./metrics.ts";
import { recordHttpMetrics } from "./middleware/http_metrics.ts";
import { testApp } from "./testing.ts";

const ORIGIN = "http://localhost:8000";
const TOKEN = "m3trics-scraper-token-0123456789abcdef";
type App = Awaited<ReturnType<typeof testApp>>;

/**
 * The test app as app.tsx will wire it: the HTTP metrics first, then every middleware and route
 * of the app, then /metrics behind the app's session middleware.
 */
function withMetrics(t: App) {
  const metrics = createMetrics();
  const app = new Hono<AppEnv>()
    .use(recordHttpMetrics(metrics))
    .route("/", t.app)
    .route("/metrics", metricsRoutes({ config: t.deps.config, metrics }));
  return { app, metrics };
}

/** A user with a live session, made directly in the store (no password hashing needed). */
async function member(t: App, role: Role): Promise<{ id: string; cookie: string }> {
  const now = new Date();
  const user = await t.deps.store.insert<User>("users", {
    email: `${role.toLowerCase()}-${crypto.randomUUID()}@example.com`,
    name: role,
    passwordHash: "unused",
    role,
    emailVerifiedAt: now,
    createdAt: now,
    passwordChangedAt: now,
    totp: null,
    totpPendingKey: null,
    recoveryCodeHashes: [],
  });
  const { token } = await createSession(t.deps.store, user, { ip: "unknown", userAgent: "" });
  return { id: user._id, cookie: `orion_session=${token}` };
}

function scrape(app: Hono<AppEnv>, headers: Record<string, string> = {}) {
  return app.request(`${ORIGIN}/metrics`, { headers });
}

Deno.test("[metrics] /metrics: 401 without credentials, 403 for a wrong token or a non-admin", async () => {
  await using t = await testApp({ METRICS_TOKEN: TOKEN });
  const { app } = withMetrics(t);
  const user = await member(t, "USER");
  const admin = await member(t, "ADMIN");

  const anonymous = await scrape(app);
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.headers.get("WWW-Authenticate"), 'Bearer realm="metrics"');
  assert.match(anonymous.headers.get("Content-Type")!, /^text\/plain/);
  assert.equal(anonymous.headers.get("Cache-Control"), "no-store");
  assert.match(await anonymous.text(), /^Unauthorized/);

  const refused: Record<string, string>[] = [
    { Authorization: "Bearer wrong-token" },
    { Authorization: `Bearer ${TOKEN}x` },
    { Authorization: `Bearer ${TOKEN.slice(0, -1)}` },
    { Cookie: user.cookie },
    // A token decides alone: an admin's session does not rescue a wrong one.
    { Authorization: "Bearer wrong-token", Cookie: admin.cookie },
  ];
  for (const headers of refused) {
    const res = await scrape(app, headers);
    assert.equal(res.status, 403, JSON.stringify(headers));
    assert.equal(res.headers.get("Cache-Control"), "no-store");
    assert.match(await res.text(), /^Forbidden/);
  }
});

Deno.test("[metrics] /metrics answers the scraper's token or a signed-in admin", async () => {
  await using t = await testApp({ METRICS_TOKEN: TOKEN });
  const { app } = withMetrics(t);
  const admin = await member(t, "ADMIN");
  const accepted: Record<string, string>[] = [
    { Authorization: `Bearer ${TOKEN}` },
    { Authorization: `bearer ${TOKEN}` },
    { Cookie: admin.cookie },
  ];
  for (const headers of accepted) {
    const res = await scrape(app, headers);
    assert.equal(res.status, 200, JSON.stringify(headers));
    assert.equal(res.headers.get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    assert.equal(res.headers.get("Cache-Control"), "no-store");
    const text = await res.text();
    assert.match(text, /^# HELP /m);
    assert.match(text, /^# TYPE http_requests_total counter$/m);
    assert.ok(!text.includes(admin.id), "no user id in any label");
    assert.ok(!text.includes(TOKEN), "no token in any label");
  }
});

Deno.test("[metrics] without METRICS_TOKEN no token is accepted, and admins still get in", async () => {
  await using t = await testApp();
  const { app } = withMetrics(t);
  const admin = await member(t, "ADMIN");
  assert.equal((await scrape(app, { Authorization: `Bearer ${TOKEN}` })).status, 403);
  assert.equal((await scrape(app, { Cookie: admin.cookie })).status, 200);
});

Deno.test("[metrics] requests are counted by route pattern, never by path or id", async () => {
  await using t = await testApp();
  const { app, metrics } = withMetrics(t);
  const trader = await member(t, "USER");
  const headers = { Origin: ORIGIN, Cookie: trader.cookie, "Content-Type": "application/json" };
  const placed = await app.request(`${ORIGIN}/api/orders`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      symbol: "AAPL",
      side: "buy",
      type: "market",
      qty: "1",
      timeInForce: "day",
    }),
  });
  assert.equal(placed.status, 201, await placed.clone().text());
  const { id } = await placed.json();
  assert.equal((await app.request(`${ORIGIN}/api/orders/${id}`, { headers })).status, 200);
  assert.equal((await app.request(`${ORIGIN}/api/orders/nope`, { headers })).status, 404);
  // The guard answers before the handler, and the request still belongs to the handler's route.
  assert.equal((await app.request(`${ORIGIN}/api/orders/${id}`)).status, 401);
  assert.equal((await app.request(`${ORIGIN}/no/such/page`)).status, 404);
  assert.equal((await app.request(`${ORIGIN}/api/health`)).status, 200);

  const requests = (route: string, status: string, method = "GET") =>
    metrics.sample("http_requests_total", { method, route, status });
  assert.equal(await requests("/api/orders", "201", "POST"), 1);
  assert.equal(await requests("/api/orders/:id", "200"), 1);
  assert.equal(await requests("/api/orders/:id", "404"), 1);
  assert.equal(await requests("/api/orders/:id", "401"), 1);
  assert.equal(await requests("unmatched", "404"), 1);
  assert.equal(await requests("/api/health", "200"), 1);
  assert.equal(
    await metrics.sample("http_request_duration_seconds_count", {
      method: "GET",
      route: "/api/orders/:id",
    }),
    3,
  );
  const text = await metrics.render();
  assert.ok(!text.includes(id), "the order id is not a label");
  assert.ok(!text.includes("/no/such/page") && !text.includes("nope"), "raw paths are not labels");
});

Deno.test("[metrics] route labels without a wrapping app: guards, errors and unknown paths", async () => {
  const metrics = createMetrics();
  const api = new Hono<AppEnv>()
    .use("/orders/*", async (c, next) => {
      if (!c.req.header("Cookie")) return c.text("sign in", 401);
      await next();
    })
    .get("/orders/:id", (c) => c.json({ id: c.req.param("id") }))
    .get("/boom", () => {
      throw new Error("bug");
    });
  const app = new Hono<AppEnv>().use(recordHttpMetrics(metrics)).route("/api", api);
  app.onError((_, c) => c.text("oops", 500));
  const headers = { Cookie: "x=1" };
  assert.equal((await app.request("/api/orders/1", { headers })).status, 200);
  assert.equal((await app.request("/api/orders/2", { headers, method: "HEAD" })).status, 200);
  assert.equal((await app.request("/api/orders/3")).status, 401);
  assert.equal((await app.request("/api/boom")).status, 500);
  assert.equal((await app.request("/api/nothing")).status, 404);
  assert.equal((await app.request("/api/orders/1", { headers, method: "BREW" })).status, 404);
  const requests = (method: string, route: string, status: string) =>
    metrics.sample("http_requests_total", { method, route, status });
  assert.equal(await requests("GET", "/api/orders/:id", "200"), 1);
  assert.equal(await requests("HEAD", "/api/orders/:id", "200"), 1);
  assert.equal(await requests("GET", "/api/orders/:id", "401"), 1);
  assert.equal(await requests("GET", "/api/boom", "500"), 1);
  assert.equal(await requests("GET", "unmatched", "404"), 1);
  assert.equal(await requests("other", "unmatched", "404"), 1);
});

Deno.test("[metrics] sign-in outcomes are counted by the sign-in flow itself", async () => {
  await using t = await testApp();
  const signIns = (outcome: string) =>
    processMetrics.sample("auth_sign_in_total", { outcome }).then((n) => n ?? 0);
  const before = { ok: await signIns("success"), bad: await signIns("invalid_credentials") };
  const post = (path: string, body: unknown) =>
    t.app.request(`${ORIGIN}/api/auth${path}`, {
      method: "POST",
      headers: { Origin: ORIGIN, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  const password = "vivid-otter-planet-42";
  assert.equal(
    (await post("/sign-up", { email: "a@example.com", password, name: "A" })).status,
    201,
  );
  assert.equal((await post("/sign-in", { email: "nobody@example.com", password })).status, 401);
  assert.equal((await post("/sign-in", { email: "a@example.com", password })).status, 200);
  assert.equal(await signIns("success"), before.ok + 1);
  assert.equal(await signIns("invalid_credentials"), before.bad + 1);
});

Deno.test("[log] the request line carries the user id when signed in, and only then", async () => {
  await using t = await testApp();
  const trader = await member(t, "USER");
  const requestLines = () =>
    t.logLines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === "request");
  await t.app.request(`${ORIGIN}/api/auth/session`, { headers: { Cookie: trader.cookie } });
  await t.app.request(`${ORIGIN}/api/auth/session`);
  const [signedIn, anonymous] = requestLines();
  assert.equal(signedIn.status, 200);
  assert.equal(signedIn.userId, trader.id);
  assert.equal(anonymous.status, 401);
  assert.equal("userId" in anonymous, false);
});

Deno.test("[config] METRICS_TOKEN must be long, and is shown only as set or unset", () => {
  const base = { NODE_ENV: "test", KV_PATH: ":memory:" };
  assert.throws(
    () => loadConfig({ ...base, METRICS_TOKEN: "short-token" }),
    (e) =>
      e instanceof ConfigError &&
      e.problems.includes("METRICS_TOKEN: must be at least 32 characters") &&
      !e.message.includes("short-token"),
  );
  assert.equal(describeConfig(loadConfig({ ...base, METRICS_TOKEN: TOKEN })).metricsToken, "set");
  assert.equal(describeConfig(loadConfig(base)).metricsToken, "unset");
});
