/**
 * Signals in, through the HTTP API: a signal URL places orders with the order rules, once per
 * clientOrderId even when replayed at once, keeps every signal with its outcome, verifies Standard
 * Webhooks signatures when asked to, and is limited, revocable and its owner's alone. Senders send
 * no Origin and no cookie, as TradingView and curl do.
 */
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import type { AuditEntry } from "../lib/audit.ts";
import type { Session } from "../lib/auth/session.ts";
import { changeRole } from "../lib/auth/roles.ts";
import type { User } from "../lib/auth/users.ts";
import { findAll } from "../lib/store/find_all.ts";
import { COLLECTION_NAMES } from "../lib/store/schema.ts";
import type { Order } from "../lib/trading/orders.ts";
import { type Signal, SIGNAL_URL_RATE, type SignalUrl } from "../lib/trading/signals.ts";
import { TEST_ORIGIN, TEST_PASSWORD, testApi, testApp, testBrowser } from "./testing.ts";

type App = Awaited<ReturnType<typeof testApp>>;

const WEBHOOK_SECRET = `whsec_${btoa("an-app-wide-signing-key-of-32-bytes!")}`;

/** A signal as a sender posts it: to the URL, no Origin, no cookie. */
function sendSignal(
  t: App,
  url: string,
  body: string | Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  return t.app.request(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  }, { remoteAddr: { hostname: "52.89.214.238", port: 1, transport: "tcp" } });
}

/** The Standard Webhooks headers for `body`, signed with `secret` at `at`. */
function signed(secret: string, body: string, at = new Date(), id = crypto.randomUUID()) {
  return {
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": new Webhook(secret).sign(id, at, body),
  };
}

async function makeUrl(
  t: App,
  cookie: string,
  body: Record<string, unknown> = { name: "tv" },
): Promise<
  { url: string; token: string; secret: string | null; signalUrl: { id: string; prefix: string } }
> {
  return await testApi(t).call("/api/signal-urls", { cookie, body });
}

async function storedOrders(t: App, accountId: string): Promise<Order[]> {
  return await findAll<Order>(t.deps.store, "orders", { where: { accountId } });
}

async function storedSignals(t: App, signalUrlId: string): Promise<Signal[]> {
  return await findAll<Signal>(t.deps.store, "signals", { where: { signalUrlId } });
}

const BUY = { symbol: "AAPL", side: "buy", qty: 1 };

Deno.test("[signals] a signal places an order on the URL's account; the token is shown once and never stored", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie, accountId } = await api.trader("signals-place@example.com");
  const res = await api.request("/api/signal-urls", { cookie, body: { name: "TradingView" } });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get("Cache-Control"), "no-store");
  const created = await res.json();
  assert.match(created.token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(created.url, `${TEST_ORIGIN}/api/signals/${created.token}`);
  assert.equal(created.secret, null);
  assert.equal(created.signalUrl.accountId, accountId);
  assert.ok(created.token.startsWith(created.signalUrl.prefix));

  const placed = await sendSignal(t, created.url, {
    symbol: "NASDAQ:AAPL",
    side: "BUY",
    qty: "2",
    clientOrderId: "tv-1",
  });
  assert.equal(placed.status, 201, await placed.clone().text());
  assert.deepEqual(placed.headers.getSetCookie(), []);
  const answer = await placed.json();
  assert.equal(answer.replayed, false);
  assert.equal(answer.order.symbol, "AAPL");
  assert.equal(answer.order.side, "buy");
  assert.equal(answer.order.qty, "2");
  assert.equal(answer.order.clientOrderId, "tv-1");
  assert.equal(answer.order.timeInForce, "day", "shares default to a day order");
  assert.equal(answer.signal.outcome, "placed");
  assert.equal(answer.signal.orderId, answer.order.id);

  // A crypto alert names no time in force either: crypto has no day, so it is gtc.
  const coin = await sendSignal(t, created.url, {
    symbol: "COINBASE:ETHUSD",
    side: "buy",
    qty: "0.1",
  });
  assert.equal(coin.status, 201, await coin.clone().text());
  const coinOrder = (await coin.json()).order;
  assert.equal(coinOrder.symbol, "ETH/USD");
  assert.equal(coinOrder.timeInForce, "gtc");
  const orders = await storedOrders(t, accountId);
  assert.deepEqual(orders.map((o) => o._id).sort(), [answer.order.id, coinOrder.id].sort());

  const listed = await api.call("/api/signal-urls", { cookie });
  assert.equal(listed.signalUrls.length, 1);
  assert.ok(listed.signalUrls[0].lastUsedAt !== null);
  assert.ok(!JSON.stringify(listed).includes(created.token));

  // The store holds the hash and the prefix, never the token or its unshown part.
  const dump: string[] = [];
  for (const collection of COLLECTION_NAMES) {
    dump.push(JSON.stringify(await findAll(t.deps.store, collection, {})));
  }
  const stored = dump.join("\n");
  assert.ok(stored.includes(created.signalUrl.prefix), "the scan reads the signal URLs");
  assert.ok(!stored.includes(created.token.slice(created.signalUrl.prefix.length)));
  const logs = t.logLines.join("\n");
  assert.ok(
    logs.includes(`"path":"/api/signals/${created.signalUrl.prefix}…"`),
    "logged, shortened",
  );
  assert.ok(!logs.includes(created.token.slice(created.signalUrl.prefix.length)));

  const [entry] = await findAll<AuditEntry>(t.deps.store, "audit_logs", {
    where: { action: "signal_url.created" },
  });
  assert.equal(entry.details.signalUrlId, created.signalUrl.id);
  assert.equal(
    (await findAll<AuditEntry>(t.deps.store, "audit_logs", { where: { action: "order.placed" } }))
      .length,
    2,
  );
});

Deno.test("[signals] a signal replayed with the same clientOrderId places one order, one after another or all at once", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie, accountId } = await api.trader("signals-replay@example.com");
  const { url, signalUrl } = await makeUrl(t, cookie);
  const signal = { ...BUY, clientOrderId: "alert-42" };

  const first = await sendSignal(t, url, signal);
  assert.equal(first.status, 201);
  const { order } = await first.json();
  const again = await sendSignal(t, url, signal);
  assert.equal(again.status, 200);
  assert.equal(again.headers.get("Idempotent-Replayed"), "true");
  const replay = await again.json();
  assert.equal(replay.replayed, true);
  assert.equal(replay.order.id, order.id);
  assert.equal((await storedOrders(t, accountId)).length, 1);

  // Five copies of a new signal at once: one order, every answer names it.
  const burst = { ...BUY, clientOrderId: "alert-43" };
  const answers = await Promise.all(
    Array.from({ length: 5 }, () => sendSignal(t, url, burst)),
  );
  const bodies = await Promise.all(answers.map((r) => r.json()));
  assert.deepEqual(answers.map((r) => r.status).sort(), [200, 200, 200, 200, 201]);
  assert.equal(new Set(bodies.map((b) => b.order.id)).size, 1);
  const orders = await storedOrders(t, accountId);
  assert.equal(orders.length, 2);
  assert.equal(orders.filter((o) => o.clientOrderId === "alert-43").length, 1);

  // Each signal is kept: 2 + 5, with their outcomes.
  const signals = await storedSignals(t, signalUrl.id);
  assert.equal(signals.length, 7);
  assert.equal(signals.filter((s) => s.outcome === "placed").length, 2);
  assert.equal(signals.filter((s) => s.outcome === "replayed").length, 5);

  // The same clientOrderId for another order is refused, not a second order.
  const changed = await sendSignal(t, url, { ...signal, qty: 3 });
  assert.equal(changed.status, 422);
  assert.equal((await changed.json()).error.code, "idempotency_key_reused");
  assert.equal((await storedOrders(t, accountId)).length, 2);
});

Deno.test("[signals] an invalid signal is a 4xx, kept with its reason, and places nothing", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie, accountId } = await api.trader("signals-invalid@example.com");
  const { url, signalUrl } = await makeUrl(t, cookie);
  const cases: [string | Record<string, unknown>, number, string][] = [
    [{ symbol: "AAPL", side: "hold", qty: 1 }, 422, "validation_failed"],
    [{ symbol: "AAPL", side: "buy", qty: 1, limit_price: 100 }, 422, "validation_failed"],
    [{ symbol: "AAPL", side: "buy", qty: 1, notional: 100 }, 422, "validation_failed"],
    [{ symbol: "AAPL", side: "buy" }, 422, "validation_failed"],
    [{ symbol: "NOPE", side: "buy", qty: 1 }, 422, "unknown_symbol"],
    ["buy AAPL now", 400, "malformed_json"],
    [{ symbol: "AAPL", side: "buy", qty: 1, note: "x".repeat(9000) }, 413, "payload_too_large"],
  ];
  for (const [body, status, code] of cases) {
    const res = await sendSignal(t, url, body);
    const error = (await res.json()).error;
    assert.equal(res.status, status, JSON.stringify(error));
    assert.equal(error.code, code);
    assert.ok(error.details.signalId, "the answer names the log entry");
  }
  assert.deepEqual(await storedOrders(t, accountId), []);
  const signals = await storedSignals(t, signalUrl.id);
  assert.equal(signals.length, cases.length);
  assert.ok(signals.every((s) => s.outcome === "rejected" && s.orderId === null));
  const unknownField = signals.find((s) => s.payload.includes("limit_price"))!;
  assert.equal(unknownField.status, 422);
  assert.match(unknownField.message!, /Unknown field limit_price/);
  const tooLarge = signals.find((s) => s.status === 413)!;
  assert.equal(tooLarge.payload.length, 2048);
  assert.equal(tooLarge.payloadTruncated, true);
});

Deno.test("[signals] TradingView's text/plain message is read as JSON", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie, accountId } = await api.trader("signals-text@example.com");
  const { url } = await makeUrl(t, cookie);
  const res = await sendSignal(
    t,
    url,
    '{"symbol":"MSFT","side":"sell","qty":"1","clientOrderId":"MSFT-2026-12-07T15:30:00Z"}',
    { "Content-Type": "text/plain; charset=utf-8" },
  );
  // A sell with nothing to sell: read, judged by the order rules, refused by them.
  assert.equal(res.status, 422);
  assert.equal((await res.json()).error.code, "insufficient_position");
  const buy = await sendSignal(t, url, '{"symbol":"MSFT","side":"Buy","qty":1}', {
    "Content-Type": "text/plain",
  });
  assert.equal(buy.status, 201, await buy.clone().text());
  assert.equal((await storedOrders(t, accountId)).length, 1);
});

Deno.test("[signals] revoked and unknown URLs are 404 and keep nothing; another user's URL is a 404 to manage", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const ada = await api.trader("signals-ada@example.com");
  const bob = await api.trader("signals-bob@example.com");
  const { url, token, signalUrl } = await makeUrl(t, ada.cookie);

  for (
    const path of [`/api/signal-urls/${signalUrl.id}`, `/api/signal-urls/${signalUrl.id}/signals`]
  ) {
    const res = await api.request(path, {
      cookie: bob.cookie,
      method: path.endsWith("signals") ? "GET" : "DELETE",
    });
    assert.equal(res.status, 404, path);
  }
  const bobsPage = await api.request(`/settings/signals/${signalUrl.id}`, { cookie: bob.cookie });
  assert.equal(bobsPage.status, 404);
  assert.equal((await sendSignal(t, url, BUY)).status, 201, "bob's attempts changed nothing");

  const revoked = await api.request(`/api/signal-urls/${signalUrl.id}`, {
    cookie: ada.cookie,
    method: "DELETE",
  });
  assert.equal(revoked.status, 204);
  const after = await sendSignal(t, url, { ...BUY, clientOrderId: "after" });
  assert.equal(after.status, 404);
  assert.equal((await after.json()).error.code, "not_found");
  const unknown = await sendSignal(
    t,
    `${TEST_ORIGIN}/api/signals/${token.replace(/^./, "x")}`,
    BUY,
  );
  assert.equal(unknown.status, 404);
  const junk = await sendSignal(t, `${TEST_ORIGIN}/api/signals/not-a-token`, BUY);
  assert.equal(junk.status, 404);

  assert.equal((await storedSignals(t, signalUrl.id)).length, 1, "only the accepted signal");
  assert.equal((await storedOrders(t, ada.accountId)).length, 1);
  const { signalUrls } = await api.call("/api/signal-urls", { cookie: ada.cookie });
  assert.ok(signalUrls[0].revokedAt !== null);
  const log = await api.call(`/api/signal-urls/${signalUrl.id}/signals`, { cookie: ada.cookie });
  assert.equal(log.signals.length, 1, "a revoked URL's log stays readable");
  assert.equal(
    (await findAll<AuditEntry>(t.deps.store, "audit_logs", {
      where: { action: "signal_url.revoked" },
    })).length,
    1,
  );
});

Deno.test("[signals] with signing required, unsigned, wrongly signed and stale signals are 401 and kept; a signed one places", async () => {
  await using t = await testApp({ WEBHOOK_SECRET });
  const api = testApi(t);
  const { cookie, accountId } = await api.trader("signals-signed@example.com");
  const own = await makeUrl(t, cookie, { name: "own", signing: "url" });
  assert.match(own.secret!, /^whsec_[A-Za-z0-9+/]{43}=$/);
  const app = await makeUrl(t, cookie, { name: "app", signing: "app" });
  assert.equal(app.secret, null);

  const body = JSON.stringify({ ...BUY, clientOrderId: "signed-1" });
  const unsigned = await sendSignal(t, own.url, body);
  assert.equal(unsigned.status, 401);
  assert.equal((await unsigned.json()).error.code, "signature_required");
  const wrongSecret = await sendSignal(t, own.url, body, signed(WEBHOOK_SECRET, body));
  assert.equal(wrongSecret.status, 401);
  assert.equal((await wrongSecret.json()).error.code, "invalid_signature");
  const tampered = await sendSignal(
    t,
    own.url,
    body.replace('"qty":1', '"qty":9'),
    signed(own.secret!, body),
  );
  assert.equal(tampered.status, 401);
  const stale = await sendSignal(
    t,
    own.url,
    body,
    signed(own.secret!, body, new Date(Date.now() - 6 * 60_000)),
  );
  assert.equal(stale.status, 401);
  assert.match((await stale.json()).error.message, /5 minutes/);
  assert.deepEqual(await storedOrders(t, accountId), []);
  const refused = await storedSignals(t, own.signalUrl.id);
  assert.equal(refused.length, 4);
  assert.ok(refused.every((s) => s.outcome === "rejected" && s.status === 401));

  const good = await sendSignal(t, own.url, body, signed(own.secret!, body));
  assert.equal(good.status, 201, await good.clone().text());
  const viaApp = JSON.stringify({ ...BUY, clientOrderId: "signed-2" });
  const appSigned = await sendSignal(t, app.url, viaApp, signed(WEBHOOK_SECRET, viaApp));
  assert.equal(appSigned.status, 201, await appSigned.clone().text());
  assert.equal((await storedOrders(t, accountId)).length, 2);

  // A signed message resent with its id places once, even without a clientOrderId.
  const bare = JSON.stringify(BUY);
  const headers = signed(own.secret!, bare);
  assert.equal((await sendSignal(t, own.url, bare, headers)).status, 201);
  assert.equal((await sendSignal(t, own.url, bare, headers)).status, 200);
  assert.equal((await storedOrders(t, accountId)).length, 3);
});

Deno.test("[signals] app signing needs a WEBHOOK_SECRET on the server", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("signals-nosecret@example.com");
  const res = await api.request("/api/signal-urls", {
    cookie,
    body: { name: "x", signing: "app" },
  });
  assert.equal(res.status, 422);
  assert.match((await res.json()).error.details.fields.signing, /WEBHOOK_SECRET/);
  assert.deepEqual(await findAll(t.deps.store, "signal_urls", {}), []);
});

Deno.test("[signals] each URL takes at most its rate a minute, then 429 with Retry-After", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("signals-rate@example.com");
  const { url, signalUrl } = await makeUrl(t, cookie);
  // Refused signals count too; they place nothing, so the account's order rate stays out of it.
  const bad = { symbol: "AAPL", side: "hold", qty: 1 };
  for (let i = 0; i < SIGNAL_URL_RATE.limit; i++) {
    assert.equal((await sendSignal(t, url, bad)).status, 422);
  }
  const over = await sendSignal(t, url, BUY);
  assert.equal(over.status, 429);
  assert.ok(Number(over.headers.get("Retry-After")) >= 1);
  assert.equal((await over.json()).error.code, "rate_limited");
  assert.equal((await storedSignals(t, signalUrl.id)).length, SIGNAL_URL_RATE.limit);
  // Another URL of the same user has its own budget.
  const other = await makeUrl(t, cookie, { name: "other" });
  assert.equal((await sendSignal(t, other.url, BUY)).status, 201);
});

Deno.test("[signals] a URL whose account was closed refuses its signals with a clear 422, kept", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("signals-closed@example.com");
  const side = (await api.call("/api/accounts", { cookie, body: { name: "Side" } })).account;
  const { url, signalUrl } = await makeUrl(t, cookie, { name: "side", accountId: side.id });
  assert.equal((await sendSignal(t, url, BUY)).status, 201);
  await api.call(`/api/accounts/${side.id}/close`, { cookie, body: { confirm: side.number } });
  const res = await sendSignal(t, url, { ...BUY, clientOrderId: "late" });
  assert.equal(res.status, 422);
  const error = (await res.json()).error;
  assert.equal(error.code, "account_closed");
  assert.match(error.message, /signal URL/);
  const signals = await storedSignals(t, signalUrl.id);
  assert.equal(signals.length, 2);
  assert.ok(signals.some((s) => s.code === "account_closed"));
  assert.equal((await storedOrders(t, side.id)).length, 1);
  // A new URL cannot be made for a closed account either.
  const refused = await api.request("/api/signal-urls", {
    cookie,
    body: { name: "again", accountId: side.id },
  });
  assert.equal(refused.status, 422);
});

Deno.test("[signals] signals ignore cookies and the origin check; making a URL needs a recent sign-in and a session", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie, accountId } = await api.trader("signals-session@example.com");
  const { url } = await makeUrl(t, cookie);
  // A browser on another origin posting with the user's cookie: the token alone decides, the
  // cookie is neither used nor renewed nor cleared.
  const res = await t.app.request(url, {
    method: "POST",
    headers: {
      "Content-Type": "text/plain",
      Origin: "https://evil.example",
      "Sec-Fetch-Site": "cross-site",
      Cookie: cookie,
    },
    body: JSON.stringify(BUY),
  });
  assert.equal(res.status, 201);
  assert.deepEqual(res.headers.getSetCookie(), []);
  assert.equal((await storedOrders(t, accountId)).length, 1);
  // A stale cookie is not even read: a page request would have it cleared.
  const stale = await t.app.request(url, {
    method: "POST",
    headers: { Cookie: "orion_session=stale.cookie" },
    body: JSON.stringify(BUY),
  });
  assert.equal(stale.status, 201);
  assert.deepEqual(stale.headers.getSetCookie(), []);
  const page = await t.app.request(`${TEST_ORIGIN}/`, {
    headers: { Cookie: "orion_session=stale.cookie" },
  });
  assert.equal(page.headers.getSetCookie().length, 1, "elsewhere the stale cookie is cleared");

  const user = (await t.deps.store.findOne<User>("users", {
    email: "signals-session@example.com",
  }))!;
  const [session] = await findAll<Session>(t.deps.store, "sessions", {
    where: { userId: user._id },
  });
  await t.deps.store.update<Session>("sessions", session._id, {
    sudoUntil: new Date(Date.now() - 1),
  });
  const notRecent = await api.request("/api/signal-urls", { cookie, body: { name: "x" } });
  assert.equal(notRecent.status, 403);
  assert.equal((await notRecent.json()).error.code, "reauthentication_required");

  // An API key may read and revoke signal URLs, but not make one.
  await t.deps.store.update<Session>("sessions", session._id, {
    sudoUntil: new Date(Date.now() + 60_000),
  });
  const { secret } = await api.call("/api/keys", {
    cookie,
    body: { name: "bot", scopes: ["read", "trade"] },
  });
  const withKey = (method: string, path: string, body?: unknown) =>
    t.app.request(`${TEST_ORIGIN}${path}`, {
      method,
      headers: { Authorization: `Bearer ${secret}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const listed = await withKey("GET", "/api/signal-urls");
  assert.equal(listed.status, 200);
  const made = await withKey("POST", "/api/signal-urls", { name: "by key" });
  assert.equal(made.status, 403);
  assert.equal((await findAll(t.deps.store, "signal_urls", {})).length, 1);
});

Deno.test("[signals] at most five signal URLs in use, even made all at once; revoking frees a place", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("signals-cap@example.com");
  const answers = await Promise.all(
    Array.from(
      { length: 8 },
      (_, i) => api.request("/api/signal-urls", { cookie, body: { name: `u${i}` } }),
    ),
  );
  const statuses = answers.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 201).length, 5, String(statuses));
  assert.equal(statuses.filter((s) => s === 422).length, 3);
  const { signalUrls } = await api.call("/api/signal-urls", { cookie });
  assert.equal(signalUrls.length, 5);
  await api.call(`/api/signal-urls/${signalUrls[0].id}`, { cookie, method: "DELETE" });
  assert.equal(
    (await api.request("/api/signal-urls", { cookie, body: { name: "again" } })).status,
    201,
  );
});

Deno.test("[signals] the settings page makes a URL, shows it once, logs its signals' outcomes, and revokes it, without JavaScript", async () => {
  await using t = await testApp();
  const api = testApi(t);
  await api.trader("signals-page@example.com");
  const browser = testBrowser(t);
  const signIn = await browser.post("/sign-in", {
    email: "signals-page@example.com",
    password: TEST_PASSWORD,
  });
  assert.equal(signIn.status, 303);
  assert.match(await browser.page("/settings"), /href="\/settings\/signals"/);
  const empty = await browser.page("/settings/signals");
  assert.match(empty, /No signal URLs yet/);
  const accountId = /<option value="([^"]+)"/.exec(empty)![1];

  const made = await browser.post("/settings/signals", {
    name: "My strategy",
    accountId,
    signing: "none",
  });
  assert.equal(made.status, 201);
  const html = await made.text();
  const url = new RegExp(`${TEST_ORIGIN}/api/signals/[A-Za-z0-9_-]{43}`).exec(html)![0];
  assert.match(html, /\{\{strategy\.order\.action\}\}/, "the TradingView message is shown");
  const token = url.slice(url.lastIndexOf("/") + 1);

  assert.equal((await sendSignal(t, url, { ...BUY, clientOrderId: "p-1" })).status, 201);
  assert.equal((await sendSignal(t, url, { ...BUY, clientOrderId: "p-1" })).status, 200);
  assert.equal((await sendSignal(t, url, { symbol: "AAPL", side: "buy", qty: "0" })).status, 422);

  const listing = await browser.page("/settings/signals");
  assert.ok(!listing.includes(token), "the token is not shown again");
  assert.match(listing, /My strategy/);
  const [signalUrl] = await findAll<SignalUrl>(t.deps.store, "signal_urls", {});
  const log = await browser.page(`/settings/signals/${signalUrl._id}`);
  assert.match(log, />placed</);
  assert.match(log, />replayed</);
  assert.match(log, /refused 422/);
  const [order] = await findAll<Order>(t.deps.store, "orders", {});
  assert.ok(log.includes(order._id), "the log names the order");
  assert.match(log, /href="\/orders\?status=all"/);

  const revoke = await browser.post(`/settings/signals/${signalUrl._id}/revoke`, {});
  assert.equal(revoke.status, 303);
  assert.match(await browser.page("/settings/signals"), /Revoked \(1\)/);
  assert.equal((await sendSignal(t, url, BUY)).status, 404);
});

Deno.test("[signals] a suspended user's URLs answer 404; a password reset revokes them", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie, accountId } = await api.trader("signals-reset@example.com");
  const { url } = await makeUrl(t, cookie);
  const user = (await t.deps.store.findOne<User>("users", {
    email: "signals-reset@example.com",
  }))!;
  const origin = { ip: "cli", userAgent: "test" };
  const suspended = await changeRole(t.deps.store, user, "SUSPENDED", "cli", origin);
  assert.equal((await sendSignal(t, url, BUY)).status, 404);
  await changeRole(t.deps.store, suspended, "USER", "cli", origin);
  assert.equal((await sendSignal(t, url, BUY)).status, 201);

  await api.call("/api/auth/password/forgot", { body: { email: user.email } });
  await t.deps.background.drain();
  const mail = t.deps.mailer.mailbox!.list().find((e) => e.subject.match(/reset/i))!;
  const token = new URL(mail.text.match(/https?:\/\/\S+reset-password\?token=\S+/)![0])
    .searchParams.get("token");
  await api.call("/api/auth/password/reset", {
    body: { token, password: "fresh-sturdy-phrase-1" },
  });
  assert.equal((await sendSignal(t, url, BUY)).status, 404);
  assert.equal((await storedOrders(t, accountId)).length, 1);
  const [revoked] = await findAll<AuditEntry>(t.deps.store, "audit_logs", {
    where: { action: "signal_url.revoked" },
  });
  assert.equal(revoked.details.reason, "password_reset");
});

Deno.test("[signals] admins see a user's signal URLs and revoke them", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("signals-owner@example.com");
  const { url, token, signalUrl } = await makeUrl(t, cookie);
  const second = await makeUrl(t, cookie, { name: "second" });
  const owner = (await t.deps.store.findOne<User>("users", {
    email: "signals-owner@example.com",
  }))!;
  await api.trader("signals-admin@example.com");
  const adminUser = (await t.deps.store.findOne<User>("users", {
    email: "signals-admin@example.com",
  }))!;
  await changeRole(t.deps.store, adminUser, "ADMIN", "cli", { ip: "cli", userAgent: "test" });
  const { cookie: admin } = await api.signIn("signals-admin@example.com");

  const detail = await api.call(`/api/admin/users/${owner._id}`, { cookie: admin });
  assert.equal(detail.signalUrls.length, 2);
  assert.ok(!JSON.stringify(detail).includes(token.slice(signalUrl.prefix.length)));
  const page = await api.request(`/admin/users/${owner._id}`, { cookie: admin });
  assert.match(await page.text(), new RegExp(`${signalUrl.prefix}…`));

  const wrong = await api.request(
    `/api/admin/users/${adminUser._id}/signal-urls/${signalUrl.id}`,
    { cookie: admin, method: "DELETE" },
  );
  assert.equal(wrong.status, 404);
  const trader = await api.request(`/api/admin/users/${owner._id}/signal-urls/${signalUrl.id}`, {
    cookie,
    method: "DELETE",
  });
  assert.equal(trader.status, 403);
  const revoked = await api.request(`/api/admin/users/${owner._id}/signal-urls/${signalUrl.id}`, {
    cookie: admin,
    method: "DELETE",
  });
  assert.equal(revoked.status, 204);
  assert.equal((await sendSignal(t, url, BUY)).status, 404);
  const [entry] = await findAll<AuditEntry>(t.deps.store, "audit_logs", {
    where: { action: "signal_url.revoked" },
  });
  assert.equal(entry.actorId, adminUser._id);
  assert.equal(entry.userId, owner._id);

  // The console's button does the same, without JavaScript.
  const adminBrowser = testBrowser(t);
  adminBrowser.jar.set("orion_session", admin.slice(admin.indexOf("=") + 1));
  const button = await adminBrowser.post(
    `/admin/users/${owner._id}/signal-urls/${second.signalUrl.id}/revoke`,
    {},
  );
  assert.equal(button.status, 303);
  assert.equal((await sendSignal(t, second.url, BUY)).status, 404);
});
