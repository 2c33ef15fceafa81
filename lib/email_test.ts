/** The mailers against real parts: an SMTP server on loopback, a local stand-in for Resend's API, the dev mailbox. */
import assert from "node:assert/strict";
import { startSmtpServer } from "../tests/support/smtp.ts";
import { loadConfig } from "./config.ts";
import { createMailer, DEV_MAILBOX_CAPACITY, DevMailbox, type Email, EmailError } from "./email.ts";
import { createLogger } from "./log.ts";

const FROM = "Orion Assets Broker <no-reply@orion.test>";
const TOKEN = "tok_9f8e7d6c5b4a";
const EMAIL: Email = {
  to: "trader@example.com",
  subject: "Verify your email",
  text: `Open http://localhost:8000/verify-email?token=${TOKEN} to verify.`,
  html: `<p><a href="http://localhost:8000/verify-email?token=${TOKEN}">Verify</a></p>`,
};

Deno.test("[email] smtp delivers one message with text and HTML parts from EMAIL_FROM", async () => {
  await using server = await startSmtpServer();
  const { mailer, logLines } = await setup({
    EMAIL_SERVER_HOST: "127.0.0.1",
    EMAIL_SERVER_PORT: String(server.port),
  });
  assert.equal(mailer.kind, "smtp");
  assert.equal(mailer.mailbox, undefined);
  await mailer.send(EMAIL);
  await mailer.close();

  assert.equal(server.messages.length, 1);
  const [message] = server.messages;
  assert.equal(message.from, "no-reply@orion.test");
  assert.deepEqual(message.to, ["trader@example.com"]);
  const headers = headerBlock(message.raw);
  assert.match(headers, /^From: Orion Assets Broker <no-reply@orion\.test>$/m);
  assert.match(headers, /^To: trader@example\.com$/m);
  assert.match(headers, /^Subject: Verify your email$/m);
  assert.match(headers, /^Content-Type: multipart\/alternative;/m);
  const parts = mimeParts(message.raw);
  assert.deepEqual(parts.map((part) => part.type), ["text/plain", "text/html"]);
  assert.equal(parts[0].body, EMAIL.text);
  assert.equal(parts[1].body, EMAIL.html);

  assert.equal(logLines.length, 1);
  const line = JSON.parse(logLines[0]);
  assert.equal(line.msg, "email sent");
  assert.equal(line.kind, "smtp");
  assert.equal(line.toDomain, "example.com");
  assert.equal(line.subject, EMAIL.subject);
  assert.ok(!logLines[0].includes(TOKEN), "the body never reaches the log");
  assert.ok(!logLines[0].includes("trader@"), "a real provider logs the domain only");
});

Deno.test("[email] smtp authenticates, and a wrong password is an EmailError that hides it", async () => {
  await using server = await startSmtpServer({ auth: { user: "orion", password: "right-pa55" } });
  const env = { EMAIL_SERVER_HOST: "127.0.0.1", EMAIL_SERVER_PORT: String(server.port) };

  const good = await setup({
    ...env,
    EMAIL_SERVER_USER: "orion",
    EMAIL_SERVER_PASSWORD: "right-pa55",
  });
  await good.mailer.send(EMAIL);
  await good.mailer.close();
  assert.equal(server.messages.length, 1);

  const password = "wrong-Pa55-s3cret";
  const bad = await setup({ ...env, EMAIL_SERVER_USER: "orion", EMAIL_SERVER_PASSWORD: password });
  const error = await rejection(bad.mailer.send(EMAIL));
  await bad.mailer.close();
  assert.ok(error instanceof EmailError);
  assert.match(error.message, /EAUTH/);
  assert.ok(!error.message.includes(password));
  assert.ok(!bad.logLines.join("\n").includes(password));
  assert.equal(JSON.parse(bad.logLines[0]).msg, "email failed");
  assert.equal(server.messages.length, 1, "nothing more was delivered");
});

Deno.test("[email] smtp to a closed port is an EmailError within a few seconds", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  const { mailer } = await setup({
    EMAIL_SERVER_HOST: "127.0.0.1",
    EMAIL_SERVER_PORT: String(port),
  });
  const started = performance.now();
  const error = await rejection(mailer.send(EMAIL));
  await mailer.close();
  assert.ok(error instanceof EmailError, String(error));
  assert.match(error.message, /ECONNECTION|ESOCKET/);
  assert.ok(performance.now() - started < 5_000);
});

Deno.test("[email] smtp to a server that never greets gives up after the greeting timeout", async () => {
  // Accepts TCP connections and then says nothing, as a wedged or filtered server would.
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })().catch(() => {});
  const { mailer } = await setup({
    EMAIL_SERVER_HOST: "127.0.0.1",
    EMAIL_SERVER_PORT: String(listener.addr.port),
  });
  const started = performance.now();
  const error = await rejection(mailer.send(EMAIL));
  const elapsed = performance.now() - started;
  await mailer.close();
  for (const conn of held) conn.close();
  listener.close();
  await accepting;
  assert.ok(error instanceof EmailError, String(error));
  assert.match(error.message, /ETIMEDOUT/);
  assert.ok(elapsed < 8_000, `gave up after ${Math.round(elapsed)} ms`);
});

Deno.test("[email] resend posts the email to the API with the key as a bearer token", async () => {
  const requests: { method: string; path: string; auth: string | null; body: unknown }[] = [];
  await using api = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      requests.push({
        method: request.method,
        path: new URL(request.url).pathname,
        auth: request.headers.get("Authorization"),
        body: await request.json(),
      });
      return Response.json({ id: "4ef9a417-02e9-4d39-ad75-9611e0fcc33c" });
    },
  );
  const { mailer, logLines } = await setup(
    { RESEND_API_KEY: "re_test_key" },
    `http://127.0.0.1:${api.addr.port}`,
  );
  assert.equal(mailer.kind, "resend");
  await mailer.send(EMAIL);
  await mailer.close();

  assert.equal(requests.length, 1);
  assert.equal(requests[0].method, "POST");
  assert.equal(requests[0].path, "/emails");
  assert.equal(requests[0].auth, "Bearer re_test_key");
  assert.deepEqual(requests[0].body, {
    from: FROM,
    to: EMAIL.to,
    subject: EMAIL.subject,
    text: EMAIL.text,
    html: EMAIL.html,
  });
  const line = JSON.parse(logLines[0]);
  assert.equal(line.msg, "email sent");
  assert.equal(line.id, "4ef9a417-02e9-4d39-ad75-9611e0fcc33c");
  assert.ok(!logLines[0].includes("re_test_key"));
});

Deno.test("[email] resend errors become EmailErrors without the API key", async () => {
  const replies = [
    // Resend's error shape; the message echoes the key to prove it is scrubbed.
    Response.json(
      { statusCode: 422, name: "validation_error", message: "Key re_test_key cannot send from it" },
      { status: 422 },
    ),
    new Response("upstream exploded", { status: 500 }),
  ];
  await using api = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      await request.body?.cancel();
      return replies.shift()!;
    },
  );
  const { mailer, logLines } = await setup(
    { RESEND_API_KEY: "re_test_key" },
    `http://127.0.0.1:${api.addr.port}`,
  );

  const refused = await rejection(mailer.send(EMAIL));
  assert.ok(refused instanceof EmailError);
  assert.match(refused.message, /HTTP 422.*validation_error/);
  const failed = await rejection(mailer.send(EMAIL));
  assert.ok(failed instanceof EmailError);
  assert.match(failed.message, /HTTP 500/);
  for (const text of [refused.message, failed.message, ...logLines]) {
    assert.ok(!text.includes("re_test_key"), text);
  }
  assert.deepEqual(logLines.map((line) => JSON.parse(line).msg), ["email failed", "email failed"]);
});

Deno.test("[email] resend that cannot be reached is an EmailError", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  const { mailer } = await setup({ RESEND_API_KEY: "re_test_key" }, `http://127.0.0.1:${port}`);
  const error = await rejection(mailer.send(EMAIL));
  assert.ok(error instanceof EmailError, String(error));
  assert.ok(!error.message.includes("re_test_key"));
});

Deno.test("[email] dev mailer keeps emails newest first and logs the envelope only", async () => {
  const { mailer, logLines } = await setup({});
  assert.equal(mailer.kind, "dev");
  await mailer.send(EMAIL);
  await mailer.send({ ...EMAIL, to: "other@example.com", subject: "Reset your password" });
  const emails = mailer.mailbox!.list();
  assert.deepEqual(emails.map((email) => email.subject), ["Reset your password", EMAIL.subject]);
  assert.equal(emails[1].from, FROM);
  assert.equal(emails[1].to, EMAIL.to);
  assert.equal(emails[1].text, EMAIL.text);
  assert.equal(emails[1].html, EMAIL.html);
  assert.ok(emails[1].sentAt instanceof Date);
  assert.notEqual(emails[0].id, emails[1].id);

  assert.equal(logLines.length, 2);
  const line = JSON.parse(logLines[0]);
  assert.equal(line.kind, "dev");
  assert.equal(line.to, EMAIL.to);
  assert.equal(line.subject, EMAIL.subject);
  assert.ok(!logLines.join("\n").includes(TOKEN));
});

Deno.test("[email] the dev mailbox keeps only the newest emails", () => {
  const mailbox = new DevMailbox();
  for (let i = 1; i <= DEV_MAILBOX_CAPACITY + 5; i++) {
    mailbox.add({ ...EMAIL, from: FROM, subject: `#${i}` });
  }
  const emails = mailbox.list();
  assert.equal(DEV_MAILBOX_CAPACITY, 200);
  assert.equal(emails.length, DEV_MAILBOX_CAPACITY);
  assert.equal(emails[0].subject, `#${DEV_MAILBOX_CAPACITY + 5}`);
  assert.equal(emails.at(-1)!.subject, "#6");
});

Deno.test("[email] the dev mailer refuses to exist in production", async () => {
  const config = {
    email: { kind: "dev" as const },
    emailFrom: FROM,
    isProduction: true,
    resendApiKey: undefined,
    emailServer: undefined,
  };
  await assert.rejects(createMailer(config, createLogger("error", () => {})), /production/);
});

Deno.test("[email] a recipient that is not exactly one address is refused before sending", async () => {
  const { mailer } = await setup({});
  for (
    const to of [
      "a@example.com, b@example.com",
      "Eve <eve@example.com>",
      "a@example.com\r\nBcc: b@x.io",
    ]
  ) {
    await assert.rejects(mailer.send({ ...EMAIL, to }), EmailError, to);
  }
  assert.equal(mailer.mailbox!.list().length, 0);
});

/** A mailer built from environment variables the way the app builds it, with its log captured. */
async function setup(env: Record<string, string>, resendBaseUrl?: string) {
  const config = loadConfig({ NODE_ENV: "test", EMAIL_FROM: FROM, ...env });
  const logLines: string[] = [];
  const log = createLogger("info", (line) => logLines.push(line));
  return { mailer: await createMailer(config, log, { resendBaseUrl }), logLines };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("expected the promise to reject");
}

function headerBlock(raw: string): string {
  return raw.slice(0, raw.indexOf("\r\n\r\n")).replace(/\r\n[ \t]+/g, " ").replaceAll("\r\n", "\n");
}

/** The leaf parts of a multipart message, with quoted-printable undone: just enough MIME for these tests. */
function mimeParts(raw: string): { type: string; body: string }[] {
  const boundary = headerBlock(raw).match(/boundary="?([^";\n]+)"?/)?.[1];
  assert.ok(boundary, "the message is multipart");
  return raw.split(`--${boundary}`).slice(1, -1).map((part) => {
    const [head, ...rest] = part.replace(/^\r\n/, "").split("\r\n\r\n");
    const headers = head.replace(/\r\n[ \t]+/g, " ");
    let body = rest.join("\r\n\r\n").replace(/\r\n$/, "");
    if (/^Content-Transfer-Encoding: quoted-printable$/im.test(headers)) {
      body = body.replace(/=\r\n/g, "").replace(
        /=([0-9A-F]{2})/g,
        (_, hex: string) => String.fromCharCode(parseInt(hex, 16)),
      );
    }
    return { type: headers.match(/^Content-Type: ([^;\r\n]+)/im)?.[1] ?? "", body };
  });
}
