/**
 * Sessions bound to the credentials they were opened with, the per-user session cap, email-change
 * notices, and two-factor users after AUTH_SECRET changes: through the HTTP API, with requests
 * racing each other for real.
 */
import assert from "node:assert/strict";
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import type { AuditEntry } from "../lib/audit.ts";
import { changeRole } from "../lib/auth/roles.ts";
import { createSession, MAX_SESSIONS_PER_USER, type Session } from "../lib/auth/session.ts";
import { totpCode } from "../lib/auth/totp.ts";
import type { User } from "../lib/auth/users.ts";
import { createApp } from "./app.tsx";
import { testApp } from "./testing.ts";

const PASSWORD = "vivid-otter-planet-42";
const NEW_PASSWORD = "fresh-sturdy-phrase-1";
const ORIGIN = "http://localhost:8000";
type App = Awaited<ReturnType<typeof testApp>>;

/** A JSON request as a browser on our own origin sends it; `ip` keeps per-IP limits apart. */
function api(
  t: App,
  path: string,
  body?: unknown,
  init: { cookie?: string; ip?: string } = {},
) {
  const headers: Record<string, string> = { Origin: ORIGIN, "User-Agent": "test-browser" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (init.cookie) headers.Cookie = init.cookie;
  return t.app.request(`${ORIGIN}/api/auth${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  }, { remoteAddr: { hostname: init.ip ?? "203.0.113.7", port: 1, transport: "tcp" } });
}

function sessionCookie(res: Response): string {
  const header = res.headers.getSetCookie().find((c) =>
    c.includes("orion_session=") && !c.includes("Max-Age=0")
  );
  assert.ok(header, "a session cookie is set");
  return header.split(";")[0];
}

function lastEmail(t: App, to: string) {
  const email = t.deps.mailer.mailbox!.list().find((e) => e.to === to);
  assert.ok(email, `an email to ${to}`);
  return email;
}

/** A verified user, signed in once; the session cookie. */
async function member(t: App, email: string): Promise<string> {
  const up = await api(t, "/sign-up", { email, password: PASSWORD, name: "Test Trader" });
  assert.equal(up.status, 201, await up.clone().text());
  const link = lastEmail(t, email).text.match(/https?:\/\/\S+verify-email\?token=\S+/)![0];
  const verified = await api(t, "/verify-email", {
    token: new URL(link).searchParams.get("token"),
  });
  assert.equal(verified.status, 200);
  const res = await api(t, "/sign-in", { email, password: PASSWORD });
  assert.equal(res.status, 200, await res.clone().text());
  return sessionCookie(res);
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sign-ins with the old password sent while `change` runs, spread over the time it takes
 * (each from its own address, so the per-IP limit is not what stops them). Returns the cookies of
 * those that were let in.
 */
async function signInsRacing(
  t: App,
  email: string,
  change: () => Response | Promise<Response>,
): Promise<{ changed: Response; cookies: string[]; roles: string[] }> {
  const attempts = Array.from(
    { length: 20 },
    (_, n) =>
      pause(n * 8).then(() =>
        api(t, "/sign-in", { email, password: PASSWORD }, { ip: `198.51.100.${n + 1}` })
      ),
  );
  const [changed, ...results] = await Promise.all([pause(20).then(change), ...attempts]);
  const opened = results.filter((r) => r.status === 200);
  const cookies = opened.map(sessionCookie);
  // The role each sign-in read, as its answer shows it.
  const roles = await Promise.all(opened.map(async (r) => (await r.json()).user.role as string));
  for (const r of results) if (!r.bodyUsed) await r.body?.cancel();
  assert.ok(cookies.length > 0, "some sign-ins with the old password got in");
  return { changed, cookies, roles };
}

Deno.test("[sessions] sign-ins with the old password racing a password change leave no live session", async () => {
  await using t = await testApp();
  const changer = await member(t, "a@example.com");
  const { changed, cookies } = await signInsRacing(
    t,
    "a@example.com",
    () =>
      api(t, "/password/change", { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, {
        cookie: changer,
      }),
  );
  assert.equal(changed.status, 200, await changed.clone().text());
  const alive = [];
  for (const cookie of cookies) {
    if ((await api(t, "/session", undefined, { cookie })).status === 200) alive.push(cookie);
  }
  assert.deepEqual(alive, [], `${alive.length} of ${cookies.length} old-password sessions live`);
  assert.equal((await api(t, "/session", undefined, { cookie: changer })).status, 200);
});

Deno.test("[sessions] sign-ins with the old password racing a password reset leave no live session", async () => {
  await using t = await testApp();
  const before = await member(t, "a@example.com");
  assert.equal((await api(t, "/password/forgot", { email: "a@example.com" })).status, 202);
  await t.deps.background.drain(); // the email leaves after the response
  const link = lastEmail(t, "a@example.com").text.match(/http\S+reset-password\?token=\S+/)![0];
  const token = new URL(link).searchParams.get("token");
  const { changed, cookies } = await signInsRacing(
    t,
    "a@example.com",
    () => api(t, "/password/reset", { token, password: NEW_PASSWORD }),
  );
  assert.equal(changed.status, 200, await changed.clone().text());
  for (const cookie of [before, ...cookies]) {
    assert.equal((await api(t, "/session", undefined, { cookie })).status, 401);
  }
});

Deno.test("[sessions] sign-ins racing a role change leave no session opened under the old role", async () => {
  await using t = await testApp();
  const before = await member(t, "a@example.com");
  const user = (await t.deps.store.findOne<User>("users", { email: "a@example.com" }))!;
  const { changed, cookies, roles } = await signInsRacing(t, "a@example.com", async () => {
    await changeRole(t.deps.store, user, "DEMO", "admin-1", { ip: "127.0.0.1", userAgent: "t" });
    return new Response(null, { status: 200 });
  });
  assert.equal(changed.status, 200);
  assert.equal((await api(t, "/session", undefined, { cookie: before })).status, 401);
  // Every sign-in that read the old role opened a session that no longer answers.
  const alive = [];
  for (const [n, cookie] of cookies.entries()) {
    if (roles[n] !== "USER") continue;
    const res = await api(t, "/session", undefined, { cookie });
    if (res.status === 200) alive.push(cookie);
    await res.body?.cancel();
  }
  assert.deepEqual(alive, [], `${alive.length} sessions opened under the old role live`);
});

Deno.test("[sessions] turning two-factor on ends every other session, which had only the password", async () => {
  await using t = await testApp();
  const enrolling = await member(t, "a@example.com");
  const other = sessionCookie(
    await api(t, "/sign-in", { email: "a@example.com", password: PASSWORD }),
  );
  const setup = await (await api(t, "/2fa/setup", {}, { cookie: enrolling })).json();
  const key = decodeBase32IgnorePadding(setup.secret.replaceAll(" ", ""));
  const enable = await api(t, "/2fa/enable", { code: totpCode(key, new Date()) }, {
    cookie: enrolling,
  });
  assert.equal(enable.status, 200);
  assert.equal((await api(t, "/session", undefined, { cookie: other })).status, 401);
  assert.equal((await api(t, "/session", undefined, { cookie: enrolling })).status, 200);
});

Deno.test("[sessions] a session opened under older credentials is refused at its next request", async () => {
  await using t = await testApp();
  const cookie = await member(t, "a@example.com");
  const id = cookie.slice(cookie.indexOf("=") + 1).split(".")[0];
  // What a sign-in that checked the old password leaves when it stops between opening the
  // session and tidying up: a session one version behind its user.
  await t.deps.store.update<Session>("sessions", id, { credentialVersion: -1 });
  assert.equal((await api(t, "/session", undefined, { cookie })).status, 401);
  assert.equal(await t.deps.store.get("sessions", id), null, "and it is deleted");
});

Deno.test("[sessions] a session stored before credential versions existed still works", async () => {
  await using t = await testApp();
  const cookie = await member(t, "a@example.com");
  const id = cookie.slice(cookie.indexOf("=") + 1).split(".")[0];
  const user = (await t.deps.store.findOne<User>("users", { email: "a@example.com" }))!;
  // Documents written by the previous release have no version field at all.
  await t.deps.store.update<User>("users", user._id, { credentialVersion: undefined });
  await t.deps.store.update<Session>("sessions", id, { credentialVersion: undefined });
  assert.equal((await api(t, "/session", undefined, { cookie })).status, 200);
});

Deno.test(`[sessions] at most ${MAX_SESSIONS_PER_USER} sessions per user; concurrent sign-ins end the earliest opened`, async () => {
  await using t = await testApp();
  await member(t, "a@example.com");
  const user = (await t.deps.store.findOne<User>("users", { email: "a@example.com" }))!;
  const origin = { ip: "127.0.0.1", userAgent: "test" };
  // 47 sessions opened at once (one exists from sign-in), each a minute apart in creation time...
  const start = Date.now() - 60 * 60_000;
  const early = await Promise.all(
    Array.from(
      { length: 47 },
      (_, n) => createSession(t.deps.store, user, origin, new Date(start + n * 60_000)),
    ),
  );
  // ...then 12 sign-ins through the API, 4 at a time: 60 in all, 10 over the cap. (More than 5 at
  // once for one email would meet the sign-in budget, claimed before each password is checked.)
  const signIns: Response[] = [];
  for (let round = 0; round < 3; round++) {
    signIns.push(
      ...await Promise.all(
        Array.from(
          { length: 4 },
          (_, n) =>
            api(t, "/sign-in", { email: "a@example.com", password: PASSWORD }, {
              ip: `198.51.100.${round * 4 + n + 1}`,
            }),
        ),
      ),
    );
  }
  assert.deepEqual(signIns.map((r) => r.status), Array(12).fill(200));
  const left = await t.deps.store.find<Session>("sessions", {
    where: { userId: user._id },
    limit: 100,
  });
  assert.equal(left.items.length, MAX_SESSIONS_PER_USER);
  // The ten opened first are the ones that ended; every sign-in just made still works.
  for (const { token } of early.slice(0, 10)) {
    const res = await api(t, "/session", undefined, { cookie: `orion_session=${token}` });
    assert.equal(res.status, 401);
  }
  for (const { token } of early.slice(10)) {
    const res = await api(t, "/session", undefined, { cookie: `orion_session=${token}` });
    assert.equal(res.status, 200);
  }
  for (const res of signIns) {
    assert.equal((await api(t, "/session", undefined, { cookie: sessionCookie(res) })).status, 200);
  }
  const trimmed = await t.deps.store.find<AuditEntry>("audit_logs", {
    where: { action: "auth.session_revoked" },
    limit: 100,
  });
  assert.equal(
    trimmed.items.filter((e) => e.details.reason === "session_limit")
      .reduce((sum, e) => sum + Number(e.details.sessions), 0),
    10,
    "every ended session is audited",
  );
});

Deno.test("[sessions] after AUTH_SECRET changes, a two-factor sign-in gets a clear 403, not a 500, and a reset is the way back", async () => {
  await using t = await testApp({ AUTH_SECRET: "first-secret-0123456789abcdef0123456789abcdef" });
  const cookie = await member(t, "a@example.com");
  const setup = await (await api(t, "/2fa/setup", {}, { cookie })).json();
  const key = decodeBase32IgnorePadding(setup.secret.replaceAll(" ", ""));
  const enable = await api(t, "/2fa/enable", { code: totpCode(key, new Date()) }, { cookie });
  assert.equal(enable.status, 200);
  const { recoveryCodes } = await enable.json();

  // The same data served under another secret, as after a restart without AUTH_SECRET set.
  const other = {
    app: createApp({
      ...t.deps,
      config: { ...t.deps.config, authSecret: "second-secret-0123456789abcdef0123456789abcdef" },
    }),
    deps: t.deps,
  } as App;
  const next = new Date(Date.now() + 30_000); // a step not used at enrolment
  for (const totp of [totpCode(key, next), recoveryCodes[0]]) {
    const res = await api(other, "/sign-in", {
      email: "a@example.com",
      password: PASSWORD,
      totpCode: totp,
    });
    assert.equal(res.status, 403, `${totp}: ${await res.clone().text()}`);
    const { error } = await res.json();
    assert.equal(error.code, "totp_unreadable");
    assert.match(error.message, /cannot be checked/);
    assert.match(error.message, /Reset your password/);
  }

  assert.equal((await api(other, "/password/forgot", { email: "a@example.com" })).status, 202);
  await t.deps.background.drain(); // the email leaves after the response
  const link = lastEmail(t, "a@example.com").text.match(/http\S+reset-password\?token=\S+/)![0];
  const reset = await api(other, "/password/reset", {
    token: new URL(link).searchParams.get("token"),
    password: NEW_PASSWORD,
  });
  assert.equal(reset.status, 200);
  assert.equal((await reset.json()).user.twoFactorEnabled, false);
  const signIn = await api(other, "/sign-in", { email: "a@example.com", password: NEW_PASSWORD });
  assert.equal(signIn.status, 200, await signIn.clone().text());
  const [entry] = (await t.deps.store.find<AuditEntry>("audit_logs", {
    where: { action: "auth.totp_disabled" },
    limit: 1,
  })).items;
  assert.equal(entry.details.reason, "key_unreadable");
});

Deno.test("[sessions] an email change tells the old address, ends the other sessions and is audited", async () => {
  await using t = await testApp();
  const asking = await member(t, "a@example.com");
  const other = sessionCookie(
    await api(t, "/sign-in", { email: "a@example.com", password: PASSWORD }),
  );
  const change = await api(t, "/email/change", { email: "new@example.com" }, { cookie: asking });
  assert.equal(change.status, 202, await change.clone().text());
  const code = lastEmail(t, "new@example.com").text.match(/code: (\d{4}) (\d{4})/)!;
  // Confirmed with the code, from a browser that is not signed in.
  const confirmed = await api(t, "/verify-email", {
    email: "new@example.com",
    code: code[1] + code[2],
  });
  assert.equal(confirmed.status, 200, await confirmed.clone().text());
  assert.equal((await confirmed.json()).user.email, "new@example.com");

  assert.equal((await api(t, "/session", undefined, { cookie: other })).status, 401);
  assert.equal((await api(t, "/session", undefined, { cookie: asking })).status, 200);

  const notice = lastEmail(t, "a@example.com");
  assert.match(notice.subject, /email of your Orion Assets Broker account was changed/);
  assert.match(notice.text, /new@example\.com/);
  const link = notice.text.match(/http:\/\/localhost:8000\/reset-password\?token=\S+/)![0];

  const audited = async (action: string) =>
    (await t.deps.store.find<AuditEntry>("audit_logs", { where: { action }, limit: 10 })).items;
  const [changed] = await audited("auth.email_changed");
  assert.deepEqual([changed.details.from, changed.details.to], [
    "a@example.com",
    "new@example.com",
  ]);
  assert.ok(
    (await audited("auth.session_revoked")).some((e) =>
      e.details.reason === "email_changed" && e.details.sessions === 1
    ),
  );

  // The owner of the old address takes the account back with the link: every session ends.
  const reset = await api(t, "/password/reset", {
    token: new URL(link).searchParams.get("token"),
    password: NEW_PASSWORD,
  });
  assert.equal(reset.status, 200);
  assert.equal((await api(t, "/session", undefined, { cookie: asking })).status, 401);
  const back = await api(t, "/sign-in", { email: "new@example.com", password: NEW_PASSWORD });
  assert.equal(back.status, 200);
});

Deno.test("[sessions] the cookie is sent again only when the session is renewed, not on every answer", async () => {
  await using t = await testApp();
  const cookie = await member(t, "renew@example.com");
  const fresh = await api(t, "/session", undefined, { cookie });
  assert.equal(fresh.status, 200);
  assert.equal(fresh.headers.getSetCookie().length, 0, "a fresh session sets no cookie");
  // A day on, the session is renewed: its expiry moves, and the cookie follows it.
  const token = decodeURIComponent(cookie.split("=")[1]);
  const id = token.split(".")[0];
  const session = (await t.deps.store.get<Session>("sessions", id))!;
  const dayAgo = (d: Date) => new Date(d.getTime() - 25 * 60 * 60 * 1000);
  await t.deps.store.update<Session>("sessions", id, {
    expiresAt: dayAgo(session.expiresAt),
    lastSeenAt: dayAgo(session.lastSeenAt),
  });
  const renewed = await api(t, "/session", undefined, { cookie });
  assert.equal(renewed.status, 200);
  const set = renewed.headers.getSetCookie().find((c) => c.startsWith("orion_session="));
  assert.ok(set, "the renewed session's cookie is sent");
  const expires = Date.parse(/Expires=([^;]+)/.exec(set)![1]);
  assert.ok(expires > dayAgo(session.expiresAt).getTime() + 60_000, "with the new expiry");
});
