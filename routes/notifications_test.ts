/**
 * The notification centre over HTTP: events (a fill, an alert firing, a new device, an API key)
 * become notifications exactly once; the JSON API lists them
 * newest first with the unread count and marks them read; the bell and the page show them; and
 * emails are batched by the user's choice (a burst sends one, at most one a minute).
 */
import assert from "node:assert/strict";
import { formatFixed } from "../lib/money.ts";
import { runDispatchPass } from "../lib/notify/dispatch.ts";
import { sendNotificationEmails } from "../lib/notify/email_digest.ts";
import type { Notification } from "../lib/notify/notifications.ts";
import type { UserEvent } from "../lib/notify/outbox.ts";
import { createAlert, runAlertPass } from "../lib/trading/alerts.ts";
import { liveQuote } from "../lib/trading/market.ts";
import { findAll } from "../lib/store/find_all.ts";
import { TEST_ORIGIN, TEST_PASSWORD, testApi, testApp, testBrowser } from "./testing.ts";

type App = Awaited<ReturnType<typeof testApp>>;

const outbox = (t: App) => findAll<UserEvent>(t.deps.store, "outbox", {});
const notificationsOf = (t: App, userId: string) =>
  findAll<Notification>(t.deps.store, "notifications", {
    where: { userId },
    sort: { field: "at", direction: -1 },
  });

Deno.test("[notifications] a fill becomes one notification; the API lists and marks read", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("ada@example.com");
  const other = await api.trader("bob@example.com");
  await api.order(cookie, { symbol: "AAPL", side: "buy", qty: "3" });
  // The placement and its fill are two events in the outbox; nothing is notified before the pass.
  assert.deepEqual((await outbox(t)).map((e) => e.type), ["order.new", "order.fill"]);
  assert.equal((await api.call("/api/notifications", { cookie })).unreadCount, 0);

  // Two instances' passes at once: each event is fanned out by exactly one.
  const [a, b] = await Promise.all([
    runDispatchPass(t.deps.store),
    runDispatchPass(t.deps.store),
  ]);
  assert.equal(a.dispatched + b.dispatched, 2);
  assert.equal(a.notified + b.notified, 1, "the order the trader placed is not news; its fill is");
  assert.deepEqual(await outbox(t), []);

  const listed = await api.call("/api/notifications", { cookie });
  assert.equal(listed.unreadCount, 1);
  assert.equal(listed.notifications.length, 1);
  const [fill] = listed.notifications;
  assert.equal(fill.kind, "fill");
  assert.match(fill.title, /^Bought 3 AAPL at \$[\d,]+\.\d{2}/);
  assert.match(fill.body, /buy 3 AAPL is filled at an average \$/);
  assert.equal(fill.readAt, null);
  assert.equal(listed.nextCursor, null);

  // Another user neither sees it nor can mark it read.
  const theirs = await api.call("/api/notifications", { cookie: other.cookie });
  assert.deepEqual(theirs.notifications, []);
  const foreign = await api.call("/api/notifications/read", {
    cookie: other.cookie,
    body: { ids: [fill.id] },
  });
  assert.deepEqual(foreign, { updated: 0, unreadCount: 0 });
  assert.equal((await api.call("/api/notifications", { cookie })).unreadCount, 1);

  // Bad bodies are 422 and change nothing.
  for (
    const body of [{}, { ids: [] }, { all: false }, { ids: "x" }, { ids: [fill.id], all: true }]
  ) {
    const res = await api.request("/api/notifications/read", { cookie, body });
    assert.equal(res.status, 422, JSON.stringify(body));
    assert.ok((await res.json()).error.message);
  }
  assert.equal((await api.call("/api/notifications", { cookie })).unreadCount, 1);

  const marked = await api.call("/api/notifications/read", { cookie, body: { ids: [fill.id] } });
  assert.deepEqual(marked, { updated: 1, unreadCount: 0 });
  const after = await api.call("/api/notifications?unread=true", { cookie });
  assert.deepEqual(after.notifications, []);
  assert.equal((await api.call("/api/notifications", { cookie })).notifications[0].id, fill.id);
});

Deno.test("[notifications] alerts, API keys and new devices notify; the bell and the page", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const ada = await api.trader("ada@example.com");
  const user = (await t.deps.store.findOne<{ _id: string; _v: number }>("users", {
    email: "ada@example.com",
  }))!;
  const ctx = t.deps.trading;

  // An alert that fires: a level the price reaches within ten minutes of a fixed instant.
  const start = new Date("2026-06-02T15:00:00.250Z");
  const lastAt = async (at: Date) =>
    (await liveQuote(ctx.market, ctx.market.catalog.get("XOM")!, at)).last;
  const level = (await lastAt(start)) + 1_000_000n;
  let second = 0;
  for (let s = 1; s <= 600 && !second; s++) {
    if (await lastAt(new Date(start.getTime() + s * 1000)) >= level) second = s;
  }
  assert.ok(second > 0);
  await createAlert(ctx, user._id, {
    symbol: "XOM",
    condition: "above",
    price: formatFixed(level / 1_000_000n * 1_000_000n),
    note: "trim <b>it</b>",
  }, start);
  assert.equal((await runAlertPass(ctx, new Date(start.getTime() + second * 1000))).fired, 1);

  await runDispatchPass(t.deps.store);
  const [alert] = await notificationsOf(t, user._id);
  assert.equal((await notificationsOf(t, user._id)).length, 1);
  assert.equal(alert.kind, "alert");
  assert.match(alert.title, /^XOM rose above \$/);
  assert.match(alert.body, /Your note: trim <b>it<\/b>/, "stored as typed; escaped when shown");
  assert.equal(alert.link, "/trade/XOM");

  // An API key: the security notice is written with the key itself.
  const b = testBrowser(t);
  await b.post("/sign-in", { email: "ada@example.com", password: TEST_PASSWORD });
  const created = await api.call("/api/keys", {
    cookie: ada.cookie,
    body: { name: "bot", scopes: ["read"] },
  });
  const keyNotice = (await notificationsOf(t, user._id))[0];
  assert.equal(keyNotice.kind, "security");
  assert.equal(keyNotice.title, "API key created: bot");
  assert.match(keyNotice.body, new RegExp(`It can read \\(${created.key.prefix}…\\)`));
  assert.ok(!JSON.stringify(keyNotice).includes(created.secret), "the secret is never in it");

  // New devices: this browser signed in once already (above) and was a new device; signing in
  // again from it is not news; a browser that never signed in is.
  const before = (await notificationsOf(t, user._id)).filter((n) =>
    n.title.startsWith("New sign-in")
  );
  assert.equal(before.length, 1, "the browser form sign-in was a device not seen before");
  assert.equal(before[0].title, "New sign-in: Unknown browser");
  await b.post("/sign-out", {});
  await b.post("/sign-in", { email: "ada@example.com", password: TEST_PASSWORD });
  const fresh = testBrowser(t);
  const versionBefore =
    (await t.deps.store.get<{ _id: string; _v: number }>("users", user._id))!._v;
  await fresh.post("/sign-in", { email: "ada@example.com", password: TEST_PASSWORD }, {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
  });
  const devices = (await notificationsOf(t, user._id)).filter((n) =>
    n.title.startsWith("New sign-in")
  );
  assert.deepEqual(devices.map((n) => n.title), [
    "New sign-in: Firefox on Linux",
    "New sign-in: Unknown browser",
  ]);
  assert.equal(devices[0].link, "/settings");
  // Learning a device leaves the user document as it was, so a password, role or two-factor
  // change made at the version it read does not fail because a sign-in raced it.
  assert.equal(
    (await t.deps.store.get<{ _id: string; _v: number }>("users", user._id))!._v,
    versionBefore,
  );

  // The bell shows the unread count on every page, and the page lists them, newest first.
  const dashboard = await fresh.page("/dashboard");
  const unread = (await notificationsOf(t, user._id)).length;
  assert.match(dashboard, new RegExp(`<span id="bell">${unread}</span>`));
  const page = await fresh.page("/notifications");
  assert.ok(page.indexOf("New sign-in: Firefox") < page.indexOf("XOM rose above"));
  assert.match(page, /trim &lt;b&gt;it&lt;\/b&gt;/);
  assert.match(page, /Mark all read/);

  // Opening one marks it read and goes where it leads; another user's is a 404.
  const opened = await fresh.post(`/notifications/${alert._id}/open`, {});
  assert.equal(opened.status, 303);
  assert.equal(opened.headers.get("Location"), "/trade/XOM");
  assert.notEqual((await t.deps.store.get<Notification>("notifications", alert._id))!.readAt, null);
  const bob = testBrowser(t);
  await api.trader("bob@example.com");
  await bob.post("/sign-in", { email: "bob@example.com", password: TEST_PASSWORD });
  assert.equal((await bob.post(`/notifications/${devices[0]._id}/open`, {})).status, 404);

  const all = await fresh.post("/notifications/read", {});
  assert.equal(all.status, 303);
  assert.match(await fresh.page("/dashboard"), /<span id="bell"><\/span>/);
});

Deno.test("[notifications] emails follow the choice and a burst of fills sends one a minute", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const b = testBrowser(t);
  const { cookie } = await api.trader("ada@example.com");
  await b.post("/sign-in", { email: "ada@example.com", password: TEST_PASSWORD });
  const mailbox = t.deps.mailer.mailbox!;
  // Oldest first (the mailbox lists the newest first).
  const mails = () =>
    mailbox.list().filter((m) => !m.subject.startsWith("Confirm your email")).toReversed();
  const digest = { mailer: t.deps.mailer, appUrl: () => TEST_ORIGIN, log: t.deps.log };

  // The settings form: a bad value is refused and changes nothing.
  const bad = await b.post("/settings/notification-email", { notificationEmail: "sometimes" });
  assert.equal(bad.status, 422);
  assert.match(await bad.text(), /Choose none, fills and alerts, or everything\./);

  // With no choice (the default), fills notify the bell only.
  await api.order(cookie, { symbol: "AAPL", side: "buy", qty: "1" });
  await runDispatchPass(t.deps.store);
  assert.equal(
    await sendNotificationEmails(t.deps.store, digest, new Date(Date.now() + 60_000)),
    0,
  );
  const countBefore = mails().length;

  const saved = await b.post("/settings/notification-email", { notificationEmail: "fills_alerts" });
  assert.equal(saved.status, 303);
  const audit = await t.deps.store.find("audit_logs", {
    where: { action: "user.notification_email_changed" },
    sort: { field: "at", direction: -1 },
    limit: 5,
  });
  assert.equal(audit.items.length, 1);

  // A burst of five fills: nothing goes while the burst gathers, then one email with all five.
  for (let n = 1; n <= 5; n++) {
    await api.order(cookie, { symbol: "MSFT", side: "buy", qty: String(n) });
  }
  await runDispatchPass(t.deps.store);
  const now = Date.now();
  assert.equal(await sendNotificationEmails(t.deps.store, digest, new Date(now)), 0);
  // Two instances at the gathered moment: one email.
  const sent = await Promise.all([
    sendNotificationEmails(t.deps.store, digest, new Date(now + 11_000)),
    sendNotificationEmails(t.deps.store, digest, new Date(now + 11_000)),
  ]);
  assert.equal(sent[0] + sent[1], 1);
  const first = mails().slice(countBefore);
  assert.equal(first.length, 1);
  assert.match(first[0].subject, /^Bought 1 MSFT at \$[\d,.]+ and 4 more$/);
  for (let n = 1; n <= 5; n++) assert.match(first[0].text, new RegExp(`Bought ${n} MSFT at`));
  assert.match(first[0].text, new RegExp(`${TEST_ORIGIN}/notifications`));

  // Another fill 20 s later waits for the minute since the last email; then it goes alone.
  await api.order(cookie, { symbol: "NVDA", side: "buy", qty: "2" });
  await runDispatchPass(t.deps.store);
  assert.equal(await sendNotificationEmails(t.deps.store, digest, new Date(now + 31_000)), 0);
  assert.equal(await sendNotificationEmails(t.deps.store, digest, new Date(now + 71_500)), 1);
  const second = mails().slice(countBefore + 1);
  assert.equal(second.length, 1);
  assert.match(second[0].subject, /^Bought 2 NVDA at/);

  // Security notices are not fills or alerts: this choice leaves them out of email.
  await api.call("/api/keys", { cookie, body: { name: "bot", scopes: ["read"] } });
  assert.equal(await sendNotificationEmails(t.deps.store, digest, new Date(now + 200_000)), 0);
});

Deno.test("[notifications] a read key lists but cannot mark read; no session, no list", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("ada@example.com");
  const { secret } = await api.call("/api/keys", {
    cookie,
    body: { name: "reader", scopes: ["read"] },
  });
  const bearer = (path: string, init: RequestInit = {}) =>
    t.app.request(`${TEST_ORIGIN}${path}`, {
      ...init,
      headers: { Authorization: `Bearer ${secret}`, "Content-Type": "application/json" },
    });
  const listed = await bearer("/api/notifications");
  assert.equal(listed.status, 200);
  assert.equal((await listed.json()).unreadCount, 1, "the key's own creation notice");
  const refused = await bearer("/api/notifications/read", {
    method: "POST",
    body: JSON.stringify({ all: true }),
  });
  assert.equal(refused.status, 403);
  assert.equal((await refused.json()).error.code, "insufficient_scope");
  assert.equal((await t.app.request(`${TEST_ORIGIN}/api/notifications`)).status, 401);
});

Deno.test("[notifications] the email choices are in the profile API too", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie } = await api.trader("ada@example.com");
  const me = await api.call("/api/auth/session", { cookie });
  assert.equal(me.user.notificationEmail, "none");
  assert.equal(me.user.weeklyStatement, false);
  for (const body of [{}, { notificationEmail: "often" }, { weeklyStatement: "yes" }]) {
    const res = await api.request("/api/auth/profile", { cookie, method: "PATCH", body });
    assert.equal(res.status, 422, JSON.stringify(body));
  }
  const changed = await api.call("/api/auth/profile", {
    cookie,
    method: "PATCH",
    body: { notificationEmail: "all", weeklyStatement: true },
  });
  assert.equal(changed.user.notificationEmail, "all");
  assert.equal(changed.user.weeklyStatement, true);
  assert.equal(changed.user.name, "Test Trader");
  const audited = await t.deps.store.find("audit_logs", {
    where: { action: "user.notification_email_changed" },
    sort: { field: "at", direction: -1 },
    limit: 5,
  });
  assert.equal(audited.items.length, 1);
});
