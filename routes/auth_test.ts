/** Adversarial tests of sign-up, verification, sign-in, sessions, resets and roles, through the HTTP API. */
import assert from "node:assert/strict";
import { changeRole } from "../lib/auth/roles.ts";
import type { User } from "../lib/auth/users.ts";
import { COLLECTION_NAMES } from "../lib/store/schema.ts";
import type { Doc } from "../lib/store/port.ts";
import { requireRole } from "./middleware/session.ts";
import { testApp, testBrowser } from "./testing.ts";

const PASSWORD = "vivid-otter-planet-42";
const ORIGIN = "http://localhost:8000";
type App = Awaited<ReturnType<typeof testApp>>;

/** A JSON request as a browser on our own origin sends it. */
function api(
  t: App,
  path: string,
  body?: unknown,
  init: { method?: string; cookie?: string; ip?: string } = {},
) {
  const headers: Record<string, string> = {
    Origin: ORIGIN,
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/150.0",
  };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (init.cookie) headers.Cookie = init.cookie;
  return t.app.request(`${ORIGIN}/api/auth${path}`, {
    method: init.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  }, { remoteAddr: { hostname: init.ip ?? "203.0.113.7", port: 1, transport: "tcp" } });
}

/** The `name=value` part of the session cookie a response sets. */
function sessionCookie(res: Response): string {
  const header = res.headers.getSetCookie().find((c) =>
    c.includes("orion_session=") && !c.includes("Max-Age=0")
  );
  assert.ok(header, "a session cookie is set");
  return header.split(";")[0];
}

/** The newest email the dev mailbox holds for `to`. */
function lastEmail(t: App, to: string) {
  const email = t.deps.mailer.mailbox!.list().find((e) => e.to === to);
  assert.ok(email, `an email to ${to}`);
  return email;
}

async function signUp(t: App, email: string, name = "Test Trader") {
  const res = await api(t, "/sign-up", { email, password: PASSWORD, name });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).user;
}

async function verify(t: App, email: string) {
  const { text } = lastEmail(t, email);
  const token = new URL(text.match(/https?:\/\/\S+verify-email\?token=\S+/)![0]).searchParams.get(
    "token",
  );
  const res = await api(t, "/verify-email", { token });
  assert.equal(res.status, 200, await res.clone().text());
}

async function signIn(
  t: App,
  email: string,
  password = PASSWORD,
  extra: Record<string, string> = {},
  ip?: string,
) {
  return await api(t, "/sign-in", { email, password, ...extra }, { ip });
}

async function member(t: App, email: string): Promise<string> {
  await signUp(t, email);
  await verify(t, email);
  const res = await signIn(t, email);
  assert.equal(res.status, 200, await res.clone().text());
  return sessionCookie(res);
}

const strict = { REQUIRE_EMAIL_VERIFICATION: "true" };

Deno.test("[auth] sign-up, verification by link, sign-in, session, sign-out", async () => {
  await using t = await testApp(strict);
  const user = await signUp(t, "  Ada@Example.com ");
  assert.equal(user.email, "ada@example.com", "normalised");
  assert.equal(user.emailVerified, false);
  const email = lastEmail(t, "ada@example.com");
  assert.match(email.text, /\d{4} \d{4}/, "the code is in the email");
  assert.match(
    email.html,
    /<a href="http:\/\/localhost:8000\/verify-email\?token=/,
    "the link is built from APP_URL",
  );

  const early = await signIn(t, "ada@example.com");
  assert.equal(early.status, 403);
  assert.equal((await early.json()).error.code, "email_not_verified");

  await verify(t, "ada@example.com");
  const res = await signIn(t, "ADA@example.com");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.user.emailVerified, true);
  assert.ok(Date.parse(body.session.expiresAt) > Date.now() + 6 * 86400_000);
  const cookie = sessionCookie(res);

  const session = await api(t, "/session", undefined, { cookie });
  assert.equal(session.status, 200);
  assert.equal((await session.json()).user.email, "ada@example.com");

  assert.equal((await api(t, "/sign-out", {}, { cookie })).status, 204);
  const after = await api(t, "/session", undefined, { cookie });
  assert.equal(after.status, 401, "a token reused after sign-out is refused");
});

Deno.test("[auth] verification by code; a wrong, reused or someone else's code is refused", async () => {
  await using t = await testApp(strict);
  await signUp(t, "a@example.com");
  await signUp(t, "b@example.com");
  const codeOf = (to: string) => lastEmail(t, to).text.match(/(\d{4}) (\d{4})/)!.slice(1).join("");
  const codeA = codeOf("a@example.com");
  const someoneElses = await api(t, "/verify-email", { email: "b@example.com", code: codeA });
  assert.equal(someoneElses.status, 422);
  const ok = await api(t, "/verify-email", { email: "a@example.com", code: codeA });
  assert.equal(ok.status, 200);
  const reused = await api(t, "/verify-email", { email: "a@example.com", code: codeA });
  assert.equal(reused.status, 422);

  // Someone else's wrong guesses, however many the limits let through, do not void b's code.
  // With codeA tried on b above, these make nine: one short of the account's limit of ten.
  const codeB = codeOf("b@example.com");
  for (let i = 0; i < 8; i++) {
    const wrong = String((Number(codeB) + 1 + i) % 1e8).padStart(8, "0");
    const res = await api(t, "/verify-email", { email: "b@example.com", code: wrong }, {
      ip: `192.0.2.${i}`,
    });
    assert.equal(res.status, 422);
    assert.equal((await res.json()).error.code, "invalid_verification");
  }
  assert.equal(
    (await api(t, "/verify-email", { email: "b@example.com", code: codeB })).status,
    200,
    "the owner's code still works",
  );
});

Deno.test("[auth] verification tries are limited per address: 30 in 15 minutes, then 429 with Retry-After", async () => {
  await using t = await testApp(strict);
  const statuses: number[] = [];
  let limited: Response | undefined;
  for (let i = 0; i < 40; i++) {
    // Codes for addresses with nothing pending and forged links: each try counts all the same.
    const body = i % 2
      ? { email: `nobody${i}@example.com`, code: "12345678" }
      : { token: `${"a".repeat(20)}.${"b".repeat(32)}` };
    const res = await api(t, "/verify-email", body, { ip: "198.51.100.20" });
    statuses.push(res.status);
    if (res.status === 429) limited ??= res;
  }
  assert.deepEqual(statuses.slice(0, 30), Array(30).fill(422));
  assert.deepEqual(statuses.slice(30), Array(10).fill(429));
  assert.ok(Number(limited!.headers.get("Retry-After")) > 0);
  assert.equal((await limited!.json()).error.code, "rate_limited");
  const other = await api(t, "/verify-email", { email: "x@example.com", code: "12345678" }, {
    ip: "198.51.100.21",
  });
  assert.equal(other.status, 422, "another address is not affected");
});

Deno.test("[auth] verification codes per account: simultaneous guesses from many addresses get at most 10 compared", async () => {
  await using t = await testApp(strict);
  await signUp(t, "b@example.com");
  const mail = lastEmail(t, "b@example.com").text;
  const code = mail.match(/(\d{4}) (\d{4})/)!.slice(1).join("");
  const guesses = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      api(t, "/verify-email", {
        email: "b@example.com",
        code: String((Number(code) + 1 + i) % 1e8).padStart(8, "0"),
      }, { ip: `198.18.4.${i}` })),
  );
  const statuses = guesses.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 422).length, 10, statuses.join(" "));
  assert.equal(statuses.filter((s) => s === 429).length, 20);
  for (const res of guesses.filter((r) => r.status === 429)) {
    assert.ok(Number(res.headers.get("Retry-After")) > 14 * 60, "until the window ends");
  }
  // The budget is the account's: the owner's right code waits too, but the emailed link works.
  const owner = await api(t, "/verify-email", { email: "b@example.com", code }, {
    ip: "198.18.5.1",
  });
  assert.equal(owner.status, 429);
  const token = new URL(mail.match(/https?:\/\/\S+verify-email\?token=\S+/)![0]).searchParams
    .get("token");
  assert.equal((await api(t, "/verify-email", { token }, { ip: "198.18.5.1" })).status, 200);
});

Deno.test("[auth] a verification link is single-use, expires, and a forged one is refused", async () => {
  await using t = await testApp(strict);
  await signUp(t, "a@example.com");
  const link = lastEmail(t, "a@example.com").text.match(/\S+verify-email\?token=(\S+)/)![1];
  const [id, secret] = decodeURIComponent(link).split(".");
  const forged = await api(t, "/verify-email", { token: `${id}.${"a".repeat(32)}` });
  assert.equal(forged.status, 422);
  assert.equal((await api(t, "/verify-email", { token: `${id}.${secret}` })).status, 200);
  assert.equal(
    (await api(t, "/verify-email", { token: `${id}.${secret}` })).status,
    422,
    "used up",
  );

  // A new request replaces the old one; an expired one is refused.
  await signUp(t, "b@example.com");
  const first = lastEmail(t, "b@example.com").text.match(/token=(\S+)/)![1];
  const resend = await api(t, "/verify-email/resend", { email: "b@example.com" });
  assert.equal(resend.status, 202);
  await t.deps.background.drain();
  const second = lastEmail(t, "b@example.com").text.match(/token=(\S+)/)![1];
  assert.notEqual(first, second);
  assert.equal(
    (await api(t, "/verify-email", { token: decodeURIComponent(first) })).status,
    422,
    "replaced",
  );
  const record = (await t.deps.store.find<Doc & { expiresAt: Date }>("email_verifications", {
    where: { email: "b@example.com" },
    limit: 5,
  })).items[0];
  await t.deps.store.update("email_verifications", record._id, {
    expiresAt: new Date(Date.now() - 1000),
  });
  const expired = await api(t, "/verify-email", { token: decodeURIComponent(second) });
  assert.equal(expired.status, 422);
  assert.equal((await expired.json()).error.code, "verification_expired");
});

Deno.test("[auth] an unknown email and a wrong password get the same answer in about the same time", async () => {
  await using t = await testApp();
  await member(t, "known@example.com");
  const attempt = async (email: string) => {
    const start = performance.now();
    const res = await signIn(t, email, "wrong-but-long-password");
    return { ms: performance.now() - start, status: res.status, body: await res.text() };
  };
  const unknown = [], wrong = [];
  for (let i = 0; i < 3; i++) {
    unknown.push(await attempt(`nobody${i}@example.com`));
    wrong.push(await attempt("known@example.com"));
  }
  assert.equal(unknown[0].status, 401);
  assert.deepEqual(unknown.map((a) => [a.status, a.body]), wrong.map((a) => [a.status, a.body]));
  const median = (xs: { ms: number }[]) => xs.map((x) => x.ms).sort((a, b) => a - b)[1];
  const ratio = median(unknown) / median(wrong);
  // Both verify an Argon2id hash (a decoy for unknown emails); without that the ratio is ~0.05.
  assert.ok(ratio > 0.4 && ratio < 2.5, `timing ratio ${ratio.toFixed(2)}`);
});

Deno.test("[auth] a pre-sign-in cookie never becomes a session", async () => {
  await using t = await testApp();
  await member(t, "a@example.com");
  const planted = "orion_session=aaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  const res = await api(t, "/sign-in", { email: "a@example.com", password: PASSWORD }, {
    cookie: planted,
  });
  assert.equal(res.status, 200);
  assert.notEqual(sessionCookie(res), planted, "a new token is issued");
  assert.equal((await api(t, "/session", undefined, { cookie: planted })).status, 401);
});

Deno.test("[auth] cookie attributes: HttpOnly, SameSite=Lax, Path=/; __Host- and Secure in production", async () => {
  await using dev = await testApp();
  await member(dev, "a@example.com");
  const devCookie = (await signIn(dev, "a@example.com")).headers.getSetCookie().find((c) =>
    c.startsWith("orion_session=")
  )!;
  assert.match(devCookie, /HttpOnly/);
  assert.match(devCookie, /SameSite=Lax/);
  assert.match(devCookie, /Path=\//);
  assert.match(devCookie, /Expires=/);

  const prod = {
    NODE_ENV: "production",
    APP_URL: "https://broker.example.com",
    AUTH_SECRET: "k2Jq9XvB7mN4pR8sT1wY5zA3cD6fG0hL",
    REQUIRE_EMAIL_VERIFICATION: "false",
    RESEND_API_KEY: "re_test",
  };
  for (
    const [env, prefix, domain] of [[prod, "__Host-", false], [
      { ...prod, SESSION_COOKIE_DOMAIN: "example.com" },
      "__Secure-",
      true,
    ]] as const
  ) {
    await using t = await testApp(env);
    // Production sends email through Resend; seed a user directly instead.
    const { hashPassword } = await import("../lib/auth/password.ts");
    await t.deps.store.insert<User>("users", {
      email: "p@example.com",
      name: "P",
      passwordHash: await hashPassword(PASSWORD),
      role: "USER",
      emailVerifiedAt: new Date(),
      createdAt: new Date(),
      passwordChangedAt: new Date(),
      totp: null,
      totpPendingKey: null,
      recoveryCodeHashes: [],
    });
    const res = await t.app.request("https://broker.example.com/api/auth/sign-in", {
      method: "POST",
      headers: { Origin: "https://broker.example.com", "Content-Type": "application/json" },
      body: JSON.stringify({ email: "p@example.com", password: PASSWORD }),
    });
    assert.equal(res.status, 200);
    const cookie = res.headers.getSetCookie().find((c) => c.includes("orion_session="))!;
    assert.ok(cookie.startsWith(`${prefix}orion_session=`), cookie);
    assert.match(cookie, /; Secure/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
    assert.equal(/Domain=example\.com/i.test(cookie), domain, cookie);
  }
});

Deno.test("[auth] password reset: 202 either way, single-use, expiring, signs out every session", async () => {
  await using t = await testApp();
  const cookie = await member(t, "a@example.com");
  const unknown = await api(t, "/password/forgot", { email: "ghost@example.com" });
  const known = await api(t, "/password/forgot", { email: "a@example.com" });
  assert.equal(unknown.status, 202);
  assert.equal(known.status, 202);
  assert.deepEqual(await unknown.json(), await known.json());
  await t.deps.background.drain(); // the email leaves after the response
  const mail = lastEmail(t, "a@example.com");
  assert.match(mail.subject, /Reset/);
  const token = new URL(mail.text.match(/http\S+reset-password\?token=\S+/)![0]).searchParams.get(
    "token",
  )!;
  assert.ok(token.startsWith(""), "link is built from APP_URL");
  assert.match(mail.text, /http:\/\/localhost:8000\/reset-password\?token=/);

  const weak = await api(t, "/password/reset", { token, password: "password1" });
  assert.equal(weak.status, 422);
  const [id] = token.split(".");
  const mixed = await api(t, "/password/reset", {
    token: `${id}.${"c".repeat(32)}`,
    password: "new-sturdy-passphrase-9",
  });
  assert.equal(mixed.status, 422, "a token's id with another secret is refused");
  const ok = await api(t, "/password/reset", { token, password: "new-sturdy-passphrase-9" });
  assert.equal(ok.status, 200);
  assert.equal(
    (await api(t, "/password/reset", { token, password: "another-sturdy-phrase-7" })).status,
    422,
    "single use",
  );
  assert.equal((await api(t, "/session", undefined, { cookie })).status, 401, "sessions revoked");
  assert.equal((await signIn(t, "a@example.com")).status, 401, "old password is gone");
  assert.equal((await signIn(t, "a@example.com", "new-sturdy-passphrase-9")).status, 200);

  // An older link stops working when a newer one is sent, and any link expires after an hour.
  await api(t, "/password/forgot", { email: "a@example.com" });
  await t.deps.background.drain();
  const older = new URL(
    lastEmail(t, "a@example.com").text.match(/http\S+reset-password\?token=\S+/)![0],
  ).searchParams.get("token")!;
  await api(t, "/password/forgot", { email: "a@example.com" });
  await t.deps.background.drain();
  const newer = new URL(
    lastEmail(t, "a@example.com").text.match(/http\S+reset-password\?token=\S+/)![0],
  ).searchParams.get("token")!;
  assert.equal(
    (await api(t, "/password/reset", { token: older, password: "older-sturdy-phrase-3" })).status,
    422,
  );
  const reset = await t.deps.store.get<Doc>("password_resets", newer.split(".")[0]);
  await t.deps.store.update("password_resets", reset!._id, { expiresAt: new Date(Date.now() - 1) });
  assert.equal(
    (await api(t, "/password/reset", { token: newer, password: "newer-sturdy-phrase-3" })).status,
    422,
    "expired",
  );
});

Deno.test("[auth] a reset request answers before the address is looked up; the email follows", async () => {
  // A transport that holds reset emails until released, like a slow provider.
  const release = Promise.withResolvers<void>();
  const sending = Promise.withResolvers<void>();
  let started = 0;
  await using t = await testApp({}, {
    mailer: (mailer) => ({
      ...mailer,
      async send(email) {
        if (/Reset/.test(email.subject)) {
          started++;
          sending.resolve();
          await release.promise;
        }
        await mailer.send(email);
      },
    }),
  });
  await member(t, "a@example.com");
  const resets = () => t.deps.mailer.mailbox!.list().filter((e) => /Reset/.test(e.subject));

  const known = await api(t, "/password/forgot", { email: "a@example.com" });
  assert.equal(known.status, 202);
  assert.equal(started, 0, "answered before the account was looked up or the email started");
  const unknown = await api(t, "/password/forgot", { email: "ghost@example.com" });
  assert.equal(unknown.status, 202);
  assert.deepEqual(await unknown.json(), await known.json());
  const page = await testBrowser(t).post("/forgot-password", { email: "nobody@example.com" });
  assert.equal(page.status, 200, "the page answers the same way");

  await sending.promise;
  assert.equal(resets().length, 0, "the email is still pending after both answers");
  release.resolve();
  await t.deps.background.drain();
  assert.deepEqual(resets().map((e) => e.to), ["a@example.com"], "none for unknown addresses");
  const token = new URL(resets()[0].text.match(/http\S+reset-password\?token=\S+/)![0])
    .searchParams.get("token")!;
  assert.equal(
    (await api(t, "/password/reset", { token, password: "after-the-wait-phrase-4" })).status,
    200,
  );
});

Deno.test("[auth] a resend of the verification email answers alike for every address, before any lookup", async () => {
  await using t = await testApp(strict);
  await signUp(t, "waiting@example.com");
  await member(t, "confirmed@example.com");
  const sent = () => t.deps.mailer.mailbox!.list().length;
  const before = sent();
  const answers = [];
  for (const email of ["waiting@example.com", "confirmed@example.com", "ghost@example.com"]) {
    const res = await api(t, "/verify-email/resend", { email });
    answers.push({ status: res.status, body: await res.json() });
  }
  assert.equal(sent(), before, "nothing is looked up or sent before the answers");
  assert.deepEqual(answers.map((a) => a.status), [202, 202, 202]);
  assert.deepEqual(answers[0].body, answers[2].body);
  await t.deps.background.drain();
  assert.deepEqual(
    t.deps.mailer.mailbox!.list().slice(before).map((e) => e.to),
    ["waiting@example.com"],
    "only the address waiting for confirmation gets an email",
  );
  // The per-address limit counts every address alike, so a 429 tells nothing either.
  for (const email of ["waiting@example.com", "ghost@example.com"]) {
    const again = await api(t, "/verify-email/resend", { email });
    assert.equal(again.status, 429, email);
  }
});

Deno.test("[auth] a reset email that cannot be sent is logged, never an unhandled rejection", async () => {
  await using t = await testApp({}, {
    mailer: (mailer) => ({
      ...mailer,
      send: (email) =>
        /Reset/.test(email.subject)
          ? Promise.reject(new Error("provider down"))
          : mailer.send(email),
    }),
  });
  await member(t, "a@example.com");
  assert.equal((await api(t, "/password/forgot", { email: "a@example.com" })).status, 202);
  await t.deps.background.drain();
  const line = t.logLines.map((l) => JSON.parse(l)).find((l) =>
    l.msg === "password reset email failed"
  );
  assert.ok(line, "the failure is logged");
  assert.equal(line.level, "error");
  assert.match(line.error.message, /provider down/);
});

Deno.test("[auth] a password change signs out every other session", async () => {
  await using t = await testApp();
  const first = await member(t, "a@example.com");
  const second = sessionCookie(await signIn(t, "a@example.com"));
  const wrong = await api(t, "/password/change", {
    currentPassword: "nope-nope-nope",
    newPassword: "fresh-sturdy-phrase-1",
  }, { cookie: second });
  assert.equal(wrong.status, 422);
  const ok = await api(t, "/password/change", {
    currentPassword: PASSWORD,
    newPassword: "fresh-sturdy-phrase-1",
  }, { cookie: second });
  assert.equal(ok.status, 200);
  assert.equal((await api(t, "/session", undefined, { cookie: first })).status, 401);
  assert.equal((await api(t, "/session", undefined, { cookie: second })).status, 200);
  assert.match(lastEmail(t, "a@example.com").subject, /password was changed/);
});

Deno.test("[auth] throttling per account: waits, lockout with Retry-After, recovery, and reset lifts it", async () => {
  await using t = await testApp();
  await member(t, "a@example.com");
  // Each attempt comes from a new address, so only the per-account throttle is in play.
  let n = 0;
  const signIn = (t: App, email: string, password = PASSWORD) =>
    api(t, "/sign-in", { email, password }, { ip: `192.0.2.${n++ % 250}` });
  for (let i = 1; i <= 4; i++) {
    assert.equal((await signIn(t, "a@example.com", "wrong-password-x")).status, 401);
  }
  assert.equal(
    (await signIn(t, "a@example.com", "wrong-password-x")).status,
    401,
    "the 5th failure starts a wait",
  );
  const waiting = await signIn(t, "a@example.com");
  assert.equal(waiting.status, 429, "even the right password waits");
  const retry = Number(waiting.headers.get("Retry-After"));
  assert.ok(retry >= 25 && retry <= 30, `Retry-After ${retry}`);
  assert.equal((await waiting.json()).error.code, "rate_limited");

  // An unknown address is throttled exactly the same way: no enumeration through 429s.
  for (let i = 0; i < 5; i++) await signIn(t, "ghost@example.com", "wrong-password-x");
  assert.equal((await signIn(t, "ghost@example.com", "wrong-password-x")).status, 429);

  // After the wait has passed, the right password works and the count starts over.
  const throttles = await t.deps.store.find<Doc & { lockedUntil: Date }>("sign_in_throttles", {
    limit: 10,
  });
  for (const th of throttles.items) {
    await t.deps.store.update("sign_in_throttles", th._id, {
      lockedUntil: new Date(Date.now() - 1),
    });
  }
  assert.equal((await signIn(t, "a@example.com")).status, 200);

  // Ten failures lock the address for 15 minutes; a password reset lifts the lock.
  for (let i = 0; i < 10; i++) {
    const res = await signIn(t, "a@example.com", "wrong-password-x");
    if (res.status === 429) {
      const th = (await t.deps.store.find<Doc>("sign_in_throttles", { limit: 10 })).items;
      for (const x of th) {
        await t.deps.store.update("sign_in_throttles", x._id, {
          lockedUntil: new Date(Date.now() - 1),
        });
      }
      i--;
    }
  }
  const locked = await signIn(t, "a@example.com");
  assert.equal(locked.status, 429);
  assert.ok(Number(locked.headers.get("Retry-After")) > 14 * 60, "a 15-minute lockout");
  const audit = await t.deps.store.find<Doc & { action: string }>("audit_logs", {
    where: { action: "auth.lockout" },
    sort: { field: "at", direction: -1 },
    limit: 5,
  });
  assert.equal(audit.items.length, 1, "the lockout is audited");
  await api(t, "/password/forgot", { email: "a@example.com" });
  await t.deps.background.drain();
  const token = new URL(
    lastEmail(t, "a@example.com").text.match(/http\S+reset-password\?token=\S+/)![0],
  ).searchParams.get("token")!;
  assert.equal(
    (await api(t, "/password/reset", { token, password: "unlocked-sturdy-phrase-5" })).status,
    200,
  );
  assert.equal((await signIn(t, "a@example.com", "unlocked-sturdy-phrase-5")).status, 200);
});

Deno.test("[auth] simultaneous wrong passwords get no more checks than the failure budget", async () => {
  await using t = await testApp();
  await member(t, "a@example.com");
  // Every attempt from its own address: only the per-account budget stands in the way.
  let n = 0;
  const attempt = (email: string, password: string) =>
    api(t, "/sign-in", { email, password }, { ip: `198.18.${n >> 8}.${n++ & 255}` });
  const burst = await Promise.all([
    ...Array.from({ length: 27 }, () => attempt("a@example.com", "wrong-password-x")),
    attempt("a@example.com", PASSWORD),
  ]);
  const statuses = burst.map((r) => r.status);
  const wrongChecked = statuses.filter((s) => s === 401).length;
  const signedIn = statuses.filter((s) => s === 200).length;
  // As in a row: five wrong passwords are checked before the first wait. The right one, checked
  // in the burst, gives its place back, so it never takes one of those five.
  assert.ok(wrongChecked <= 5, `at most 5 wrong passwords checked: ${statuses.join(" ")}`);
  assert.equal(statuses.filter((s) => s === 429).length, 28 - wrongChecked - signedIn);
  for (const res of burst.filter((r) => r.status === 429)) {
    assert.ok(Number(res.headers.get("Retry-After")) > 0, "429 says how long to wait");
  }
  const checks = await t.deps.store.find<Doc & { details?: { reason?: string } }>("audit_logs", {
    where: { action: "auth.sign_in", outcome: "failure" },
    sort: { field: "at", direction: -1 },
    limit: 100,
  });
  assert.equal(
    checks.items.filter((a) => a.details?.reason === "wrong_password").length,
    wrongChecked,
    "every checked wrong password is audited, and only those",
  );
  // The burst used the budget up: the right password now waits, unless it was checked in the burst
  // after every other check had ended (a success forgives only when no other check is running).
  const after = await attempt("a@example.com", PASSWORD);
  if (!signedIn) assert.equal(after.status, 429);

  // The same for an address nobody has: 28 at once, at most 5 checked, then the lock holds.
  const ghost = await Promise.all(
    Array.from({ length: 28 }, () => attempt("ghost@example.com", "wrong-password-x")),
  );
  const ghostChecked = ghost.filter((r) => r.status === 401).length;
  assert.ok(ghostChecked >= 1 && ghostChecked <= 5, ghost.map((r) => r.status).join(" "));
  assert.equal(ghost.filter((r) => r.status === 429).length, 28 - ghostChecked);
  assert.equal((await attempt("ghost@example.com", "wrong-password-x")).status, 429);
});

Deno.test("[auth] sign-in attempts per IP are limited with 429 and Retry-After", async () => {
  await using t = await testApp();
  let limited: Response | undefined;
  for (let i = 0; i < 40 && !limited; i++) {
    const res = await api(t, "/sign-in", { email: `x${i}@example.com`, password: "whatever-x" }, {
      ip: "198.51.100.9",
    });
    if (res.status === 429) limited = res;
  }
  assert.ok(limited, "the per-IP limit kicks in");
  assert.ok(Number(limited.headers.get("Retry-After")) > 0);
  const other = await api(t, "/sign-in", { email: "y@example.com", password: "whatever-x" }, {
    ip: "198.51.100.10",
  });
  assert.equal(other.status, 401, "another address is not affected");
});

Deno.test("[auth] a suspended user is locked out at once, and role changes end sessions", async () => {
  await using t = await testApp();
  const cookie = await member(t, "a@example.com");
  const user = (await t.deps.store.findOne<User>("users", { email: "a@example.com" }))!;
  await changeRole(t.deps.store, user, "SUSPENDED", "admin-1", {
    ip: "127.0.0.1",
    userAgent: "test",
  });
  assert.equal((await api(t, "/session", undefined, { cookie })).status, 401);
  const res = await signIn(t, "a@example.com");
  assert.equal(res.status, 403);
  assert.equal((await res.json()).error.code, "account_suspended");
  const [entry] =
    (await t.deps.store.find<Doc & { details: Record<string, string>; actorId: string }>(
      "audit_logs",
      {
        where: { action: "admin.role_changed" },
        sort: { field: "at", direction: -1 },
        limit: 1,
      },
    )).items;
  assert.deepEqual([entry.details.from, entry.details.to, entry.actorId], [
    "USER",
    "SUSPENDED",
    "admin-1",
  ]);
});

Deno.test("[auth] sessions are listed with device and IP; another user's session is a 404", async () => {
  await using t = await testApp();
  const a1 = await member(t, "a@example.com");
  const a2 = sessionCookie(await signIn(t, "a@example.com"));
  const b = await member(t, "b@example.com");
  const list = await (await api(t, "/sessions", undefined, { cookie: a1 })).json();
  assert.equal(list.sessions.length, 2);
  assert.equal(list.sessions.filter((s: { current: boolean }) => s.current).length, 1);
  assert.equal(list.sessions[0].ip, "203.0.113.7");
  const other = list.sessions.find((s: { current: boolean }) => !s.current);
  const bList = await (await api(t, "/sessions", undefined, { cookie: b })).json();
  assert.equal(
    (await api(t, `/sessions/${bList.sessions[0].id}`, undefined, { method: "DELETE", cookie: a1 }))
      .status,
    404,
  );
  assert.equal(
    (await api(t, `/sessions/${other.id}`, undefined, { method: "DELETE", cookie: a1 })).status,
    204,
  );
  assert.equal((await api(t, "/session", undefined, { cookie: a2 })).status, 401);
  assert.equal((await api(t, "/session", undefined, { cookie: b })).status, 200);
});

Deno.test("[auth] cross-origin POSTs to every auth route get 403", async () => {
  await using t = await testApp();
  const routes = [
    "/api/auth/sign-up",
    "/api/auth/verify-email",
    "/api/auth/verify-email/resend",
    "/api/auth/sign-in",
    "/api/auth/sign-out",
    "/api/auth/password/forgot",
    "/api/auth/password/reset",
    "/api/auth/password/change",
    "/api/auth/reauth",
    "/api/auth/email/change",
    "/api/auth/sessions/revoke-others",
    "/api/auth/2fa/setup",
    "/api/auth/2fa/enable",
    "/api/auth/2fa/disable",
    "/api/auth/2fa/recovery-codes",
    "/sign-up",
    "/sign-in",
    "/sign-out",
    "/verify-email",
    "/verify-email/resend",
    "/forgot-password",
    "/reset-password",
    "/settings/password",
    "/settings/reauth",
    "/settings/2fa/begin",
  ];
  for (const path of routes) {
    for (const type of ["application/json", "application/x-www-form-urlencoded"]) {
      const res = await t.app.request(`${ORIGIN}${path}`, {
        method: "POST",
        headers: {
          Origin: "https://evil.example",
          "Content-Type": type,
          "Sec-Fetch-Site": "cross-site",
        },
        body: type === "application/json" ? "{}" : "a=1",
      });
      assert.equal(res.status, 403, `${path} ${type}`);
    }
  }
  assert.equal(
    (await t.app.request(`${ORIGIN}/api/auth/sessions/x`, {
      method: "DELETE",
      headers: { Origin: "https://evil.example" },
    })).status,
    403,
  );
});

Deno.test("[auth] bad input gets a clear 4xx and changes nothing", async () => {
  await using t = await testApp();
  const cases: [unknown, number][] = [
    [{ email: "not-an-email", password: PASSWORD, name: "X" }, 422],
    [{ email: "a@example.com", password: PASSWORD }, 422],
    [{ email: "a@example.com", password: "short", name: "X" }, 422],
    [{ email: "a@example.com", password: "password123", name: "X" }, 422],
    [{ email: 42, password: PASSWORD, name: "X" }, 422],
    [["array"], 422],
  ];
  for (const [body, status] of cases) {
    const res = await api(t, "/sign-up", body);
    assert.equal(res.status, status, JSON.stringify(body));
    const error = (await res.json()).error;
    assert.ok(error.code && error.message, "a code and a message");
  }
  const malformed = await t.app.request(`${ORIGIN}/api/auth/sign-up`, {
    method: "POST",
    headers: { Origin: ORIGIN, "Content-Type": "application/json" },
    body: "{not json",
  });
  assert.equal(malformed.status, 400);
  assert.equal((await malformed.json()).error.code, "malformed_json");
  assert.equal(
    (await t.deps.store.find("users", { limit: 10 })).items.length,
    0,
    "no user was created",
  );
  await signUp(t, "a@example.com");
  const dup = await api(t, "/sign-up", {
    email: "A@example.com",
    password: PASSWORD,
    name: "Again",
  });
  assert.equal(dup.status, 409);
  assert.equal((await dup.json()).error.code, "email_taken");
});

Deno.test("[auth] the store holds no raw password, session token, reset token or code", async () => {
  await using t = await testApp(strict);
  await signUp(t, "a@example.com");
  const verifyMail = lastEmail(t, "a@example.com").text;
  const code = verifyMail.match(/(\d{4}) (\d{4})/)!.slice(1).join("");
  const verifyToken = decodeURIComponent(verifyMail.match(/token=(\S+)/)![1]);
  await signUp(t, "b@example.com");
  await verify(t, "a@example.com");
  const session = sessionCookie(await signIn(t, "a@example.com")).split("=")[1];
  await api(t, "/password/forgot", { email: "a@example.com" });
  await t.deps.background.drain();
  const resetToken = new URL(
    lastEmail(t, "a@example.com").text.match(/http\S+reset-password\?token=\S+/)![0],
  ).searchParams.get("token")!;

  let dump = "";
  for (const collection of COLLECTION_NAMES) {
    let cursor: string | undefined;
    do {
      const page = await t.deps.store.find(collection, { limit: 500, cursor });
      dump += JSON.stringify(page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }
  assert.ok(dump.includes("a@example.com"), "the scan sees the data");
  for (
    const secret of [
      PASSWORD,
      session,
      session.split(".")[1],
      resetToken,
      resetToken.split(".")[1],
      verifyToken.split(".")[1],
      code,
    ]
  ) {
    assert.ok(!dump.includes(secret), `the store must not hold ${secret.slice(0, 6)}…`);
  }
  for (const line of t.logLines) {
    assert.ok(!line.includes(PASSWORD) && !line.includes(session) && !line.includes(code));
  }
});

Deno.test("[auth] every auth event is audited with time, user, IP, user agent and outcome", async () => {
  await using t = await testApp();
  const cookie = await member(t, "a@example.com");
  await signIn(t, "a@example.com", "wrong-password-x");
  await api(t, "/sign-out", {}, { cookie });
  const entries = (await t.deps.store.find<
    Doc & {
      action: string;
      outcome: string;
      ip: string;
      userAgent: string;
      at: Date;
      userId: string;
    }
  >("audit_logs", {
    sort: { field: "at", direction: 1 },
    limit: 50,
  })).items;
  const actions = entries.map((e) => `${e.action}:${e.outcome}`);
  for (
    const expected of [
      "auth.sign_up:success",
      "auth.email_verification_sent:success",
      "auth.email_verified:success",
      "auth.sign_in:success",
      "auth.sign_in:failure",
      "auth.sign_out:success",
    ]
  ) {
    assert.ok(actions.includes(expected), `${expected} in ${actions.join(", ")}`);
  }
  const signInEntry = entries.find((e) => e.action === "auth.sign_in")!;
  assert.equal(signInEntry.ip, "203.0.113.7");
  assert.match(signInEntry.userAgent, /Chrome/);
  assert.ok(signInEntry.at instanceof Date);
  assert.ok(signInEntry.userId);
});

Deno.test("[auth] role guards: anonymous gets 401, the wrong role 403, the right role passes", async () => {
  await using t = await testApp();
  t.app.get("/api/admin-only", requireRole("ADMIN"), (c) => c.json({ ok: true }));
  const path = `${ORIGIN}/api/admin-only`;
  assert.equal((await t.app.request(path)).status, 401);
  const cookie = await member(t, "a@example.com");
  assert.equal((await t.app.request(path, { headers: { Cookie: cookie } })).status, 403);
  const user = (await t.deps.store.findOne<User>("users", { email: "a@example.com" }))!;
  await changeRole(t.deps.store, user, "ADMIN", "cli", { ip: "cli", userAgent: "test" });
  assert.equal(
    (await t.app.request(path, { headers: { Cookie: cookie } })).status,
    401,
    "the role change ended the session",
  );
  const admin = sessionCookie(await signIn(t, "a@example.com"));
  assert.equal((await t.app.request(path, { headers: { Cookie: admin } })).status, 200);
});
