/** Request helpers at the trust boundary: where `next` may lead, and bodies that cannot be read. */
import assert from "node:assert/strict";
import { safeNext } from "./request.ts";
import { testApp, testBrowser } from "./testing.ts";

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
