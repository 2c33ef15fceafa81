/** The auth pages without JavaScript (forms, 303s, flashes) and with htmx (partials, HX-Redirect). */
import assert from "node:assert/strict";
import { testApp, testBrowser } from "./testing.ts";

const PASSWORD = "vivid-otter-planet-42";
type App = Awaited<ReturnType<typeof testApp>>;

const browser = testBrowser;

const htmx = { "HX-Request": "true" };

Deno.test("[pages] sign up, confirm, sign in, settings, sign out — without JavaScript", async () => {
  await using t = await testApp({ REQUIRE_EMAIL_VERIFICATION: "true" });
  const b = browser(t);
  const form = await (await b.get("/sign-up")).text();
  assert.match(form, /<form id="sign-up-form"[^>]*method="post" action="\/sign-up"/);

  const weak = await b.post("/sign-up", {
    name: "Ada",
    email: "ada@example.com",
    password: "password1",
  });
  assert.equal(weak.status, 422);
  const weakHtml = await weak.text();
  assert.match(weakHtml, /<html/, "a whole page without htmx");
  assert.match(weakHtml, /class="field invalid"/);
  assert.match(weakHtml, /value="ada@example.com"/, "what was typed is kept");
  assert.ok(!weakHtml.includes("password1"), "but never the password");

  const created = await b.post("/sign-up", {
    name: "Ada",
    email: "ada@example.com",
    password: PASSWORD,
  });
  assert.equal(created.status, 303);
  const location = created.headers.get("Location")!;
  assert.match(location, /^\/verify-email\?sent=1&email=ada%40example.com/);
  const sent = await (await b.get(location)).text();
  assert.match(sent, /Your account is ready/, "the flash message shows once");

  const link = t.deps.mailer.mailbox!.list()[0].text.match(/http\S+verify-email\?token=\S+/)![0];
  const token = new URL(link).searchParams.get("token")!;
  const confirm = await (await b.get(`/verify-email?token=${encodeURIComponent(token)}`)).text();
  assert.match(
    confirm,
    /<input type="hidden" name="token"/,
    "a button, so link scanners cannot use the token up",
  );
  const confirmed = await b.post("/verify-email", { token });
  assert.equal(confirmed.status, 303);
  assert.equal(confirmed.headers.get("Location"), "/sign-in?email=ada%40example.com");
  const signInForm = await b.page(confirmed.headers.get("Location")!);
  assert.match(
    signInForm,
    /name="email"[^>]*value="ada@example.com"/,
    "the confirmed email is filled in",
  );

  const wrong = await b.post("/sign-in", { email: "ada@example.com", password: "not-my-password" });
  assert.equal(wrong.status, 401);
  assert.match(await wrong.text(), /The email or password is not right/);
  const signedIn = await b.post("/sign-in", {
    email: "ada@example.com",
    password: PASSWORD,
    next: "/settings",
  });
  assert.equal(signedIn.status, 303);
  assert.equal(signedIn.headers.get("Location"), "/settings");

  const settings = await (await b.get("/settings")).text();
  assert.match(settings, /<h1>Settings<\/h1>/);
  assert.match(settings, /ada@example.com/);
  assert.match(settings, /this device/);
  assert.match(settings, /action="\/sign-out"/);

  const out = await b.post("/sign-out", {});
  assert.equal(out.status, 303);
  const after = await b.get("/settings");
  assert.equal(after.status, 303);
  assert.equal(after.headers.get("Location"), "/sign-in?next=%2Fsettings");
});

Deno.test("[pages] with htmx, a failing form answers its own partial and success answers HX-Redirect", async () => {
  await using t = await testApp();
  const b = browser(t);
  const bad = await b.post("/sign-up", { name: "", email: "nope", password: "x" }, htmx);
  assert.equal(bad.status, 422);
  const partial = await bad.text();
  assert.match(partial, /^<form id="sign-up-form"/, "just the form, to swap in place");
  assert.ok(!partial.includes("<html"));
  assert.match(partial, /Enter your name/);
  assert.ok(bad.headers.get("Vary")?.includes("HX-Request"));

  const ok = await b.post(
    "/sign-up",
    { name: "Ada", email: "ada@example.com", password: PASSWORD },
    htmx,
  );
  assert.equal(ok.status, 200);
  assert.match(ok.headers.get("HX-Redirect")!, /^\/verify-email\?sent=1/);

  const signIn = await b.post("/sign-in", { email: "ada@example.com", password: PASSWORD }, htmx);
  assert.equal(signIn.headers.get("HX-Redirect"), "/dashboard");
  const wrongPassword = await b.post("/settings/password", {
    currentPassword: "nope-nope",
    newPassword: "fresh-sturdy-phrase-1",
  }, htmx);
  assert.equal(wrongPassword.status, 422);
  assert.match(
    await wrongPassword.text(),
    /^<form id="password-form"[\s\S]*This is not your current password/,
  );
});

Deno.test("[pages] forgot and reset password, and an unusable link explains itself", async () => {
  await using t = await testApp();
  const b = browser(t);
  await b.post("/sign-up", { name: "Ada", email: "ada@example.com", password: PASSWORD });
  const sent = await b.post("/forgot-password", { email: "ada@example.com" });
  assert.equal(sent.status, 200);
  assert.match(await sent.text(), /If an account uses that email/);
  const none = await b.post("/forgot-password", { email: "ghost@example.com" });
  assert.match(
    await none.text(),
    /If an account uses that email/,
    "the same answer for an unknown email",
  );
  await t.deps.background.drain();
  const link = t.deps.mailer.mailbox!.list().find((e) => /Reset/.test(e.subject))!.text.match(
    /http\S+reset-password\?token=\S+/,
  )![0];
  const path = new URL(link).pathname + new URL(link).search;
  assert.match(await (await b.get(path)).text(), /Choose a new password/);
  const token = new URL(link).searchParams.get("token")!;
  const done = await b.post("/reset-password", { token, password: "brand-new-sturdy-phrase-8" });
  assert.equal(done.status, 303);
  const used = await b.get(path);
  assert.equal(used.status, 400);
  assert.match(await used.text(), /This link does not work/);
  assert.equal(
    (await b.post("/sign-in", { email: "ada@example.com", password: "brand-new-sturdy-phrase-8" }))
      .status,
    303,
  );
});

Deno.test("[pages] settings: two-factor enrolment shows a QR code inline and the recovery codes once", async () => {
  await using t = await testApp();
  const b = browser(t);
  await b.post("/sign-up", { name: "Ada", email: "ada@example.com", password: PASSWORD });
  await b.post("/sign-in", { email: "ada@example.com", password: PASSWORD });
  assert.equal((await b.post("/settings/2fa/begin", {})).status, 303);
  const page = await (await b.get("/settings")).text();
  assert.match(page, /<div class="qr"><svg[^>]*role="img"/);
  const secret = page.match(/<code class="secret">([A-Z2-7 ]+)<\/code>/)![1];
  const { decodeBase32IgnorePadding } = await import("@oslojs/encoding");
  const { totpCode } = await import("../lib/auth/totp.ts");
  const code = totpCode(decodeBase32IgnorePadding(secret.replaceAll(" ", "")), new Date());
  const confirmed = await b.post("/settings/2fa/confirm", { code });
  assert.equal(confirmed.status, 200);
  assert.equal(confirmed.headers.get("Cache-Control"), "no-store");
  const html = await confirmed.text();
  assert.equal(html.match(/<li><code>[0-9a-z]{5}-[0-9a-z]{5}<\/code><\/li>/g)?.length, 10);
  assert.ok(
    !(await (await b.get("/settings")).text()).includes("Your recovery codes"),
    "shown only once",
  );
});

Deno.test("[pages] confirming by code leads to a sign-in form with the email filled in", async () => {
  await using t = await testApp({ REQUIRE_EMAIL_VERIFICATION: "true" });
  const b = browser(t);
  await b.post("/sign-up", { name: "Ada", email: "ada@example.com", password: PASSWORD });
  const code = t.deps.mailer.mailbox!.list()[0].text.match(/this code: (\d{4} \d{4})/)![1];
  const confirmed = await b.post("/verify-email", { email: "ada@example.com", code });
  assert.equal(confirmed.status, 303);
  const page = await b.page(confirmed.headers.get("Location")!);
  assert.match(page, /Your email is confirmed/);
  assert.match(page, /<input[^>]*name="email"[^>]*value="ada@example.com"/);
});
