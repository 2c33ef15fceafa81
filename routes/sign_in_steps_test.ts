/**
 * Signing in on the pages with two-factor on: the password, then a form that asks only for the
 * code, with the first factor held on the server (lib/auth/pending_sign_in.ts).
 */
import assert from "node:assert/strict";
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import { PENDING_SIGN_IN_TTL_MS, type PendingSignIn } from "../lib/auth/pending_sign_in.ts";
import { completeSignIn } from "../lib/auth/sign_in.ts";
import { TOTP_MAX_FAILURES, totpCode } from "../lib/auth/totp.ts";
import type { User } from "../lib/auth/users.ts";
import { AppError } from "../lib/errors.ts";
import { authContext } from "./auth_context.ts";
import { testApp, testBrowser } from "./testing.ts";

const PASSWORD = "vivid-otter-planet-42";
const EMAIL = "ada@example.com";
const PENDING = "orion_pending_sign_in";
type App = Awaited<ReturnType<typeof testApp>>;

/** A user with two-factor on; its key, and a browser that is signed out again. */
async function enrolled(t: App) {
  const b = testBrowser(t);
  await b.post("/sign-up", { name: "Ada", email: EMAIL, password: PASSWORD });
  await b.post("/sign-in", { email: EMAIL, password: PASSWORD });
  await b.post("/settings/2fa/begin", {});
  const page = await b.page("/settings");
  const secret = page.match(/<code class="secret">([A-Z2-7 ]+)<\/code>/)![1];
  const key = decodeBase32IgnorePadding(secret.replaceAll(" ", ""));
  const confirmed = await b.post("/settings/2fa/confirm", { code: totpCode(key, new Date()) });
  assert.equal(confirmed.status, 200);
  recovery = [...(await confirmed.text()).matchAll(/<li><code>([0-9a-z-]+)<\/code><\/li>/g)]
    .map((m) => m[1]);
  await b.post("/sign-out", {});
  return key;
}

/** The recovery codes of the last user enrolled. */
let recovery: string[] = [];

/** A code the user has not used yet (enrolment used the current step). */
const nextCode = (key: Uint8Array) => totpCode(key, new Date(Date.now() + 30_000));

Deno.test("[sign-in steps] password, then a form with only the code, signs in", async () => {
  await using t = await testApp();
  const key = await enrolled(t);
  const b = testBrowser(t);
  const first = await b.post("/sign-in", { email: EMAIL, password: PASSWORD, next: "/orders" });
  assert.equal(first.status, 200, "asking for the code is not an error");
  const html = await first.text();
  assert.match(html, /<form id="sign-in-code-form"[^>]*action="\/sign-in\/code"/);
  assert.match(html, /name="totpCode"/);
  assert.ok(!html.includes('name="password"'), "no password field in the second form");
  assert.ok(!html.includes(PASSWORD), "the password is nowhere in the page");
  assert.ok(!html.includes('role="alert"'), "the prompt is not styled as an error");
  assert.match(html, /name="next" value="\/orders"/);
  const cookie = first.headers.getSetCookie().find((c) => c.startsWith(`${PENDING}=`))!;
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /Path=\/sign-in/);
  // Five minutes from when the password was checked: 300 s, less the time the answer took.
  const maxAge = Number(cookie.match(/Max-Age=(\d+)/)![1]);
  assert.ok(maxAge <= 300 && maxAge >= 290, cookie);
  // The server holds who passed, not what they typed.
  const [held] = (await t.deps.store.find<PendingSignIn>("pending_sign_ins", { limit: 10 })).items;
  assert.ok(!JSON.stringify(held).includes(PASSWORD));
  assert.equal(held.expiresAt.getTime() - held.createdAt.getTime(), PENDING_SIGN_IN_TTL_MS);

  const done = await b.post("/sign-in/code", { totpCode: nextCode(key), next: "/orders" });
  assert.equal(done.status, 303);
  assert.equal(done.headers.get("Location"), "/orders");
  assert.ok(!b.jar.has(PENDING), "the pending cookie is cleared");
  assert.match(await b.page("/settings"), /ada@example.com/, "signed in");
  assert.equal(
    (await t.deps.store.find("pending_sign_ins", { limit: 10 })).items.length,
    0,
    "used up",
  );
});

Deno.test("[sign-in steps] with htmx the code form is the partial, and stays while no code is given", async () => {
  await using t = await testApp();
  await enrolled(t);
  const b = testBrowser(t);
  const htmx = { "HX-Request": "true" };
  const first = await b.post("/sign-in", { email: EMAIL, password: PASSWORD }, htmx);
  const html = await first.text();
  assert.ok(!html.includes("<html"));
  assert.match(html, /^<form id="sign-in-code-form"/);
  const done = await b.post("/sign-in/code", { totpCode: "" }, htmx);
  assert.equal(done.status, 401);
  assert.match(await done.text(), /^<form id="sign-in-code-form"/, "still the code form");
});

Deno.test("[sign-in steps] each pending step works once, and a password change voids it", async () => {
  await using t = await testApp();
  const key = await enrolled(t);
  const b = testBrowser(t);
  await b.post("/sign-in", { email: EMAIL, password: PASSWORD });
  const stolen = b.jar.get(PENDING)!;
  const ok = await b.post("/sign-in/code", { totpCode: nextCode(key) });
  assert.equal(ok.status, 303);

  const replay = testBrowser(t);
  replay.jar.set(PENDING, stolen);
  const again = await replay.post("/sign-in/code", {
    totpCode: totpCode(key, new Date(Date.now() + 60_000)),
  });
  assert.equal(again.status, 401);
  const html = await again.text();
  assert.match(html, /Your sign-in has expired/);
  assert.match(html, /<form id="sign-in-form"/, "back to the password");

  // The password changes (the credential version moves on) between the two steps.
  const c = testBrowser(t);
  await c.post("/sign-in", { email: EMAIL, password: PASSWORD });
  const user = (await t.deps.store.findOne<User>("users", { email: EMAIL }))!;
  await t.deps.store.update<User>("users", user._id, {
    credentialVersion: (user.credentialVersion ?? 0) + 1,
  });
  const voided = await c.post("/sign-in/code", {
    totpCode: totpCode(key, new Date(Date.now() + 60_000)),
  });
  assert.equal(voided.status, 401);
  assert.match(await voided.text(), /Your sign-in has expired/);
});

Deno.test("[sign-in steps] the pending step expires after 5 minutes", async () => {
  await using t = await testApp();
  const key = await enrolled(t);
  const b = testBrowser(t);
  await b.post("/sign-in", { email: EMAIL, password: PASSWORD });
  const token = b.jar.get(PENDING)!;
  const origin = { ip: "127.0.0.1", userAgent: "test" };
  const late = new Date(Date.now() + PENDING_SIGN_IN_TTL_MS + 1000);
  await assert.rejects(
    completeSignIn(authContext(t.deps), token, totpCode(key, late), origin, late),
    (err) => err instanceof AppError && err.code === "sign_in_expired",
  );
});

Deno.test("[sign-in steps] wrong codes count toward the lock", async () => {
  await using t = await testApp();
  const key = await enrolled(t);
  const b = testBrowser(t);
  await b.post("/sign-in", { email: EMAIL, password: PASSWORD });
  for (let i = 1; i < TOTP_MAX_FAILURES; i++) {
    const wrong = await b.post("/sign-in/code", { totpCode: "000000" });
    assert.equal(wrong.status, 401);
    assert.match(await wrong.text(), /That code is not right/);
    const user = (await t.deps.store.findOne<User>("users", { email: EMAIL }))!;
    assert.equal(user.totp!.failures, i);
  }
  const last = await b.post("/sign-in/code", { totpCode: "000000" });
  assert.equal(last.status, 403);
  assert.match(await last.text(), /Too many wrong codes/);
  // Locked: even the right code, after the password again, does not sign in.
  await b.post("/sign-in", { email: EMAIL, password: PASSWORD });
  const right = await b.post("/sign-in/code", { totpCode: nextCode(key) });
  assert.equal(right.status, 403);
});

Deno.test("[sign-in steps] one pending step used twice at once opens one session", async () => {
  await using t = await testApp();
  const key = await enrolled(t);
  const b = testBrowser(t);
  await b.post("/sign-in", { email: EMAIL, password: PASSWORD });
  const token = b.jar.get(PENDING)!;
  // Two tabs send the same step at the same moment, each with a code that is right on its own.
  const tabs = [testBrowser(t), testBrowser(t)];
  for (const tab of tabs) tab.jar.set(PENDING, token);
  const answers = await Promise.all([
    tabs[0].post("/sign-in/code", { totpCode: nextCode(key) }),
    tabs[1].post("/sign-in/code", { totpCode: recovery[0] }),
  ]);
  assert.deepEqual(answers.map((r) => r.status).sort(), [303, 401]);
  const sessions = await t.deps.store.find("sessions", { limit: 100 });
  assert.equal(sessions.items.length, 1, "one session, not two");
});
