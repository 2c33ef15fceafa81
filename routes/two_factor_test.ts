/** Two-factor authentication through the API: enrolment, sign-in codes, replay, recovery codes, lock, sudo mode. */
import assert from "node:assert/strict";
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import { totpCode } from "../lib/auth/totp.ts";
import type { Session } from "../lib/auth/session.ts";
import { checkSecondFactor } from "../lib/auth/two_factor.ts";
import type { User } from "../lib/auth/users.ts";
import { testApp, testBrowser } from "./testing.ts";

const ORIGIN = "http://localhost:8000";
const PASSWORD = "vivid-otter-planet-42";
type App = Awaited<ReturnType<typeof testApp>>;

function api(t: App, path: string, body?: unknown, cookie?: string, ip?: string) {
  const headers: Record<string, string> = { Origin: ORIGIN };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (cookie) headers.Cookie = cookie;
  return t.app.request(`${ORIGIN}/api/auth${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  }, ip ? { remoteAddr: { hostname: ip, port: 1, transport: "tcp" } } : undefined);
}

const cookieOf = (res: Response) =>
  res.headers.getSetCookie().find((c) =>
    c.startsWith("orion_session=") && !c.includes("Max-Age=0")
  )!.split(";")[0];

async function enrolled(t: App) {
  assert.equal(
    (await api(t, "/sign-up", { email: "a@example.com", password: PASSWORD, name: "A" })).status,
    201,
  );
  const cookie = cookieOf(await api(t, "/sign-in", { email: "a@example.com", password: PASSWORD }));
  const setup = await api(t, "/2fa/setup", {}, cookie);
  assert.equal(setup.status, 200);
  const enrolment = await setup.json();
  assert.match(enrolment.uri, /^otpauth:\/\/totp\//);
  assert.match(enrolment.qrSvg, /^<svg/);
  const key = decodeBase32IgnorePadding(enrolment.secret.replaceAll(" ", ""));
  const wrong = await api(t, "/2fa/enable", { code: "000000" }, cookie);
  assert.equal(wrong.status, 422);
  const enable = await api(t, "/2fa/enable", { code: totpCode(key, new Date()) }, cookie);
  assert.equal(enable.status, 200);
  const { recoveryCodes } = await enable.json();
  assert.equal(recoveryCodes.length, 10);
  return { key, cookie, recoveryCodes: recoveryCodes as string[] };
}

Deno.test("[2fa] sign-in asks for the code; a code is never accepted twice; the next one works", async () => {
  await using t = await testApp();
  const { key } = await enrolled(t);
  const missing = await api(t, "/sign-in", { email: "a@example.com", password: PASSWORD });
  assert.equal(missing.status, 401);
  assert.equal((await missing.json()).error.code, "totp_required");
  // The code from enrolment was used then: the same step is refused now.
  const replay = await api(t, "/sign-in", {
    email: "a@example.com",
    password: PASSWORD,
    totpCode: totpCode(key, new Date()),
  });
  assert.equal(replay.status, 401);
  assert.equal((await replay.json()).error.code, "invalid_totp");
  const next = totpCode(key, new Date(Date.now() + 30_000));
  const ok = await api(t, "/sign-in", {
    email: "a@example.com",
    password: PASSWORD,
    totpCode: next,
  });
  assert.equal(ok.status, 200);
  const again = await api(t, "/sign-in", {
    email: "a@example.com",
    password: PASSWORD,
    totpCode: next,
  });
  assert.equal(again.status, 401, "the same code twice");
  const wrongPassword = await api(t, "/sign-in", {
    email: "a@example.com",
    password: "wrong-password-x",
    totpCode: next,
  });
  assert.equal(
    (await wrongPassword.json()).error.code,
    "invalid_credentials",
    "the password is checked first",
  );
});

Deno.test("[2fa] a recovery code signs in once; five wrong codes lock the second factor", async () => {
  await using t = await testApp();
  const { recoveryCodes, key } = await enrolled(t);
  const use = (code: string) =>
    api(t, "/sign-in", { email: "a@example.com", password: PASSWORD, totpCode: code });
  assert.equal((await use(recoveryCodes[0])).status, 200);
  assert.equal((await use(recoveryCodes[0])).status, 401, "used up");
  // The reused recovery code was the first wrong code in a row; the fifth locks.
  for (let i = 2; i <= 5; i++) {
    assert.equal((await use("123456")).status, i < 5 ? 401 : 403, `wrong code ${i}`);
  }
  const locked = await use(totpCode(key, new Date(Date.now() + 30_000)));
  assert.equal(locked.status, 403);
  assert.equal((await locked.json()).error.code, "totp_locked");
  const audit = await t.deps.store.find("audit_logs", {
    where: { action: "auth.totp_locked" },
    sort: { field: "at", direction: -1 },
    limit: 5,
  });
  assert.equal(audit.items.length, 1);
});

/** Wrong codes of both kinds: six digits, and recovery-code shaped. */
const wrongCodes = (n: number) =>
  Array.from({ length: n }, (_, i) => i % 2 ? String(100000 + i) : `wrong-code-${i}x`);

Deno.test("[2fa] simultaneous wrong codes, TOTP or recovery, cannot get past the lock", async () => {
  await using t = await testApp();
  const { key, recoveryCodes } = await enrolled(t);
  // Each from its own address, with the right password: only the second factor stands in the way.
  const burst = await Promise.all(
    wrongCodes(27).map((totpCode, i) =>
      api(
        t,
        "/sign-in",
        { email: "a@example.com", password: PASSWORD, totpCode },
        undefined,
        `198.18.1.${i}`,
      )
    ),
  );
  assert.ok(burst.every((r) => [401, 403, 429].includes(r.status)), "no code got in");
  const user = await t.deps.store.findOne<User>("users", { email: "a@example.com" });
  assert.ok(user!.totp!.failures <= 5, `at most 5 codes compared, got ${user!.totp!.failures}`);
  // The lock holds afterwards, for a right TOTP code and a right recovery code alike.
  for (const code of [totpCode(key, new Date(Date.now() + 30_000)), recoveryCodes[0]]) {
    const res = await api(
      t,
      "/sign-in",
      {
        email: "a@example.com",
        password: PASSWORD,
        totpCode: code,
      },
      undefined,
      "198.18.2.1",
    );
    assert.equal(res.status, 403);
    assert.equal((await res.json()).error.code, "totp_locked");
  }
});

Deno.test("[2fa] the lock is claimed before a code is compared: 27 at once compare at most 5", async () => {
  await using t = await testApp();
  const { recoveryCodes } = await enrolled(t);
  const { store, config } = t.deps;
  // All read the user before any of them counted, as simultaneous sign-ins do.
  const user = (await store.findOne<User>("users", { email: "a@example.com" }))!;
  const origin = { ip: "198.18.3.1", userAgent: "test" };
  const results = await Promise.all(
    wrongCodes(27).map((code) => checkSecondFactor(store, config.authSecret, user, code, origin)),
  );
  const after = (await store.get<User>("users", user._id))!;
  assert.equal(after.totp!.failures, 5, "the count stops at the lock: no code beyond it compared");
  assert.equal(results.filter((r) => r === "invalid").length, 4);
  assert.equal(results.filter((r) => r === "locked").length, 23);
  assert.equal(
    await checkSecondFactor(store, config.authSecret, after, recoveryCodes[1], origin),
    "locked",
    "a right code after the burst is refused",
  );
  const locks = await store.find("audit_logs", {
    where: { action: "auth.totp_locked" },
    sort: { field: "at", direction: -1 },
    limit: 5,
  });
  assert.equal(locks.items.length, 1, "the lock is audited once");
});

Deno.test("[2fa] turning it off needs sudo mode: a recent password (and code)", async () => {
  await using t = await testApp();
  const { key, cookie } = await enrolled(t);
  // Let sudo mode lapse, as if ten minutes had passed since sign-in.
  const sessions = await t.deps.store.find<Session>("sessions", { limit: 10 });
  for (const s of sessions.items) {
    await t.deps.store.update<Session>("sessions", s._id, { sudoUntil: new Date(Date.now() - 1) });
  }
  const refused = await api(t, "/2fa/disable", {}, cookie);
  assert.equal(refused.status, 403);
  assert.equal((await refused.json()).error.code, "reauthentication_required");
  const noCode = await api(t, "/reauth", { password: PASSWORD }, cookie);
  assert.equal(noCode.status, 401);
  const reauth = await api(t, "/reauth", {
    password: PASSWORD,
    totpCode: totpCode(key, new Date(Date.now() + 30_000)),
  }, cookie);
  assert.equal(reauth.status, 200);
  assert.equal((await api(t, "/2fa/disable", {}, cookie)).status, 200);
  assert.equal(
    (await api(t, "/sign-in", { email: "a@example.com", password: PASSWORD })).status,
    200,
    "no code needed now",
  );
  const actions =
    (await t.deps.store.find<{ _id: string; _v: number; action: string }>("audit_logs", {
      sort: { field: "at", direction: 1 },
      limit: 50,
    })).items.map((e) => e.action);
  for (const action of ["auth.totp_enabled", "auth.reauthenticated", "auth.totp_disabled"]) {
    assert.ok(actions.includes(action), action);
  }
});

Deno.test("[2fa] turning it off (or renewing codes) when it is not on is a 422 that records nothing", async () => {
  await using t = await testApp();
  await api(t, "/sign-up", { email: "a@example.com", password: PASSWORD, name: "A" });
  const cookie = cookieOf(await api(t, "/sign-in", { email: "a@example.com", password: PASSWORD }));
  for (const path of ["/2fa/disable", "/2fa/recovery-codes"]) {
    const res = await api(t, path, {}, cookie);
    assert.equal(res.status, 422, path);
    const { error } = await res.json();
    assert.equal(error.code, "totp_not_enabled");
    assert.equal(error.message, "Two-factor authentication is not on.");
  }

  const b = testBrowser(t);
  b.jar.set("orion_session", cookie.split("=")[1]);
  const page = await b.post("/settings/2fa/disable", {});
  assert.equal(page.status, 422);
  assert.match(await page.text(), /role="alert">Two-factor authentication is not on\.</);

  const disabled = await t.deps.store.find("audit_logs", {
    where: { action: "auth.totp_disabled" },
    sort: { field: "at", direction: -1 },
    limit: 5,
  });
  assert.equal(disabled.items.length, 0);
});

Deno.test("[2fa] the TOTP key is stored sealed, not in the clear", async () => {
  await using t = await testApp();
  const { key } = await enrolled(t);
  const user = await t.deps.store.findOne<{ _id: string; _v: number; totp: { sealedKey: string } }>(
    "users",
    { email: "a@example.com" },
  );
  assert.match(user!.totp.sealedKey, /^v1\./);
  const raw = JSON.stringify(user);
  const { encodeBase32UpperCaseNoPadding } = await import("@oslojs/encoding");
  assert.ok(!raw.includes(encodeBase32UpperCaseNoPadding(key)));
});
