/**
 * API keys through the HTTP API: creation under the sudo rule, a secret that is never stored,
 * logged or shown again, scopes and revocation on every trading route, per-key limits, the audit
 * trail and admin revocation. Scripts send no Origin and no cookie, as curl does.
 */
import assert from "node:assert/strict";
import type { AuditEntry } from "../lib/audit.ts";
import { type ApiKey, MAX_API_KEYS_PER_USER } from "../lib/auth/api_keys.ts";
import { changeRole } from "../lib/auth/roles.ts";
import type { Session } from "../lib/auth/session.ts";
import type { User } from "../lib/auth/users.ts";
import { findAll } from "../lib/store/find_all.ts";
import { COLLECTION_NAMES } from "../lib/store/schema.ts";
import { API_KEY_LIMITS } from "./middleware/api_key.ts";
import { exportsApi } from "./exports_api.ts";
import { portfolioApi } from "./performance.tsx";
import { TEST_ORIGIN, testApi, testApp, testBrowser } from "./testing.ts";
import { tradingApi } from "./trading_api.ts";
import { sseReader } from "../tests/support/sse.ts";

type App = Awaited<ReturnType<typeof testApp>>;

/** A request as a script sends it: the key, no Origin, no cookie. */
function withKey(
  t: App,
  secret: string,
  method: string,
  path: string,
  init: { body?: unknown; ip?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { Authorization: `Bearer ${secret}`, ...init.headers };
  if (init.body !== undefined) headers["Content-Type"] = "application/json";
  return t.app.request(`${TEST_ORIGIN}${path}`, {
    method,
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  }, { remoteAddr: { hostname: init.ip ?? "198.51.100.20", port: 1, transport: "tcp" } });
}

async function createKey(
  t: App,
  cookie: string,
  body: Record<string, unknown> = { name: "bot", scopes: ["read", "trade"] },
): Promise<{ secret: string; key: { id: string; prefix: string; scopes: string[] } }> {
  return await testApi(t).call("/api/keys", { cookie, body });
}

async function errorCode(res: Response): Promise<string> {
  return (await res.json()).error.code;
}

/** Every stored document of every collection, as JSON. */
async function storeDump(t: App): Promise<string> {
  const parts: string[] = [];
  for (const collection of COLLECTION_NAMES) {
    parts.push(JSON.stringify(await findAll(t.deps.store, collection, {})));
  }
  return parts.join("\n");
}

async function auditOf(t: App, action: string): Promise<AuditEntry[]> {
  const entries = await findAll<AuditEntry>(t.deps.store, "audit_logs", { where: { action } });
  return entries;
}

const MARKET_BUY = { symbol: "AAPL", side: "buy", qty: "1", type: "market", timeInForce: "day" };

Deno.test("[keys] a key's secret is shown once, and never stored, logged or shown again", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("keys-secret@example.com");
  const created = await api.request("/api/keys", {
    cookie,
    body: { name: "my bot", scopes: ["read", "trade"], expiresInDays: 30 },
  });
  assert.equal(created.status, 201);
  assert.equal(created.headers.get("Cache-Control"), "no-store");
  const { secret, key } = await created.json();
  assert.match(secret, /^orion_[a-z2-7]{52}$/);
  assert.equal(key.name, "my bot");
  assert.deepEqual(key.scopes, ["read", "trade"]);
  assert.ok(secret.startsWith(key.prefix) && key.prefix.length < 20);
  assert.ok(Math.abs(Date.parse(key.expiresAt) - Date.now() - 30 * 86_400_000) < 60_000);

  // The key works: reads and an order, with no Origin and no cookie.
  const accounts = await withKey(t, secret, "GET", "/api/accounts");
  assert.equal(accounts.status, 200);
  assert.deepEqual(accounts.headers.getSetCookie(), []);
  const order = await withKey(t, secret, "POST", "/api/orders", { body: MARKET_BUY });
  assert.equal(order.status, 201, await order.clone().text());
  assert.deepEqual(order.headers.getSetCookie(), []);
  const bodies = [await accounts.text(), await order.text()];

  const list = await api.request("/api/keys", { cookie });
  assert.equal(list.status, 200);
  const listed = await list.text();
  bodies.push(listed);
  const [shown] = JSON.parse(listed).keys;
  assert.equal(shown.id, key.id);
  assert.equal(shown.prefix, key.prefix);
  assert.ok(shown.lastUsedAt !== null, "the use is recorded");
  assert.deepEqual(Object.keys(shown).sort(), [
    "createdAt",
    "expired",
    "expiresAt",
    "id",
    "lastUsedAt",
    "name",
    "prefix",
    "scopes",
  ]);
  bodies.push(await (await api.request("/settings/keys", { cookie })).text());

  const stored = await storeDump(t);
  assert.ok(stored.includes(key.prefix), "the scan reads the keys collection");
  assert.ok(!stored.includes(secret), "the store never holds the secret");
  assert.ok(!stored.includes(secret.slice(key.prefix.length)), "nor its unshown part");
  const logs = t.logLines.join("\n");
  assert.ok(logs.includes('"path":"/api/orders"'), "the log captured the key's requests");
  assert.ok(!logs.includes(secret.slice(key.prefix.length)), "the log never holds the secret");
  for (const body of bodies) assert.ok(!body.includes(secret.slice(key.prefix.length)));
});

Deno.test("[keys] creating a key needs a recent sign-in, as sensitive settings do", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("keys-sudo@example.com");
  const user = (await t.deps.store.findOne<User>("users", { email: "keys-sudo@example.com" }))!;
  const [session] = await findAll<Session>(t.deps.store, "sessions", {
    where: { userId: user._id },
  });
  await t.deps.store.update<Session>("sessions", session._id, {
    sudoUntil: new Date(Date.now() - 1),
  });
  const stale = await api.request("/api/keys", { cookie, body: { name: "x", scopes: ["read"] } });
  const settings = await api.request("/api/auth/2fa/setup", { cookie, body: {} });
  assert.equal(stale.status, 403);
  assert.equal(settings.status, 403);
  const staleError = (await stale.json()).error;
  assert.deepEqual(staleError, (await settings.json()).error);
  assert.equal(staleError.code, "reauthentication_required");
  assert.deepEqual(await findAll(t.deps.store, "api_keys", {}), []);

  // Re-entering the password opens it again, as for the settings.
  await api.call("/api/auth/reauth", { cookie, body: { password: "vivid-otter-planet-42" } });
  const { secret } = await createKey(t, cookie, { name: "x", scopes: ["read"] });
  assert.ok(secret);

  // Without a session at all: 401; bad input: 422 and nothing stored.
  assert.equal(
    (await api.request("/api/keys", { body: { name: "x", scopes: ["read"] } })).status,
    401,
  );
  for (
    const body of [
      { name: "", scopes: ["read"] },
      { name: "x", scopes: [] },
      { name: "x", scopes: ["trade"] },
      { name: "x", scopes: ["read", "admin"] },
      { name: "x", scopes: ["read"], expiresInDays: 0 },
      { name: "x", scopes: ["read"], expiresInDays: 366 },
      { name: "x", scopes: ["read"], expiresInDays: 1.5 },
    ]
  ) {
    const res = await api.request("/api/keys", { cookie, body });
    assert.equal(res.status, 422, JSON.stringify(body));
    assert.equal(await errorCode(res), "validation_failed");
  }
  assert.equal((await findAll(t.deps.store, "api_keys", {})).length, 1);
});

Deno.test("[keys] a read key reads but cannot trade; a key opens only the trading API", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("keys-read@example.com");
  const { secret } = await createKey(t, cookie, { name: "reader", scopes: ["read"] });
  for (const path of ["/api/accounts", "/api/orders", "/api/positions", "/api/watchlists"]) {
    const res = await withKey(t, secret, "GET", path);
    assert.equal(res.status, 200, path);
  }
  const refused = await withKey(t, secret, "POST", "/api/orders", { body: MARKET_BUY });
  assert.equal(refused.status, 403);
  assert.equal(await errorCode(refused), "insufficient_scope");
  assert.match(refused.headers.get("WWW-Authenticate") ?? "", /insufficient_scope/);
  assert.equal((await api.call("/api/orders", { cookie })).orders.length, 0);

  // Neither kind of key reaches the auth API, key management or the admin API.
  const { secret: trader } = await createKey(t, cookie);
  for (const s of [secret, trader]) {
    for (
      const [method, path] of [
        ["GET", "/api/auth/session"],
        ["POST", "/api/auth/password/change"],
        ["POST", "/api/auth/sign-out"],
        ["GET", "/api/keys"],
        ["POST", "/api/keys"],
        ["GET", "/api/admin/users"],
      ]
    ) {
      const res = await withKey(t, s, method, path, method === "POST" ? { body: {} } : {});
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.equal(await errorCode(res), "insufficient_scope");
    }
  }
  // Pages take no Bearer credential: without a session they send the visitor to sign in.
  const page = await withKey(t, trader, "GET", "/dashboard");
  assert.equal(page.status, 303);
});

Deno.test("[keys] every state-changing route of the trading API refuses a read key", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("keys-routes@example.com");
  const { secret: reader } = await createKey(t, cookie, { name: "r", scopes: ["read"] });
  const { secret: trader } = await createKey(t, cookie);
  // The routers as mounted in app.tsx, so a route added to any of them is checked here too.
  const routers: [string, { routes: { method: string; path: string }[] }][] = [
    ["/api", tradingApi(t.deps)],
    ["/api/portfolio", portfolioApi(t.deps)],
    ["/api/exports", exportsApi(t.deps)],
  ];
  const concrete = (path: string) =>
    path.replace(/:symbol\{[^}]*\}/g, "AAPL").replace(/:[A-Za-z]+(\{[^}]*\})?/g, "x");
  let writes = 0;
  let reads = 0;
  for (const [base, router] of routers) {
    for (const { method, path } of router.routes) {
      if (method === "ALL") continue;
      const url = base + concrete(path);
      if (method === "GET") {
        // A read key is let through (the route may still answer 404 or 422 for the dummy ids).
        const res = await withKey(t, reader, "GET", url);
        assert.ok(![401, 403].includes(res.status), `GET ${url} → ${res.status}`);
        await res.body?.cancel();
        reads++;
        continue;
      }
      const res = await withKey(t, reader, method, url, { body: {} });
      assert.equal(res.status, 403, `${method} ${url} → ${res.status}`);
      assert.equal(await errorCode(res), "insufficient_scope", `${method} ${url}`);
      // The trade key passes the same gate (whatever the route then says of the dummy input).
      const allowed = await withKey(t, trader, method, url, { body: {} });
      assert.ok(![401, 403].includes(allowed.status), `${method} ${url} → ${allowed.status}`);
      await allowed.body?.cancel();
      writes++;
    }
  }
  assert.ok(writes >= 13, `only ${writes} writing routes found`);
  assert.ok(reads >= 10, `only ${reads} reading routes found`);
});

Deno.test("[keys] revoked and expired keys get 401 at once; another user's key is a 404", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("keys-revoke@example.com");
  const { cookie: other } = await api.trader("keys-other@example.com");
  const { secret, key } = await createKey(t, cookie);
  assert.equal((await withKey(t, secret, "GET", "/api/orders")).status, 200);

  const stolen = await api.request(`/api/keys/${key.id}`, { cookie: other, method: "DELETE" });
  assert.equal(stolen.status, 404);
  assert.equal((await withKey(t, secret, "GET", "/api/orders")).status, 200);

  assert.equal(
    (await api.request(`/api/keys/${key.id}`, { cookie, method: "DELETE" })).status,
    204,
  );
  for (const [method, path] of [["GET", "/api/orders"], ["POST", "/api/orders"]]) {
    const res = await withKey(
      t,
      secret,
      method,
      path,
      method === "POST" ? { body: MARKET_BUY } : {},
    );
    assert.equal(res.status, 401, `${method} ${path}`);
    assert.equal(await errorCode(res), "invalid_api_key");
    assert.match(res.headers.get("WWW-Authenticate") ?? "", /invalid_token/);
  }
  assert.equal(
    (await api.request(`/api/keys/${key.id}`, { cookie, method: "DELETE" })).status,
    404,
  );
  assert.deepEqual((await api.call("/api/keys", { cookie })).keys, []);

  const expiring = await createKey(t, cookie, { name: "e", scopes: ["read"], expiresInDays: 1 });
  assert.equal((await withKey(t, expiring.secret, "GET", "/api/orders")).status, 200);
  await t.deps.store.update<ApiKey>("api_keys", expiring.key.id, {
    expiresAt: new Date(Date.now() - 1),
  });
  const expired = await withKey(t, expiring.secret, "GET", "/api/orders");
  assert.equal(expired.status, 401);
  assert.match((await expired.json()).error.message, /expired/);
  assert.equal((await api.call("/api/keys", { cookie })).keys[0].expired, true);

  // Junk and unknown secrets of the right shape get the same 401.
  for (const junk of ["nope", `orion_${"a".repeat(52)}`, ""]) {
    const res = await withKey(t, junk, "GET", "/api/orders");
    assert.equal(res.status, 401, junk);
  }
});

Deno.test("[keys] a suspended user's keys are refused; a password reset revokes them", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("keys-suspend@example.com");
  const { secret } = await createKey(t, cookie);
  const user = (await t.deps.store.findOne<User>("users", { email: "keys-suspend@example.com" }))!;
  const origin = { ip: "cli", userAgent: "test" };
  const suspended = await changeRole(t.deps.store, user, "SUSPENDED", "cli", origin);
  assert.equal((await withKey(t, secret, "GET", "/api/orders")).status, 401);
  await changeRole(t.deps.store, suspended, "USER", "cli", origin);
  assert.equal((await withKey(t, secret, "GET", "/api/orders")).status, 200);

  await api.call("/api/auth/password/forgot", { body: { email: user.email } });
  await t.deps.background.drain();
  const mail = t.deps.mailer.mailbox!.list().find((e) => e.to === user.email)!;
  const token = new URL(mail.text.match(/https?:\/\/\S+reset-password\?token=\S+/)![0])
    .searchParams.get("token");
  await api.call("/api/auth/password/reset", {
    body: { token, password: "fresh-sturdy-phrase-1" },
  });
  assert.equal((await withKey(t, secret, "GET", "/api/orders")).status, 401);
  const [revoked] = (await auditOf(t, "api_key.revoked")).filter((e) => e.userId === user._id);
  assert.equal(revoked.details.reason, "password_reset");
});

Deno.test("[keys] the origin check: a key without cookies is exempt; with a cookie it is not", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("keys-origin@example.com");
  const { secret } = await createKey(t, cookie);
  const foreign = { Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site" };
  const bare = await withKey(t, secret, "POST", "/api/orders", {
    body: MARKET_BUY,
    headers: foreign,
  });
  assert.equal(bare.status, 201);
  const mixed = await withKey(t, secret, "POST", "/api/orders", {
    body: MARKET_BUY,
    headers: { ...foreign, Cookie: cookie },
  });
  assert.equal(mixed.status, 403);
  assert.equal(await errorCode(mixed), "cross_origin_request");
  // From our own origin, key and cookie together: the key decides, the session is left alone.
  const same = await withKey(t, secret, "GET", "/api/accounts", {
    headers: { Origin: TEST_ORIGIN, Cookie: cookie },
  });
  assert.equal(same.status, 200);
  assert.deepEqual(same.headers.getSetCookie(), []);
  // A Bearer credential on a page is not an exemption: pages keep the origin check.
  const page = await withKey(t, secret, "POST", "/settings/profile", { headers: foreign });
  assert.equal(page.status, 403);
});

Deno.test("[keys] at most MAX_API_KEYS_PER_USER keys, even created all at once", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("keys-cap@example.com");
  const answers = await Promise.all(
    Array.from(
      { length: MAX_API_KEYS_PER_USER + 6 },
      (_, i) => api.request("/api/keys", { cookie, body: { name: `k${i}`, scopes: ["read"] } }),
    ),
  );
  const statuses = answers.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 201).length, MAX_API_KEYS_PER_USER, String(statuses));
  const refused = answers.filter((r) => r.status === 422);
  assert.equal(refused.length, 6);
  for (const r of refused) assert.equal(await errorCode(r), "too_many_api_keys");
  for (const r of answers.filter((r) => r.status === 201)) await r.body?.cancel();
  const keys = (await api.call("/api/keys", { cookie })).keys;
  assert.equal(keys.length, MAX_API_KEYS_PER_USER);
  // Revoking one frees its place.
  await api.call(`/api/keys/${keys[3].id}`, { cookie, method: "DELETE" });
  assert.equal(
    (await api.request("/api/keys", { cookie, body: { name: "again", scopes: ["read"] } })).status,
    201,
  );
});

Deno.test("[keys] each key has its own limits: requests a minute and orders a second", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("keys-limit@example.com");
  const { secret } = await createKey(t, cookie);
  const { secret: second } = await createKey(t, cookie, {
    name: "second",
    scopes: ["read", "trade"],
  });

  // Orders: claimed before the route runs, so even refused input counts, sent all at once.
  const burst = await Promise.all(
    Array.from(
      { length: API_KEY_LIMITS.orders.limit + 3 },
      () => withKey(t, secret, "POST", "/api/orders", { body: {} }),
    ),
  );
  const limited = burst.filter((r) => r.status === 429);
  assert.equal(limited.length, 3, String(burst.map((r) => r.status)));
  assert.ok(Number(limited[0].headers.get("Retry-After")) >= 1);
  assert.equal(await errorCode(limited[0]), "rate_limited");
  for (const r of burst) if (!r.bodyUsed) await r.body?.cancel();

  // Requests: the rest of the minute's budget, then 429; another key of the same user is free.
  const used = API_KEY_LIMITS.orders.limit + 3;
  for (let i = used; i < API_KEY_LIMITS.requests.limit; i++) {
    const res = await withKey(t, secret, "GET", "/api/clock");
    assert.equal(res.status, 200, `request ${i}`);
    await res.body?.cancel();
  }
  const over = await withKey(t, secret, "GET", "/api/clock");
  assert.equal(over.status, 429);
  assert.ok(Number(over.headers.get("Retry-After")) >= 1);
  assert.equal((await withKey(t, second, "GET", "/api/clock")).status, 200);
});

Deno.test("[keys] creation, use from a new address and revocation are audited; last use is written at most once a minute", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("keys-audit@example.com");
  const { secret, key } = await createKey(t, cookie);
  const [created] = await auditOf(t, "api_key.created");
  assert.equal(created.details.keyId, key.id);
  assert.equal(created.ip, "203.0.113.9");

  for (let i = 0; i < 3; i++) {
    assert.equal(
      (await withKey(t, secret, "GET", "/api/orders", { ip: "198.51.100.1" })).status,
      200,
    );
  }
  const stored = (await t.deps.store.get<ApiKey>("api_keys", key.id))!;
  assert.equal(stored._v, 2, "three uses from one address in a minute: one write");
  assert.equal(stored.lastIp, "198.51.100.1");
  await withKey(t, secret, "GET", "/api/orders", { ip: "198.51.100.2" });
  const moves = await auditOf(t, "api_key.new_address");
  assert.deepEqual(moves.map((e) => [e.ip, e.details.previousIp]).sort(), [
    ["198.51.100.1", null],
    ["198.51.100.2", "198.51.100.1"],
  ]);

  await api.call(`/api/keys/${key.id}`, { cookie, method: "DELETE" });
  const [revoked] = await auditOf(t, "api_key.revoked");
  assert.equal(revoked.details.keyId, key.id);
  assert.equal(revoked.actorId, null);
  const audit = JSON.stringify(await findAll(t.deps.store, "audit_logs", {}));
  assert.ok(!audit.includes(secret.slice(key.prefix.length)));
});

Deno.test("[keys] admins see a user's keys and revoke them", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("keys-owner@example.com");
  const { secret, key } = await createKey(t, cookie);
  const owner = (await t.deps.store.findOne<User>("users", { email: "keys-owner@example.com" }))!;
  await api.trader("keys-admin@example.com");
  const adminUser = (await t.deps.store.findOne<User>("users", {
    email: "keys-admin@example.com",
  }))!;
  await changeRole(t.deps.store, adminUser, "ADMIN", "cli", { ip: "cli", userAgent: "test" });
  const { cookie: admin } = await api.signIn("keys-admin@example.com");

  const detail = await api.call(`/api/admin/users/${owner._id}`, { cookie: admin });
  assert.equal(detail.apiKeys.length, 1);
  assert.equal(detail.apiKeys[0].prefix, key.prefix);
  assert.ok(!JSON.stringify(detail).includes(secret.slice(key.prefix.length)));
  const page = await api.request(`/admin/users/${owner._id}`, { cookie: admin });
  assert.match(await page.text(), new RegExp(`${key.prefix}…`));

  // The key belongs to the owner: named under another user it is a 404.
  const wrong = await api.request(`/api/admin/users/${adminUser._id}/keys/${key.id}`, {
    cookie: admin,
    method: "DELETE",
  });
  assert.equal(wrong.status, 404);
  // Traders cannot use the admin route.
  const trader = await api.request(`/api/admin/users/${owner._id}/keys/${key.id}`, {
    cookie,
    method: "DELETE",
  });
  assert.equal(trader.status, 403);

  const revoked = await api.request(`/api/admin/users/${owner._id}/keys/${key.id}`, {
    cookie: admin,
    method: "DELETE",
  });
  assert.equal(revoked.status, 204);
  assert.equal((await withKey(t, secret, "GET", "/api/orders")).status, 401);
  const [entry] = await auditOf(t, "api_key.revoked");
  assert.equal(entry.actorId, adminUser._id);
  assert.equal(entry.userId, owner._id);

  // The console's button does the same, without JavaScript.
  const second = await createKey(t, cookie);
  const adminBrowser = testBrowser(t);
  adminBrowser.jar.set("orion_session", admin.slice(admin.indexOf("=") + 1));
  const button = await adminBrowser.post(
    `/admin/users/${owner._id}/keys/${second.key.id}/revoke`,
    {},
  );
  assert.equal(button.status, 303);
  assert.equal((await withKey(t, second.secret, "GET", "/api/orders")).status, 401);
  assert.equal((await auditOf(t, "api_key.revoked")).length, 2);
});

Deno.test("[keys] the settings page creates a key, shows its secret once, and revokes it, without JavaScript", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("keys-page@example.com");
  const browser = testBrowser(t);
  browser.jar.set("orion_session", cookie.slice(cookie.indexOf("=") + 1));

  const empty = await browser.page("/settings/keys");
  assert.match(empty, /No keys yet/);
  assert.match(empty, /action="\/settings\/keys"/);
  assert.match(await browser.page("/settings"), /href="\/settings\/keys"/);

  const invalid = await browser.post("/settings/keys", { name: "", scopes: "read" });
  assert.equal(invalid.status, 422);
  assert.match(await invalid.text(), /Name the key/);

  const created = await browser.post("/settings/keys", {
    name: "page bot",
    scopes: "read,trade",
    expiresInDays: "30",
  });
  assert.equal(created.status, 201);
  assert.equal(created.headers.get("Cache-Control"), "no-store");
  const secret = (await created.text()).match(/orion_[a-z2-7]{52}/)![0];
  const order = await withKey(t, secret, "POST", "/api/orders", { body: MARKET_BUY });
  assert.equal(order.status, 201);

  const listed = await browser.page("/settings/keys");
  assert.ok(!listed.includes(secret.slice(12)), "the secret is never shown again");
  assert.match(listed, /page bot/);
  const [key] = await findAll<ApiKey>(t.deps.store, "api_keys", {});
  assert.equal(key.expiresAt!.getTime() - key.createdAt.getTime(), 30 * 86_400_000);
  assert.deepEqual(key.scopes, ["read", "trade"]);

  const revoked = await browser.post(`/settings/keys/${key._id}/revoke`, {});
  assert.equal(revoked.status, 303);
  assert.equal((await withKey(t, secret, "GET", "/api/orders")).status, 401);
  assert.match(await browser.page("/settings/keys"), /The key is revoked/);

  // A stale sign-in: the page asks for the password, and the create form is refused until then.
  const [session] = await findAll<Session>(t.deps.store, "sessions", {
    where: { userId: key.userId },
  });
  await t.deps.store.update<Session>("sessions", session._id, { sudoUntil: new Date(0) });
  const stale = await browser.page("/settings/keys");
  assert.match(stale, /action="\/settings\/keys\/reauth"/);
  const refused = await browser.post("/settings/keys", { name: "x", scopes: "read" });
  assert.equal(refused.status, 403);
  assert.match(await refused.text(), /confirm your password/);
  const wrong = await browser.post("/settings/keys/reauth", { password: "not-the-password-1" });
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();
  const confirmed = await browser.post("/settings/keys/reauth", {
    password: "vivid-otter-planet-42",
  });
  assert.equal(confirmed.status, 303);
  assert.equal(confirmed.headers.get("Location"), "/settings/keys");
  const again = await browser.post("/settings/keys", {
    name: "x",
    scopes: "read",
    expiresInDays: "",
  });
  assert.equal(again.status, 201);
  await again.body?.cancel();
  assert.equal((await findAll<ApiKey>(t.deps.store, "api_keys", {}))[0].expiresAt, null);

  // Another user's key: the revoke button's route is a 404.
  const { cookie: otherCookie } = await api.trader("keys-page-other@example.com");
  const other = testBrowser(t);
  other.jar.set("orion_session", otherCookie.slice(otherCookie.indexOf("=") + 1));
  const [mine] = await findAll<ApiKey>(t.deps.store, "api_keys", {});
  assert.equal((await other.post(`/settings/keys/${mine._id}/revoke`, {})).status, 404);
  assert.equal((await findAll(t.deps.store, "api_keys", {})).length, 1);
});

Deno.test("[keys] a stream opened with a key follows the account and ends once the key is revoked", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("keys-stream@example.com");
  const { secret, key } = await createKey(t, cookie, { name: "watcher", scopes: ["read"] });
  const res = await withKey(t, secret, "GET", "/api/stream");
  assert.equal(res.status, 200);
  assert.deepEqual(res.headers.getSetCookie(), []);
  const events = sseReader(res);
  try {
    await events.until((e) => e.event === "account");
    await api.call(`/api/keys/${key.id}`, { cookie, method: "DELETE" });
    await events.until((e) => e.event === "session_ended", 8_000);
    assert.ok(await events.ended(2_000), "the server closes the stream");
  } finally {
    await events.close();
  }
});
