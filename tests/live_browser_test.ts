/**
 * Live pages in real Chromium, on a phone (360 × 740) and a desktop (1280 × 800): prices and P&L
 * move without a reload, a resting limit order that fills in the background shows as filled, a
 * new position appears, and a session ended elsewhere says so on the page.
 */
import assert from "node:assert/strict";
import type { BrowserContext, Page } from "playwright-core";
import { browserTest, launchBrowser } from "./support/browser.ts";
import { assertChanges } from "./support/journey.ts";
import { startServer, type TestServer } from "./support/server.ts";

const PASSWORD = "vivid-otter-planet-42";
const SIZES = [
  { name: "phone", viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true },
  { name: "desktop", viewport: { width: 1280, height: 800 } },
] as const;

browserTest(import.meta.url, {
  name: "[browser] live pages move without a reload on a phone and a desktop",
  async fn(t) {
    await using server = await startServer({ MARKET_HOURS: "always" });
    await using browser = await launchBrowser();
    for (const { name, ...size } of SIZES) {
      await t.step(name, async () => {
        const context = await browser.newContext(size);
        try {
          await walk(context, server, `live.${name}@example.com`);
        } finally {
          await context.close();
        }
      });
    }
  },
});

async function walk(context: BrowserContext, server: TestServer, email: string) {
  const api = apiOf(context, server);
  await api.form("/sign-up", { name: "Ada Live", email, password: PASSWORD });
  await api.form("/sign-in", { email, password: PASSWORD });
  // Bitcoin trades around the clock, so its price moves every second.
  await api.json("POST", "/api/orders", {
    symbol: "BTCUSD",
    side: "buy",
    qty: "0.1",
    timeInForce: "gtc",
  });

  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  let loads = 0;
  page.on("load", () => loads++);

  // The dashboard: the position's last price and the equity move by themselves.
  await page.goto(`${server.url}/dashboard`);
  const last = page.locator("#pos-BTC_USD-last");
  await assertChanges(() => last.textContent(), await last.textContent(), "the position's price");
  const equity = page.locator("#acct-equity");
  await assertChanges(() => equity.textContent(), await equity.textContent(), "the equity");

  // A resting limit buy on the orders page; changed from elsewhere (a script, another tab), it
  // becomes marketable and the worker fills it: the row says so without a reload.
  const resting = await api.json("POST", "/api/orders", {
    symbol: "AAPL",
    side: "buy",
    qty: 1,
    type: "limit",
    limitPrice: "1.00",
    timeInForce: "gtc",
  });
  await page.goto(`${server.url}/orders?status=open`);
  const status = page.locator(`#ord-${resting.id}-status`);
  assert.equal(await status.textContent(), "new");
  const loadsBefore = loads;
  await api.json("PATCH", `/api/orders/${resting.id}`, { limitPrice: "1000.00" });
  await status.getByText("filled").waitFor({ timeout: 10_000 });
  assert.equal(await page.locator(`#ord-${resting.id}-filled`).textContent(), "1");
  assert.equal(await page.locator(`#ord-${resting.id}-act`).textContent(), "", "no Cancel left");
  assert.equal(loads, loadsBefore, "no reload");

  // The positions page grew the AAPL row by itself when the position opened: check it is there
  // after the fact, then that a new one appears while the page is open.
  await page.goto(`${server.url}/positions`);
  await page.locator("#pos-AAPL-last").waitFor();
  const opened = loads;
  await api.json("POST", "/api/orders", { symbol: "MSFT", side: "buy", qty: 1 });
  await page.locator("#pos-MSFT-last").waitFor({ timeout: 10_000 });
  assert.equal(loads, opened, "the table reloaded itself, not the page");
  await assertNoSidewaysScroll(page);

  // Signed out in another tab: this page says so and offers to sign in again.
  await api.form("/sign-out", {});
  await page.locator("#live-status").getByText("Your session has ended").waitFor({
    timeout: 15_000,
  });
  assert.equal(
    await page.locator("#live-status a").getAttribute("href"),
    "/sign-in?next=%2Fpositions",
  );
  assert.deepEqual(errors.filter((e) => !/401/.test(e)), []);
}

/** Form posts and JSON calls as the signed-in browser (its cookies), from the app's origin. */
function apiOf(context: BrowserContext, server: TestServer) {
  const request = context.request;
  return {
    async form(path: string, form: Record<string, string>) {
      const res = await request.post(`${server.url}${path}`, {
        form,
        headers: { Origin: server.url },
        maxRedirects: 0,
      });
      assert.equal(res.status(), 303, `POST ${path}: ${await res.text()}`);
    },
    async json(method: string, path: string, body: unknown) {
      const res = await request.fetch(`${server.url}${path}`, {
        method,
        data: body,
        headers: { Origin: server.url, "Content-Type": "application/json" },
      });
      assert.ok(res.ok(), `${method} ${path}: ${res.status()} ${await res.text()}`);
      return await res.json();
    },
  };
}

async function assertNoSidewaysScroll(page: Page) {
  const [scroll, client] = await page.evaluate<[number, number]>(
    "[document.documentElement.scrollWidth, document.documentElement.clientWidth]",
  );
  assert.ok(scroll <= client, `the page scrolls sideways: ${scroll} > ${client}`);
}
