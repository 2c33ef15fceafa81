/** Request helpers at the trust boundary: where `next` may lead, and bodies that cannot be read. */
import assert from "node:assert/strict";
import { safeNext } from "./request.ts";
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
