/** The admin console and API: who gets in, user search and actions, the audit log, orders, metrics, read-only. */
import assert from "node:assert/strict";
import { audit, type AuditEntry } from "../lib/audit.ts";
import { changeRole } from "../lib/auth/roles.ts";
import { findUserByEmail, type Role, type User } from "../lib/auth/users.ts";
import type { Trade } from "../lib/trading/history.ts";
import { formatFixed, parseFixed, sumFixed } from "../lib/money.ts";
import { TEST_ORIGIN, testApp, testBrowser } from "./testing.ts";

const PASSWORD = "vivid-otter-planet-42";
const htmx = { "HX-Request": "true" };
const json = { "Content-Type": "application/json" };
type App = Awaited<ReturnType<typeof testApp>>;
type Browser = ReturnType<typeof testBrowser>;

/** Signs up through the form; the browser is not signed in yet. */
async function signUp(t: App, email: string, name = "Trader") {
  const b = testBrowser(t);
  const res = await b.post("/sign-up", { name, email, password: PASSWORD });
  assert.equal(res.status, 303, `sign up ${email}`);
  const user = (await findUserByEmail(t.deps.store, email))!;
  return { b, user };
}

async function signIn(b: Browser, email: string) {
  const res = await b.post("/sign-in", { email, password: PASSWORD });
  assert.equal(res.status, 303, `sign in ${email}`);
}

/** A signed-up user promoted the way ops do it (`cli`), then signed in. */
async function signedInAdmin(t: App, email = "admin@example.com") {
  const { b, user } = await signUp(t, email, "Ada Admin");
  await changeRole(t.deps.store, user, "ADMIN", "cli", { ip: "cli", userAgent: "test" });
  await signIn(b, email);
  return { b, id: user._id };
}

async function signedInUser(t: App, email = "trader@example.com") {
  const { b, user } = await signUp(t, email);
  await signIn(b, email);
  return { b, id: user._id };
}

/** A user written straight to the store: enough to list, without a password hash to compute. */
async function insertUser(t: App, email: string, role: Role = "USER", verified = false) {
  const now = new Date();
  return await t.deps.store.insert<User>("users", {
    email,
    name: email.split("@")[0],
    passwordHash: "x",
    role,
    emailVerifiedAt: verified ? now : null,
    createdAt: now,
    passwordChangedAt: now,
    totp: null,
    totpPendingKey: null,
    recoveryCodeHashes: [],
  });
}

async function auditOf(t: App, action: AuditEntry["action"]): Promise<AuditEntry[]> {
  const page = await t.deps.store.find<AuditEntry>("audit_logs", {
    where: { action },
    sort: { field: "at", direction: -1 },
    limit: 100,
  });
  return page.items;
}

/** The flash the next page shows after a redirect. */
async function flashAfter(b: Browser, res: Response): Promise<string> {
  assert.equal(res.status, 303);
  const html = await b.page(res.headers.get("Location")!);
  return html.match(/<p class="flash flash-(?:success|error)" role="status">([^<]*)<\/p>/)?.[1] ??
    "";
}

/** A JSON request with the browser's cookies, as an API client with a session sends it. */
function sendJson(t: App, b: Browser, method: string, path: string, body: unknown) {
  return t.app.request(`${TEST_ORIGIN}${path}`, {
    method,
    headers: {
      ...json,
      Origin: TEST_ORIGIN,
      Cookie: [...b.jar].map(([k, v]) => `${k}=${v}`).join("; "),
    },
    body: JSON.stringify(body),
  });
}

const sessionStatus = async (b: Browser) => (await b.get("/api/auth/session")).status;
const rows = (html: string) => [...html.matchAll(/<tr>[\s\S]*?<\/tr>/g)].map((m) => m[0]).slice(1);

const ADMIN_PAGES = ["/admin", "/admin/users", "/admin/audit", "/admin/orders", "/admin/metrics"];

Deno.test("[admin] signed-out visitors go to sign in; other roles get 403; admins see the nav link", async () => {
  await using t = await testApp();
  const anonymous = testBrowser(t);
  for (const path of ADMIN_PAGES) {
    const res = await anonymous.get(path);
    assert.equal(res.status, 303, path);
    assert.equal(res.headers.get("Location"), `/sign-in?next=${encodeURIComponent(path)}`);
  }
  assert.equal((await anonymous.post("/admin/read-only", { on: "true", reason: "x" })).status, 401);
  assert.equal((await anonymous.get("/api/admin/users")).status, 401);

  const { b: trader, id: traderId } = await signedInUser(t);
  for (const path of [...ADMIN_PAGES, `/admin/users/${traderId}`]) {
    const res = await trader.get(path);
    assert.equal(res.status, 403, path);
    assert.match(await res.text(), /<h1>Not allowed<\/h1>/);
  }
  const post = await trader.post(`/admin/users/${traderId}/role`, { role: "ADMIN" });
  assert.equal(post.status, 403, "no one promotes themself through the form");
  const api = await trader.get("/api/admin/users");
  assert.equal(api.status, 403);
  assert.equal((await api.json()).error.code, "forbidden");
  assert.doesNotMatch(await trader.page("/dashboard"), /href="\/admin"/);

  const { b: admin } = await signedInAdmin(t);
  for (const path of ADMIN_PAGES) {
    const res = await admin.get(path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get("Cache-Control"), "no-store", path);
    const html = await res.text();
    assert.ok(!/ style=| hx-on/.test(html), `${path}: no inline styles or hx-on handlers`);
  }
  assert.match(await admin.page("/admin"), /<a href="\/admin" aria-current="page">Admin<\/a>/);
});

Deno.test("[admin] users: search by email prefix, role and status, 25 a page by cursor", async () => {
  await using t = await testApp();
  const { b } = await signedInAdmin(t);
  for (let n = 0; n < 27; n++) {
    await insertUser(t, `zed-${String(n).padStart(2, "0")}@example.com`, n < 3 ? "DEMO" : "USER");
  }
  await insertUser(t, "zelda@example.com", "DEMO", true);
  await insertUser(t, "other@example.com", "SUSPENDED", true);

  const first = await b.page("/admin/users?email=ZED-");
  const emails = (html: string) =>
    [...html.matchAll(/>([\w.-]+@example\.com)<\/a><\/th>/g)].map((m) => m[1]);
  const page1 = emails(first);
  assert.equal(page1.length, 25, "a page of 25");
  assert.equal(page1[0], "zed-00@example.com", "email order, typed in any case");
  const next = first.match(/<a href="([^"]+)">Next page<\/a>/)![1].replaceAll("&amp;", "&");
  assert.match(next, /^\/admin\/users\?email=ZED-&cursor=/, "the filters as typed");
  const page2 = emails(await b.page(next));
  assert.deepEqual(page2, ["zed-25@example.com", "zed-26@example.com"]);

  const demo = emails(await b.page("/admin/users?role=DEMO"));
  assert.deepEqual(demo.sort(), [
    "zed-00@example.com",
    "zed-01@example.com",
    "zed-02@example.com",
    "zelda@example.com",
  ]);
  assert.deepEqual(emails(await b.page("/admin/users?email=ze&role=DEMO&status=verified")), [
    "zelda@example.com",
  ]);
  const unverified = await b.page("/admin/users?email=zel&status=unverified");
  assert.deepEqual(emails(unverified), []);
  assert.match(unverified, /No users match/);
  assert.match(unverified, /Filtered by status while reading the email_1 index/);
  assert.deepEqual(emails(await b.page("/admin/users?role=SUSPENDED")), ["other@example.com"]);

  const newest = emails(await b.page("/admin/users"));
  assert.equal(newest[0], "other@example.com", "without filters, the newest users first");

  const partial = await b.get("/admin/users?email=zelda", htmx);
  const html = await partial.text();
  assert.match(html, /^<div id="user-results" aria-live="polite">/, "htmx gets the results only");
  assert.deepEqual(emails(html), ["zelda@example.com"]);

  const bad = await b.get("/admin/users?role=KING");
  assert.equal(bad.status, 422);
  assert.match(await bad.text(), /Choose a role from the list/);

  const api = await (await b.get("/api/admin/users?email=zed-2&limit=3")).json();
  assert.deepEqual(api.users.map((u: { email: string }) => u.email), [
    "zed-20@example.com",
    "zed-21@example.com",
    "zed-22@example.com",
  ]);
  assert.ok(api.nextCursor);
  assert.equal(api.users[0].passwordHash, undefined, "the API shows the public user only");
});

Deno.test("[admin] a user's page shows profile, accounts, orders and sessions; another id is 404", async () => {
  await using t = await testApp();
  const { b } = await signedInAdmin(t);
  const trader = await signedInUser(t);
  const placed = await trader.b.post("/trade", {
    symbol: "AAPL",
    side: "buy",
    type: "limit",
    qty: "2",
    limitPrice: "1.00",
    timeInForce: "gtc",
    idempotencyKey: crypto.randomUUID(),
  });
  assert.equal(placed.status, 303);

  const html = await b.page(`/admin/users/${trader.id}`);
  assert.match(html, /<h1>trader@example.com<\/h1>/);
  assert.match(html, /<dt>Role<\/dt><dd><span class="badge plain">USER<\/span><\/dd>/);
  assert.match(html, /<dt>Two-factor<\/dt><dd>off<\/dd>/);
  assert.match(
    html,
    /<th scope="row">PA\d{8}<\/th><td>active<\/td><td class="num">\$100,000\.00<\/td>/,
  );
  assert.match(html, /BUY 2 AAPL limit \$1\.00/);
  assert.match(html, /<span class="status new">new<\/span>/);
  assert.match(html, /Sign out everywhere \(1 session\)/);
  assert.match(html, /action="\/admin\/users\/[^"]+\/suspend"/);

  const self = await b.page(
    `/admin/users/${(await findUserByEmail(t.deps.store, "admin@example.com"))!._id}`,
  );
  assert.match(self, /This is you/);
  assert.doesNotMatch(self, /\/suspend"/, "no self-suspension button");

  const missing = await b.get("/admin/users/01NOSUCHUSER0000000000000");
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /<h1>Page not found<\/h1>/);
  assert.equal((await b.post("/admin/users/01NOSUCHUSER0000000000000/suspend", {})).status, 404);
  assert.equal((await b.get("/api/admin/users/01NOSUCHUSER0000000000000")).status, 404);

  const api = await (await b.get(`/api/admin/users/${trader.id}`)).json();
  assert.equal(api.user.email, "trader@example.com");
  assert.equal(api.accounts[0].cash, "100000.00");
  assert.equal(api.orders.length, 1);
  assert.equal(api.sessions.length, 1);
  assert.equal(api.sessions[0].id, undefined, "session ids stay server-side");
});

Deno.test("[admin] role change, suspend, reinstate and sign-out-everywhere are audited and end the user's sessions", async () => {
  await using t = await testApp();
  const admin = await signedInAdmin(t);
  const trader = await signedInUser(t);
  const userPage = `/admin/users/${trader.id}`;

  const demoted = await admin.b.post(`${userPage}/role`, { role: "DEMO" });
  assert.equal(demoted.headers.get("Location"), userPage);
  assert.equal(
    await flashAfter(admin.b, demoted),
    "trader@example.com is now DEMO and signed out everywhere.",
  );
  assert.equal(await sessionStatus(trader.b), 401, "their session ended at once");
  const [changed] = await auditOf(t, "admin.role_changed");
  assert.equal(changed.actorId, admin.id);
  assert.equal(changed.userId, trader.id);
  assert.equal(changed.outcome, "success");
  assert.deepEqual(changed.details, { from: "USER", to: "DEMO" });
  assert.ok(changed.ip && changed.userAgent !== null, "with the admin's IP and user agent");

  await signIn(trader.b, "trader@example.com");
  const suspended = await admin.b.post(`${userPage}/suspend`, {});
  assert.equal(
    await flashAfter(admin.b, suspended),
    "trader@example.com is suspended and signed out everywhere.",
  );
  assert.equal(await sessionStatus(trader.b), 401);
  const signInJson = await sendJson(t, testBrowser(t), "POST", "/api/auth/sign-in", {
    email: "trader@example.com",
    password: PASSWORD,
  });
  assert.equal(signInJson.status, 403);
  assert.equal((await signInJson.json()).error.code, "account_suspended");
  assert.match(await admin.b.page(userPage), /action="\/admin\/users\/[^"]+\/reinstate"/);

  const again = await admin.b.post(`${userPage}/suspend`, {});
  assert.match(await flashAfter(admin.b, again), /already SUSPENDED/);

  const reinstated = await admin.b.post(`${userPage}/reinstate`, {});
  assert.equal(
    await flashAfter(admin.b, reinstated),
    "trader@example.com is reinstated as USER and can sign in again.",
  );
  await signIn(trader.b, "trader@example.com");
  assert.equal(await sessionStatus(trader.b), 200);

  const cleared = await admin.b.post(`${userPage}/sessions/clear`, {});
  assert.equal(await flashAfter(admin.b, cleared), "Ended 1 session.");
  assert.equal(await sessionStatus(trader.b), 401);
  const [clearedEntry] = await auditOf(t, "admin.sessions_cleared");
  assert.equal(clearedEntry.actorId, admin.id);
  assert.equal(clearedEntry.userId, trader.id);
  assert.deepEqual(clearedEntry.details, { sessions: 1 });

  const roles = (await auditOf(t, "admin.role_changed")).filter((e) => e.actorId === admin.id);
  assert.deepEqual(
    roles.map((e) => [e.outcome, e.details.to]).reverse(),
    [["success", "DEMO"], ["success", "SUSPENDED"], ["failure", "SUSPENDED"], ["success", "USER"]],
    "every attempt is on record, the refused one too",
  );

  const viaApi = await sendJson(t, admin.b, "POST", `/api/admin/users/${trader.id}/role`, {
    role: "DEMO",
  });
  assert.equal(viaApi.status, 200);
  assert.equal((await viaApi.json()).user.role, "DEMO");
  await signIn(trader.b, "trader@example.com");
  const clearedByApi = await sendJson(
    t,
    admin.b,
    "DELETE",
    `/api/admin/users/${trader.id}/sessions`,
    {},
  );
  assert.deepEqual(await clearedByApi.json(), { ended: 1 });
  assert.equal(await sessionStatus(trader.b), 401);
});

Deno.test("[admin] an admin cannot demote, suspend or sign out themself, and the refusal is audited", async () => {
  await using t = await testApp();
  const admin = await signedInAdmin(t);
  const self = `/admin/users/${admin.id}`;
  for (
    const [path, form] of [[`${self}/role`, { role: "USER" }], [`${self}/suspend`, {}], [
      `${self}/sessions/clear`,
      {},
    ]] as const
  ) {
    const res = await admin.b.post(path, form);
    assert.match(await flashAfter(admin.b, res), /You cannot change your own role/, path);
  }
  assert.equal((await findUserByEmail(t.deps.store, "admin@example.com"))!.role, "ADMIN");
  assert.equal(await sessionStatus(admin.b), 200, "still signed in");
  const refusals = (await auditOf(t, "admin.role_changed")).filter((e) => e.outcome === "failure");
  assert.equal(refusals.length, 2);
  assert.equal(refusals[0].details.reason, "self_change_refused");
  assert.equal((await auditOf(t, "admin.sessions_cleared"))[0].outcome, "failure");

  const api = await sendJson(t, admin.b, "POST", `/api/admin/users/${admin.id}/role`, {
    role: "USER",
  });
  assert.equal(api.status, 422);
  assert.equal((await api.json()).error.code, "self_change_refused");
});

Deno.test("[admin] audit log: filters by user, action, outcome and UTC dates, newest first, by cursor", async () => {
  await using t = await testApp();
  const admin = await signedInAdmin(t);
  const { store } = t.deps;
  const target = await insertUser(t, "target@example.com");
  const origin = { ip: "203.0.113.9", userAgent: "Mozilla/5.0 ".repeat(10) };
  // 30 failed sign-ins of the target on 2024-03-01..02, and 2 successes on 2024-03-03.
  for (let n = 0; n < 30; n++) {
    await audit(store, {
      action: "auth.sign_in",
      outcome: "failure",
      userId: target._id,
      origin,
      details: { reason: "wrong_password", failures: n },
    }, new Date(Date.UTC(2024, 2, 1 + (n < 15 ? 0 : 1), 10, n)));
  }
  for (let n = 0; n < 2; n++) {
    await audit(store, {
      action: "auth.sign_in",
      outcome: "success",
      userId: target._id,
      origin,
    }, new Date(Date.UTC(2024, 2, 3, 9, n)));
  }

  const times = (html: string) =>
    [...html.matchAll(/<time datetime="([^"]+)"[ >]/g)].map((m) => m[1]);
  const byEmail = await admin.b.page("/admin/audit?user=TARGET@example.com");
  const first = times(byEmail);
  assert.equal(first.length, 25);
  assert.equal(first[0], "2024-03-03T09:01:00.000Z", "newest first");
  assert.match(byEmail, /<th scope="row">auth\.sign_in<\/th>/);
  assert.match(byEmail, /<a href="\/admin\/users\/[^"]+">target@example.com<\/a>/);
  assert.match(byEmail, /reason=wrong_password failures=29/);
  assert.match(
    byEmail,
    /<td title="Mozilla\/5\.0 [^"]*">Mozilla\/5\.0 Mozilla\/5\.0 Mozilla\/5\.0 Moz…<\/td>/,
  );
  const next = byEmail.match(/<a href="([^"]+)">Next page<\/a>/)![1].replaceAll("&amp;", "&");
  const second = times(await admin.b.page(next));
  assert.equal(second.length, 7);
  assert.equal(new Set([...first, ...second]).size, 32, "no entry twice across pages");

  const byId = times(await admin.b.page(`/admin/audit?user=${target._id}&outcome=success`));
  assert.deepEqual(byId, ["2024-03-03T09:01:00.000Z", "2024-03-03T09:00:00.000Z"]);

  const failures = await admin.b.page(
    "/admin/audit?action=auth.sign_in&outcome=failure&from=2024-03-02&to=2024-03-02",
  );
  assert.equal(times(failures).length, 15, "one day, inclusive");
  assert.ok(times(failures).every((at) => at.startsWith("2024-03-02")));

  const bySignUp = await admin.b.page("/admin/audit?action=auth.sign_up");
  assert.equal(rows(bySignUp).length, 1, "only the admin signed up through the app");
  assert.match(rows(bySignUp)[0], /admin@example.com/);

  const outcomeOnly = times(await admin.b.page("/admin/audit?outcome=failure&to=2024-03-01"));
  assert.equal(outcomeOnly.length, 15);
  const promoted = await admin.b.page("/admin/audit?action=admin.role_changed");
  assert.match(promoted, /<td><code>cli<\/code><\/td>/, "the actor of ops commands");
  assert.match(promoted, /from=USER to=ADMIN/);

  const unknown = await admin.b.get("/admin/audit?user=nobody@example.com");
  assert.equal(unknown.status, 422);
  assert.match(await unknown.text(), /No user has this id or email/);
  const backwards = await admin.b.get("/admin/audit?from=2024-03-02&to=2024-03-01");
  assert.equal(backwards.status, 422);
  assert.match(await backwards.text(), /The end date is before the start date/);

  const api = await (await admin.b.get(
    `/api/admin/audit?user=${target._id}&outcome=failure&limit=2`,
  )).json();
  assert.equal(api.entries.length, 2);
  assert.equal(api.entries[0].at, "2024-03-02T10:29:00.000Z");
  assert.equal(api.entries[0].ip, "203.0.113.9");
  assert.ok(api.nextCursor);
});

Deno.test("[admin] orders monitor: the newest orders of every user with their email; open only", async () => {
  await using t = await testApp();
  const admin = await signedInAdmin(t);
  const place = async (b: Browser, fields: Record<string, string>) => {
    const res = await b.post("/trade", {
      symbol: "AAPL",
      side: "buy",
      type: "market",
      qty: "1",
      timeInForce: "day",
      idempotencyKey: crypto.randomUUID(),
      ...fields,
    });
    assert.equal(res.status, 303);
  };
  const ann = await signedInUser(t, "ann@example.com");
  const bob = await signedInUser(t, "bob@example.com");
  await place(ann.b, {});
  await place(bob.b, { type: "limit", limitPrice: "1.00", timeInForce: "gtc", qty: "3" });

  const all = await admin.b.page("/admin/orders");
  const listed = rows(all);
  assert.equal(listed.length, 2);
  assert.match(listed[0], /bob@example.com[\s\S]*BUY 3 AAPL limit \$1\.00/, "newest first");
  assert.match(listed[1], /ann@example.com[\s\S]*BUY 1 AAPL[\s\S]*filled/);
  const open = rows(await admin.b.page("/admin/orders?status=open"));
  assert.equal(open.length, 1);
  assert.match(open[0], /bob@example.com/);

  const api = await (await admin.b.get("/api/admin/orders?status=open")).json();
  assert.equal(api.orders.length, 1);
  assert.equal(api.orders[0].email, "bob@example.com");
});

Deno.test("[admin] metrics: off says how to turn them on", async () => {
  await using t = await testApp();
  const admin = await signedInAdmin(t);
  const html = await admin.b.page("/admin/metrics");
  assert.match(html, /Analytics are off/);
  assert.match(html, /ENABLE_ANALYTICS=true/);
  assert.doesNotMatch(html, /<svg/);
});

Deno.test("[admin] metrics: a small scenario's numbers, as charts with their data", async () => {
  await using t = await testApp({ ENABLE_ANALYTICS: "true" });
  const admin = await signedInAdmin(t); // sign-up 1, sign-in 1
  const { b: trader } = await signUp(t, "trader@example.com"); // sign-up 2
  for (let n = 0; n < 3; n++) {
    const wrong = await trader.post("/sign-in", {
      email: "trader@example.com",
      password: "nope-nope-nope",
    });
    assert.equal(wrong.status, 401);
  }
  await signIn(trader, "trader@example.com"); // sign-in 2
  for (const qty of ["1", "2"]) {
    const res = await trader.post("/trade", {
      symbol: "AAPL",
      side: "buy",
      type: "market",
      qty,
      timeInForce: "day",
      idempotencyKey: crypto.randomUUID(),
    });
    assert.equal(res.status, 303);
  }
  const trades = await t.deps.store.find<Trade>("trades", {
    sort: { field: "executedAt", direction: -1 },
    limit: 10,
  });
  assert.equal(trades.items.length, 2);
  const traded = formatFixed(sumFixed(trades.items.map((x) => parseFixed(x.gross, 8))));
  const dollars = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" })
    .format(traded as Intl.StringNumericLiteral);

  const html = await admin.b.page("/admin/metrics");
  const stat = (label: string) => html.match(new RegExp(`<dt>${label}</dt><dd>([^<]*)</dd>`))?.[1];
  assert.equal(stat("Sign-ups"), "2");
  assert.equal(stat("Sign-ins"), "2");
  assert.equal(stat("Failed sign-ins"), "3");
  assert.equal(stat("Failure rate"), "60.0%");
  assert.equal(stat("Orders placed"), "2");
  assert.equal(stat("Traded value"), dollars);
  assert.equal(stat("Active sessions now"), "2");

  assert.equal((html.match(/<svg viewBox="0 0 280 116" role="img" aria-label="/g) ?? []).length, 6);
  assert.match(
    html,
    /aria-label="Sign-ups per day: 2 over 14 days; most on \d{4}-\d\d-\d\d \(2\)\."/,
  );
  assert.match(html, /<title>Failed sign-ins per day: 3 over 14 days/);
  assert.match(html, /Sign-in failure rate: 60\.0% of 5 sign-ins failed over 14 days\./);
  const today = new Date().toISOString().slice(0, 10);
  assert.match(
    html,
    new RegExp(
      `<caption>Orders placed per day</caption>[\\s\\S]*?<th scope="row">${today}</th><td>2</td>`,
    ),
    "the hidden table carries each day's number",
  );
  assert.match(html, new RegExp(`<th scope="row">${today}</th><td>60\\.0%</td>`));
});

Deno.test("[admin] the read-only switch: on with a reason, writes stop with 503, off again", async () => {
  await using t = await testApp();
  const admin = await signedInAdmin(t);
  const trader = await signedInUser(t);
  const overview = await admin.b.page("/admin");
  assert.match(overview, /Read-only mode <span class="badge ok">off<\/span>/);
  assert.match(overview, /<dt>Users<\/dt><dd>2<\/dd>/);
  assert.match(overview, /<dt>Admins<\/dt><dd>1<\/dd>/);
  assert.match(overview, /<dt>Active sessions<\/dt><dd>2<\/dd>/);

  const noReason = await admin.b.post("/admin/read-only", { on: "true", reason: "" });
  assert.equal(noReason.status, 422);
  assert.match(await noReason.text(), /Say why \(at least 3 characters\)/);
  const partial = await admin.b.post("/admin/read-only", { on: "true", reason: "" }, htmx);
  assert.equal(partial.status, 422);
  assert.match(await partial.text(), /^<form id="read-only-form"/);

  const on = await admin.b.post("/admin/read-only", { on: "true", reason: "database upgrade" });
  assert.equal(
    await flashAfter(admin.b, on),
    "Read-only mode is on: writes are paused for everyone but admins.",
  );
  const order = await trader.b.post("/trade", {
    symbol: "AAPL",
    side: "buy",
    type: "market",
    qty: "1",
    timeInForce: "day",
    idempotencyKey: crypto.randomUUID(),
  });
  assert.equal(order.status, 503, "the next write anywhere is refused at once");
  const api = await sendJson(t, trader.b, "POST", "/api/watchlists", { name: "x" });
  assert.equal(api.status, 503);
  assert.equal((await api.json()).error.code, "read_only");
  const shown = await admin.b.page("/admin");
  assert.match(shown, /Read-only mode <span class="badge warn">on<\/span>/);
  assert.match(shown, /Turned on by an admin since <time[^>]*>[^<]* UTC<\/time>: database upgrade/);

  const off = await admin.b.post("/admin/read-only", { on: "false" });
  assert.equal(await flashAfter(admin.b, off), "Read-only mode is off: writes are back.");
  const offAgain = await admin.b.post("/admin/read-only", { on: "false" });
  assert.equal(await flashAfter(admin.b, offAgain), "Read-only mode is already off.");
  const entries = await auditOf(t, "admin.read_only");
  assert.deepEqual(
    entries.map((e) => [e.actorId, e.outcome, e.details.on, e.details.reason]),
    [
      [admin.id, "failure", false, "read_only_unchanged"],
      [admin.id, "success", false, null],
      [admin.id, "success", true, "database upgrade"],
    ],
  );
});

Deno.test("[admin] READ_ONLY in the environment cannot be turned off from the console", async () => {
  await using t = await testApp({ READ_ONLY: "true" });
  // Sign-up is a write, so the admin is made in the store directly.
  const email = "admin@example.com";
  const user = await insertUser(t, email, "ADMIN", true);
  const { hashPassword } = await import("../lib/auth/password.ts");
  await t.deps.store.update<User>("users", user._id, {
    passwordHash: await hashPassword(PASSWORD),
  });
  const b = testBrowser(t);
  await signIn(b, email);
  const html = await b.page("/admin");
  assert.match(html, /Set by READ_ONLY in the environment/);
  assert.match(html, /It cannot be turned off here/);
  assert.doesNotMatch(html, /Turn read-only off/);
  const off = await b.post("/admin/read-only", { on: "false" });
  assert.match(await flashAfter(b, off), /READ_ONLY is set in the environment/);
  const [refusal] = await auditOf(t, "admin.read_only");
  assert.equal(refusal.outcome, "failure", "the attempt is on record, and nothing changed");
  assert.equal(refusal.details.reason, "read_only_forced");
});
