/** Read-only mode: writes stop with 503 `read_only`, signing in and out still works, reads go on. */
import assert from "node:assert/strict";
import { setReadOnly } from "../lib/read_only.ts";
import { testApp, testBrowser } from "./testing.ts";

const ORIGIN = "http://localhost:8000";
const headers = { Origin: ORIGIN, "Content-Type": "application/json" };
const PASSWORD = "vivid-otter-planet-42";

Deno.test("[read-only] READ_ONLY=true stops writes but sign-in, sign-out and reads", async () => {
  await using t = await testApp({ READ_ONLY: "true" });
  const signUp = await t.app.request(`${ORIGIN}/api/auth/sign-up`, {
    method: "POST",
    headers,
    body: JSON.stringify({ email: "a@example.com", password: PASSWORD, name: "A" }),
  });
  assert.equal(signUp.status, 503);
  const body = await signUp.json();
  assert.equal(body.error.code, "read_only");
  assert.equal(signUp.headers.get("Retry-After"), "60");
  assert.equal(
    (await t.deps.store.find("users", { limit: 5 })).items.length,
    0,
    "nothing was written",
  );
  assert.equal((await t.app.request(`${ORIGIN}/api/health`)).status, 200);
  assert.equal((await t.app.request(`${ORIGIN}/api/quotes?symbols=AAPL`)).status, 200);
  const signIn = await t.app.request(`${ORIGIN}/api/auth/sign-in`, {
    method: "POST",
    headers,
    body: JSON.stringify({ email: "nobody@example.com", password: PASSWORD }),
  });
  assert.equal(signIn.status, 401, "sign-in is still answered");
});

Deno.test("[read-only] an admin's switch applies to writes at once on this instance, and is audited", async () => {
  await using t = await testApp();
  const signUp = (email: string) =>
    t.app.request(`${ORIGIN}/api/auth/sign-up`, {
      method: "POST",
      headers,
      body: JSON.stringify({ email, password: PASSWORD, name: "A" }),
    });
  assert.equal((await signUp("a@example.com")).status, 201);
  await setReadOnly(t.deps.store, true, "database maintenance", "admin-1", {
    ip: "127.0.0.1",
    userAgent: "test",
  });
  t.deps.readOnly.invalidate();
  assert.equal((await signUp("b@example.com")).status, 503);
  const page = await t.app.request(`${ORIGIN}/`);
  assert.equal(page.status, 200, "pages still render");
  assert.match(await page.text(), /read-only mode for maintenance/, "with a banner");
  await setReadOnly(t.deps.store, false, "", "admin-1", { ip: "127.0.0.1", userAgent: "test" });
  t.deps.readOnly.invalidate();
  assert.equal((await signUp("b@example.com")).status, 201);
  const audit = await t.deps.store.find("audit_logs", {
    where: { action: "admin.read_only" },
    sort: { field: "at", direction: 1 },
    limit: 5,
  });
  assert.equal(audit.items.length, 2);
});

Deno.test("[read-only] the order ticket's estimate still answers; an htmx order gets the notice in place of the page's main", async () => {
  await using t = await testApp();
  const b = testBrowser(t);
  await b.post("/sign-up", { name: "Ada", email: "ada@example.com", password: PASSWORD });
  await b.post("/sign-in", { email: "ada@example.com", password: PASSWORD });
  await setReadOnly(t.deps.store, true, "database maintenance", "admin-1", {
    ip: "127.0.0.1",
    userAgent: "test",
  });
  t.deps.readOnly.invalidate();
  const ticket = { symbol: "AAPL", side: "buy", type: "market", qty: "1", timeInForce: "day" };
  const preview = await b.post("/trade/preview", ticket, { "HX-Request": "true" });
  assert.equal(preview.status, 200, "a preview writes nothing");
  assert.match(await preview.text(), /\$[\d,]+\.\d\d/);

  const placed = await b.post("/trade", ticket, { "HX-Request": "true" });
  assert.equal(placed.status, 503);
  // The whole error page comes back; htmx swaps its <main> for ours instead of nesting a page.
  assert.equal(placed.headers.get("HX-Retarget"), "#main");
  assert.equal(placed.headers.get("HX-Reselect"), "#main");
  assert.equal(placed.headers.get("HX-Reswap"), "outerHTML");
  assert.match(await placed.text(), /read-only mode for maintenance/);
});
