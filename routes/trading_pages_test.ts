/** The trading pages without JavaScript (forms, 303s, flashes) and with htmx (partials, HX-Redirect). */
import assert from "node:assert/strict";
import type { Order } from "../lib/trading/orders.ts";
import { testApp, testBrowser } from "./testing.ts";

const PASSWORD = "vivid-otter-planet-42";
const PAGES = [
  "/dashboard",
  "/trade",
  "/trade/AAPL",
  "/orders",
  "/positions",
  "/history",
  "/watchlist",
  "/alerts",
  "/accounts",
  "/performance",
];
type App = Awaited<ReturnType<typeof testApp>>;
const htmx = { "HX-Request": "true" };

const browser = testBrowser;

/** A new user, signed in; returns the browser and the user's id. */
async function signedIn(t: App, email = "ada@example.com") {
  const b = browser(t);
  await b.post("/sign-up", { name: "Ada", email, password: PASSWORD });
  const res = await b.post("/sign-in", { email, password: PASSWORD });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("Location"), "/dashboard", "signing in lands on the dashboard");
  const user = await t.deps.store.findOne<{ _id: string; _v: number }>("users", { email });
  return { b, userId: user!._id };
}

/** The ticket as the trade page renders it, with its one-time key, and the fields to post. */
async function ticket(
  b: ReturnType<typeof browser>,
  fields: Record<string, string>,
  symbol = "AAPL",
) {
  const html = await b.page(`/trade/${encodeURIComponent(symbol)}`);
  const idempotencyKey = html.match(/name="idempotencyKey" value="([^"]+)"/)![1];
  return { symbol, idempotencyKey, timeInForce: "day", type: "market", side: "buy", ...fields };
}

async function ordersOf(t: App, userId: string) {
  return (await t.deps.store.find<Order>("orders", { where: { userId }, limit: 100 })).items;
}

Deno.test("[trading pages] every page sends a signed-out visitor to sign in, and back", async () => {
  await using t = await testApp();
  const b = browser(t);
  for (const path of PAGES) {
    const res = await b.get(path);
    assert.equal(res.status, 303, path);
    assert.equal(res.headers.get("Location"), `/sign-in?next=${encodeURIComponent(path)}`);
  }
  const post = await b.post("/trade", { symbol: "AAPL", side: "buy", qty: "1" });
  assert.equal(post.status, 401, "a form post without a session places nothing");
});

Deno.test("[trading pages] each page renders for a signed-in user, uncached, with the nav", async () => {
  await using t = await testApp();
  const { b } = await signedIn(t);
  for (const path of PAGES) {
    const res = await b.get(path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get("Cache-Control"), "no-store", path);
    const html = await res.text();
    assert.match(html, /<nav aria-label="Main" class="app">/);
    assert.match(html, /<a href="\/watchlist"/);
    assert.ok(!/ style=| hx-on/.test(html), `${path}: no inline styles or hx-on handlers`);
  }
  const dashboard = await b.page("/dashboard");
  assert.match(dashboard, /Main <span class="muted">PA\d{8}<\/span>/);
  for (const text of ["Equity", "Buying power", "Held for orders", "Today&#39;s P&amp;L", "Cash"]) {
    assert.ok(dashboard.includes(text), text);
  }
  assert.match(dashboard, /<dd><span id="acct-equity">\$100,000\.00<\/span><\/dd>/);
  assert.match(dashboard, /Market open/, "MARKET_HOURS=always");
  assert.match(dashboard, /<h2 id="watchlist-h">My watchlist<\/h2>/);
  assert.match(dashboard, /href="\/trade\/BTC%2FUSD"/, "symbols with a slash are encoded");
  assert.match(dashboard, /<a href="\/dashboard" aria-current="page">/);

  const trade = await b.page("/trade?q=apple");
  assert.match(trade, /<form method="get" action="\/trade" role="search"/);
  assert.match(trade, /<a href="\/trade\/AAPL"><strong>AAPL<\/strong> Apple Inc\.<\/a>/);
  const aapl = await b.page("/trade/AAPL");
  assert.match(aapl, /<h2>Order ticket<\/h2>/);
  // The quote moves with the page's live stream, not a poll.
  assert.match(aapl, /<dl class="quote"><dt>Last<\/dt><dd><span id="t-last">/);
  assert.match(aapl, /hx-sse:connect="\/live\?page=trade&amp;symbol=AAPL&amp;v=\d+&amp;at=\d+"/);
  assert.match(aapl, /<dt>Prev close<\/dt>/);
  const btc = await b.page("/trade/BTC%2FUSD");
  assert.match(btc, /hx-sse:connect="\/live\?page=trade&amp;symbol=BTC%2FUSD&amp;/);
  assert.ok(!btc.includes('<option value="day"'), "crypto has no day orders");
  assert.match(await b.page("/trade/btc/usd"), /<h1>BTC\/USD/, "any common spelling opens it");

  const unknown = await b.get("/trade/NOPE");
  assert.equal(unknown.status, 404);
  assert.match(await unknown.text(), /There is no security with the symbol NOPE/);
});

Deno.test("[trading pages] a market order from the form: 303, a flash, and it shows everywhere", async () => {
  await using t = await testApp();
  const { b, userId } = await signedIn(t);
  const placed = await b.post("/trade", await ticket(b, { qty: "10" }));
  assert.equal(placed.status, 303);
  assert.equal(placed.headers.get("Location"), "/orders");

  const orders = await b.page("/orders?status=all");
  assert.match(
    orders,
    /<p class="flash flash-success" role="status">Order placed: BUY 10 AAPL \(filled at \$[\d,]+\.\d\d\)<\/p>/,
  );
  assert.match(orders, /<span class="status filled">filled<\/span>/);
  assert.ok(!(await b.page("/orders")).includes("flash"), "the flash shows once");

  const [order] = await ordersOf(t, userId);
  assert.equal(order.status, "filled");
  assert.equal(order.qty, "10");
  const positions = await b.page("/positions");
  assert.match(
    positions,
    /<th scope="row"><a href="\/trade\/AAPL">AAPL<\/a><\/th><td class="num" data-label="Qty">10<\/td>/,
  );
  assert.match(positions, /href="\/trade\/AAPL\?side=sell&amp;qty=10"/);
  assert.match(
    await b.page("/dashboard"),
    /<a href="\/trade\/AAPL">AAPL<\/a><\/th><td class="num" data-label="Qty">10</,
  );

  const sell = await b.page("/trade/AAPL?side=sell&qty=10");
  assert.match(sell, /name="side" value="sell" checked>/, "the Sell link prefills the ticket");
  assert.match(sell, /name="qty"[^>]* value="10"/);
  assert.match(sell, /Estimated proceeds <strong>\$[\d,.]+<\/strong>/);
  assert.match(sell, /You hold 10/);

  const history = await b.page("/history");
  assert.match(history, /<td data-label="Side">BUY<\/td><td class="num" data-label="Qty">10<\/td>/);
  assert.match(history, /Bought 10 AAPL at/);
  assert.match(history, /Demo account funding/);
});

Deno.test("[trading pages] the same ticket posted twice places one order", async () => {
  await using t = await testApp();
  const { b, userId } = await signedIn(t);
  const form = await ticket(b, { qty: "2" });
  assert.equal((await b.post("/trade", form)).status, 303);
  const again = await b.post("/trade", form, htmx);
  assert.equal(again.status, 200);
  assert.equal(again.headers.get("HX-Redirect"), "/orders", "with htmx, a redirect header");
  assert.equal((await ordersOf(t, userId)).length, 1, "one order for one ticket");

  const changed = await b.post("/trade", { ...form, qty: "3" });
  assert.equal(changed.status, 422, "the key belongs to the first order");
  const html = await changed.text();
  assert.match(html, /This ticket already placed an order/);
  assert.ok(!html.includes(form.idempotencyKey), "a fresh key to place another");
  assert.equal((await ordersOf(t, userId)).length, 1);

  assert.equal((await b.post("/trade", await ticket(b, { qty: "3" }))).status, 303);
  assert.equal((await ordersOf(t, userId)).length, 2, "a new ticket places a new order");
});

Deno.test("[trading pages] a failed order shows the ticket again with the error and the values", async () => {
  await using t = await testApp();
  const { b, userId } = await signedIn(t);
  const form = await ticket(b, {
    type: "limit",
    limitPrice: "1000",
    qty: "500",
    timeInForce: "gtc",
  });
  const poor = await b.post("/trade", form);
  assert.equal(poor.status, 422);
  const html = await poor.text();
  assert.match(html, /<html/, "the whole page without htmx");
  assert.match(
    html,
    /<p class="form-error" role="alert">This order needs \$[\d,.]+ and your buying power is \$100,000\.00\.<\/p>/,
  );
  assert.match(
    html,
    /<small id="t-qty-error" class="error">More than your buying power covers\.<\/small>/,
  );
  assert.match(html, /name="qty"[^>]* value="500"/);
  assert.match(html, /name="limitPrice"[^>]* value="1000"/);
  assert.match(html, /<option value="limit" selected>/);
  assert.match(html, /<option value="gtc" selected>/);
  assert.ok(html.includes(`value="${form.idempotencyKey}"`), "nothing was placed: the key stays");

  const partial = await b.post("/trade", { ...form, qty: "x" }, htmx);
  assert.equal(partial.status, 422);
  const text = await partial.text();
  assert.match(text, /^<form id="ticket"/, "just the ticket, swapped in place");
  assert.match(text, /class="field invalid"><label for="t-qty">/);
  assert.match(text, /Quantity must be a decimal number/);

  const unknown = await b.post("/trade", { ...form, symbol: "NOPE" });
  assert.equal(unknown.status, 422);
  assert.match(await unknown.text(), /There is no security with the symbol NOPE/);
  assert.equal((await ordersOf(t, userId)).length, 0);
});

Deno.test("[trading pages] preview: a review without JavaScript, a small partial with htmx", async () => {
  await using t = await testApp();
  const { b, userId } = await signedIn(t);
  const form = await ticket(b, { type: "limit", limitPrice: "2.50", qty: "4", intent: "preview" });
  const preview = await b.post("/trade", form);
  assert.equal(preview.status, 200);
  const html = await preview.text();
  assert.match(html, /<h2>Review your order<\/h2>/, "the old preview button now reviews");
  assert.match(html, /<dt>Estimated cost<\/dt><dd class="review-total">\$10\.00<\/dd>/);
  assert.match(html, /\(now \$100,000\.00\)/);
  assert.ok(html.includes(`value="${form.idempotencyKey}"`), "the same ticket, the same key");
  assert.equal((await ordersOf(t, userId)).length, 0, "a preview places nothing");

  const partial = await b.post("/trade/preview", { ...form, intent: "" }, htmx);
  assert.equal(partial.status, 200);
  const estimate = await partial.text();
  assert.match(estimate, /^Estimated cost <strong>\$10\.00<\/strong>/);
  assert.ok(estimate.length < 300, `${estimate.length} bytes`);
  const empty = await b.post("/trade/preview", { ...form, qty: "" }, htmx);
  assert.match(await empty.text(), /Enter a quantity/);
  const wrong = await b.post("/trade/preview", { ...form, limitPrice: "" }, htmx);
  assert.equal(wrong.status, 200, "a preview of an incomplete ticket says what is missing");
  assert.match(await wrong.text(), /A limit order needs a limit price/);
  const tooMuch = await b.post("/trade/preview", { ...form, limitPrice: "300", qty: "400" }, htmx);
  assert.match(await tooMuch.text(), /more than your buying power/);
});

/** The fields a review form posts back (its hidden inputs), as "Place order" or "Edit" sends them. */
function reviewFields(html: string): Record<string, string> {
  const form = html.slice(html.indexOf('<form id="ticket"'));
  const fields: Record<string, string> = {};
  for (
    const [, name, value] of form.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)
  ) {
    fields[name] = value;
  }
  return fields;
}

Deno.test("[trading pages] review: the exact estimate rounded against the customer, the commission and the buying power after", async () => {
  await using t = await testApp({ COMMISSION_PER_ORDER: "1.25" });
  const { b, userId } = await signedIn(t);
  // 0.00123457 × $1,000.01 = $1.2345823457: a buy costs $1.24 (rounded up) plus $1.25 commission.
  const buy = await ticket(b, {
    type: "limit",
    limitPrice: "1000.01",
    qty: "0.00123457",
    timeInForce: "gtc",
    intent: "review",
  }, "BTC/USD");
  const review = await b.post("/trade", buy);
  assert.equal(review.status, 200);
  const html = await review.text();
  assert.match(html, /<html/, "a page of its own without JavaScript");
  assert.match(
    html,
    /<strong class="up">Buy<\/strong> 0\.00123457 BTC\/USD · Limit · Until cancelled/,
  );
  assert.match(html, /<dt>Value \(rounded up to the cent\)<\/dt><dd>\$1\.24<\/dd>/);
  assert.match(html, /<dt>Commission<\/dt><dd>\$1\.25<\/dd>/);
  assert.match(html, /<dt>Estimated cost<\/dt><dd class="review-total">\$2\.49<\/dd>/);
  assert.match(html, /<dt>Buying power after<\/dt><dd>\$99,997\.51 /);
  assert.match(html, /value="place"[^>]*>\s*Place order/);
  assert.match(html, /value="edit"[^>]*>\s*Edit/);
  assert.equal(reviewFields(html).idempotencyKey, buy.idempotencyKey, "the ticket's one-time key");

  // 0.00001234 × $200,000.01 = $2.4680001234: a sell brings $2.46 (rounded down) less commission.
  const sell = await ticket(b, {
    side: "sell",
    type: "limit",
    limitPrice: "200000.01",
    qty: "0.00001234",
    timeInForce: "gtc",
    intent: "review",
  }, "BTC/USD");
  const partial = await b.post("/trade", sell, htmx);
  assert.equal(partial.status, 200);
  const text = await partial.text();
  assert.match(text, /^<form id="ticket" class="card ticket review side-sell"/, "swapped in place");
  assert.match(text, /<dt>Value \(rounded down to the cent\)<\/dt><dd>\$2\.46<\/dd>/);
  assert.match(text, /<dt>Estimated proceeds<\/dt><dd class="review-total">\$1\.21<\/dd>/);
  assert.match(text, /<dt>Buying power after<\/dt><dd>\$100,001\.21 /);
  assert.match(text, /You hold 0\./, "selling more than is held is said before placing");
  assert.equal((await ordersOf(t, userId)).length, 0, "a review places nothing");
});

Deno.test("[trading pages] review, then place: the review posted twice at once places one order", async () => {
  await using t = await testApp();
  const { b, userId } = await signedIn(t);
  const review = await b.post("/trade", await ticket(b, { qty: "2", intent: "review" }));
  const fields: Record<string, string> = { ...reviewFields(await review.text()), intent: "place" };
  assert.equal(fields.qty, "2");
  const answers = await Promise.all([
    b.post("/trade", fields),
    b.post("/trade", fields, htmx),
    b.post("/trade", fields),
  ]);
  assert.deepEqual(answers.map((r) => r.status), [303, 200, 303], "each answered as placed");
  assert.equal(answers[1].headers.get("HX-Redirect"), "/orders");
  const orders = await ordersOf(t, userId);
  assert.equal(orders.length, 1, "one order for one reviewed ticket");
  assert.equal(orders[0].qty, "2");
});

Deno.test("[trading pages] without JavaScript: ticket, review, edit, review, place; unused prices ignored", async () => {
  await using t = await testApp();
  const { b, userId } = await signedIn(t);
  const page = await b.page("/trade/AAPL");
  assert.match(
    page,
    /<p class="hint all-fields-note">Prices the order type does not use are ignored/,
  );
  assert.match(
    page,
    /<dt>Your position<\/dt><dd><span id="t-holding">You don&#39;t own any<\/span>/,
  );
  assert.match(page, /<dt>Buying power<\/dt><dd><span id="t-bp">\$100,000\.00<\/span>/);
  assert.match(
    page,
    /<dd><span id="t-ticket-last">\$[\d,]+\.\d\d<\/span><\/dd>/,
    "the last price on the ticket",
  );
  assert.match(page, /name="side" value="buy" checked>/, "buy is chosen by default");

  // Every field shows without JavaScript, so a limit price left in a market order is ignored.
  const form = await ticket(b, { qty: "3", limitPrice: "1.00", stopPrice: "2", intent: "review" });
  const first = await b.post("/trade", form);
  assert.equal(first.status, 200);
  const firstHtml = await first.text();
  assert.match(firstHtml, /<strong class="up">Buy<\/strong> 3 AAPL · Market · Day/);
  assert.doesNotMatch(firstHtml, /Limit price/, "the unused limit price is dropped");

  // Edit goes back to the ticket with the values and the same key; change the quantity.
  const edit = await b.post("/trade", { ...reviewFields(firstHtml), intent: "edit" });
  assert.equal(edit.status, 200);
  const editHtml = await edit.text();
  assert.match(editHtml, /<h2>Order ticket<\/h2>/);
  assert.match(editHtml, /name="qty"[^>]* value="3"/);
  assert.ok(editHtml.includes(`value="${form.idempotencyKey}"`), "still the same ticket");

  const second = await b.post("/trade", { ...form, qty: "5" });
  const fields = reviewFields(await second.text());
  assert.equal(fields.qty, "5");
  assert.equal(fields.limitPrice, undefined);
  const placed = await b.post("/trade", { ...fields, intent: "place" });
  assert.equal(placed.status, 303);
  assert.equal(placed.headers.get("Location"), "/orders");
  assert.match(await b.page("/orders?status=all"), /Order placed: BUY 5 AAPL \(filled at/);
  const orders = await ordersOf(t, userId);
  assert.equal(orders.length, 1);
  assert.equal(orders[0].qty, "5");
  assert.equal(orders[0].limitPrice, null);

  const after = await b.page("/trade/AAPL");
  assert.match(
    after,
    /<dt>Your position<\/dt><dd><span id="t-holding">5 AAPL · \$[\d,]+\.\d\d<\/span>/,
  );
});

Deno.test("[trading pages] review of a bad ticket: the errors on the ticket, the values and the key kept", async () => {
  await using t = await testApp();
  const { b, userId } = await signedIn(t);
  const form = await ticket(b, {
    side: "sell",
    type: "stop_limit",
    qty: "2",
    limitPrice: "abc",
    stopPrice: "",
    timeInForce: "gtc",
    intent: "review",
  });
  const bad = await b.post("/trade", form);
  assert.equal(bad.status, 422);
  const html = await bad.text();
  assert.match(html, /<h2>Order ticket<\/h2>/, "the ticket, not a review");
  assert.doesNotMatch(html, /Review your order/);
  assert.match(
    html,
    /<small id="t-limit-error" class="error">Limit price must be a decimal number/,
  );
  assert.match(html, /name="side" value="sell" checked>/);
  assert.match(html, /<option value="stop_limit" selected>/);
  assert.match(html, /<option value="gtc" selected>/);
  assert.match(html, /name="qty"[^>]* value="2"/);
  assert.match(html, /name="limitPrice"[^>]* value="abc"/);
  assert.ok(html.includes(`value="${form.idempotencyKey}"`), "nothing was placed: the key stays");

  const missing = await b.post("/trade", { ...form, limitPrice: "250" }, htmx);
  assert.equal(missing.status, 422);
  const text = await missing.text();
  assert.match(text, /^<form id="ticket" class="card ticket"/);
  assert.match(text, /A stop-limit order needs a stop price/);
  assert.match(text, /name="limitPrice"[^>]* value="250"/);
  assert.equal((await ordersOf(t, userId)).length, 0);
});

Deno.test("[trading pages] htmx: the search answers a small partial", async () => {
  await using t = await testApp();
  const { b } = await signedIn(t);
  const search = await b.get("/trade?q=a", htmx);
  assert.equal(search.status, 200);
  assert.ok(search.headers.get("Vary")?.includes("HX-Request"));
  const results = await search.text();
  assert.match(results, /^<div id="search-results" aria-live="polite"><ul class="results">/);
  assert.ok(!results.includes("<html"));
  assert.equal(results.match(/<li>/g)?.length, 10);
  assert.ok(results.length < 2048, `search partial: ${results.length} bytes`);
  assert.match(await (await b.get("/trade?q=zzzz", htmx)).text(), /Nothing matches “zzzz”/);
});

Deno.test("[trading pages] orders: cancel, change, cancel all, paging, and nobody else's", async () => {
  await using t = await testApp();
  const { b, userId } = await signedIn(t);
  const rest = { type: "limit", limitPrice: "1.00", qty: "5", timeInForce: "gtc" };
  assert.equal((await b.post("/trade", await ticket(b, rest))).status, 303);
  const [order] = await ordersOf(t, userId);
  assert.equal(order.status, "new");
  const open = await b.page("/orders");
  assert.match(open, /Order placed: BUY 5 AAPL limit \$1\.00 \(accepted, working\)/);
  assert.match(open, /<a href="\/orders\?status=open" aria-current="page">Open<\/a>/);
  assert.match(open, /<span class="status new">new<\/span>/);
  assert.ok(open.includes(`action="/orders/${order._id}/cancel"`));
  assert.match(open, /Cancel all open orders/);

  const changed = await b.post(`/orders/${order._id}/replace`, {
    qty: "6",
    limitPrice: "",
    next: "/orders",
  });
  assert.equal(changed.status, 303);
  assert.match(await b.page("/orders"), /Order changed: BUY 6 AAPL limit \$1\.00\./);
  const badChange = await b.post(`/orders/${order._id}/replace`, { qty: "0", next: "/orders" });
  assert.equal(badChange.status, 422);
  const badHtml = await badChange.text();
  assert.match(badHtml, /<details open>/, "the change form stays open");
  assert.match(badHtml, /Quantity must be greater than zero/);
  const badPartial = await b.post(`/orders/${order._id}/replace`, { qty: "0.5" }, htmx);
  assert.equal(badPartial.status, 422);
  assert.match(await badPartial.text(), new RegExp(`^<form id="replace-${order._id}"`));

  const dashboard = await b.page("/dashboard");
  assert.match(dashboard, /<h2 id="orders-h">Open orders<\/h2>/);
  assert.ok(dashboard.includes(`<input type="hidden" name="next" value="/dashboard">`));
  assert.match(dashboard, /<dt>Held for orders<\/dt><dd><span id="acct-held">\$6\.00<\/span>/);

  const cancelled = await b.post(`/orders/${order._id}/cancel`, { next: "/orders?status=open" });
  assert.equal(cancelled.status, 303);
  assert.equal(cancelled.headers.get("Location"), "/orders?status=open");
  assert.match(await b.page("/orders"), /Order cancelled: BUY 6 AAPL limit \$1\.00\./);
  const closed = await b.page("/orders?status=closed");
  assert.match(closed, /<span class="status cancelled">cancelled<\/span>/);
  assert.ok(!closed.includes(`/orders/${order._id}/cancel`), "no cancel on a closed order");

  const twice = await b.post(`/orders/${order._id}/cancel`, { next: "/orders" });
  assert.equal(twice.status, 303);
  assert.match(
    await b.page("/orders"),
    /<p class="flash flash-error" role="status">This order is cancelled and can no longer be cancelled\.<\/p>/,
  );
  const offsite = await b.post(`/orders/${order._id}/cancel`, { next: "//evil.example" });
  assert.equal(offsite.headers.get("Location"), "/orders", "only local paths to go back to");

  for (let n = 0; n < 2; n++) {
    assert.equal((await b.post("/trade", await ticket(b, rest))).status, 303);
  }
  const all = await b.post("/orders/cancel-all", { next: "/orders" });
  assert.equal(all.status, 303);
  assert.match(await b.page("/orders"), /Cancelled 2 open orders\./);
  assert.equal((await ordersOf(t, userId)).filter((o) => o.open).length, 0);

  const other = await signedIn(t, "grace@example.com");
  assert.equal((await other.b.post("/trade", await ticket(other.b, rest))).status, 303);
  const [theirs] = await ordersOf(t, other.userId);
  const stranger = await b.post(`/orders/${theirs._id}/cancel`, { next: "/orders" });
  assert.equal(stranger.status, 404);
  assert.match(await stranger.text(), /No such order/);
  assert.equal((await b.post(`/orders/${theirs._id}/replace`, { qty: "1" })).status, 404);
  assert.equal((await ordersOf(t, other.userId))[0].status, "new", "their order is untouched");

  const bad = await b.get("/orders?status=nope");
  assert.equal(bad.status, 422);
});

Deno.test("[trading pages] orders and history page by cursor, 25 at a time", async () => {
  // 26 orders in a row, faster than the per-account limit allows; the limit has tests of its own.
  await using t = await testApp({ ORDERS_PER_SECOND: "1000" });
  const { b } = await signedIn(t);
  for (let n = 0; n < 26; n++) {
    assert.equal((await b.post("/trade", await ticket(b, { qty: "1" }, "F"))).status, 303);
  }
  const first = await b.page("/orders?status=all");
  assert.equal(first.match(/<span class="status filled">/g)?.length, 25);
  const older = first.match(/<a href="(\/orders\?status=all&amp;cursor=[^"]+)">Older<\/a>/)![1];
  const second = await b.page(older.replaceAll("&amp;", "&"));
  assert.equal(second.match(/<span class="status filled">/g)?.length, 1);
  assert.match(second, /<a href="\/orders\?status=all">Newest<\/a>/);
  assert.ok(!second.includes(">Older<"));

  const history = await b.page("/history");
  assert.equal(history.match(/<td data-label="Side">BUY<\/td>/g)?.length, 25);
  const olderFills = history.match(/<a href="(\/history\?tradesCursor=[^"]+)">Older<\/a>/)![1];
  const olderCash = history.match(/<a href="(\/history\?cashCursor=[^"]+)">Older<\/a>/)![1];
  const fills2 = await b.page(olderFills.replaceAll("&amp;", "&"));
  assert.equal(fills2.match(/<td data-label="Side">BUY<\/td>/g)?.length, 1);
  const cash2 = await b.page(olderCash.replaceAll("&amp;", "&"));
  assert.match(cash2, /Demo account funding/, "the deposit is the oldest cash entry");
  assert.equal((await b.get("/history?tradesCursor=garbage")).status, 400);
});

Deno.test("[trading pages] watchlists: add, remove, unknown symbols, create, rename, delete", async () => {
  await using t = await testApp();
  const { b, userId } = await signedIn(t);
  const page = await b.page("/watchlist");
  assert.match(page, /<h2 id="wl0-h">My watchlist<\/h2>/);
  const listId = `${userId}:default`;
  const base = `/watchlist/${encodeURIComponent(listId)}`;
  assert.ok(page.includes(`action="${base}/symbols"`));

  const added = await b.post(`${base}/symbols`, { symbol: "tsla" });
  assert.equal(added.status, 303);
  const after = await b.page("/watchlist");
  assert.match(after, /Added TSLA to “My watchlist”\./);
  assert.match(after, /<a href="\/trade\/TSLA">TSLA<\/a>/);

  const unknown = await b.post(`${base}/symbols`, { symbol: "NOPE" });
  assert.equal(unknown.status, 422);
  const html = await unknown.text();
  assert.match(html, /There is no security with the symbol NOPE\./);
  assert.match(html, /<small id="wl0-symbol-error" class="error">Unknown symbol\.<\/small>/);
  assert.match(html, /id="wl0-symbol" name="symbol"[^>]*value="NOPE"/);
  const partial = await b.post(`${base}/symbols`, { symbol: "NOPE" }, htmx);
  assert.match(await partial.text(), /^<form id="add-0"/);

  const removed = await b.post(`${base}/symbols/remove`, { symbol: "BTC/USD" });
  assert.equal(removed.status, 303);
  const without = await b.page("/watchlist");
  assert.match(without, /Removed BTC\/USD from “My watchlist”\./);
  assert.ok(!without.includes('href="/trade/BTC%2FUSD"'));

  assert.equal((await b.post("/watchlist", { name: "  " })).status, 422);
  assert.equal((await b.post("/watchlist", { name: "Crypto" })).status, 303);
  const two = await b.page("/watchlist");
  assert.match(two, /<h2 id="wl1-h">Crypto<\/h2>/);
  const cryptoId = two.match(/action="\/watchlist\/([^/"]+)\/rename"/g)![1].split("/")[2];
  assert.equal((await b.post(`/watchlist/${cryptoId}/rename`, { name: "Coins" })).status, 303);
  assert.match(await b.page("/watchlist"), /<h2 id="wl1-h">Coins<\/h2>/);
  assert.equal((await b.post(`/watchlist/${cryptoId}/delete`, {})).status, 303);
  const one = await b.page("/watchlist");
  assert.match(one, /The watchlist is deleted\./);
  assert.ok(!one.includes("Coins"));

  const other = await signedIn(t, "grace@example.com");
  assert.equal((await other.b.post(`${base}/symbols`, { symbol: "IBM" })).status, 404);
  assert.equal((await other.b.post(`${base}/delete`, {})).status, 404);
});

Deno.test("[trading pages] reset the demo account: a link in settings, then the account number typed back", async () => {
  await using t = await testApp();
  const { b, userId } = await signedIn(t);
  assert.equal(
    (await b.post(
      "/trade",
      await ticket(b, { type: "limit", limitPrice: "1.00", qty: "5", timeInForce: "gtc" }),
    ))
      .status,
    303,
  );
  const dashboard = await b.page("/dashboard");
  const before = dashboard.match(/PA\d{8}/)![0];
  assert.ok(!dashboard.includes("/reset"), "no reset button or link on the dashboard");
  assert.match(
    await b.page("/settings"),
    /<h2 id="demo-h">Demo accounts<\/h2>[\s\S]*<a href="\/accounts">Manage accounts<\/a>/,
  );
  const { accounts: [account] } = await (await b.get("/api/accounts")).json();
  const action = `/accounts/${encodeURIComponent(account.id)}/reset`;
  assert.ok((await b.page("/accounts")).includes(`href="${action}"`), "the accounts page links it");
  const old = await b.get("/dashboard/reset");
  assert.equal(old.status, 303, "the old address still finds it");
  assert.equal(old.headers.get("Location"), action);
  const page = await b.page(action);
  assert.match(page, new RegExp(`Type the account number, ${before}, to confirm`));
  assert.match(
    page,
    new RegExp(`<form id="account-action-form"[^>]* method="post" action="${action}"`),
  );
  assert.match(page, /<input id="f-confirm" name="confirm" required="" type="text"/);

  const ordersBefore = JSON.stringify(await ordersOf(t, userId));
  // What used to be enough (one POST, the old checkbox's value), a wrong number, another form's
  // typing: each shows the form again with the reason beside the field, and nothing changes.
  const bodies: Record<string, string>[] = [
    {},
    { confirm: "yes" },
    { confirm: "PA00000000" },
    { confirm: " " },
  ];
  for (const body of bodies) {
    const refused = await b.post(action, body);
    assert.equal(refused.status, 422, JSON.stringify(body));
    const html = await refused.text();
    assert.match(html, /<h1>Reset demo account<\/h1>/, "the whole page without JavaScript");
    assert.match(
      html,
      /<small id="f-confirm-error" class="error">.*to confirm the reset\.<\/small>/,
    );
  }
  const partial = await b.post(action, { confirm: "yes" }, htmx);
  assert.equal(partial.status, 422);
  const form = await partial.text();
  assert.match(form, /^<form id="account-action-form"/, "just the form for htmx");
  assert.match(form, new RegExp(`That is not this account&#39;s number\\. Type ${before}`));
  assert.equal(JSON.stringify(await ordersOf(t, userId)), ordersBefore, "the order still works");
  assert.match(await b.page("/dashboard"), new RegExp(`<span class="muted">${before}</span>`));

  // Typed back, in any case: the account closes and a new one opens.
  const reset = await b.post(action, { confirm: ` ${before.toLowerCase()} ` });
  assert.equal(reset.status, 303);
  assert.equal(reset.headers.get("Location"), "/dashboard");
  const after = await b.page("/dashboard");
  const fresh = after.match(/Your new account number is (PA\d{8})\./)![1];
  assert.notEqual(fresh, before);
  assert.match(after, new RegExp(`Main <span class="muted">${fresh}</span>`));
  assert.match(after, /No open orders\./);
  assert.equal((await ordersOf(t, userId))[0].status, "cancelled");
  const refusals = (await t.deps.store.find<{ _id: string; _v: number; outcome: string }>(
    "audit_logs",
    { where: { action: "account.reset" }, limit: 20 },
  )).items;
  assert.equal(refusals.filter((e) => e.outcome === "failure").length, 5, "refusals are audited");
  assert.equal(refusals.filter((e) => e.outcome === "success").length, 1);
});

Deno.test("[trading pages] an order larger than the quote's size fills in part; the rest can be cancelled, not changed", async () => {
  await using t = await testApp({ DEMO_STARTING_CASH: "2000000" });
  const { b, userId } = await signedIn(t);
  // $500,000 of MSFT is more than any quote shows ($400,000 at most), and within the order limit.
  const msft = (await (await b.get("/api/quotes?symbols=MSFT")).json()).quotes[0];
  const qty = String(Math.ceil(500_000 / Number(msft.ask)));
  assert.equal((await b.post("/trade", await ticket(b, { qty }, "MSFT"))).status, 303);
  const [order] = await ordersOf(t, userId);
  assert.equal(order.status, "partially_filled");
  const open = await b.page("/orders");
  assert.match(
    open,
    new RegExp(
      `Order placed: BUY ${
        Number(qty).toLocaleString("en-US")
      } MSFT \\([\\d,]+ filled at \\$[\\d,.]+; the quote showed no more, so the rest is working\\)`,
    ),
  );
  assert.match(open, /<span class="status partially_filled">partially filled<\/span>/);
  assert.ok(open.includes(`action="/orders/${order._id}/cancel"`), "it can be cancelled");
  assert.ok(!open.includes(`action="/orders/${order._id}/replace"`), "it cannot be changed");

  assert.equal((await b.post(`/orders/${order._id}/cancel`, { next: "/orders" })).status, 303);
  const ended = (await t.deps.store.get<Order>("orders", order._id))!;
  assert.equal(ended.status, "cancelled");
  assert.equal(ended.filledQty, order.filledQty, "what filled stays filled");
  assert.equal(ended.holdAmount, "0.00");
  const positions = await b.page("/positions");
  assert.match(positions, new RegExp(`>${Number(order.filledQty).toLocaleString("en-US")}<`));
});

Deno.test("[trading pages] a dollar amount on the ticket: the review shows the shares it buys, placing keeps the amount", async () => {
  await using t = await testApp();
  const { b, userId } = await signedIn(t);
  const html = await b.page("/trade/AAPL");
  assert.match(
    html,
    /<div class="field for-market"><label for="t-notional">Or amount \(\$\)<\/label>/,
  );
  const review = await b.post(
    "/trade",
    await ticket(b, { qty: "", notional: "150", intent: "review" }),
  );
  assert.equal(review.status, 200);
  const text = await review.text();
  assert.match(text, /Buy<\/strong> 0\.\d+ AAPL/, "the review names the fraction the amount buys");
  const fields: Record<string, string> = { ...reviewFields(text), intent: "place" };
  assert.equal(fields.notional, "150");
  assert.equal((await b.post("/trade", fields)).status, 303);
  const [order] = await ordersOf(t, userId);
  assert.equal(order.notional, "150.00");
  assert.equal(order.status, "filled");
  // Both a quantity and an amount: the ticket comes back saying to pick one.
  const both = await b.post(
    "/trade",
    await ticket(b, { qty: "1", notional: "150", intent: "review" }),
  );
  assert.equal(both.status, 422);
  assert.match(await both.text(), /Send qty or notional, not both/);
  // Neither: the quantity field says what is missing.
  const neither = await b.post("/trade", await ticket(b, { qty: "", intent: "review" }));
  assert.equal(neither.status, 422);
  assert.match(
    await neither.text(),
    /Enter a quantity \(or, for a market order, a dollar amount\)/,
  );
});
