/** Issue 10's rough edges on the pages: an ended session under htmx, search in the URL, time zones. */
import assert from "node:assert/strict";
import { testApp, testBrowser } from "./testing.ts";

const PASSWORD = "vivid-otter-planet-42";
type App = Awaited<ReturnType<typeof testApp>>;
const htmx = { "HX-Request": "true" };

/** A new user, signed in. */
async function signedIn(t: App, email = "ada@example.com") {
  const b = testBrowser(t);
  await b.post("/sign-up", { name: "Ada", email, password: PASSWORD });
  assert.equal((await b.post("/sign-in", { email, password: PASSWORD })).status, 303);
  return b;
}

Deno.test("[rough edges] an htmx request after the session ended sends the whole page to sign in", async () => {
  await using t = await testApp();
  const b = await signedIn(t);
  const current = "http://localhost:8000/trade/AAPL";
  assert.equal((await b.get("/trade/AAPL", { ...htmx, "HX-Current-URL": current })).status, 200);
  // The session ends elsewhere (signed out in another tab).
  const other = testBrowser(t);
  other.jar.set("orion_session", b.jar.get("orion_session")!);
  await other.post("/sign-out", {});

  const poll = await b.get("/trade/AAPL", { ...htmx, "HX-Current-URL": current });
  assert.equal(poll.status, 401);
  assert.equal(poll.headers.get("HX-Redirect"), "/sign-in?next=%2Ftrade%2FAAPL");
  assert.equal(poll.headers.get("Location"), null, "not a redirect that fetch would follow");
  assert.equal(await poll.text(), "", "no sign-in form to swap into the quote");

  // A form posted from another page comes back to that page, never to another site.
  const post = await b.post("/trade", { symbol: "AAPL" }, {
    ...htmx,
    "HX-Current-URL": "http://localhost:8000/orders?status=open",
  });
  assert.equal(post.status, 401);
  assert.equal(post.headers.get("HX-Redirect"), "/sign-in?next=%2Forders%3Fstatus%3Dopen");
  const sneaky = await b.get("/orders", {
    ...htmx,
    "HX-Current-URL": "http://localhost:8000//evil.example/",
  });
  assert.equal(sneaky.headers.get("HX-Redirect"), "/sign-in?next=%2Fdashboard");

  // Without htmx, a page still answers 303 to sign in.
  const page = await b.get("/trade/AAPL");
  assert.equal(page.status, 303);
  assert.equal(page.headers.get("Location"), "/sign-in?next=%2Ftrade%2FAAPL");
});

Deno.test("[rough edges] the trade search keeps its query in the address", async () => {
  await using t = await testApp();
  const b = await signedIn(t);
  const page = await b.page("/trade");
  const input = page.match(/<input id="q"[^>]*>/)![0];
  assert.match(input, /hx-get="\/trade"/);
  assert.match(input, /hx-replace-url="true"/, "typing puts ?q= in the address");
  assert.match(page, /<form method="get" action="\/trade"/, "without JavaScript, a plain GET");
  // Back (or a reload) asks for /trade?q=… as a whole page, history restores included.
  for (const headers of [{}, { ...htmx, "HX-History-Restore-Request": "true" }]) {
    const back = await b.page("/trade?q=apple", headers);
    assert.match(back, /<html/);
    assert.match(back, /<input id="q"[^>]*value="apple"/);
    assert.match(back, /href="\/trade\/AAPL"/, "with its results");
  }
});
