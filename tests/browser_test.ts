/** End-to-end checks of the real server in real Chromium, with JavaScript on and off. */
import assert from "node:assert/strict";
import { browserTest, launchBrowser, type OpenedPage, openPage } from "./support/browser.ts";
import { startServer, type TestServer } from "./support/server.ts";

// Kept on disk so a person (or a CI artifact upload) can look at the phone layout.
const LANDING_SCREENSHOT = "/tmp/orion-landing.png";

browserTest(import.meta.url, {
  name: "[browser] the real server works in Chromium",
  async fn(t) {
    await using server = await startServer();
    await using browser = await launchBrowser();

    for (const javaScript of [true, false]) {
      await t.step(`landing page, JavaScript ${javaScript ? "on" : "off"}`, async () => {
        await using opened = await openPage(browser, `${server.url}/`, { javaScript });
        const { page } = opened;
        assert.equal(opened.response?.status(), 200);
        assert.ok(await page.locator("h1").isVisible(), "the h1 is visible");
        assert.match(await page.title(), /Orion/);
        for (const href of ["/sign-up", "/sign-in"]) {
          assert.ok(await page.locator(`a[href="${href}"]`).count() > 0, `a link to ${href}`);
        }

        const src = await page.locator('script[src*="htmx"]').getAttribute("src");
        assert.match(src ?? "", /^\/static\/htmx\.[0-9a-f]{8,}\.js$/);
        assert.equal(new URL(src!, server.url).origin, new URL(server.url).origin);
        if (javaScript) {
          const version = await page.evaluate(() =>
            (globalThis as { htmx?: { version?: string } }).htmx?.version
          );
          assert.match(version ?? "(htmx is not loaded)", /^4/);
          await page.screenshot({ path: LANDING_SCREENSHOT, fullPage: true });
        }
        assertClean(opened, server);
      });
    }

    await t.step("unknown path shows the 404 page", async () => {
      await using opened = await openPage(browser, `${server.url}/no-such-page`, {
        javaScript: true,
      });
      assert.equal(opened.response?.status(), 404);
      assert.equal(await opened.page.locator("h1").textContent(), "Page not found");
      // Chromium logs the document's own 404 as a console error; nothing else may appear.
      assertClean(
        {
          ...opened,
          consoleErrors: opened.consoleErrors.filter((text) => !/status of 404/.test(text)),
        },
        server,
      );
    });
  },
});

browserTest(import.meta.url, {
  name: "[browser] the harness notices errors, failed requests and CSP violations",
  async fn() {
    // A page built to fail every check; if it passes them, the checks above prove nothing.
    const html = `<!doctype html><title>broken</title>
      <link rel="stylesheet" href="/blocked.css">
      <img src="/missing.png" alt="">
      <script>console.error("harness check"); throw new Error("harness check");</script>`;
    await using broken = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) =>
        new URL(request.url).pathname === "/"
          ? new Response(html, {
            headers: {
              "Content-Type": "text/html; charset=utf-8",
              "Content-Security-Policy": "script-src 'unsafe-inline'; style-src 'none'",
            },
          })
          : new Response("not found", { status: 404 }),
    );
    await using browser = await launchBrowser();
    await using opened = await openPage(browser, `http://127.0.0.1:${broken.addr.port}/`, {
      javaScript: true,
    });

    assert.ok(opened.consoleErrors.includes("harness check"), opened.consoleErrors.join("\n"));
    assert.deepEqual(opened.pageErrors, ["harness check"]);
    assert.ok(
      opened.failedRequests.some((entry) => entry.endsWith("/missing.png: HTTP 404")),
      opened.failedRequests.join("\n"),
    );
    assert.ok(
      opened.cspViolations.some((entry) => entry.startsWith("style-src-elem blocked")),
      `a securitypolicyviolation event: ${opened.cspViolations.join("\n")}`,
    );
    assert.ok(
      opened.cspViolations.some((entry) => entry.includes("Content Security Policy")),
      `a console CSP report: ${opened.cspViolations.join("\n")}`,
    );
  },
});

function assertClean(opened: OpenedPage, server: TestServer) {
  const problems = {
    consoleErrors: opened.consoleErrors,
    pageErrors: opened.pageErrors,
    failedRequests: opened.failedRequests,
    cspViolations: opened.cspViolations,
  };
  assert.deepEqual(
    problems,
    { consoleErrors: [], pageErrors: [], failedRequests: [], cspViolations: [] },
    `the page reported problems; server log:\n${server.logs()}`,
  );
}
