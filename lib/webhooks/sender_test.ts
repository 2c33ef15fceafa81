/**
 * The webhook sender against a real receiver on 127.0.0.1: signatures checked with the Standard
 * Webhooks library and with a verifier written from the specification (itself checked against the
 * specification's published test vector), retries on the back-off schedule (time is driven by the
 * `now` each pass is given), deliveries that outlive a restart, re-sends, leases, the URL rules at
 * delivery time, and an endpoint turned off after a day of failures.
 */
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import { testApp } from "../../routes/testing.ts";
import { reportSkip } from "../../tests/support/skip_report.ts";
import {
  type ReceivedWebhook,
  startReceiver,
  verifySignature,
} from "../../tests/support/webhook_receiver.ts";
import type { AuditEntry } from "../audit.ts";
import { newId } from "../ids.ts";
import type { Notification } from "../notify/notifications.ts";
import type { EventType, UserEvent } from "../notify/outbox.ts";
import { findAll } from "../store/find_all.ts";
import { resendDelivery, type WebhookDelivery, webhookDeliveryOps } from "./deliveries.ts";
import { createEndpoint, updateEndpoint, webhookDeps, type WebhookEndpoint } from "./endpoints.ts";
import { runWebhookPass, type SenderDeps, webhookSenderDeps } from "./sender.ts";

const AUTH_SECRET = "webhook-tests-auth-secret-of-at-least-32-chars";
const ENV = { WEBHOOK_ALLOW_LOOPBACK: "1", AUTH_SECRET };
const ORIGIN = { ip: "203.0.113.5", userAgent: "test" };
const SECOND = 1000;

type App = Awaited<ReturnType<typeof testApp>>;

function sender(t: App): SenderDeps {
  return webhookSenderDeps(t.deps.config, t.deps.store, t.deps.log);
}

function event(userId: string, type: EventType = "order.fill", at = new Date()): UserEvent {
  return {
    _id: newId(at.getTime()),
    _v: 1,
    userId,
    type,
    at,
    data: { id: "01ORDER", symbol: "AAPL", side: "buy", filledQty: "10", filledAvgPrice: "189.20" },
  };
}

/** Commits the deliveries of `e` as the dispatch pass will; returns them. */
async function dispatch(t: App, e: UserEvent): Promise<WebhookDelivery[]> {
  const ops = await webhookDeliveryOps(t.deps.store, e);
  const written = await t.deps.store.commit(ops);
  return written as WebhookDelivery[];
}

async function register(
  t: App,
  url: string,
  events: WebhookEndpoint["events"] = ["order.*"],
  userId = "u1",
) {
  return await createEndpoint(
    webhookDeps(t.deps.config, t.deps.store),
    userId,
    { url, events },
    ORIGIN,
  );
}

const delivery = (t: App, id: string) =>
  t.deps.store.get<WebhookDelivery>("webhook_deliveries", id) as Promise<WebhookDelivery>;

function assertSigned(request: ReceivedWebhook) {
  assert.ok(request.libraryVerified, "the standardwebhooks library accepts the signature");
  assert.ok(request.specVerified, "the verifier written from the specification accepts it");
}

Deno.test("[webhooks] the verifier written from the specification reproduces its published test vector", async () => {
  // The vector of the Standard Webhooks specification (its reference libraries' "sign" tests).
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
  const body = '{"test": 2432232314}';
  const expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
  assert.ok(await verifySignature(secret, id, "1614265330", body, expected));
  assert.ok(await verifySignature(secret, id, "1614265330", body, `v1,bm9wZQ== ${expected}`));
  assert.ok(!(await verifySignature(secret, id, "1614265331", body, expected)));
  assert.ok(!(await verifySignature(secret, id, "1614265330", `${body} `, expected)));
  assert.ok(!(await verifySignature(secret, `${id}x`, "1614265330", body, expected)));
  // The library the sender signs with gives the same signature.
  assert.equal(new Webhook(secret).sign(id, new Date(1614265330 * 1000), body), expected);
});

Deno.test("[webhooks] a delivery is signed per the specification and carries the event", async () => {
  await using t = await testApp(ENV);
  await using receiver = startReceiver();
  const { endpoint, secret } = await register(t, receiver.url, ["order.fill"]);
  receiver.secret = secret;
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);

  // Only subscribers of the type get a delivery; webhookDeliveryOps only reads.
  assert.deepEqual(await webhookDeliveryOps(t.deps.store, event("u1", "order.canceled")), []);
  assert.deepEqual(await webhookDeliveryOps(t.deps.store, event("u2", "order.fill")), []);
  const e = event("u1");
  const ops = await webhookDeliveryOps(t.deps.store, e);
  assert.equal(ops.length, 1);
  assert.deepEqual(await findAll(t.deps.store, "webhook_deliveries", {}), []);
  const [made] = await dispatch(t, e);
  assert.equal(made.status, "pending");
  assert.equal(made.endpointId, endpoint._id);

  const result = await runWebhookPass(sender(t));
  assert.deepEqual(result, { delivered: 1, retrying: 0, failed: 0, skipped: 0 });
  assert.equal(receiver.received.length, 1);
  const [request] = receiver.received;
  assertSigned(request);
  assert.equal(request.headers["webhook-id"], e._id);
  assert.equal(request.headers["content-type"], "application/json");
  assert.ok(Math.abs(Number(request.headers["webhook-timestamp"]) - Date.now() / 1000) < 10);
  assert.deepEqual(JSON.parse(request.body), {
    type: "order.fill",
    timestamp: e.at.toISOString(),
    data: e.data,
  });
  // A wrong secret fails both verifiers: the check is real.
  const other = "whsec_" + crypto.getRandomValues(new Uint8Array(32)).toBase64();
  const headers = request.headers;
  assert.throws(() => new Webhook(other).verify(request.body, headers));
  assert.ok(
    !(await verifySignature(
      other,
      headers["webhook-id"],
      headers["webhook-timestamp"],
      request.body,
      headers["webhook-signature"],
    )),
  );

  const sent = await delivery(t, made._id);
  assert.equal(sent.status, "delivered");
  assert.equal(sent.attemptCount, 1);
  assert.equal(sent.attempts[0].statusCode, 200);
  assert.equal(sent.dueAt, null);
  // The secret is stored sealed, never as written.
  const stored = JSON.stringify(await findAll(t.deps.store, "webhook_endpoints", {}));
  assert.ok(!stored.includes(secret.slice(6)));
  // Nothing more is due.
  assert.deepEqual(await runWebhookPass(sender(t)), {
    delivered: 0,
    retrying: 0,
    failed: 0,
    skipped: 0,
  });
});

Deno.test("[webhooks] a receiver that fails twice gets the third attempt after the back-off, and it is delivered", async () => {
  await using t = await testApp(ENV);
  await using receiver = startReceiver({ statuses: [500, 503] });
  const { endpoint, secret } = await register(t, receiver.url);
  receiver.secret = secret;
  const [made] = await dispatch(t, event("u1"));
  const t0 = new Date();
  const at = (ms: number) => new Date(t0.getTime() + ms);

  assert.equal((await runWebhookPass(sender(t), t0)).retrying, 1);
  let d = await delivery(t, made._id);
  assert.equal(d.status, "pending");
  // 30 s, give or take the 10 % jitter.
  const wait1 = d.dueAt!.getTime() - t0.getTime();
  assert.ok(wait1 >= 27 * SECOND && wait1 <= 33 * SECOND, `first wait ${wait1} ms`);
  const failing = await t.deps.store.get<WebhookEndpoint>("webhook_endpoints", endpoint._id);
  assert.deepEqual(failing!.failingSince, t0);

  // Before it is due, nothing is sent.
  await runWebhookPass(sender(t), at(26 * SECOND));
  assert.equal(receiver.received.length, 1);

  const second = at(wait1);
  assert.equal((await runWebhookPass(sender(t), second)).retrying, 1);
  d = await delivery(t, made._id);
  const wait2 = d.dueAt!.getTime() - second.getTime();
  assert.ok(wait2 >= 54 * SECOND && wait2 <= 66 * SECOND, `second wait ${wait2} ms`);
  await runWebhookPass(sender(t), new Date(second.getTime() + 53 * SECOND));
  assert.equal(receiver.received.length, 2);

  const third = new Date(second.getTime() + wait2);
  assert.equal((await runWebhookPass(sender(t), third)).delivered, 1);
  d = await delivery(t, made._id);
  assert.equal(d.status, "delivered");
  assert.deepEqual(d.attempts.map((a) => a.statusCode), [500, 503, 200]);
  assert.deepEqual(d.attempts.map((a) => a.at), [t0, second, third]);
  assert.deepEqual(d.firstAttemptAt, t0);
  assert.equal(receiver.received.length, 3);
  // Every attempt: the same message id, a valid signature.
  assert.equal(new Set(receiver.received.map((r) => r.headers["webhook-id"])).size, 1);
  receiver.received.forEach(assertSigned);
  // The success ends the endpoint's run of failures.
  const healed = await t.deps.store.get<WebhookEndpoint>("webhook_endpoints", endpoint._id);
  assert.equal(healed!.failingSince, null);
  assert.deepEqual(healed!.lastSuccessAt, third);
});

Deno.test({
  name:
    "[webhooks] a pending delivery survives a restart: a new process over the same store sends it",
  // The restart reopens one Deno KV file; a MongoDB run gives each app a database of its own.
  ignore: Deno.env.get("MONGODB_URI") !== undefined,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "orion-webhooks-" });
    const env = { ...ENV, KV_PATH: `${dir}/orion.kv` };
    await using receiver = startReceiver();
    let deliveryId: string;
    {
      await using first = await testApp(env);
      const { secret } = await register(first, receiver.url);
      receiver.secret = secret;
      [{ _id: deliveryId }] = await dispatch(first, event("u1"));
    }
    assert.equal(receiver.received.length, 0);
    {
      await using second = await testApp(env);
      assert.equal((await runWebhookPass(sender(second))).delivered, 1);
      assert.equal(receiver.received.length, 1);
      assertSigned(receiver.received[0]);
      assert.equal((await delivery(second, deliveryId)).status, "delivered");
    }
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test("[webhooks] a re-send is a new delivery of the same message, under the same webhook-id", async () => {
  await using t = await testApp(ENV);
  await using receiver = startReceiver();
  const { endpoint, secret } = await register(t, receiver.url);
  receiver.secret = secret;
  const [made] = await dispatch(t, event("u1"));
  await runWebhookPass(sender(t));
  const again = await resendDelivery(t.deps.store, "u1", endpoint._id, made._id);
  assert.notEqual(again._id, made._id);
  assert.equal(again.resendOf, made._id);
  assert.equal((await runWebhookPass(sender(t))).delivered, 1);
  assert.equal(receiver.received.length, 2);
  const [one, two] = receiver.received;
  assert.equal(two.headers["webhook-id"], one.headers["webhook-id"]);
  assert.equal(two.body, one.body);
  assertSigned(two);
  // Another user's endpoint, or a delivery of another endpoint, is not found.
  await assert.rejects(resendDelivery(t.deps.store, "u2", endpoint._id, made._id), /No such/);
  const { endpoint: second } = await register(t, receiver.url);
  await assert.rejects(resendDelivery(t.deps.store, "u1", second._id, made._id), /No such/);
});

Deno.test("[webhooks] two passes at once send a delivery once; a lease that ran out is taken again", async () => {
  await using t = await testApp(ENV);
  await using receiver = startReceiver();
  const { secret } = await register(t, receiver.url);
  receiver.secret = secret;
  const [made] = await dispatch(t, event("u1"));
  const results = await Promise.all([runWebhookPass(sender(t)), runWebhookPass(sender(t))]);
  assert.equal(results[0].delivered + results[1].delivered, 1);
  assert.equal(receiver.received.length, 1);

  // An instance that died while sending: its claim stands until the lease ends, then it is sent.
  const [stuck] = await dispatch(t, event("u1"));
  const now = new Date();
  await t.deps.store.update("webhook_deliveries", stuck._id, {
    status: "sending",
    dueAt: new Date(now.getTime() + 30 * SECOND),
  });
  assert.equal((await runWebhookPass(sender(t), now)).delivered, 0);
  assert.equal(
    (await runWebhookPass(sender(t), new Date(now.getTime() + 31 * SECOND))).delivered,
    1,
  );
  assert.equal(receiver.received.length, 2);
  assert.equal((await delivery(t, made._id)).status, "delivered");
});

Deno.test("[webhooks] the URL is checked again at each attempt; redirects are not followed", async () => {
  await using t = await testApp(ENV);
  await using receiver = startReceiver({ statuses: [302] });
  const { endpoint, secret } = await register(t, receiver.url);
  receiver.secret = secret;

  const [redirected] = await dispatch(t, event("u1"));
  assert.equal((await runWebhookPass(sender(t))).retrying, 1);
  assert.equal((await delivery(t, redirected._id)).attempts[0].statusCode, 302);

  // The same stored endpoint, sent by a server without the loopback flag: refused, nothing sent.
  const strict = { ...sender(t), policy: { allowLoopback: false } };
  const [refused] = await dispatch(t, event("u1"));
  await runWebhookPass(strict, new Date());
  const d = await delivery(t, refused._id);
  assert.equal(d.status, "pending");
  assert.equal(d.attempts[0].statusCode, null);
  assert.match(d.attempts[0].error!, /https|loopback/);
  assert.equal(receiver.received.length, 1);

  // A receiver that does not answer in time is a failure with the reason.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  (async () => {
    for await (const conn of silent) accepted.push(conn);
  })();
  await updateEndpoint(
    webhookDeps(t.deps.config, t.deps.store),
    "u1",
    endpoint._id,
    { url: `http://127.0.0.1:${silent.addr.port}/` },
    ORIGIN,
  );
  const [slow] = await dispatch(t, event("u1"));
  await runWebhookPass({ ...sender(t), timeoutMs: 300 }, new Date(Date.now() + 3_600_000));
  assert.match((await delivery(t, slow._id)).attempts[0].error!, /No answer within 0.3 s/);
  silent.close();
  accepted.forEach((conn) => conn.close());
});

Deno.test("[webhooks] an endpoint that fails for 24 hours is turned off, with a notification and an audit entry", async () => {
  await using t = await testApp(ENV);
  await using receiver = startReceiver({ otherwise: 500 });
  const { endpoint, secret } = await register(t, receiver.url);
  receiver.secret = secret;
  const [made] = await dispatch(t, event("u1"));
  const t0 = new Date();
  let now = t0;
  for (let pass = 0; pass < 40; pass++) {
    await runWebhookPass(sender(t), now);
    const d = await delivery(t, made._id);
    if (d.status !== "pending") break;
    now = d.dueAt!;
  }
  const d = await delivery(t, made._id);
  assert.equal(d.status, "failed");
  // 30 s, 1, 2, 5, 15, 30 min, 1, 2, 4, 8 h: about 16 h; then 8 h waits capped at the day's end.
  assert.ok(d.attemptCount >= 11 && d.attemptCount <= 13, `${d.attemptCount} attempts`);
  assert.deepEqual(d.attempts.at(-1)!.at, new Date(t0.getTime() + 24 * 3_600_000));
  for (let i = 1; i < d.attempts.length; i++) {
    assert.ok(d.attempts[i].at > d.attempts[i - 1].at, "each attempt after the last");
  }
  assert.equal(receiver.received.length, d.attemptCount);

  const off = await t.deps.store.get<WebhookEndpoint>("webhook_endpoints", endpoint._id);
  assert.equal(off!.enabled, false);
  assert.equal(off!.disabledReason, "failing");
  const notes = await findAll<Notification>(t.deps.store, "notifications", {
    where: { userId: "u1" },
  });
  assert.equal(notes.length, 1);
  assert.equal(notes[0].kind, "webhook");
  assert.match(notes[0].body, new RegExp(receiver.url.replaceAll(".", "\\.")));
  assert.equal(notes[0].link, "/settings/webhooks");
  const audits = await findAll<AuditEntry>(t.deps.store, "audit_logs", {
    where: { action: "webhook.disabled" },
  });
  assert.equal(audits.length, 1);
  assert.equal(audits[0].details.endpointId, endpoint._id);

  // A disabled endpoint gets no new deliveries, and one made before is not attempted.
  assert.deepEqual(await webhookDeliveryOps(t.deps.store, event("u1")), []);
  await updateEndpoint(
    webhookDeps(t.deps.config, t.deps.store),
    "u1",
    endpoint._id,
    { enabled: true },
    ORIGIN,
  );
  const [late] = await dispatch(t, event("u1"));
  await updateEndpoint(
    webhookDeps(t.deps.config, t.deps.store),
    "u1",
    endpoint._id,
    { enabled: false },
    ORIGIN,
  );
  const before = receiver.received.length;
  await runWebhookPass(sender(t));
  const skipped = await delivery(t, late._id);
  assert.equal(skipped.status, "failed");
  assert.equal(skipped.attemptCount, 0);
  assert.equal(receiver.received.length, before);
});

/** A certificate authority and a certificate for `host` it signed, made with openssl. */
async function testCertificates(host: string) {
  const dir = await Deno.makeTempDir({ prefix: "orion-webhook-tls-" });
  const run = async (...args: string[]) => {
    const { success, stderr } = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stderr: "piped",
    })
      .output();
    if (!success) throw new Error(new TextDecoder().decode(stderr));
  };
  await run(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "1",
    "-subj",
    "/CN=Orion test CA",
  );
  await run(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "key.pem",
    "-out",
    "leaf.csr",
    "-subj",
    `/CN=${host}`,
  );
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    `subjectAltName=DNS:${host}\nbasicConstraints=CA:FALSE\n`,
  );
  await run(
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "cert.pem",
    "-days",
    "1",
    "-extfile",
    "ext.cnf",
  );
  const read = (name: string) => Deno.readTextFile(`${dir}/${name}`);
  const files = {
    ca: await read("ca.pem"),
    cert: await read("cert.pem"),
    key: await read("key.pem"),
  };
  await Deno.remove(dir, { recursive: true });
  return files;
}

const hasOpenssl = await new Deno.Command("openssl", {
  args: ["version"],
  stdout: "null",
  stderr: "null",
})
  .output().then((out) => out.success, () => false);
if (!hasOpenssl) {
  reportSkip(
    import.meta.url,
    "openssl is not installed; it makes the test certificate authority (apt-get install openssl)",
  );
}

Deno.test({
  name:
    "[webhooks] https goes to the address that was checked, with the certificate verified for the host name",
  ignore: !hasOpenssl,
  fn: async () => {
    await using t = await testApp(ENV);
    const certs = await testCertificates("hooks.example.test");
    await using receiver = startReceiver({ tls: certs });
    // No DNS knows these names: a send can only reach the receiver through the checked address.
    const policy = {
      allowLoopback: true,
      resolve: (host: string) =>
        Promise.resolve(host.endsWith(".example.test") ? ["127.0.0.1"] : []),
    };
    const deps = { ...webhookDeps(t.deps.config, t.deps.store), policy };
    const make = (url: string) => createEndpoint(deps, "u1", { url, events: ["*"] }, ORIGIN);
    const { secret } = await make(`https://hooks.example.test:${receiver.port}/hooks/orion`);
    receiver.secret = secret;
    const [made] = await dispatch(t, event("u1"));
    const tlsSender = { ...sender(t), policy, caCerts: [certs.ca] };
    assert.equal((await runWebhookPass(tlsSender)).delivered, 1);
    assert.equal(receiver.received.length, 1);
    assertSigned(receiver.received[0]);
    assert.equal(receiver.received[0].headers.host, `hooks.example.test:${receiver.port}`);
    assert.equal((await delivery(t, made._id)).attempts[0].statusCode, 200);

    // The same address under a name the certificate does not cover: the TLS check refuses it.
    const { endpoint: wrong } = await make(
      `https://other.example.test:${receiver.port}/hooks/orion`,
    );
    const refused = (await dispatch(t, event("u1"))).find((d) => d.endpointId === wrong._id)!;
    await runWebhookPass(tlsSender);
    const attempt = (await delivery(t, refused._id)).attempts[0];
    assert.equal(attempt.statusCode, null);
    assert.match(attempt.error!, /certificate/);
    assert.equal(receiver.received.length, 2, "the first endpoint got the second event too");
  },
});
