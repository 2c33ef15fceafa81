/**
 * Webhooks through HTTP: /api/webhooks (the secret shown once, deliveries with their attempts,
 * re-send, the test ping), the SSRF refusals as 422, other users' endpoints as 404, API key
 * scopes, the cap, the audit trail, and the /settings/webhooks page with plain forms.
 */
import assert from "node:assert/strict";
import type { AuditEntry } from "../lib/audit.ts";
import type { User } from "../lib/auth/users.ts";
import { newId } from "../lib/ids.ts";
import type { UserEvent } from "../lib/notify/outbox.ts";
import { findAll } from "../lib/store/find_all.ts";
import {
  type WebhookDelivery,
  webhookDeliveryOps,
  webhookFollower,
} from "../lib/webhooks/deliveries.ts";
import { MAX_WEBHOOK_ENDPOINTS_PER_USER, type WebhookEndpoint } from "../lib/webhooks/endpoints.ts";
import { runWebhookPass, webhookSenderDeps } from "../lib/webhooks/sender.ts";
import { runDispatchPass } from "../lib/notify/dispatch.ts";
import { startReceiver } from "../tests/support/webhook_receiver.ts";
import { TEST_ORIGIN, testApi, testApp } from "./testing.ts";

type App = Awaited<ReturnType<typeof testApp>>;

const DEV = {
  WEBHOOK_ALLOW_LOOPBACK: "1",
  AUTH_SECRET: "webhook-route-tests-auth-secret-32-chars+",
};

async function userIdOf(t: App, email: string): Promise<string> {
  return (await t.deps.store.findOne<User>("users", { email }))!._id;
}

async function dispatchFill(t: App, userId: string): Promise<UserEvent> {
  const event: UserEvent = {
    _id: newId(),
    _v: 1,
    userId,
    type: "order.fill",
    at: new Date(),
    data: { id: "01ORDER", symbol: "MSFT", filledQty: "3" },
  };
  await t.deps.store.commit(await webhookDeliveryOps(t.deps.store, event));
  return event;
}

const pass = (t: App) => runWebhookPass(webhookSenderDeps(t.deps.config, t.deps.store, t.deps.log));

/** A form post as a browser without JavaScript sends it. */
function postForm(t: App, cookie: string, path: string, form: [string, string][]) {
  return t.app.request(`${TEST_ORIGIN}${path}`, {
    method: "POST",
    headers: {
      Origin: TEST_ORIGIN,
      Cookie: cookie,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams(form).toString(),
    redirect: "manual",
  });
}

/** A request as a script sends it: a key, no Origin, no cookie. */
function withKey(t: App, secret: string, method: string, path: string, body?: unknown) {
  return t.app.request(`${TEST_ORIGIN}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${secret}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  }, { remoteAddr: { hostname: "198.51.100.7", port: 1, transport: "tcp" } });
}

Deno.test("[webhooks api] register, list without the secret, deliveries with attempts, re-send, test ping", async () => {
  await using t = await testApp(DEV);
  await using receiver = startReceiver({ statuses: [500] });
  const api = testApi(t);
  const { cookie } = await api.trader("hooks@example.com");
  const userId = await userIdOf(t, "hooks@example.com");

  const created = await api.request("/api/webhooks", {
    cookie,
    body: { url: receiver.url, events: ["order.*", "alert.triggered"], description: "my bot" },
  });
  assert.equal(created.status, 201);
  assert.equal(created.headers.get("Cache-Control"), "no-store");
  const { endpoint, secret } = await created.json();
  receiver.secret = secret;
  assert.match(secret, /^whsec_/);
  assert.equal(endpoint.url, receiver.url);
  assert.deepEqual(endpoint.events, ["order.*", "alert.triggered"]);
  assert.equal(endpoint.enabled, true);

  const listed = await api.request("/api/webhooks", { cookie });
  const listedText = await listed.text();
  assert.ok(!listedText.includes(secret.slice(6)), "the list never shows the secret");
  assert.deepEqual(JSON.parse(listedText).endpoints.map((e: { id: string }) => e.id), [
    endpoint.id,
  ]);
  assert.ok(!("secret" in JSON.parse(listedText).endpoints[0]));
  const one = await api.call(`/api/webhooks/${endpoint.id}`, { cookie });
  assert.equal(one.endpoint.description, "my bot");

  // The first attempt fails (500), the retry after the back-off succeeds.
  const event = await dispatchFill(t, userId);
  await pass(t);
  const sender = webhookSenderDeps(t.deps.config, t.deps.store, t.deps.log);
  await runWebhookPass(sender, new Date(Date.now() + 40_000));
  const { deliveries, nextCursor } = await api.call(
    `/api/webhooks/${endpoint.id}/deliveries`,
    { cookie },
  );
  assert.equal(nextCursor, null);
  assert.equal(deliveries.length, 1);
  assert.equal(deliveries[0].status, "delivered");
  assert.equal(deliveries[0].messageId, event._id);
  assert.deepEqual(deliveries[0].attempts.map((a: { statusCode: number }) => a.statusCode), [
    500,
    200,
  ]);
  assert.equal(deliveries[0].payload.type, "order.fill");

  const resent = await api.request(
    `/api/webhooks/${endpoint.id}/deliveries/${deliveries[0].id}/resend`,
    { cookie, method: "POST" },
  );
  assert.equal(resent.status, 202);
  const ping = await api.request(`/api/webhooks/${endpoint.id}/test`, { cookie, method: "POST" });
  assert.equal(ping.status, 202);
  assert.equal((await pass(t)).delivered, 2);
  // The re-send and the ping go out in the same pass, in either order.
  const ids = receiver.received.map((r) => r.headers["webhook-id"]);
  assert.equal(ids.filter((id) => id === event._id).length, 3);
  const types = receiver.received.map((r) => JSON.parse(r.body).type);
  assert.deepEqual(types.sort(), ["order.fill", "order.fill", "order.fill", "webhook.test"]);
  for (const request of receiver.received) {
    assert.ok(request.libraryVerified && request.specVerified);
  }
  const page = await api.call(`/api/webhooks/${endpoint.id}/deliveries?limit=2`, { cookie });
  assert.equal(page.deliveries.length, 2);
  assert.equal(page.deliveries[0].type, "webhook.test", "newest first");
  const rest = await api.call(
    `/api/webhooks/${endpoint.id}/deliveries?limit=2&cursor=${encodeURIComponent(page.nextCursor)}`,
    { cookie },
  );
  assert.equal(rest.deliveries.length, 1);
  assert.equal(rest.deliveries[0].id, deliveries[0].id);

  // Change, turn off, delete; each audited.
  const patched = await api.call(`/api/webhooks/${endpoint.id}`, {
    cookie,
    method: "PATCH",
    body: { events: ["account.*"], enabled: false },
  });
  assert.deepEqual(patched.endpoint.events, ["account.*"]);
  assert.equal(patched.endpoint.enabled, false);
  assert.equal(patched.endpoint.disabledReason, "user");
  const refused = await api.request(`/api/webhooks/${endpoint.id}/test`, {
    cookie,
    method: "POST",
  });
  assert.equal(refused.status, 409);
  const removed = await api.request(`/api/webhooks/${endpoint.id}`, { cookie, method: "DELETE" });
  assert.equal(removed.status, 204);
  assert.equal((await api.request(`/api/webhooks/${endpoint.id}`, { cookie })).status, 404);
  assert.deepEqual(await findAll(t.deps.store, "webhook_deliveries", {}), []);
  const actions = (await findAll<AuditEntry>(t.deps.store, "audit_logs", { where: { userId } }))
    .map((entry) => entry.action).filter((action) => action.startsWith("webhook."));
  assert.deepEqual(actions.sort(), ["webhook.created", "webhook.deleted", "webhook.updated"]);
});

Deno.test("[webhooks api] loopback, private, link-local and metadata URLs are refused with 422", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("ssrf@example.com");
  const refusals: [string, RegExp][] = [
    ["http://localhost/hook", /https/],
    ["https://localhost/hook", /localhost \(127\.0\.0\.1\).*loopback/],
    ["https://127.0.0.1/hook", /loopback/],
    ["https://10.0.0.1/hook", /private-network/],
    ["https://192.168.1.20/hook", /private-network/],
    ["https://169.254.169.254/latest/meta-data/", /cloud metadata/],
    ["https://[::1]/hook", /loopback/],
    ["https://[::ffff:127.0.0.1]/hook", /IPv4-in-IPv6/],
    ["https://[fd00:ec2::254]/hook", /cloud metadata/],
    ["https://user:pw@8.8.8.8/hook", /user name or password/],
  ];
  for (const [url, reason] of refusals) {
    const res = await api.request("/api/webhooks", { cookie, body: { url, events: ["*"] } });
    assert.equal(res.status, 422, url);
    const { error } = await res.json();
    assert.equal(error.code, "unsafe_url", url);
    assert.match(error.message, reason, url);
  }
  const badEvents: [unknown, RegExp][] = [
    [["order.teleported"], /Unknown event "order\.teleported"/],
    [[], /at least one event/],
    [42, /list/],
  ];
  for (const [events, reason] of badEvents) {
    const res = await api.request("/api/webhooks", {
      cookie,
      body: { url: "https://8.8.8.8/hook", events },
    });
    assert.equal(res.status, 422);
    assert.match((await res.json()).error.message, reason);
  }
  assert.deepEqual(await findAll(t.deps.store, "webhook_endpoints", {}), [], "nothing stored");

  // The development flag opens loopback only.
  await using dev = await testApp(DEV);
  const devApi = testApi(dev);
  const { cookie: devCookie } = await devApi.trader("ssrf-dev@example.com");
  const local = await devApi.request("/api/webhooks", {
    cookie: devCookie,
    body: { url: "http://localhost:9/hook", events: ["*"] },
  });
  assert.equal(local.status, 201);
  const endpointId = (await local.json()).endpoint.id;
  const privateUrl = await devApi.request("/api/webhooks", {
    cookie: devCookie,
    body: { url: "https://10.1.2.3/hook", events: ["*"] },
  });
  assert.equal(privateUrl.status, 422);
  // A change of URL is checked the same way.
  const moved = await devApi.request(`/api/webhooks/${endpointId}`, {
    cookie: devCookie,
    method: "PATCH",
    body: { url: "https://169.254.169.254/" },
  });
  assert.equal(moved.status, 422);
});

Deno.test("[webhooks api] another user's endpoint is a 404 everywhere; a read key cannot create", async () => {
  await using t = await testApp(DEV);
  const api = testApi(t);
  const alice = await api.trader("alice-hooks@example.com");
  const bob = await api.trader("bob-hooks@example.com");
  const { endpoint } = await api.call("/api/webhooks", {
    cookie: alice.cookie,
    body: { url: "http://127.0.0.1:9/hook", events: ["*"] },
  });
  await dispatchFill(t, await userIdOf(t, "alice-hooks@example.com"));
  const [delivery] = await findAll<WebhookDelivery>(t.deps.store, "webhook_deliveries", {});
  const base = `/api/webhooks/${endpoint.id}`;
  for (
    const [method, path, body] of [
      ["GET", base, undefined],
      ["PATCH", base, { enabled: false }],
      ["DELETE", base, undefined],
      ["GET", `${base}/deliveries`, undefined],
      ["POST", `${base}/deliveries/${delivery._id}/resend`, undefined],
      ["POST", `${base}/test`, undefined],
    ] as const
  ) {
    const res = await api.request(path, { cookie: bob.cookie, method, body });
    assert.equal(res.status, 404, `${method} ${path}`);
  }
  const still = await t.deps.store.get<WebhookEndpoint>("webhook_endpoints", endpoint.id);
  assert.equal(still!.enabled, true);

  const readKey = await api.call("/api/keys", {
    cookie: alice.cookie,
    body: { name: "reader", scopes: ["read"] },
  });
  const tradeKey = await api.call("/api/keys", {
    cookie: alice.cookie,
    body: { name: "trader", scopes: ["read", "trade"] },
  });
  assert.equal((await withKey(t, readKey.secret, "GET", "/api/webhooks")).status, 200);
  const denied = await withKey(t, readKey.secret, "POST", "/api/webhooks", {
    url: "http://127.0.0.1:9/other",
    events: ["*"],
  });
  assert.equal(denied.status, 403);
  assert.equal((await denied.json()).error.code, "insufficient_scope");
  const allowed = await withKey(t, tradeKey.secret, "POST", "/api/webhooks", {
    url: "http://127.0.0.1:9/other",
    events: ["order.fill"],
  });
  assert.equal(allowed.status, 201);
  assert.equal((await withKey(t, tradeKey.secret, "DELETE", base)).status, 204);
});

Deno.test("[webhooks api] simultaneous registrations never pass the cap", async () => {
  await using t = await testApp(DEV);
  const api = testApi(t);
  const { cookie } = await api.trader("cap-hooks@example.com");
  const statuses = await Promise.all(
    Array.from({ length: MAX_WEBHOOK_ENDPOINTS_PER_USER + 3 }, async (_, n) => {
      const res = await api.request("/api/webhooks", {
        cookie,
        body: { url: `http://127.0.0.1:9/hook/${n}`, events: ["*"] },
      });
      await res.body?.cancel();
      return res.status;
    }),
  );
  assert.equal(statuses.filter((s) => s === 201).length, MAX_WEBHOOK_ENDPOINTS_PER_USER);
  assert.equal(statuses.filter((s) => s === 422).length, 3);
  const { endpoints } = await api.call("/api/webhooks", { cookie });
  assert.equal(endpoints.length, MAX_WEBHOOK_ENDPOINTS_PER_USER);
});

Deno.test("[webhooks pages] add with checkboxes, the secret once, turn off, deliveries and re-send, without JavaScript", async () => {
  await using t = await testApp(DEV);
  await using receiver = startReceiver();
  const api = testApi(t);
  const { cookie } = await api.trader("pages-hooks@example.com");
  const userId = await userIdOf(t, "pages-hooks@example.com");
  const settings = await (await api.request("/settings", { cookie })).text();
  assert.ok(settings.includes('href="/settings/webhooks"'));
  const empty = await (await api.request("/settings/webhooks", { cookie })).text();
  assert.ok(empty.includes("No endpoints yet."));
  assert.ok(empty.includes('value="alert.triggered"'));

  const bad = await postForm(t, cookie, "/settings/webhooks", [
    ["url", "https://10.0.0.7/hook"],
    ["events", "order.fill"],
  ]);
  assert.equal(bad.status, 422);
  assert.match(await bad.text(), /private-network address/);
  const none = await postForm(t, cookie, "/settings/webhooks", [["url", receiver.url]]);
  assert.equal(none.status, 422);
  assert.match(await none.text(), /Choose at least one event/);

  const created = await postForm(t, cookie, "/settings/webhooks", [
    ["url", receiver.url],
    ["description", "alerts to chat"],
    ["events", "alert.triggered"],
    ["events", "order.fill"],
  ]);
  assert.equal(created.status, 201);
  assert.equal(created.headers.get("Cache-Control"), "no-store");
  const secret = /whsec_[A-Za-z0-9+/=]+/.exec(await created.text())![0];
  receiver.secret = secret;
  const [endpoint] = await findAll<WebhookEndpoint>(t.deps.store, "webhook_endpoints", {});
  assert.deepEqual(endpoint.events, ["order.fill", "alert.triggered"]);
  const listed = await (await api.request("/settings/webhooks", { cookie })).text();
  assert.ok(listed.includes(receiver.url) && !listed.includes(secret.slice(6)));

  await dispatchFill(t, userId);
  await pass(t);
  const detailPath = `/settings/webhooks/${endpoint._id}`;
  const detail = await (await api.request(detailPath, { cookie })).text();
  assert.ok(detail.includes("delivered"));
  assert.ok(detail.includes("<code>200</code>"));
  const [delivery] = await findAll<WebhookDelivery>(t.deps.store, "webhook_deliveries", {});
  const resend = await postForm(t, cookie, `${detailPath}/deliveries/${delivery._id}/resend`, []);
  assert.equal(resend.status, 303);
  assert.equal(resend.headers.get("Location"), detailPath);
  await pass(t);
  assert.equal(receiver.received.length, 2);
  assert.ok(receiver.received.every((r) => r.libraryVerified && r.specVerified));

  const off = await postForm(t, cookie, `${detailPath}/disable`, []);
  assert.equal(off.status, 303);
  const stored = await t.deps.store.get<WebhookEndpoint>("webhook_endpoints", endpoint._id);
  assert.equal(stored!.enabled, false);
  const other = await api.trader("pages-other@example.com");
  assert.equal((await api.request(detailPath, { cookie: other.cookie })).status, 404);
  const deleted = await postForm(t, cookie, `${detailPath}/delete`, []);
  assert.equal(deleted.status, 303);
  assert.deepEqual(await findAll(t.deps.store, "webhook_endpoints", {}), []);
});

Deno.test("[webhooks] a real fill and an account opening reach the receiver, signed, once, through the outbox", async () => {
  await using t = await testApp(DEV);
  const api = testApi(t);
  const { cookie } = await api.trader("ada@example.com");
  await using receiver = startReceiver();
  const created = await api.call("/api/webhooks", {
    cookie,
    body: { url: receiver.url, events: ["order.fill", "account.*"] },
  });
  receiver.secret = created.secret;
  const order = await api.order(cookie, { symbol: "AAPL", side: "buy", qty: "2" });
  await api.call("/api/accounts", { cookie, body: { name: "Swing", startingCash: "5000" } });
  // Two instances' dispatch passes at once, then two senders at once: one delivery per event.
  await Promise.all([
    runDispatchPass(t.deps.store, [webhookFollower]),
    runDispatchPass(t.deps.store, [webhookFollower]),
  ]);
  await Promise.all([pass(t), pass(t)]);
  const bodies = receiver.received.map((r) => JSON.parse(r.body));
  assert.deepEqual(bodies.map((b) => b.type).sort(), ["account.opened", "order.fill"]);
  assert.ok(receiver.received.every((r) => r.libraryVerified && r.specVerified));
  const fill = bodies.find((b) => b.type === "order.fill");
  assert.equal(fill.data.order.id, order.id);
  assert.equal(fill.data.order.status, "filled");
  assert.equal(fill.data.fill.qty, "2");
  const opened = bodies.find((b) => b.type === "account.opened");
  assert.equal(opened.data.name, "Swing");
  assert.equal(opened.data.startingCash, "5000.00");
  // order.new was not subscribed to; the webhook-id is the outbox event's id, unique per event.
  const ids = receiver.received.map((r) => r.headers["webhook-id"]);
  assert.equal(new Set(ids).size, 2);
});
