/** The trade page's chart in real Chromium: range tabs and the view toggle with JavaScript on and off, and the readout. */
import assert from "node:assert/strict";
import { browserTest, launchBrowser, openPage } from "./support/browser.ts";
import { Journey } from "./support/journey.ts";
import { startServer } from "./support/server.ts";

const PASSWORD = "vivid-otter-planet-42";

browserTest(import.meta.url, {
  name: "[browser] chart ranges and views switch with and without JavaScript",
  async fn(t) {
    await using server = await startServer({ MARKET_HOURS: "always" });
    await using browser = await launchBrowser();
    for (const javaScript of [true, false]) {
      await t.step(`JavaScript ${javaScript ? "on" : "off"}`, async () => {
        await using opened = await openPage(browser, `${server.url}/`, { javaScript });
        const journey = new ChartJourney(opened, server, javaScript);
        await journey.run(`chart.${javaScript ? "js" : "nojs"}@example.com`);
      });
    }
  },
});

class ChartJourney extends Journey {
  /**
   * Lets the page finish loading (its icon too) before leaving it, so nothing is cut off. Not
   * "networkidle": a live page's stream keeps a request open for as long as the page is shown.
   */
  async settle() {
    await this.page.waitForLoadState("load");
    await this.page.waitForTimeout(300);
  }

  async run(email: string) {
    const { page } = this;
    await this.fillSignUp("Chart Reader", email, PASSWORD);
    await this.submitExpectingRedirect("Create my account", "/sign-up");
    await this.navigation(this.nav("Sign in").click());
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await this.submitExpectingRedirect("Sign in", "/sign-in");
    await this.settle();
    // Not "networkidle": the page's live stream keeps a request open for as long as it is shown.
    await page.goto(`${this.server.url}/trade/AAPL`, { waitUntil: "load" });

    const chart = page.locator("#chart");
    const ranges = page.getByRole("navigation", { name: "Chart range" });
    const current = (nav: string) =>
      page.getByRole("navigation", { name: nav }).locator('[aria-current="page"]').textContent();
    assert.equal(await current("Chart range"), "1D");
    assert.match(await chart.locator("svg").getAttribute("aria-label") ?? "", /^AAPL, 1 day: /);
    // The data table for screen readers takes no room on screen (a table box ignores the height
    // and overflow that hide other elements, so a tall one once stretched the page a screen longer).
    const hiddenHeight = await page.evaluate<number>(
      `Math.max(...[...document.querySelectorAll("#chart .sr")].map((e) => e.getBoundingClientRect().height))`,
    );
    assert.ok(hiddenHeight <= 1, `the hidden data table is ${hiddenHeight}px tall`);

    // Switch to 1Y: with htmx only the chart is swapped and the address follows; without, a page load.
    const ticket = await page.locator('input[name="idempotencyKey"]').inputValue();
    if (this.javaScript) {
      await ranges.getByRole("link", { name: "1Y" }).click();
      await page.waitForURL(/\?range=1Y&view=line$/);
      await chart.locator('svg[aria-label^="AAPL, 1 year"]').waitFor();
      // The rest of the page stayed: the same ticket, not a fresh one.
      assert.equal(await page.locator('input[name="idempotencyKey"]').inputValue(), ticket);
    } else {
      await this.navigation(ranges.getByRole("link", { name: "1Y" }).click());
      await this.settle();
      assert.equal(new URL(page.url()).search, "?range=1Y&view=line");
    }
    assert.equal(await current("Chart range"), "1Y");
    assert.equal(await chart.locator(".ref").count(), 0, "no previous close beyond 1D");

    // Candles keep the range.
    const candles = page.getByRole("navigation", { name: "Chart type" }).getByRole("link", {
      name: "Candles",
    });
    if (this.javaScript) {
      await candles.click();
      await page.waitForURL(/\?range=1Y&view=candle$/);
      await chart.locator(".cd").first().waitFor();
    } else {
      await this.navigation(candles.click());
      await this.settle();
    }
    assert.equal(await current("Chart type"), "Candles");
    assert.equal(await current("Chart range"), "1Y");

    // The readout: the last point without JavaScript; with it, the point under the pointer.
    const readout = chart.locator(".readout");
    const lastRow = await chart.locator("table tr").last().locator("td").first().textContent();
    assert.ok((await readout.textContent())?.startsWith(lastRow ?? "?"));
    if (this.javaScript) {
      const firstRow = await chart.locator("table tr").nth(1).locator("td").first()
        .textContent();
      const box = (await chart.locator("svg").boundingBox())!;
      await page.mouse.move(box.x + 2, box.y + box.height / 2);
      // Plain text: it runs in the page, where Deno's types do not apply.
      await page.waitForFunction(
        `document.querySelector("#chart .readout")?.textContent?.startsWith(${
          JSON.stringify(firstRow)
        })`,
      );
      // Keyboard: focus the chart, End goes to the last point.
      await chart.locator("svg").focus();
      await page.keyboard.press("End");
      assert.ok((await readout.textContent())?.startsWith(lastRow ?? "?"));
      // Back restores the previous chart from history.
      await page.goBack();
      await page.waitForURL(/\?range=1Y&view=line$/);
    }
    this.assertClean("the chart journey");
  }
}
