/** A new trader's first orders in real Chromium, through the UI only, with JavaScript on and off. */
import assert from "node:assert/strict";
import type { ConsoleMessage, Locator, Page } from "playwright-core";
import { launchBrowser, type OpenedPage, openPage } from "./support/browser.ts";
import { startServer, type TestServer } from "./support/server.ts";

const SKIP = Deno.env.get("SKIP_BROWSER_TESTS") === "1";
// Kept on disk so a person (or a CI artifact upload) can look at the phone layout.
const DASHBOARD_SCREENSHOT = "/tmp/orion-dashboard.png";
const TRADE_SCREENSHOT = "/tmp/orion-trade.png";
const PASSWORD = "vivid-otter-planet-42";

if (SKIP) {
  console.error(
    "\n!!!!! SKIPPING THE BROWSER TESTS: SKIP_BROWSER_TESTS=1 is set. Nothing in tests/trading_browser_test.ts ran. !!!!!\n",
  );
}

Deno.test({
  name: "[browser] a new trader searches, places, cancels and fills orders",
  ignore: SKIP,
  async fn(t) {
    await using server = await startServer({ MARKET_HOURS: "always" });
    await using browser = await launchBrowser();

    for (const javaScript of [true, false]) {
      await t.step(`JavaScript ${javaScript ? "on" : "off"}`, async () => {
        await using opened = await openPage(browser, `${server.url}/`, { javaScript });
        const journey = new Journey(opened, server, javaScript);
        await journey.run(`trader.${javaScript ? "js" : "nojs"}@example.com`);
      });
    }
  },
});

/** One trader's walk through the trading pages, and the failure it provokes on purpose. */
class Journey {
  readonly page: Page;
  /** 4xx answers to form posts this journey triggers deliberately: the only failures allowed. */
  readonly expected: { method: string; url: string; status: number }[] = [];
  /** Console errors with the URL that logged them, so expected ones can be matched exactly. */
  readonly consoleErrors: { text: string; url: string }[] = [];

  constructor(
    readonly opened: OpenedPage,
    readonly server: TestServer,
    readonly javaScript: boolean,
  ) {
    this.page = opened.page;
    assert.equal(opened.response?.status(), 200);
    this.page.on("console", (message: ConsoleMessage) => {
      if (message.type() === "error") {
        this.consoleErrors.push({ text: message.text(), url: message.location().url });
      }
    });
  }

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
    await this.navigation(this.nav("Sign up").click());
    await page.getByLabel("Name").fill("Ada Trader");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await this.submit("Create my account", "/sign-up");
    await this.navigation(this.nav("Sign in").click());
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await this.submit("Sign in", "/sign-in");
    this.assertPath("/dashboard");
    await this.assertHeading("Dashboard");
    const account = page.getByRole("region", { name: /^Demo account PA\d{8}$/ });
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
    await page.getByLabel("Order type").selectOption("limit");
    await page.getByLabel("Quantity").fill("5");
    await page.getByLabel("Limit price").fill("1.00");
    await page.getByLabel("Time in force").selectOption("gtc");
    const estimate = page.locator("#ticket .estimate");
    if (this.javaScript) {
      // The estimate follows the ticket as it changes, before anything is submitted.
      await this.settleEstimate("$5.00");
    } else {
      await this.navigation(page.getByRole("button", { name: "Preview" }).click());
      assert.equal(await page.getByLabel("Limit price").inputValue(), "1.00");
    }
    assert.match((await estimate.textContent()) ?? "", /Estimated cost \$5\.00 \(5 × \$1\.00\)/);
    if (this.javaScript) {
      await page.screenshot({ path: TRADE_SCREENSHOT, fullPage: true });
    }
    await this.submit("Place order", "/trade");
    this.assertPath("/orders");
    await this.assertFlash("Order placed: BUY 5 AAPL limit $1.00 (accepted, working)");
    const row = this.orderRow("BUY 5 AAPL limit $1.00");
    assert.match((await row.textContent()) ?? "", /AAPLBUYlimit50—\$1\.00 \/ —newGTC/);
  }

  async cancelIt() {
    const { page } = this;
    await this.navigation(
      page.getByRole("button", { name: "Cancel BUY 5 AAPL limit $1.00" }).click(),
    );
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
      // The quote refreshes itself; one poll proves the partial swaps in cleanly.
      const poll = await page.waitForResponse((r) =>
        r.url() === `${this.server.url}/trade/AAPL` &&
        r.request().headers()["hx-request"] === "true"
      );
      assert.equal(poll.status(), 200);
    }
    // More than the buying power covers first: the ticket comes back with the error and the values.
    await page.getByLabel("Quantity").fill("1000");
    await this.settleEstimate("more than your buying power");
    await this.submitExpectingError(
      "Place order",
      "/trade",
      422,
      page.locator("#ticket").getByRole("alert"),
    );
    assert.match(
      (await page.locator("#t-qty-error").textContent()) ?? "",
      /More than your buying power covers/,
    );
    assert.equal(await page.getByLabel("Quantity").inputValue(), "1000");

    await page.getByLabel("Quantity").fill("1");
    await this.settleEstimate("(1 × $");
    await this.submit("Place order", "/trade");
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
   * With JavaScript, waits until the live estimate shows `text`: the preview that the last edit
   * started has answered, so no request is still in flight when the ticket is submitted.
   */
  async settleEstimate(text: string) {
    if (!this.javaScript) return;
    await this.page.locator("#ticket .estimate", { hasText: text }).waitFor();
  }

  nav(name: string): Locator {
    return this.page.getByRole("navigation", { name: "Main" }).getByRole("link", {
      name,
      exact: true,
    });
  }

  orderRow(description: string): Locator {
    return this.page.getByRole("row").filter({
      has: this.page.getByRole("button", { name: `Cancel ${description}` }),
    });
  }

  /**
   * Clicks `button` of a form and waits for the page the server sends the browser to: with
   * JavaScript an htmx form answers HX-Redirect on a 200, without it answers a 303.
   */
  async submit(button: string, path: string) {
    const url = `${this.server.url}${path}`;
    const [response] = await Promise.all([
      this.page.waitForResponse((r) => r.url() === url && r.request().method() === "POST"),
      this.navigation(this.page.getByRole("button", { name: button, exact: true }).click()),
    ]);
    if (this.javaScript) {
      assert.equal(response.status(), 200, `POST ${path}`);
      assert.ok(response.headers()["hx-redirect"], `POST ${path} answers with HX-Redirect`);
    } else {
      assert.equal(response.status(), 303, `POST ${path}`);
    }
  }

  /**
   * Clicks `button` and waits for the form to come back with an error: with JavaScript swapped in
   * place by htmx on the same document; without, as a new page with the same form.
   */
  async submitExpectingError(button: string, path: string, status: number, error: Locator) {
    const { page } = this;
    const url = `${this.server.url}${path}`;
    this.expected.push({ method: "POST", url, status });
    if (this.javaScript) {
      await page.evaluate(() => (globalThis as { stillHere?: boolean }).stillHere = true);
    }
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url() === url && r.request().method() === "POST"),
      page.getByRole("button", { name: button, exact: true }).click(),
    ]);
    assert.equal(response.status(), status, `POST ${path}`);
    assert.equal(response.request().isNavigationRequest(), !this.javaScript);
    if (this.javaScript) {
      await error.waitFor();
      assert.equal(
        await page.evaluate(() => (globalThis as { stillHere?: boolean }).stillHere),
        true,
        "htmx swapped the ticket in place, without a new page load",
      );
    } else {
      await page.waitForLoadState("load");
      this.assertPath(path);
      await error.waitFor();
    }
  }

  /** Runs `action` and waits for the page load it causes (an htmx HX-Redirect included). */
  async navigation(action: Promise<unknown>) {
    await Promise.all([this.page.waitForEvent("load"), action]);
  }

  assertPath(path: string) {
    assert.equal(new URL(this.page.url()).pathname, path, `at ${this.page.url()}`);
  }

  async assertHeading(text: string) {
    assert.equal(
      (await this.page.getByRole("heading", { level: 1 }).textContent())?.replace(/\s+/g, " "),
      text,
    );
  }

  async assertFlash(text: string | RegExp) {
    const shown = (await this.page.locator("main > .flash[role=status]").textContent()) ?? "";
    if (typeof text === "string") assert.equal(shown, text);
    else assert.match(shown, text);
  }

  /**
   * Nothing may have gone wrong except the deliberate 4xx answers: with JavaScript each is one
   * failed htmx request, and Chromium may log one "Failed to load resource" line for it.
   */
  assertClean(when: string) {
    const failedRequests = [...this.opened.failedRequests];
    const consoleErrors = [...this.consoleErrors];
    for (const { method, url, status } of this.expected) {
      if (this.javaScript) {
        const entry = `${method} ${url}: HTTP ${status}`;
        const at = failedRequests.indexOf(entry);
        assert.ok(at >= 0, `the harness saw the expected ${entry}: ${failedRequests.join("\n")}`);
        failedRequests.splice(at, 1);
      }
      const logged = consoleErrors.findIndex((e) =>
        e.url === url &&
        e.text.startsWith(
          `Failed to load resource: the server responded with a status of ${status}`,
        )
      );
      if (logged >= 0) consoleErrors.splice(logged, 1);
    }
    assert.deepEqual(
      {
        consoleErrors: consoleErrors.map((e) => `${e.text} (${e.url})`),
        pageErrors: this.opened.pageErrors,
        failedRequests,
        cspViolations: this.opened.cspViolations,
      },
      { consoleErrors: [], pageErrors: [], failedRequests: [], cspViolations: [] },
      `${when} reported problems; server log:\n${this.server.logs()}`,
    );
  }
}
