/** The dev mailbox routes, mounted at /dev under the real layout and driven through app.request. */
import { Hono } from "hono";
import { jsx } from "hono/jsx";
import { jsxRenderer } from "hono/jsx-renderer";
import assert from "node:assert/strict";
import { loadAssets } from "../lib/assets.ts";
import { loadConfig } from "../lib/config.ts";
import { createMailer, type Email } from "../lib/email.ts";
import { createLogger } from "../lib/log.ts";
import { Layout } from "../views/layout.tsx";
// app.tsx declares c.render's `title` option; importing its types brings that declaration in.
import type {} from "./app.tsx";
import { devMailboxRoutes } from "./dev_mailbox.tsx";
import type { AppEnv } from "./env.ts";

const FROM = "Orion Assets Broker <no-reply@orion.test>";
const VERIFY_LINK =
  "http://localhost:8000/verify-email?token=tok_1a2b3c&email=trader%40example.com";
const RESET_LINK = "http://localhost:8000/reset-password?token=tok_4d5e6f";
const VERIFY: Email = {
  to: "trader@example.com",
  subject: "Verify your email",
  text: `Welcome to Orion.\n\nOpen ${VERIFY_LINK}.\n\n<script>alert(1)</script>`,
  html: `<p><a href="${VERIFY_LINK}">Verify</a><img src=x onerror="alert(1)"></p>`,
};
const RESET: Email = {
  to: "Other@Example.com",
  subject: "Reset your password",
  text: `Reset it here: ${RESET_LINK}`,
  html: `<p><a href="${RESET_LINK}">Reset</a></p>`,
};

Deno.test("[email] the dev mailbox page lists emails newest first with their links", async () => {
  const t = await mailboxApp();
  await t.mailer.send(VERIFY);
  await t.mailer.send(RESET);
  const res = await t.app.request("/dev/mailbox");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("Content-Type")!, /^text\/html/);
  assert.equal(res.headers.get("Cache-Control"), "no-store");
  const html = await res.text();
  assert.match(html, /<title>Dev mailbox · Orion Assets Broker<\/title>/);
  assert.ok(html.indexOf(RESET.subject) < html.indexOf(VERIFY.subject), "newest first");
  assert.ok(html.includes("trader@example.com"));
  assert.ok(html.includes(`<a href="${VERIFY_LINK.replaceAll("&", "&amp;")}">`), "verify link");
  assert.ok(html.includes(`<a href="${RESET_LINK}">`), "reset link, without the sentence's period");
  assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"), "the text part is escaped");
  assert.ok(!html.includes("<script>alert(1)"));
  assert.ok(!html.includes("<img src=x"), "the HTML part is never injected");
  assert.ok(html.includes("&lt;img src=x"), "its source is shown escaped");
});

Deno.test("[email] the dev mailbox JSON has every field, newest first, and is not cached", async () => {
  const t = await mailboxApp();
  await t.mailer.send(VERIFY);
  await t.mailer.send(RESET);
  const res = await t.app.request("/dev/mailbox.json");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("Cache-Control"), "no-store");
  const body = await res.json();
  assert.deepEqual(Object.keys(body), ["emails"]);
  assert.equal(body.emails.length, 2);
  const [reset, verify] = body.emails;
  assert.equal(reset.subject, RESET.subject);
  assert.deepEqual(Object.keys(verify).sort(), [
    "from",
    "html",
    "id",
    "sentAt",
    "subject",
    "text",
    "to",
  ]);
  assert.deepEqual({ ...verify, id: undefined, sentAt: undefined }, {
    ...VERIFY,
    from: FROM,
    id: undefined,
    sentAt: undefined,
  });
  assert.equal(typeof verify.id, "string");
  assert.equal(new Date(verify.sentAt).toISOString(), verify.sentAt);
});

Deno.test("[email] the dev mailbox filters by recipient on the page and in JSON", async () => {
  const t = await mailboxApp();
  await t.mailer.send(VERIFY);
  await t.mailer.send(RESET);

  const json = await (await t.app.request("/dev/mailbox.json?to=other@example.com")).json();
  assert.deepEqual(json.emails.map((email: Email) => email.subject), [RESET.subject]);
  const none = await (await t.app.request("/dev/mailbox.json?to=nobody@example.com")).json();
  assert.deepEqual(none, { emails: [] });
  const all = await (await t.app.request("/dev/mailbox.json?to=")).json();
  assert.equal(all.emails.length, 2, "an empty filter shows everything");

  const page = await (await t.app.request("/dev/mailbox?to=TRADER@example.com")).text();
  assert.ok(page.includes(VERIFY.subject));
  assert.ok(!page.includes(RESET.subject));
  assert.ok(page.includes('value="TRADER@example.com"'), "the form keeps the filter");
  const empty = await (await t.app.request("/dev/mailbox?to=nobody@example.com")).text();
  assert.match(empty, /No emails to nobody@example\.com yet/);
});

/**
 * A small app with the real layout and a dev mailer's routes mounted at /dev, as the app mounts
 * them. It is built here rather than with testApp so the test owns the one mailbox the page shows.
 */
async function mailboxApp() {
  const config = loadConfig({ NODE_ENV: "test", EMAIL_FROM: FROM });
  const mailer = await createMailer(config, createLogger("error", () => {}));
  const assets = await loadAssets();
  const app = new Hono<AppEnv>();
  app.use(async function withAssets(c, next) {
    c.set("assets", assets);
    await next();
  });
  app.use(
    jsxRenderer(({ children, title }) => jsx(Layout, { title }, children), { docType: true }),
  );
  app.route("/dev", devMailboxRoutes(mailer.mailbox!));
  return { app, mailer };
}
