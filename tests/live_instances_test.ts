/**
 * Several instances, one truth (issue 10, point 2): two app processes on one Deno KV file. A page
 * served by one instance shows, within 2 s, an order filled by the other.
 */
import assert from "node:assert/strict";
import { sseReader } from "./support/sse.ts";
import { startServer } from "./support/server.ts";

const PASSWORD = "correct horse battery staple 42";

/** Signs a trader up and in on `origin`; the session cookie works on every instance. */
async function trader(origin: string, email: string): Promise<string> {
  const post = (path: string, body: unknown, cookie = "") =>
    fetch(`${origin}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Origin: origin, Cookie: cookie },
      body: JSON.stringify(body),
    });
  assert.equal(
    (await post("/api/auth/sign-up", { name: "Ada", email, password: PASSWORD })).status,
    201,
  );
  const mail = await (await fetch(`${origin}/dev/mailbox.json?to=${email}`)).json();
  const link = mail.emails[0].text.match(/https?:\/\/\S+verify-email\?token=\S+/)[0];
  const token = new URL(link).searchParams.get("token");
  assert.equal((await post("/api/auth/verify-email", { token })).status, 200);
  const signedIn = await post("/api/auth/sign-in", { email, password: PASSWORD });
  assert.equal(signedIn.status, 200);
  await signedIn.body?.cancel();
  return signedIn.headers.get("Set-Cookie")!.split(";")[0];
}

async function liveStream(origin: string, cookie: string, path: string) {
  const html = await (await fetch(`${origin}${path}`, { headers: { Cookie: cookie } })).text();
  const address = /hx-sse:connect="([^"]+)"/.exec(html)![1].replaceAll("&amp;", "&");
  const res = await fetch(`${origin}${address}`, {
    headers: { Cookie: cookie, Accept: "text/event-stream", Referer: `${origin}${path}` },
  });
  assert.equal(res.status, 200);
  return sseReader(res);
}

Deno.test({
  name:
    "[live] two instances on one store: an order filled by one shows on the other's pages within 2 s",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "orion-two-" });
    const env = { KV_PATH: `${dir}/orion.kv` };
    await using a = await startServer(env);
    await using b = await startServer(env);
    const cookie = await trader(a.url, "two@example.com");
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${a.url}${path}`, {
        method,
        headers: { "Content-Type": "application/json", Origin: a.url, Cookie: cookie },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      assert.ok(res.ok, `${method} ${path}: ${res.status}`);
      return await res.json();
    };
    // A resting order, shown on instance B's orders page and followed by B's stream.
    const resting = await api("POST", "/api/orders", {
      symbol: "AAPL",
      side: "buy",
      qty: 2,
      type: "limit",
      limitPrice: "1.00",
      timeInForce: "gtc",
    });
    const orders = await liveStream(b.url, cookie, "/orders?status=open");
    const positions = await liveStream(b.url, cookie, "/positions");
    try {
      // Instance A makes it marketable; a worker fills it within a second.
      await api("PATCH", `/api/orders/${resting.id}`, { limitPrice: "1000.00" });
      let filledAt = 0;
      for (let n = 0; n < 40 && !filledAt; n++) {
        const order = await api("GET", `/api/orders/${resting.id}`);
        if (order.status === "filled") filledAt = Date.now();
        else await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(filledAt, "the order filled");
      await orders.until(
        (e) => e.data.includes(`id="ord-${resting.id}-status"`) && /filled/.test(e.data),
        2_000,
      );
      assert.ok(
        Date.now() - filledAt <= 2_000,
        `B showed the fill ${Date.now() - filledAt} ms later`,
      );

      // The new AAPL position: B's positions page reloads its table.
      await positions.until((e) => e.event === "positions", 2_000);

      // A market order placed and filled on A at once: B's positions page shows it too.
      const market = await api("POST", "/api/orders", { symbol: "MSFT", side: "buy", qty: 1 });
      const placedAt = Date.now();
      assert.equal(market.status, "filled");
      await positions.until((e) => e.event === "positions", 2_000);
      assert.ok(Date.now() - placedAt <= 2_000, `B showed it ${Date.now() - placedAt} ms later`);
    } finally {
      await orders.close();
      await positions.close();
    }
  },
});
