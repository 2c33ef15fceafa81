/**
 * The trading pages on a 360 × 740 phone in real Chromium: nothing scrolls sideways, every row is a
 * card whose numbers are all on screen, the bottom tab bar marks where the trader is; and axe-core
 * finds no serious or critical violation on any trading page, at 360 px and 1280 px, in the light
 * or the dark colour scheme.
 */
import assert from "node:assert/strict";
import axe from "axe-core";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { browserTest, launchBrowser } from "./support/browser.ts";
import { startServer, type TestServer } from "./support/server.ts";

const PHONE = { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PASSWORD = "vivid-otter-planet-42";

/** Each page, and how the bottom bar names it: a tab of its own, or the "More" tab. */
const PAGES = [
  { path: "/dashboard", tab: "Dashboard" },
  { path: "/positions", tab: "Positions" },
  { path: "/orders", tab: "Orders" },
  { path: "/history", more: "History" },
  { path: "/watchlist", more: "Watchlist" },
  { path: "/alerts", more: "Alerts" },
] as const;

/** Every page a signed-in trader reaches, for axe-core. */
const AXE_PAGES = [
  ...PAGES.map((p) => p.path),
  "/trade",
  "/trade/AAPL",
  "/positions/close?symbol=AAPL",
  "/positions/AAPL",
  "/history/gains",
  "/performance",
  "/settings",
  "/settings/keys",
  "/notifications",
  "/settings/webhooks",
  "/settings/signals",
];

browserTest(import.meta.url, {
  name:
    "[browser] at 360 px every list is cards, nothing scrolls sideways, the tab bar shows where",
  async fn(t) {
    await using server = await startServer({ MARKET_HOURS: "always" });
    await using browser = await launchBrowser();
    const context = await browser.newContext(PHONE);
    try {
      await traderWithAPositionAndAnOrder(context, server);
      const page = await context.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(error.message));
      for (const destination of PAGES) {
        await t.step(destination.path, async () => {
          await page.goto(`${server.url}${destination.path}`, { waitUntil: "load" });
          await assertNoSidewaysScroll(page);
          await assertCardsOnScreen(page, destination.path);
          await assertTabBar(page, destination);
        });
      }
      assert.deepEqual(pageErrors, []);

      // The axe check needs its script in the page, which the strict CSP rightly refuses, so it
      // runs in contexts of its own that bypass the CSP, with the same session cookie.
      const storageState = await context.storageState();
      for (const [size, device] of [["360 px", PHONE], ["1280 px", DESKTOP]] as const) {
        for (const colorScheme of ["light", "dark"] as const) {
          await t.step(`axe-core, ${size}, ${colorScheme}`, async () => {
            await assertAccessible(browser, server, { ...device, colorScheme, storageState });
          });
        }
      }
    } finally {
      await context.close();
    }
  },
});

/** Signs a new trader up and in, buys 3 AAPL at market, leaves a limit buy working, sets an alert. */
async function traderWithAPositionAndAnOrder(context: BrowserContext, server: TestServer) {
  const request = context.request;
  const post = async (path: string, form: Record<string, string>) => {
    const res = await request.post(`${server.url}${path}`, {
      form,
      headers: { Origin: server.url },
      maxRedirects: 0,
    });
    assert.equal(res.status(), 303, `POST ${path}: ${await res.text()}`);
  };
  const email = "phone@example.com";
  await post("/sign-up", { name: "Ada Phone", email, password: PASSWORD });
  await post("/sign-in", { email, password: PASSWORD });
  for (
    const order of <Record<string, string>[]> [
      { side: "buy", qty: "3", type: "market", timeInForce: "day" },
      { side: "buy", qty: "5", type: "limit", limitPrice: "1.00", timeInForce: "gtc" },
    ]
  ) {
    const html = await (await request.get(`${server.url}/trade/AAPL`)).text();
    const idempotencyKey = html.match(/name="idempotencyKey" value="([^"]+)"/)![1];
    await post("/trade", { symbol: "AAPL", idempotencyKey, ...order });
  }
  await post("/alerts", { symbol: "AAPL", condition: "below", price: "1.00", note: "a note" });
}

async function assertNoSidewaysScroll(page: Page) {
  // Page code is plain text: it runs in the page, where Deno's types do not apply.
  const [scrollWidth, innerWidth] = await page.evaluate<number[]>(
    "[document.documentElement.scrollWidth, innerWidth]",
  );
  assert.ok(scrollWidth <= innerWidth, `scrollWidth ${scrollWidth} > innerWidth ${innerWidth}`);
}

/**
 * Every list row is a card and every value of it is inside the 360 px screen, shown with its
 * column's name; the lists this trader must see are there (AAPL and its order, fill and funding).
 */
async function assertCardsOnScreen(page: Page, path: string) {
  const rows = page.locator("table.cards tbody tr");
  const count = await rows.count();
  assert.ok(count > 0, `${path} shows rows`);
  for (let i = 0; i < count; i++) {
    const cells = rows.nth(i).locator("td:not(.act), th");
    for (let j = 0; j < await cells.count(); j++) {
      const cell = cells.nth(j);
      const box = (await cell.boundingBox())!;
      assert.ok(box, `${path}: row ${i} cell ${j} is shown`);
      assert.ok(
        box.x >= 0 && box.x + box.width <= 360,
        `${path}: "${await cell.textContent()}" at ${box.x}..${box.x + box.width}`,
      );
    }
  }
  // A label names each value on the card, as the hidden column heads do on a table.
  const label = await page.locator("table.cards td[data-label]").first().evaluate(
    "(td) => getComputedStyle(td, '::before').content",
  ) as string;
  assert.notEqual(label, "none", `${path}: values carry their labels`);
  const text = (await page.locator("main").textContent()) ?? "";
  if (path === "/positions") {
    const card = rows.filter({ hasText: "AAPL" });
    for (const label of ["Qty", "Last", "Value", "Unrealized P&L", "Today"]) {
      assert.match((await card.locator(`td[data-label="${label}"]`).textContent()) ?? "", /\d/);
    }
  }
  if (path === "/orders") assert.match(text, /AAPL.*BUY.*limit.*\$1\.00.*new/s);
  if (path === "/history") assert.match(text, /AAPL.*BUY.*deposit/s);
}

/**
 * The main navigation is a bar along the bottom edge whose current destination is visible and
 * marked: its own tab with aria-current, or the "More" tab renamed after the page behind it.
 */
async function assertTabBar(
  page: Page,
  destination: { path: string; tab?: string; more?: string },
) {
  const nav = page.getByRole("navigation", { name: "Main" });
  const bar = (await nav.boundingBox())!;
  assert.equal(
    Math.round(bar.y + bar.height),
    740,
    `${destination.path}: the bar is at the bottom`,
  );
  if (destination.tab) {
    const current = nav.locator('a[aria-current="page"]');
    assert.equal(await current.textContent(), destination.tab);
    assert.ok(await current.isVisible(), `${destination.path}: the current tab is shown`);
  } else {
    const more = nav.locator("details.more > summary");
    assert.ok(await more.isVisible());
    assert.match((await more.textContent()) ?? "", new RegExp(`^${destination.more}`));
    assert.equal(await more.getAttribute("class"), "current");
    // Opened without a script of ours (a <details>), the page is marked inside it too.
    await more.click();
    const current = nav.locator('details.more a[aria-current="page"]');
    assert.equal(await current.textContent(), destination.more);
    assert.ok(await current.isVisible());
    assert.ok(await nav.getByRole("button", { name: "Sign out" }).isVisible());
  }
  // Scrolled to the end, the last of the content sits above the fixed bar, not under it.
  await page.evaluate("scrollTo(0, document.documentElement.scrollHeight)");
  const footer = (await page.locator("footer.site").boundingBox())!;
  assert.ok(
    footer.y + footer.height <= bar.y + 1,
    `${destination.path}: content clears the bar (footer ${footer.y}+${footer.height}, bar ${bar.y})`,
  );
}

async function assertAccessible(
  browser: Browser,
  server: TestServer,
  options: Parameters<Browser["newContext"]>[0],
) {
  const context = await browser.newContext({ ...options, bypassCSP: true });
  try {
    const page = await context.newPage();
    const found: string[] = [];
    for (const path of AXE_PAGES) {
      await page.goto(`${server.url}${path}`, { waitUntil: "load" });
      await page.addScriptTag({ content: axe.source });
      const violations = await page.evaluate<{ id: string; impact: string; targets: string[] }[]>(
        `axe.run(document, { resultTypes: ["violations"] }).then((result) =>
          result.violations.map((v) => ({
            id: v.id,
            impact: v.impact,
            targets: v.nodes.map((n) => n.target.join(" ")),
          })))`,
      );
      for (const v of violations) {
        if (v.impact === "serious" || v.impact === "critical") {
          found.push(`${path}: ${v.id} (${v.impact}) at ${v.targets.join(", ")}`);
        }
      }
    }
    assert.deepEqual(found, [], `${options?.colorScheme}: ${found.join("\n")}`);
  } finally {
    await context.close();
  }
}
