/** Request helpers at the trust boundary: where `next` may lead, and bodies that cannot be read. */
import assert from "node:assert/strict";
import { clientAddress, safeNext } from "./request.ts";
import { TEST_ORIGIN, testApp, testBrowser } from "./testing.ts";

Deno.test("[request] next is followed only to a path on this site", () => {
  for (const path of ["/dashboard", "/orders?status=open", "/trade/BRK.B#ticket"]) {
    assert.equal(safeNext(path, "/home"), path);
  }
  assert.equal(safeNext("/trade/café", "/home"), "/trade/caf%C3%A9", "encoded for the header");
  for (
    const path of [
      "//evil.example",
      "/\\evil.example",
      "/\t/evil.example",
      "/\n/evil.example",
      "/x\r\nSet-Cookie: a=b",
      "/\0",
      "https://evil.example/",
      "javascript:alert(1)",
      "dashboard",
      "",
      undefined,
    ]
  ) {
    assert.equal(safeNext(path, "/home"), "/home", JSON.stringify(path));
  }
});

/** Values that normalise to another origin, or do not parse at all: each must fall back. */
const HOSTILE_NEXT = [
  "/.//evil.example",
  "/..//evil.example",
  "/%2e%2e//evil.example",
  "/%2E//evil.example",
  "/a/..//evil.example",
  "/a/b/../..//evil.example/x?y#z",
  "/./%2e/.//evil.example",
  "///evil.example",
  "////evil.example",
  "//[",
  "//:1",
  "//%",
  "\\evil",
  "/\\evil",
  "/\t/evil.example",
  "/\r/evil.example",
  "/\n/evil.example",
  "/\0/evil.example",
  "/.\t//evil.example",
  "https://evil.example/",
  "http:evil.example",
];

Deno.test("[request] next is checked after normalising: dot segments and bad authorities fall back", () => {
  for (const path of HOSTILE_NEXT) {
    assert.equal(safeNext(path, "/home"), "/home", JSON.stringify(path));
  }
  // Dot segments that stay on the site are resolved, and what comes back is what was checked.
  assert.equal(safeNext("/a/../orders?status=open", "/home"), "/orders?status=open");
  assert.equal(safeNext("/./trade/AAPL", "/home"), "/trade/AAPL");
  for (const path of [...HOSTILE_NEXT, "/a/../orders", "/./x//y", "/%2e%2e/z", "/x/%2f%2fevil"]) {
    const out = safeNext(path, "/home");
    assert.ok(out.startsWith("/") && !out.startsWith("//"), `${JSON.stringify(path)} → ${out}`);
    assert.equal(new URL(out, "http://orion.invalid").origin, "http://orion.invalid");
    assert.equal(safeNext(out, "/home"), out, "checking the result again changes nothing");
  }
});

Deno.test("[request] a hostile next never leaves the site from the sign-in page or its POST, and never 5xx", async () => {
  await using t = await testApp();
  const password = "vivid-otter-planet-42";
  await testBrowser(t).post("/sign-up", { name: "Ada", email: "ada@example.com", password });
  // Each POST comes from its own address, so the per-address sign-in limit stays out of the way.
  let n = 0;
  const post = (path: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
    t.app.request(`${TEST_ORIGIN}${path}`, {
      method: "POST",
      headers: {
        Origin: TEST_ORIGIN,
        "Content-Type": "application/x-www-form-urlencoded",
        ...headers,
      },
      body: new URLSearchParams(form).toString(),
    }, { remoteAddr: { hostname: `192.0.2.${++n}`, port: 1, transport: "tcp" } });
  for (const [i, next] of HOSTILE_NEXT.entries()) {
    const label = JSON.stringify(next);
    const page = await testBrowser(t).get(`/sign-in?next=${encodeURIComponent(next)}`);
    assert.equal(page.status, 200, label);
    const html = await page.text();
    assert.doesNotMatch(html, /name="next"/, `${label}: no next field is rendered`);
    assert.doesNotMatch(html, /evil/, label);

    const res = await post("/sign-in", { email: "ada@example.com", password, next });
    assert.equal(res.status, 303, label);
    assert.equal(res.headers.get("Location"), "/dashboard", label);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("orion_session="))!;
    // The order pages' forms take next too.
    const cancelAll = await post("/orders/cancel-all", { next }, { Cookie: cookie.split(";")[0] });
    assert.equal(cancelAll.status, 303, label);
    assert.equal(cancelAll.headers.get("Location"), "/orders", label);
    if (i % 4 !== 0) continue; // Hashing passwords is slow; a sample covers htmx and failures.

    const hx = await post("/sign-in", { email: "ada@example.com", password, next }, {
      "HX-Request": "true",
    });
    assert.equal(hx.status, 200, label);
    assert.equal(hx.headers.get("HX-Redirect"), "/dashboard", label);
    // A failed sign-in shows the form again: the hidden field holds no hostile value either.
    const failed = await post("/sign-in", { email: `nobody${i}@example.com`, password, next });
    assert.equal(failed.status, 401, label);
    assert.doesNotMatch(await failed.text(), /name="next"|evil/, label);
  }
  // A path on the site still round-trips through the page and the POST.
  const page = await testBrowser(t).page(`/sign-in?next=${encodeURIComponent("/a/../orders")}`);
  assert.match(page, /name="next" value="\/orders"/);
  const res = await post("/sign-in", {
    email: "ada@example.com",
    password,
    next: "/orders?status=open",
  });
  assert.equal(res.headers.get("Location"), "/orders?status=open");
});

Deno.test("[request] a redirect after an action never leaves the site or fails on a control character", async () => {
  await using t = await testApp();
  const b = testBrowser(t);
  const password = "vivid-otter-planet-42";
  await b.post("/sign-up", { name: "Ada", email: "ada@example.com", password });
  for (const next of ["/\t/evil.example", "/\n/x", "/%0ax"]) {
    const res = await b.post("/sign-in", { email: "ada@example.com", password, next });
    assert.equal(res.status, 303, JSON.stringify(next));
    assert.ok(res.headers.get("Location")!.startsWith("/"), res.headers.get("Location")!);
    assert.ok(!/evil|[\t\n]/.test(res.headers.get("Location")!));
    const cancelAll = await b.post("/orders/cancel-all", { next });
    assert.equal(cancelAll.status, 303);
    assert.ok(!/evil|[\t\n]/.test(cancelAll.headers.get("Location")!));
  }
});

Deno.test("[request] a form body that cannot be parsed is a 400 with a message", async () => {
  await using t = await testApp();
  for (
    const [path, type] of [
      ["/sign-in", "multipart/form-data; boundary=zzz"],
      ["/sign-up", "multipart/form-data"],
    ]
  ) {
    const res = await t.app.request(`http://127.0.0.1${path}`, {
      method: "POST",
      headers: { "Content-Type": type, Origin: "http://127.0.0.1" },
      body: "garbage",
    });
    assert.equal(res.status, 400, path);
    assert.match(await res.text(), /The form could not be read/);
  }
});

Deno.test("[request] the client address is read only from hops our proxies appended", () => {
  const off = { hops: 0 };
  const one = { hops: 1 };
  const two = { hops: 2 };
  assert.equal(clientAddress("203.0.113.9", "198.51.100.1", off), "203.0.113.9", "trust off");
  assert.equal(clientAddress("10.0.0.2", undefined, one), "10.0.0.2", "no header");
  // One proxy appended the address it saw; whatever the client wrote before it is ignored.
  assert.equal(clientAddress("10.0.0.2", "1.1.1.1, 2.2.2.2, 198.51.100.7", one), "198.51.100.7");
  assert.equal(clientAddress("10.0.0.2", "1.1.1.1, 198.51.100.7, 10.0.0.3", two), "198.51.100.7");
  assert.equal(
    clientAddress("10.0.0.2", "198.51.100.7", two),
    "10.0.0.2",
    "fewer entries than hops",
  );
  for (const junk of ["", "1.1.1.1,", "unknown", "1.1.1.1, <script>", "999.1.1.1"]) {
    assert.equal(clientAddress("10.0.0.2", junk, one), "10.0.0.2", JSON.stringify(junk));
  }
  assert.equal(clientAddress("10.0.0.2", "[2001:db8::1]:4711", one), "2001:db8::1", "port dropped");
  assert.equal(clientAddress("10.0.0.2", "198.51.100.7:4711", one), "198.51.100.7");

  // With a proxy list, a hop is believed only when the address it came from is listed.
  const listed = { hops: 2, proxies: ["10.0.0.0/8", "fd00::/8"] };
  const chain = "6.6.6.6, 198.51.100.7, 10.1.2.3";
  assert.equal(clientAddress("10.0.0.2", chain, listed), "198.51.100.7", "through both proxies");
  assert.equal(clientAddress("::ffff:10.0.0.2", chain, listed), "198.51.100.7", "v4-mapped peer");
  assert.equal(clientAddress("fd00::2", chain, listed), "198.51.100.7", "IPv6 proxy");
  assert.equal(clientAddress("203.0.113.9", chain, listed), "203.0.113.9", "straight to the app");
  assert.equal(
    clientAddress("10.0.0.2", "6.6.6.6, 198.51.100.7, 203.0.113.9", listed),
    "203.0.113.9",
    "straight to the inner proxy: known by the address it came from",
  );
});

/** The app on a real HTTP server on 127.0.0.1, so the peer address is the socket's own. */
async function serve(env: Record<string, string> = {}) {
  const t = await testApp(env);
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (request, info) => t.app.fetch(request, info),
  );
  return {
    t,
    base: `http://127.0.0.1:${server.addr.port}`,
    port: server.addr.port,
    [Symbol.asyncDispose]: async () => {
      await server.shutdown();
      await t[Symbol.asyncDispose]();
    },
  };
}

/** Fifteen password-reset requests at once, each with its own X-Forwarded-For; their statuses. */
async function rotatingResets(base: string, forwardedFor: (i: number) => string) {
  const responses = await Promise.all(
    Array.from({ length: 15 }, (_, i) =>
      fetch(`${base}/api/auth/password/forgot`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Origin: base,
          "X-Forwarded-For": forwardedFor(i),
        },
        body: JSON.stringify({ email: `nobody${i}@example.com` }),
      })),
  );
  await Promise.all(responses.map((res) => res.body?.cancel()));
  return responses.map((res) => res.status);
}

const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

Deno.test("[request] a rotating X-Forwarded-For does not escape a per-address limit", async (t) => {
  // The reset limit allows 10 requests per address in 15 minutes.
  await t.step("trust off: the header is ignored", async () => {
    await using s = await serve();
    const statuses = await rotatingResets(s.base, (i) => `198.51.100.${i}`);
    assert.equal(count(statuses, 202), 10, statuses.join(" "));
    assert.equal(count(statuses, 429), 5, statuses.join(" "));
  });

  await t.step("one hop: only the rightmost entry counts", async () => {
    await using s = await serve({ TRUST_PROXY: "1" });
    const statuses = await rotatingResets(s.base, (i) => `198.51.100.${i}, 203.0.113.9`);
    assert.equal(count(statuses, 202), 10, statuses.join(" "));
    assert.equal(count(statuses, 429), 5, statuses.join(" "));
  });

  await t.step("a proxy list: a peer that is not listed is known by its socket", async () => {
    await using s = await serve({ TRUST_PROXY: "1", TRUSTED_PROXIES: "192.0.2.0/24" });
    const statuses = await rotatingResets(s.base, (i) => `198.51.100.${i}`);
    assert.equal(count(statuses, 202), 10, statuses.join(" "));
    assert.equal(count(statuses, 429), 5, statuses.join(" "));

    // Nor is the header recorded as the session's address.
    const headers = {
      "Content-Type": "application/json",
      Origin: s.base,
      "X-Forwarded-For": "198.51.100.77",
    };
    const credentials = { email: "ada@example.com", password: "vivid-otter-planet-42" };
    const signUp = await fetch(`${s.base}/api/auth/sign-up`, {
      method: "POST",
      headers,
      body: JSON.stringify({ ...credentials, name: "Ada" }),
    });
    assert.equal(signUp.status, 201, await signUp.text());
    const signIn = await fetch(`${s.base}/api/auth/sign-in`, {
      method: "POST",
      headers,
      body: JSON.stringify(credentials),
    });
    assert.equal(signIn.status, 200, await signIn.text());
    const cookie = signIn.headers.getSetCookie()[0].split(";")[0];
    const list = await fetch(`${s.base}/api/auth/sessions`, { headers: { Cookie: cookie } });
    const { sessions } = await list.json();
    assert.deepEqual(sessions.map((session: { ip: string }) => session.ip), ["127.0.0.1"]);
  });

  await t.step("a listed proxy is believed", async () => {
    await using s = await serve({ TRUST_PROXY: "1", TRUSTED_PROXIES: "127.0.0.1" });
    const statuses = await rotatingResets(s.base, (i) => `198.51.100.${i}`);
    assert.equal(count(statuses, 202), 15, "each forwarded client has its own budget");
  });
});

/**
 * Sends a request whose body trickles in one byte every 50 ms until `size` bytes are sent, and
 * reads the answer. `sent` says how much of the body had gone when the answer came.
 */
async function trickle(port: number, chunked: boolean, size: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const encoder = new TextEncoder();
  const framing = chunked ? "Transfer-Encoding: chunked" : `Content-Length: ${size}`;
  await conn.write(encoder.encode(
    `POST /api/auth/sign-in HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: http://127.0.0.1:${port}\r\nContent-Type: application/json\r\n${framing}\r\n\r\n`,
  ));
  let sent = 0;
  let answered = false;
  const sending = (async () => {
    while (sent < size && !answered) {
      await conn.write(encoder.encode(chunked ? "1\r\n \r\n" : " "));
      sent++;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (chunked && !answered) await conn.write(encoder.encode("0\r\n\r\n"));
  })().catch(() => {});
  let response = "";
  const buffer = new Uint8Array(4096);
  // Read until the head and the short JSON body are in (or the server closes).
  while (!/\r\n\r\n[\s\S]*\}\}/.test(response)) {
    const n = await conn.read(buffer);
    if (n === null) break;
    response += new TextDecoder().decode(buffer.subarray(0, n));
  }
  answered = true;
  const sentWhenAnswered = sent;
  conn.close();
  await sending;
  return { response, sent: sentWhenAnswered };
}

Deno.test("[request] a body that arrives too slowly is answered 408 before it ends", async () => {
  await using s = await serve({ BODY_TIMEOUT_MS: "200" });
  for (const chunked of [false, true]) {
    // 80 bytes at 20 a second would take 4 s; the answer must not wait for them.
    const { response, sent } = await trickle(s.port, chunked, 80);
    assert.match(response, /^HTTP\/1\.1 408 /, response);
    assert.match(response, /"code":"request_timeout"/);
    assert.ok(sent < 80, `answered after ${sent} of 80 bytes (chunked: ${chunked})`);
  }
  // A body that arrives at once is unaffected.
  const res = await fetch(`${s.base}/api/auth/sign-in`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Origin: s.base },
    body: JSON.stringify({ email: "ada@example.com", password: "not-her-password" }),
  });
  assert.equal(res.status, 401, await res.text());
});

Deno.test("[request] bodies over the size limit are refused whether declared or streamed", async () => {
  await using s = await serve({ BODY_LIMIT_BYTES: "100" });
  const big = JSON.stringify({ email: "a@example.com", password: "x".repeat(200) });
  const declared = await fetch(`${s.base}/api/auth/sign-in`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Origin: s.base },
    body: big,
  });
  assert.equal(declared.status, 413);
  assert.equal((await declared.json()).error.code, "payload_too_large");
  const streamed = await fetch(`${s.base}/api/auth/sign-in`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Origin: s.base },
    body: ReadableStream.from([new TextEncoder().encode(big)]),
  });
  assert.equal(streamed.status, 413);
  assert.equal((await streamed.json()).error.code, "payload_too_large");
});
