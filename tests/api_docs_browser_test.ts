/**
 * /docs/api in real Chromium on a 360 × 740 phone: nothing scrolls sideways (the longest paths and
 * curl commands wrap), every element stays on screen, the page loads nothing from another origin,
 * and axe-core finds no serious or critical violation in either colour scheme.
 */
import assert from "node:assert/strict";
import axe from "axe-core";
import { browserTest, launchBrowser } from "./support/browser.ts";
import { startServer } from "./support/server.ts";

const PHONE = { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true };

browserTest(import.meta.url, {
  name: "[browser] /docs/api fits a 360 px phone, loads only our own assets, passes axe-core",
  async fn() {
    await using server = await startServer({});
    await using browser = await launchBrowser();
    const context = await browser.newContext(PHONE);
    try {
      const page = await context.newPage();
      const origins = new Set<string>();
      page.on("request", (request) => origins.add(new URL(request.url()).origin));
      const res = await page.goto(`${server.url}/docs/api`, { waitUntil: "load" });
      assert.equal(res?.status(), 200);
      assert.deepEqual([...origins], [server.url]);
      // Page code is plain text: it runs in the page, where Deno's types do not apply.
      const [scrollWidth, innerWidth] = await page.evaluate<number[]>(
        "[document.documentElement.scrollWidth, innerWidth]",
      );
      assert.ok(scrollWidth <= innerWidth, `scrollWidth ${scrollWidth} > ${innerWidth}`);
      const offScreen = await page.evaluate<string[]>(
        `[...document.querySelectorAll("main *")]
          .filter((e) => e.getBoundingClientRect().right > innerWidth + 0.5)
          .map((e) => e.tagName + ": " + (e.textContent ?? "").slice(0, 60))`,
      );
      assert.deepEqual(offScreen, []);
      assert.ok(await page.locator("#postOrders pre").isVisible());
    } finally {
      await context.close();
    }
    for (const colorScheme of ["light", "dark"] as const) {
      const axeContext = await browser.newContext({ ...PHONE, colorScheme, bypassCSP: true });
      try {
        const page = await axeContext.newPage();
        await page.goto(`${server.url}/docs/api`, { waitUntil: "load" });
        await page.addScriptTag({ content: axe.source });
        const violations = await page.evaluate<{ id: string; impact: string; targets: string }[]>(
          `axe.run(document, { resultTypes: ["violations"] }).then((result) =>
            result.violations.map((v) => ({
              id: v.id,
              impact: v.impact,
              targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", "),
            })))`,
        );
        const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
        assert.deepEqual(serious, [], `${colorScheme}: ${JSON.stringify(serious)}`);
      } finally {
        await axeContext.close();
      }
    }
  },
});
