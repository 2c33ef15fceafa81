/** A new user's whole account journey in real Chromium, through the UI only, with JavaScript on and off. */
import assert from "node:assert/strict";
import type { ConsoleMessage, Locator, Page } from "playwright-core";
import { launchBrowser, type OpenedPage, openPage } from "./support/browser.ts";
import { startServer, type TestServer } from "./support/server.ts";

const SKIP = Deno.env.get("SKIP_BROWSER_TESTS") === "1";
// Kept on disk so a person (or a CI artifact upload) can look at the phone layout.
const SIGN_UP_ERROR_SCREENSHOT = "/tmp/orion-signup-error.png";
const SETTINGS_SCREENSHOT = "/tmp/orion-settings.png";

const NAME = "Ada Lovelace";
const WEAK_PASSWORD = "password1";
const STRONG_PASSWORD = "vivid-otter-planet-42";
const WRONG_PASSWORD = "wrong-otter-planet-43";

if (SKIP) {
  console.error(
    "\n!!!!! SKIPPING THE BROWSER TESTS: SKIP_BROWSER_TESTS=1 is set. Nothing in tests/auth_browser_test.ts ran. !!!!!\n",
  );
}

Deno.test({
  name: "[browser] a new user signs up, confirms the email, signs in and out",
  ignore: SKIP,
  async fn(t) {
    await using server = await startServer({ REQUIRE_EMAIL_VERIFICATION: "true" });
    await using browser = await launchBrowser();

    for (const javaScript of [true, false]) {
      await t.step(`JavaScript ${javaScript ? "on" : "off"}`, async () => {
        await using opened = await openPage(browser, `${server.url}/`, { javaScript });
        const journey = new Journey(opened, server, javaScript);
        await journey.run(`ada.${javaScript ? "js" : "nojs"}@example.com`);
      });
    }
  },
});

/** One user's walk through the auth pages, and the failures the walk provokes on purpose. */
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
    this.assertClean("the landing page");
    // From here on, this listener sees every console error the harness sees, with its URL.
    this.page.on("console", (message: ConsoleMessage) => {
      if (message.type() === "error") {
        this.consoleErrors.push({ text: message.text(), url: message.location().url });
      }
    });
  }

  async run(email: string) {
    await this.signUp(email);
    await this.confirmEmail(email);
    await this.signIn(email);
    await this.signOut();
    this.assertClean("the journey");
  }

  async signUp(email: string) {
    const { page } = this;
    await this.navigation(
      page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Sign up" }).click(),
    );
    this.assertPath("/sign-up");
    await page.getByLabel("Name").fill(NAME);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(WEAK_PASSWORD);
    await this.submitExpectingError(
      "Create my account",
      "/sign-up",
      422,
      page.locator("#f-password-error"),
    );

    const password = page.getByLabel("Password");
    assert.equal(await password.getAttribute("aria-invalid"), "true");
    const described = (await password.getAttribute("aria-describedby")) ?? "";
    assert.ok(described.split(" ").includes("f-password-error"), `aria-describedby: ${described}`);
    assert.match(
      (await page.locator("#f-password-error").textContent()) ?? "",
      /commonly used password/,
    );
    // What the user typed comes back, except the password.
    assert.equal(await page.getByLabel("Name").inputValue(), NAME);
    assert.equal(await page.getByLabel("Email").inputValue(), email);
    assert.equal(await password.inputValue(), "");
    if (this.javaScript) {
      await page.screenshot({ path: SIGN_UP_ERROR_SCREENSHOT, fullPage: true });
    }

    await password.fill(STRONG_PASSWORD);
    await this.submitExpectingRedirect("Create my account", "/sign-up");
    this.assertPath("/verify-email");
    await this.assertHeading("Confirm your email");
    await this.assertFlash("Your account is ready. Confirm your email to continue.");
  }

  async confirmEmail(email: string) {
    const { page } = this;
    await this.navigation(page.goto(`${this.server.url}/dev/mailbox`));
    await page.getByLabel("Recipient").fill(email);
    await this.navigation(page.getByRole("button", { name: "Filter" }).click());
    const message = page.locator("article").filter({ hasText: email });
    assert.equal(await message.count(), 1, "exactly one email to the new address");
    assert.equal(
      await message.getByRole("heading").textContent(),
      "Confirm your email for Orion Assets Broker",
    );
    const link = message.getByRole("link", { name: /\/verify-email\?token=/ });
    assert.ok(
      ((await link.getAttribute("href")) ?? "").startsWith(`${this.server.url}/verify-email?`),
      "the emailed link points at this server",
    );
    await this.navigation(link.click());
    this.assertPath("/verify-email");
    await this.assertHeading("Confirm your email");
    await this.submitExpectingRedirect("Confirm my email", "/verify-email");
    this.assertPath("/sign-in");
    await this.assertFlash("Your email is confirmed.");
  }

  async signIn(email: string) {
    const { page } = this;
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(WRONG_PASSWORD);
    const alert = page.locator("#sign-in-form").getByRole("alert");
    await this.submitExpectingError("Sign in", "/sign-in", 401, alert);
    assert.equal(await alert.textContent(), "The email or password is not right.");
    assert.equal(await page.getByLabel("Email").inputValue(), email);

    await page.getByLabel("Password").fill(STRONG_PASSWORD);
    await this.submitExpectingRedirect("Sign in", "/sign-in");
    this.assertPath("/dashboard");
    await this.assertHeading("Dashboard");
    await this.navigation(
      page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" })
        .click(),
    );
    this.assertPath("/settings");
    await this.assertHeading("Settings");
    const emailSection = page.getByRole("region", { name: "Email", exact: true });
    assert.match((await emailSection.textContent()) ?? "", new RegExp(`${email}\\s+confirmed`));
    const sessions = page.getByRole("region", { name: "Where you are signed in" });
    assert.equal(await sessions.getByText("this device", { exact: true }).count(), 1);
    if (this.javaScript) {
      await page.screenshot({ path: SETTINGS_SCREENSHOT, fullPage: true });
    }
  }

  async signOut() {
    const { page } = this;
    await this.navigation(
      page.getByRole("navigation", { name: "Main" }).getByRole("button", { name: "Sign out" })
        .click(),
    );
    this.assertPath("/");
    await this.assertFlash("You are signed out.");

    await this.navigation(page.goto(`${this.server.url}/settings`));
    assert.equal(page.url(), `${this.server.url}/sign-in?next=%2Fsettings`);
    await this.assertHeading("Sign in");
  }

  /**
   * Clicks `button` and waits for the form to come back with an error: with JavaScript, swapped
   * in place by htmx on the same document; without, as a new page with the same form. `error`
   * is what must appear.
   */
  async submitExpectingError(button: string, path: string, status: number, error: Locator) {
    const { page } = this;
    const url = `${this.server.url}${path}`;
    this.expected.push({ method: "POST", url, status });
    const before = page.url();
    if (this.javaScript) {
      // A new page load would drop this mark; an htmx swap keeps the document and the mark.
      await page.evaluate(() => (globalThis as { stillHere?: boolean }).stillHere = true);
    }
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url() === url && r.request().method() === "POST"),
      page.getByRole("button", { name: button }).click(),
    ]);
    assert.equal(response.status(), status, `POST ${path}`);
    assert.equal(response.request().isNavigationRequest(), !this.javaScript);
    assert.equal(response.request().headers()["hx-request"], this.javaScript ? "true" : undefined);
    if (this.javaScript) {
      await error.waitFor();
      assert.equal(
        await page.evaluate(() => (globalThis as { stillHere?: boolean }).stillHere),
        true,
        "htmx swapped the form in place, without a new page load",
      );
      assert.equal(page.url(), before);
    } else {
      await page.waitForLoadState("load");
      this.assertPath(path);
      await error.waitFor();
    }
  }

  /**
   * Clicks `button` of an htmx form and waits for the page the server sends the browser to: with
   * JavaScript by an `HX-Redirect` header on a 200, without by a 303.
   */
  async submitExpectingRedirect(button: string, path: string) {
    const url = `${this.server.url}${path}`;
    const [response] = await Promise.all([
      this.page.waitForResponse((r) => r.url() === url && r.request().method() === "POST"),
      this.navigation(this.page.getByRole("button", { name: button }).click()),
    ]);
    if (this.javaScript) {
      assert.equal(response.status(), 200, `POST ${path}`);
      assert.ok(response.headers()["hx-redirect"], `POST ${path} answers with HX-Redirect`);
    } else {
      assert.equal(response.status(), 303, `POST ${path}`);
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
    assert.equal(await this.page.getByRole("heading", { level: 1 }).textContent(), text);
  }

  async assertFlash(text: string) {
    assert.equal(await this.page.locator("main > .flash[role=status]").textContent(), text);
  }

  /**
   * Nothing may have gone wrong except the deliberate 4xx answers: with JavaScript each is one
   * failed htmx request, and Chromium may log one "Failed to load resource" line for it (without
   * JavaScript, for the page it navigated to).
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
      this.opened.consoleErrors,
      this.consoleErrors.map((e) => e.text),
      "this journey's console listener saw what the harness saw",
    );
    const problems = {
      consoleErrors: consoleErrors.map((e) => `${e.text} (${e.url})`),
      pageErrors: this.opened.pageErrors,
      failedRequests,
      cspViolations: this.opened.cspViolations,
    };
    assert.deepEqual(
      problems,
      { consoleErrors: [], pageErrors: [], failedRequests: [], cspViolations: [] },
      `${when} reported problems; server log:\n${this.server.logs()}`,
    );
  }
}
