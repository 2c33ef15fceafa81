/** A new trader's first orders in real Chromium, through the UI only, with JavaScript on and off. */
import assert from "node:assert/strict";
import type { Locator, Route } from "playwright-core";
import { browserTest, launchBrowser, openPage } from "./support/browser.ts";
import { assertChanges, Journey } from "./support/journey.ts";
import { startServer } from "./support/server.ts";

// Kept on disk so a person (or a CI artifact upload) can look at the phone layout.
const DASHBOARD_SCREENSHOT = "/tmp/orion-dashboard.png";
const TRADE_SCREENSHOT = "/tmp/orion-trade.png";
const PASSWORD = "vivid-otter-planet-42";

browserTest(import.meta.url, {
  name: "[browser] a new trader searches, places, cancels and fills orders",
  async fn(t) {
    await using server = await startServer({ MARKET_HOURS: "always" });
    await using browser = await launchBrowser();

    for (const javaScript of [true, false]) {
      await t.step(`JavaScript ${javaScript ? "on" : "off"}`, async () => {
        await using opened = await openPage(browser, `${server.url}/`, { javaScript });
        const journey = new TradingJourney(opened, server, javaScript);
        await journey.run(`trader.${javaScript ? "js" : "nojs"}@example.com`);
      });
    }
  },
});

/** One trader's walk through the trading pages, and the failure it provokes on purpose. */
class TradingJourney extends Journey {
  async run(email: string) {
    await this.signUpAndIn(email);
    await this.openSymbol("AAPL", "Apple Inc.");
    await this.placeRestingLimitBuy();
    await this.cancelIt();
    await this.buyAtMarket();
    this.assertClean("the journey");
  }

  async signUpAndIn(email: string) {
    const { page } = this;
    await this.fillSignUp("Ada Trader", email, PASSWORD);
    await this.submitExpectingRedirect("Create my account", "/sign-up");
    await this.navigation(this.nav("Sign in").click());
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await this.submitExpectingRedirect("Sign in", "/sign-in");
    this.assertPath("/dashboard");
    await this.assertHeading("Dashboard");
    const account = page.getByRole("region", { name: /^Main PA\d{8}$/ });
    assert.match((await account.textContent()) ?? "", /Buying power\$100,000\.00/);
    assert.equal(await page.getByText("Market open").count(), 1);
  }

  async openSymbol(symbol: string, name: string) {
    const { page } = this;
    await this.navigation(this.nav("Trade").click());
    this.assertPath("/trade");
    await page.getByLabel("Symbol or company").fill(symbol);
    const result = page.locator("#search-results").getByRole("link", {
      name: `${symbol} ${name}`,
    });
    if (this.javaScript) {
      // Typing searches as you go: htmx swaps the results in, the page stays.
      await result.waitFor();
      this.assertPath("/trade");
    } else {
      await this.navigation(page.getByRole("button", { name: "Search" }).click());
      assert.equal(new URL(page.url()).search, `?q=${symbol}`);
    }
    await this.navigation(result.click());
    this.assertPath(`/trade/${symbol}`);
    await this.assertHeading(`${symbol} ${name}`);
    const quote = page.getByRole("region", { name: "Quote" });
    assert.match((await quote.textContent()) ?? "", /Last\$[\d,]+\.\d\d.*Bid.*Ask.*Prev close/);
  }

  async placeRestingLimitBuy() {
    const { page } = this;
    // A slow network: each preview answers late, so the edits below overtake the ones in flight.
    const slow = (route: Route) => setTimeout(() => route.continue().catch(() => {}), 600);
    if (this.javaScript) await page.route("**/trade/preview", slow);
    await page.getByLabel("Order type").selectOption("limit");
    await page.getByLabel("Quantity").fill("5");
    await page.getByLabel("Limit price").fill("1.00");
    await page.getByLabel("Time in force").selectOption("gtc");
    const estimate = page.locator("#ticket .estimate");
    if (this.javaScript) {
      // The estimate follows the ticket as it changes, the last edit included, before anything is
      // submitted.
      await this.settleEstimate("$5.00");
      await page.unroute("**/trade/preview", slow);
      assert.match((await estimate.textContent()) ?? "", /Estimated cost \$5\.00 \(5 × \$1\.00\)/);
      await page.screenshot({ path: TRADE_SCREENSHOT, fullPage: true });
    }
    const review = await this.review("Review buy");
    assert.match(review, /Buy 5 AAPL · Limit · Until cancelled/);
    assert.match(review, /Limit price\$1\.00/);
    assert.match(review, /Estimated cost\$5\.00Buying power after\$99,995\.00/);
    await this.submitExpectingRedirect("Place order", "/trade");
    this.assertPath("/orders");
    await this.assertFlash("Order placed: BUY 5 AAPL limit $1.00 (accepted, working)");
    const row = this.orderRow("BUY 5 AAPL limit $1.00");
    assert.match((await row.textContent()) ?? "", /AAPLBUYlimit50—\$1\.00 \/ —newGTC/);
  }

  async cancelIt() {
    const { page } = this;
    const cancel = page.getByRole("button", { name: "Cancel BUY 5 AAPL limit $1.00" });
    // With htmx the one-button forms are busy while they post too: one click, one cancel.
    if (this.javaScript) await this.submitWhileBusy(/\/cancel$/, cancel);
    else await this.navigation(cancel.click());
    this.assertPath("/orders");
    await this.assertFlash("Order cancelled: BUY 5 AAPL limit $1.00.");
    assert.equal(await page.getByText("No open orders.").count(), 1);
    await this.navigation(
      page.getByRole("navigation", { name: "Order status" }).getByRole("link", { name: "Closed" })
        .click(),
    );
    assert.equal(new URL(page.url()).search, "?status=closed");
    const row = page.getByRole("row").filter({ hasText: "AAPL" });
    assert.equal(await row.count(), 1);
    assert.match((await row.textContent()) ?? "", /cancelled/);
  }

  async buyAtMarket() {
    const { page } = this;
    await this.navigation(
      page.getByRole("row").filter({ hasText: "AAPL" }).getByRole("link", {
        name: "AAPL",
      }).click(),
    );
    this.assertPath("/trade/AAPL");
    if (this.javaScript) {
      // The quote moves by itself: the page's live stream swaps its figures in place.
      const bid = page.locator("#t-bid");
      const shown = await bid.textContent();
      await assertChanges(() => bid.textContent(), shown, "the bid, without a reload");
    }
    // The ticket shows what is held and what can be spent.
    const account = (await page.locator("#ticket .ticket-account").textContent()) ?? "";
    assert.match(account, /Last price\$[\d,]+\.\d\d/);
    assert.match(account, /Your positionYou don't own anyBuying power\$100,000\.00/);
    // More than the buying power covers first: the review says so, and placing it brings the
    // ticket back with the error and the values.
    await page.getByLabel("Quantity").fill("1000");
    await this.settleEstimate("more than your buying power");
    const review = await this.review("Review buy");
    assert.match(review, /This is more than your buying power\./);
    await this.submitExpectingError(
      "Place order",
      "/trade",
      422,
      page.locator("#ticket .form-error", { hasText: "This order needs" }),
    );
    assert.match(
      (await page.locator("#t-qty-error").textContent()) ?? "",
      /More than your buying power covers/,
    );
    assert.equal(await page.getByLabel("Quantity").inputValue(), "1000");

    await page.getByLabel("Quantity").fill("1");
    await this.settleEstimate("(1 × $");
    await this.review("Review buy");
    // "Edit" goes back to the ticket with the values; then review again and place.
    await this.edit();
    assert.equal(await page.getByLabel("Quantity").inputValue(), "1");
    await this.review("Review buy");
    if (this.javaScript) {
      await this.submitWhileBusy(
        /^\/trade$/,
        page.getByRole("button", { name: "Place order", exact: true }),
        [page.getByRole("button", { name: "Edit", exact: true })],
      );
    } else await this.submitExpectingRedirect("Place order", "/trade");
    this.assertPath("/orders");
    await this.assertFlash(/^Order placed: BUY 1 AAPL \(filled at \$[\d,]+\.\d\d\)$/);

    await this.navigation(this.nav("Positions").click());
    await this.assertHeading("Positions");
    const row = page.getByRole("row").filter({ hasText: "AAPL" });
    assert.equal(await row.count(), 1);
    assert.match((await row.locator("td").first().textContent()) ?? "", /^1$/);
    assert.equal(
      await row.getByRole("link", { name: "Sell AAPL" }).getAttribute("href"),
      "/trade/AAPL?side=sell&qty=1",
    );
    await this.navigation(this.nav("Dashboard").click());
    assert.equal(await page.getByRole("row").filter({ hasText: "AAPL" }).count() >= 1, true);
    if (this.javaScript) {
      await page.screenshot({ path: DASHBOARD_SCREENSHOT, fullPage: true });
    }
  }

  /**
   * Submits the ticket with `button` and returns the review's text: with JavaScript swapped in
   * place of the ticket on the same document, without as a page of its own.
   */
  async review(button: string): Promise<string> {
    const { page } = this;
    const click = page.getByRole("button", { name: button, exact: true }).click();
    if (this.javaScript) await click;
    else await this.navigation(click);
    const heading = page.locator("#ticket").getByRole("heading", { name: "Review your order" });
    await heading.waitFor();
    this.assertPath(this.javaScript ? "/trade/AAPL" : "/trade");
    return (await page.locator("#ticket .review-lines").textContent() ?? "") +
      (await page.locator("#ticket").textContent() ?? "");
  }

  /** "Edit" on the review brings the ticket back. */
  async edit() {
    const { page } = this;
    const click = page.getByRole("button", { name: "Edit", exact: true }).click();
    if (this.javaScript) await click;
    else await this.navigation(click);
    await page.locator("#ticket").getByRole("heading", { name: "Order ticket" }).waitFor();
  }

  /**
   * Clicks `button` with the answer to its POST held back: while the request is in flight the
   * form is marked busy and its buttons (`button` and `others`) are disabled, so a second click
   * sends nothing; then the answer is let through and the page it redirects to loads.
   */
  async submitWhileBusy(path: RegExp, button: Locator, others: Locator[] = []) {
    const { page } = this;
    const matches = (url: string) => path.test(new URL(url).pathname);
    let posts = 0;
    const count = (r: { url(): string; method(): string }) => {
      if (matches(r.url()) && r.method() === "POST") posts++;
    };
    page.on("request", count);
    let release = () => {};
    const held = new Promise<void>((resolve) => release = resolve);
    const route = (url: URL) => matches(url.href);
    await page.route(route, async (route) => {
      await held;
      await route.continue();
    });
    await button.click();
    await page.locator("form.htmx-request").waitFor();
    assert.equal(await button.isDisabled(), true, "the button is disabled while busy");
    for (const other of others) assert.equal(await other.isDisabled(), true);
    // A second click on the disabled button does nothing.
    await button.dispatchEvent("click");
    const loaded = page.waitForEvent("load");
    release();
    await loaded;
    await page.unroute(route);
    page.off("request", count);
    assert.equal(posts, 1, "one POST for one click");
  }

  /**
   * With JavaScript, waits until the live estimate shows `text`: the preview that the last edit
   * started has answered, so no request is still in flight when the ticket is submitted.
   */
  async settleEstimate(text: string) {
    if (!this.javaScript) return;
    await this.page.locator("#ticket .estimate", { hasText: text }).waitFor();
  }

  orderRow(description: string): Locator {
    return this.page.getByRole("row").filter({
      has: this.page.getByRole("button", { name: `Cancel ${description}` }),
    });
  }
}
