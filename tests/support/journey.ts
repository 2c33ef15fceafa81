/** Walks a user through the real app in Chromium and allows no failure but the deliberate ones. */
import assert from "node:assert/strict";
import type { ConsoleMessage, Locator, Page } from "playwright-core";
import type { OpenedPage } from "./browser.ts";
import type { TestServer } from "./server.ts";

/**
 * One user on one page, with JavaScript on or off: the moves every walk makes, and
 * `assertClean`. Each browser test extends it with the steps of its own walk.
 */
export class Journey {
  readonly page: Page;
  /** 4xx answers this journey triggers deliberately: the only failures allowed. */
  private readonly expected: { method: string; url: string; status: number }[] = [];
  /** Console errors with the URL that logged them, so expected ones can be matched exactly. */
  private readonly consoleErrors: { text: string; url: string }[] = [];

  /** `opened` must be the app's landing page, as `openPage` left it. */
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

  /** Declares one 4xx answer that the journey provokes on purpose; `assertClean` allows it. */
  expectFailure(method: string, path: string, status: number) {
    this.expected.push({ method, url: `${this.server.url}${path}`, status });
  }

  /** A link in the main navigation. */
  nav(name: string): Locator {
    return this.page.getByRole("navigation", { name: "Main" }).getByRole("link", {
      name,
      exact: true,
    });
  }

  /**
   * Opens the main navigation's "More" disclosure, where the destinations beyond the four tabs
   * live (History, Watchlist, Settings, Admin, Sign out); a no-op when it is already open.
   */
  async openMore() {
    const more = this.page.getByRole("navigation", { name: "Main" }).locator("details.more");
    if ((await more.getAttribute("open")) === null) {
      await more.locator("summary").click();
    }
  }

  /** Runs `action` and waits for the page load it causes (an htmx HX-Redirect included). */
  async navigation(action: Promise<unknown>) {
    await Promise.all([this.page.waitForEvent("load"), action]);
  }

  /** Opens the sign-up form from the main navigation and fills it in, without submitting it. */
  async fillSignUp(name: string, email: string, password: string) {
    await this.navigation(this.nav("Sign up").click());
    this.assertPath("/sign-up");
    await this.page.getByLabel("Name").fill(name);
    await this.page.getByLabel("Email").fill(email);
    await this.page.getByLabel("Password").fill(password);
  }

  /**
   * Clicks `button` of an htmx form and waits for the page the server sends the browser to: with
   * JavaScript by an `HX-Redirect` header on a 200, without by a 303.
   */
  async submitExpectingRedirect(button: string, path: string) {
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
   * Clicks `button` and waits for the form to come back with `status` and an error: with
   * JavaScript, swapped in place by htmx on the same document; without, as a new page with the
   * same form. `error` is what must appear. The failure is declared, so `assertClean` allows it.
   */
  async submitExpectingError(button: string, path: string, status: number, error: Locator) {
    const { page } = this;
    const url = `${this.server.url}${path}`;
    this.expectFailure("POST", path, status);
    const before = page.url();
    if (this.javaScript) {
      // A new page load would drop this mark; an htmx swap keeps the document and the mark.
      await page.evaluate(() => (globalThis as { stillHere?: boolean }).stillHere = true);
    }
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url() === url && r.request().method() === "POST"),
      page.getByRole("button", { name: button, exact: true }).click(),
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
    // Never a page inside the page: one layout, one main, one heading.
    for (const selector of ["header.site", "main", "h1"]) {
      assert.equal(await page.locator(selector).count(), 1, `one ${selector} after POST ${path}`);
    }
  }

  assertPath(path: string) {
    assert.equal(new URL(this.page.url()).pathname, path, `at ${this.page.url()}`);
  }

  async assertHeading(text: string) {
    assert.equal(await this.page.getByRole("heading", { level: 1 }).textContent(), text);
  }

  async assertFlash(text: string | RegExp) {
    const shown = (await this.page.locator("main > .flash[role=status]").textContent()) ?? "";
    if (typeof text === "string") assert.equal(shown, text);
    else assert.match(shown, text);
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

/** Polls `read` until it differs from `before` (a live figure moving), for up to 20 s. */
export async function assertChanges(
  read: () => Promise<string | null>,
  before: string | null,
  what: string,
) {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    if ((await read()) !== before) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`${what} did not change in 20 s`);
}
