/** Issue 10's rough edges on the pages: an ended session under htmx, search in the URL, time zones. */
import assert from "node:assert/strict";
import type { User } from "../lib/auth/users.ts";
import type { Order } from "../lib/trading/orders.ts";
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

Deno.test("[rough edges] times show in the chosen zone with its name; else the browser's; else UTC", async () => {
  await using t = await testApp();
  const b = await signedIn(t);
  const html = await b.page("/trade/AAPL");
  const idempotencyKey = html.match(/name="idempotencyKey" value="([^"]+)"/)![1];
  const placed = await b.post("/trade", {
    symbol: "AAPL",
    side: "buy",
    type: "limit",
    limitPrice: "1.00",
    qty: "1",
    timeInForce: "gtc",
    idempotencyKey,
  });
  assert.equal(placed.status, 303);
  const order = (await t.deps.store.find<Order>("orders", { limit: 1 }))
    .items[0];
  const iso = order.placedAt.toISOString();
  const inZone = (zone: string) =>
    new Intl.DateTimeFormat("en-US", { timeZone: zone, hour: "2-digit", hourCycle: "h23" })
      .format(order.placedAt);
  const shown = async () => (await b.page("/orders")).match(/<time datetime="([^"]+)">([^<]+)</)!;

  // Nothing chosen, no JavaScript: UTC, and it says so.
  let [, datetime, text] = await shown();
  assert.equal(datetime, iso);
  assert.match(text, new RegExp(`^\\d{4}-\\d{2}-\\d{2} ${inZone("UTC")}:\\d{2} UTC$`));
  assert.match(await b.page("/orders"), /<script src="\/static\/tz\.[0-9a-f]+\.js"/);

  // The browser's zone, as static/tz.js reports it.
  b.jar.set("orion_tz", encodeURIComponent("Asia/Tokyo"));
  [, , text] = await shown();
  assert.match(text, new RegExp(` ${inZone("Asia/Tokyo")}:\\d{2} GMT\\+9$`));

  // The user's choice wins, on the settings page as on the API.
  const saved = await b.post("/settings/profile", { name: "Ada", timeZone: "America/New_York" });
  assert.equal(saved.status, 303);
  [, , text] = await shown();
  assert.match(text, new RegExp(` ${inZone("America/New_York")}:\\d{2} E[SD]T$`));
  const settings = await b.page("/settings");
  assert.match(settings, /<option value="America\/New_York" selected[^>]*>America\/New York</);
  assert.ok(!settings.includes("/static/tz."), "no zone script once a zone is chosen");

  // A zone that does not exist is refused and changes nothing.
  const bad = await b.post("/settings/profile", { name: "Ada", timeZone: "Mars/Olympus_Mons" });
  assert.equal(bad.status, 422);
  assert.match(await bad.text(), /Choose a time zone from the list/);
  [, , text] = await shown();
  assert.match(text, / E[SD]T$/);
  const badTyped = await b.post("/settings/profile", {
    name: "Ada",
    timeZone: "",
    otherTimeZone: "Asia/Nowhere",
  });
  assert.equal(badTyped.status, 422);
  [, , text] = await shown();
  assert.match(text, / E[SD]T$/, "a refused zone changed nothing");

  // The list holds the common zones; any other is typed, wins over the list, and is then listed.
  assert.ok(!settings.includes('<option value="Asia/Kat'));
  const typed = await b.post("/settings/profile", {
    name: "Ada",
    timeZone: "Europe/Berlin",
    otherTimeZone: "Asia/Kathmandu",
  });
  assert.equal(typed.status, 303);
  [, , text] = await shown();
  assert.match(text, / GMT\+5:45$/);
  assert.match(await b.page("/settings"), /<option value="Asia\/Kath?mandu" selected/);
});

Deno.test("[rough edges] PATCH /api/auth/profile sets and clears the time zone, checked against the list", async () => {
  await using t = await testApp();
  const b = await signedIn(t);
  const patch = (body: unknown) =>
    b.get("/api/auth/profile", {}).then(() =>
      t.app.request("http://localhost:8000/api/auth/profile", {
        method: "PATCH",
        headers: {
          Origin: "http://localhost:8000",
          "Content-Type": "application/json",
          Cookie: `orion_session=${b.jar.get("orion_session")}`,
        },
        body: JSON.stringify(body),
      })
    );
  const set = await patch({ timeZone: "Europe/Berlin" });
  assert.equal(set.status, 200);
  const { user } = await set.json();
  assert.equal(user.timeZone, "Europe/Berlin");
  assert.equal(user.name, "Ada", "the name is left alone");
  const bad = await patch({ timeZone: "Europe/Nowhere" });
  assert.equal(bad.status, 422);
  assert.equal(
    (await bad.json()).error.details.fields.timeZone,
    "Choose a time zone from the list, such as Europe/Berlin or UTC.",
  );
  const nothing = await patch({});
  assert.equal(nothing.status, 422);
  const me = await t.deps.store.findOne<User>("users", {
    email: "ada@example.com",
  });
  assert.equal(me!.timeZone, "Europe/Berlin", "refused input changed nothing");
  const cleared = await patch({ timeZone: null });
  assert.equal((await cleared.json()).user.timeZone, null);
});

Deno.test("[rough edges] the audit log shows readable times with the full ISO time on hover", async () => {
  await using t = await testApp();
  const b = await signedIn(t, "root@example.com");
  const root = await t.deps.store.findOne<User>("users", { email: "root@example.com" });
  await t.deps.store.update("users", root!._id, { role: "ADMIN" });
  const page = await b.page("/admin/audit");
  const [, datetime, title, text] = page.match(
    /<time datetime="([^"]+)" title="([^"]+)">([^<]+)<\/time>/,
  )!;
  assert.equal(title, datetime);
  assert.match(title, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  assert.match(text, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/, "no T, no milliseconds");
});
