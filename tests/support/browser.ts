/** Drives Chromium through playwright-core and records everything a page does wrong. */
import { type Browser, chromium, type Page, type Response } from "playwright-core";
import { findChromium, type FoundChromium } from "./chromium.ts";
import { reportNote, reportSkip } from "./skip_report.ts";

const SKIP = Deno.env.get("SKIP_BROWSER_TESTS") === "1";
/** A mid-size phone, the device the app is designed for first. */
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

/**
 * `Deno.test` for a test that needs Chromium; `module` is the test file's `import.meta.url`.
 * With SKIP_BROWSER_TESTS=1 the test is ignored and reported, for the summary of the run.
 */
export function browserTest(
  module: string,
  test: { name: string; fn(t: Deno.TestContext): Promise<void> },
) {
  if (SKIP) reportSkip(module, "SKIP_BROWSER_TESTS=1 is set");
  Deno.test({ ...test, ignore: SKIP });
}

/**
 * Launches headless Chromium: the one `findChromium` picks (CHROMIUM_PATH, a system Chromium,
 * else the npm one), or `chromium` if given. Playwright adds --headless, --no-sandbox (needed as
 * root), --no-first-run, --disable-background-networking, --disable-component-update and a fresh
 * user data dir itself; the rest keeps a GPU-less machine quiet and off the network.
 */
export async function launchBrowser(found?: FoundChromium): Promise<Browser> {
  found ??= await findChromium();
  const browser = await chromium.launch({
    executablePath: found.executablePath,
    args: ["--disable-gpu", "--disable-quic", "--disable-sync"],
    // Playwright hands the browser this environment instead of the test's, so it is merged.
    env: { ...Deno.env.toObject(), ...found.env },
  });
  reportNote(`Chromium used: ${browser.version()} (${found.source})`);
  return browser;
}

/**
 * Opens `url` in a fresh phone-sized context, with or without JavaScript, and waits until the
 * network is idle. Everything that went wrong on the page is collected into the returned arrays;
 * the page's own status is left to the caller, in `response`.
 */
export async function openPage(
  browser: Browser,
  url: string,
  options: { javaScript: boolean },
): Promise<OpenedPage> {
  const context = await browser.newContext({ ...PHONE, javaScriptEnabled: options.javaScript });
  const opened = {
    consoleErrors: [] as string[],
    pageErrors: [] as string[],
    failedRequests: [] as string[],
    cspViolations: [] as string[],
  };
  if (options.javaScript) {
    // A binding reaches the test through the DevTools protocol, which the page's CSP cannot block.
    await context.exposeBinding("__reportCspViolation", (_source, violation: string) => {
      opened.cspViolations.push(violation);
    });
    // Plain text: this runs in the page, where Deno's types (and its type checker) do not apply.
    await context.addInitScript({
      content: `document.addEventListener("securitypolicyviolation", (event) =>
        __reportCspViolation(event.effectiveDirective + " blocked " + (event.blockedURI || "inline code")));`,
    });
  }
  const page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    opened.consoleErrors.push(message.text());
    // Chromium reports CSP blocks on the console even when page scripts cannot run.
    if (message.text().includes("Content Security Policy")) {
      opened.cspViolations.push(message.text());
    }
  });
  page.on("pageerror", (error) => opened.pageErrors.push(error.message));
  page.on("requestfailed", (request) => {
    // A live page's stream stays open until the page is left, which aborts it; an asset still
    // loading when a click leaves the page is aborted the same way. Neither is a failure (a server
    // that fails them answers with a status, which the response handler below reports).
    const { pathname } = new URL(request.url());
    const leftBehind = pathname === "/live" || pathname.startsWith("/static/");
    if (leftBehind && request.failure()?.errorText === "net::ERR_ABORTED") return;
    opened.failedRequests.push(
      `${request.method()} ${request.url()}: ${request.failure()?.errorText}`,
    );
  });
  page.on("response", (response) => {
    if (response.status() >= 400 && !response.request().isNavigationRequest()) {
      opened.failedRequests.push(
        `${response.request().method()} ${response.url()}: HTTP ${response.status()}`,
      );
    }
  });
  let response;
  try {
    response = await page.goto(url, { waitUntil: "networkidle" });
  } catch (error) {
    await context.close();
    throw error;
  }
  return {
    page,
    response,
    ...opened,
    [Symbol.asyncDispose]: () => context.close(),
  };
}

/** A page and what went wrong while it loaded; disposing it closes its browser context. */
export type OpenedPage = {
  page: Page;
  /** The main document's response; null when there is no HTTP response, as for a data: URL. */
  response: Response | null;
  /** Console messages of type error, including Chromium's own "Failed to load" lines. */
  consoleErrors: string[];
  /** Uncaught exceptions in page scripts. */
  pageErrors: string[];
  /** Network failures, and 4xx/5xx answers to anything but the page itself. */
  failedRequests: string[];
  /** Content Security Policy blocks, from the console and from `securitypolicyviolation` events. */
  cspViolations: string[];
  [Symbol.asyncDispose](): Promise<void>;
};
