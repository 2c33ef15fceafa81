/** The HTTP baseline, driven through app.request: headers, origin checks, limits, errors, assets, health. */
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { setFlash } from "./middleware/flash.ts";
import { testApi, testApp } from "./testing.ts";

Deno.test("[http] pages carry a strict CSP with a fresh nonce and the other security headers", async () => {
  await using t = await testApp();
  const first = await t.app.request("/");
  const second = await t.app.request("/");
  const csp = first.headers.get("Content-Security-Policy")!;
  for (const directive of ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]) {
    assert.ok(csp.includes(directive), directive);
  }
  const nonce = csp.match(/'nonce-([^']+)'/)?.[1];
  assert.ok(nonce, "script-src has a nonce");
  assert.notEqual(
    nonce,
    second.headers.get("Content-Security-Policy")!.match(/'nonce-([^']+)'/)?.[1],
  );
  assert.ok((await first.text()).includes(`nonce="${nonce}"`), "the script tag carries the nonce");
  assert.equal(first.headers.get("X-Content-Type-Options"), "nosniff");
  assert.equal(first.headers.get("Referrer-Policy"), "strict-origin-when-cross-origin");
  assert.equal(first.headers.get("X-Frame-Options"), "DENY");
  assert.equal(
    first.headers.get("Strict-Transport-Security"),
    null,
    "no HSTS over plain http in development",
  );
  assert.ok(first.headers.get("Vary")?.includes("HX-Request"));
});

Deno.test("[http] production sends HSTS for at least a year", async () => {
  await using t = await testApp({
    NODE_ENV: "production",
    APP_URL: "https://broker.example.com",
    AUTH_SECRET: "x".repeat(16) + "y".repeat(16) + "0123456789abcdef",
    RESEND_API_KEY: "re_test",
  });
  const res = await t.app.request("https://broker.example.com/api/health");
  const maxAge = Number(res.headers.get("Strict-Transport-Security")?.match(/max-age=(\d+)/)?.[1]);
  assert.ok(maxAge >= 31536000, `max-age ${maxAge}`);
});

Deno.test("[http] unsafe requests from another origin get 403, forms and JSON alike", async () => {
  await using t = await testApp();
  const attempts: RequestInit[] = [
    {
      method: "POST",
      headers: { Origin: "https://evil.test", "Content-Type": "application/x-www-form-urlencoded" },
      body: "a=1",
    },
    {
      method: "POST",
      headers: { Origin: "https://evil.test", "Content-Type": "application/json" },
      body: "{}",
    },
    { method: "DELETE", headers: { "Sec-Fetch-Site": "cross-site" } },
    { method: "PUT", headers: { Origin: "null", "Content-Type": "application/json" }, body: "{}" },
    {
      method: "PATCH",
      headers: { "Sec-Fetch-Site": "same-site", Origin: "https://sub.localhost" },
    },
  ];
  for (const init of attempts) {
    const res = await t.app.request("http://localhost:8000/api/health", init);
    assert.equal(res.status, 403, JSON.stringify(init.headers));
    assert.equal((await res.json()).error.code, "cross_origin_request");
  }
  const html = await t.app.request("http://localhost:8000/anything", attempts[0]);
  assert.equal(html.status, 403);
  assert.match(await html.text(), /Cross-origin requests are not allowed/);
});

Deno.test("[http] unsafe requests from our own origin, or from no browser, pass the origin check", async () => {
  await using t = await testApp();
  const cases: Record<string, string>[] = [
    { Origin: "http://localhost:8000", "Sec-Fetch-Site": "same-origin" },
    {},
  ];
  for (const headers of cases) {
    const res = await t.app.request("http://localhost:8000/api/nothing-here", {
      method: "POST",
      headers,
    });
    assert.equal(res.status, 404);
  }
});

Deno.test("[http] a body over the limit gets 413 and never reaches a handler", async () => {
  await using t = await testApp({ BODY_LIMIT_BYTES: "1024" });
  const res = await t.app.request("/api/health", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ pad: "x".repeat(5000) }),
  });
  assert.equal(res.status, 413);
  const body = await res.json();
  assert.equal(body.error.code, "payload_too_large");
});

Deno.test("[http] unknown paths get a real 404: an HTML page, or JSON under /api", async () => {
  await using t = await testApp();
  const page = await t.app.request("/no/such/page");
  assert.equal(page.status, 404);
  assert.match(page.headers.get("Content-Type")!, /text\/html/);
  const html = await page.text();
  assert.match(html, /<h1>Page not found<\/h1>/);
  assert.match(html, /<header class="site">/, "the error page uses the site layout");
  const api = await t.app.request("/api/no/such/thing");
  assert.equal(api.status, 404);
  assert.deepEqual(await api.json(), {
    error: { code: "not_found", message: "There is nothing at this address." },
  });
});

Deno.test("[http] an unexpected error is a 500 with no stack, no internals, and a log line", async () => {
  await using t = await testApp();
  t.app.get("/api/boom", () => {
    throw new Error("db password hunter2 at line 42");
  });
  t.app.get("/boom", () => {
    throw new Error("db password hunter2 at line 42");
  });
  const api = await t.app.request("/api/boom");
  assert.equal(api.status, 500);
  const text = await api.text();
  assert.equal(JSON.parse(text).error.code, "internal_error");
  assert.ok(!text.includes("hunter2") && !text.includes("at "), text);
  const page = await t.app.request("/boom");
  assert.equal(page.status, 500);
  assert.ok(!(await page.text()).includes("hunter2"));
  assert.ok(t.logLines.some((l) => JSON.parse(l).msg === "unhandled error"));
});

Deno.test("[http] every request gets an id and one log line without its query string", async () => {
  await using t = await testApp();
  const res = await t.app.request("/api/health?token=abc123");
  const id = res.headers.get("X-Request-Id");
  assert.ok(id);
  const lines = t.logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === "request");
  assert.equal(lines.length, 1);
  const line = lines[0];
  assert.equal(line.requestId, id);
  assert.equal(line.method, "GET");
  assert.equal(line.path, "/api/health");
  assert.equal(line.status, 200);
  assert.equal(typeof line.durationMs, "number");
  assert.ok(!t.logLines.join("\n").includes("abc123"), "no query string in the log");
});

Deno.test("[http] htmx comes from our origin under a content-hashed URL, cached for a year", async () => {
  await using t = await testApp();
  const html = await (await t.app.request("/")).text();
  const src = html.match(/<script src="(\/static\/htmx\.[0-9a-f]{12}\.js)"/)?.[1];
  assert.ok(src, "the page loads htmx from /static with a hash");
  const plain = await t.app.request(src);
  assert.equal(plain.status, 200);
  assert.match(plain.headers.get("Content-Type")!, /text\/javascript/);
  assert.equal(plain.headers.get("Cache-Control"), "public, max-age=31536000, immutable");
  const source = await plain.text();
  assert.match(source, /4\.0\.\d/, "it is htmx 4");
  const br = await t.app.request(src, { headers: { "Accept-Encoding": "gzip, deflate, br" } });
  assert.equal(br.headers.get("Content-Encoding"), "br");
  assert.ok((await br.arrayBuffer()).byteLength < source.length / 2, "compressed");
  const css = html.match(/href="(\/static\/app\.[0-9a-f]{12}\.css)"/)?.[1];
  assert.equal((await t.app.request(css!)).status, 200);

  // An asset carries the headers that apply to it, not a page's: no nonce CSP, no framing rule,
  // and no session work even when a signed-in browser sends its cookie along.
  const { cookie } = await testApi(t).trader("assets@example.com");
  const asset = await t.app.request(src, { headers: { Cookie: cookie } });
  assert.equal(asset.headers.get("X-Content-Type-Options"), "nosniff");
  assert.equal(asset.headers.get("Cross-Origin-Resource-Policy"), "same-origin");
  for (const header of ["Content-Security-Policy", "X-Frame-Options", "Set-Cookie"]) {
    assert.equal(asset.headers.get(header), null, header);
  }
  const icon = html.match(/href="(\/static\/icon\.[0-9a-f]{12}\.svg)"/)?.[1];
  assert.equal(
    (await t.app.request(icon!)).headers.get("Content-Security-Policy"),
    "default-src 'none'",
    "an SVG opened on its own runs nothing",
  );
  assert.equal(
    (await t.app.request("/static/htmx.000000000000.js")).status,
    404,
    "a stale hash is not served",
  );
});

Deno.test("[http] pages are compressed with Brotli or gzip, small JSON is not", async () => {
  await using t = await testApp();
  // Each response has its own nonce; the rest must be the same page.
  const page = (html: string) => html.replace(/nonce="[^"]+"/g, "");
  const plain = page(await (await t.app.request("/")).text());
  const gzip = await t.app.request("/", { headers: { "Accept-Encoding": "gzip" } });
  assert.equal(gzip.headers.get("Content-Encoding"), "gzip");
  assert.ok(gzip.headers.get("Vary")?.includes("Accept-Encoding"));
  const text = await new Response(gzip.body!.pipeThrough(new DecompressionStream("gzip"))).text();
  assert.equal(page(text), plain);
  const br = await t.app.request("/", { headers: { "Accept-Encoding": "gzip, deflate, br" } });
  assert.equal(br.headers.get("Content-Encoding"), "br");
  const bytes = new Uint8Array(await br.arrayBuffer());
  assert.ok(bytes.byteLength < plain.length / 2);
  assert.equal(page(new TextDecoder().decode(zlib.brotliDecompressSync(bytes))), plain);
  const health = await t.app.request("/api/health", { headers: { "Accept-Encoding": "br" } });
  assert.equal(health.headers.get("Content-Encoding"), null, "too small to be worth it");
  assert.equal((await health.json()).status, "ok");
});

Deno.test("[http] every API answer is no-store: the user's own data, errors and public ones alike", async () => {
  await using t = await testApp();
  const api = testApi(t);
  const { cookie, accountId } = await api.trader("ada@example.com");
  const order = await api.order(cookie, { symbol: "AAPL", side: "buy", qty: 1 });
  const { watchlists } = await api.call("/api/watchlists", { cookie });
  const paths = [
    `/api/orders/${order.id}`,
    "/api/orders",
    "/api/trades",
    "/api/activities",
    `/api/activities?accountId=${accountId}`,
    "/api/watchlists",
    `/api/watchlists/${watchlists[0].id}`,
    "/api/accounts",
    "/api/positions",
    "/api/auth/session",
    "/api/auth/sessions",
    "/api/securities?q=app",
    "/api/securities/AAPL",
    "/api/quotes?symbols=AAPL",
    "/api/clock",
    "/api/health",
    "/api/orders/nope",
    "/api/admin/users",
  ];
  for (const path of paths) {
    const res = await api.request(path, { cookie });
    await res.body?.cancel();
    assert.equal(res.headers.get("Cache-Control"), "no-store", `${path} → ${res.status}`);
  }
  const signedOut = await api.request("/api/trades");
  await signedOut.body?.cancel();
  assert.equal(signedOut.status, 401);
  assert.equal(signedOut.headers.get("Cache-Control"), "no-store", "a 401 is not kept either");
  const created = await api.request("/api/watchlists", { cookie, body: { name: "Tech" } });
  await created.body?.cancel();
  assert.equal(created.headers.get("Cache-Control"), "no-store", "nor a 201");
});

Deno.test("[http] the landing page says what Orion is and links to sign up and sign in", async () => {
  await using t = await testApp({ DEMO_STARTING_CASH: "25000" });
  const html = await (await t.app.request("/")).text();
  assert.match(html, /<title>Orion Assets Broker<\/title>/);
  assert.match(html, /paper trading account funded with \$25,000/);
  assert.match(html, /href="\/sign-up"/);
  assert.match(html, /href="\/sign-in"/);
});

Deno.test("[http] a flash message set before a redirect shows once on the next page", async () => {
  await using t = await testApp();
  t.app.post("/flash-test", async (c) => {
    await setFlash(c, { kind: "success", text: "Order placed." });
    return c.redirect("/", 303);
  });
  const post = await t.app.request("/flash-test", { method: "POST" });
  assert.equal(post.status, 303);
  const cookie = post.headers.get("Set-Cookie")!.split(";")[0];
  const next = await t.app.request("/", { headers: { Cookie: cookie } });
  assert.match(
    await next.text(),
    /<p class="flash flash-success" role="status">Order placed\.<\/p>/,
  );
  assert.match(next.headers.get("Set-Cookie") ?? "", /flash=;/, "the cookie is cleared once shown");
  const forged = await t.app.request("/", {
    headers: { Cookie: "flash=%7B%22text%22%3A%22x%22%7D.bad" },
  });
  assert.ok(!(await forged.text()).includes('class="flash'), "an unsigned flash is ignored");
});

Deno.test("[health] reports ok with the store's latency, version and uptime", async () => {
  await using t = await testApp();
  const res = await t.app.request("/api/health");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("Cache-Control"), "no-store");
  const body = await res.json();
  assert.equal(body.status, "ok");
  assert.equal(body.checks.store.ok, true);
  assert.equal(typeof body.checks.store.latencyMs, "number");
  assert.equal(body.version, "test");
  assert.equal(typeof body.uptimeS, "number");
});

Deno.test("[health] answers 503 degraded when the store does not answer", async () => {
  await using t = await testApp();
  await t.deps.store.close();
  const res = await t.app.request("/api/health");
  assert.equal(res.status, 503);
  const body = await res.json();
  assert.equal(body.status, "degraded");
  assert.equal(body.checks.store.ok, false);
});
