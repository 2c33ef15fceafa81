/**
 * Nothing is lost (docs/design.md, Crash safety): the real server is killed with SIGKILL in the
 * middle of a burst of orders, restarted on the same store file, and every money invariant must
 * still hold.
 */
import assert from "node:assert/strict";
import { openKvStore } from "../lib/store/kv.ts";
import { checkIntegrity } from "../lib/trading/integrity.ts";
import { startServer, type TestServer } from "./support/server.ts";

const PASSWORD = "vivid-otter-planet-42";
/** Orders accepted before the kill: enough that it lands in the middle of a busy burst. */
const LOAD_BEFORE_KILL = 40;

async function signIn(server: TestServer, email: string): Promise<string> {
  const headers = { Origin: server.url, "Content-Type": "application/json" };
  await fetch(`${server.url}/api/auth/sign-up`, {
    method: "POST",
    headers,
    body: JSON.stringify({ email, password: PASSWORD, name: "Crash" }),
  }).then((r) => r.body?.cancel());
  const res = await fetch(`${server.url}/api/auth/sign-in`, {
    method: "POST",
    headers,
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  await res.body?.cancel();
  return res.headers.getSetCookie().find((c) => c.startsWith("orion_session="))!.split(";")[0];
}

/**
 * Places orders as fast as it can until the server stops answering; returns how many were
 * accepted, and counts each in `progress` as it happens.
 */
async function burst(
  server: TestServer,
  cookie: string,
  n: number,
  signal: AbortSignal,
  progress: { accepted: number },
): Promise<number> {
  let accepted = 0;
  const symbols = ["KO", "PEP", "T", "BTC/USD"];
  for (let i = 0; !signal.aborted; i++) {
    const symbol = symbols[(n + i) % symbols.length];
    const body = i % 3 === 2
      ? {
        symbol,
        side: "sell",
        type: "market",
        qty: symbol === "BTC/USD" ? "0.0001" : "1",
        timeInForce: symbol === "BTC/USD" ? "gtc" : "day",
      }
      : i % 3 === 1
      ? { symbol, side: "buy", type: "limit", limitPrice: "1.00", qty: "2", timeInForce: "gtc" }
      : {
        symbol,
        side: "buy",
        type: "market",
        qty: symbol === "BTC/USD" ? "0.0002" : "1",
        timeInForce: symbol === "BTC/USD" ? "gtc" : "day",
      };
    try {
      const res = await fetch(`${server.url}/api/orders`, {
        method: "POST",
        headers: {
          Origin: server.url,
          "Content-Type": "application/json",
          Cookie: cookie,
          "Idempotency-Key": `crash-${n}-${i}`,
        },
        body: JSON.stringify(body),
        signal,
      });
      await res.body?.cancel();
      if (res.status === 201) {
        accepted++;
        progress.accepted++;
      }
    } catch {
      return accepted;
    }
  }
  return accepted;
}

Deno.test({
  name:
    "[crash] SIGKILL under load, then a restart: every invariant holds and no order is applied twice",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    // The load is the point: each trader places far more than the per-account limit allows.
    const env = { KV_PATH: `${dir}/orion.kv`, MARKET_HOURS: "always", ORDERS_PER_SECOND: "100000" };
    try {
      const first = await startServer(env);
      const cookies = await Promise.all(
        [0, 1, 2, 3].map((n) => signIn(first, `crash${n}@example.com`)),
      );
      const abort = new AbortController();
      const progress = { accepted: 0 };
      const load = Promise.all(
        cookies.map((cookie, n) => burst(first, cookie, n, abort.signal, progress)),
      );
      // The kill comes once the burst is well under way, however slow the machine is today
      // (a fixed pause saw 7 orders on a busy CI run), and while the four keep placing.
      const deadline = Date.now() + 60_000;
      while (progress.accepted < LOAD_BEFORE_KILL && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      first.process.kill("SIGKILL");
      const status = await first.process.status;
      abort.abort();
      const accepted = (await load).reduce((a, b) => a + b, 0);
      assert.equal(status.signal, "SIGKILL");
      // The harness reports a killed server as a failed stop; here that is the point. It still cleans up.
      await first.stop().catch(() => {});
      assert.ok(
        accepted >= LOAD_BEFORE_KILL,
        `the server was under load (${accepted} orders accepted)`,
      );

      // Restarted on the same file, the worker runs over the orders the crash left working.
      const second = await startServer(env);
      await new Promise((r) => setTimeout(r, 1500));
      await second.stop();

      const store = await openKvStore(env.KV_PATH);
      try {
        const report = await checkIntegrity(store);
        assert.deepEqual(report.problems, [], report.problems.join("\n"));
        assert.ok(
          report.orders >= accepted,
          `${report.orders} orders stored, ${accepted} acknowledged`,
        );
        console.log(
          `crash test: ${accepted} orders acknowledged before SIGKILL, ${report.orders} stored, ${report.ledgerEntries} ledger entries checked`,
        );
      } finally {
        await store.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
