/**
 * The Chromium from npm, which runs the browser tests on a machine without a system Chromium. It
 * is checked here even where a system Chromium exists (as in CI), so it cannot rot unnoticed.
 */
import assert from "node:assert/strict";
import { basename, dirname } from "node:path";
import { browserTest, launchBrowser, openPage } from "./support/browser.ts";
import { npmChromium } from "./support/chromium.ts";
import { startServer } from "./support/server.ts";

/**
 * Libraries of libc6 and libgcc-s1, which every Debian system has (the package manager itself
 * needs them). Anything else must come from the unpacked folder, or a bare machine cannot start it.
 */
const SYSTEM_LIBRARIES = new Set([
  "linux-vdso.so.1",
  "ld-linux-x86-64.so.2",
  "libc.so.6",
  "libdl.so.2",
  "libm.so.6",
  "libpthread.so.0",
  "librt.so.1",
  "libgcc_s.so.1",
]);

browserTest(import.meta.url, {
  name: "[browser] the npm Chromium needs nothing from the system but glibc, and renders the app",
  async fn(t) {
    const found = await npmChromium();
    const folder = dirname(found.executablePath);

    await t.step("its shared libraries come from its own folder, glibc and libgcc", async () => {
      const ldd = await new Deno.Command("ldd", {
        args: [found.executablePath],
        env: found.env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const output = new TextDecoder().decode(ldd.stdout);
      assert.ok(ldd.success, new TextDecoder().decode(ldd.stderr));
      const foreign = output.split("\n").map((line) => line.trim()).filter((line) => {
        if (line === "") return false;
        // "libnss3.so => /path/libnss3.so (0x...)", or "/lib64/ld-linux-x86-64.so.2 (0x...)".
        const [name, , path] = line.split(/\s+/);
        if (line.includes("not found")) return true;
        if (path?.startsWith(`${folder}/`)) return false;
        return !SYSTEM_LIBRARIES.has(basename(name));
      });
      assert.deepEqual(foreign, [], `ldd ${found.executablePath}:\n${output}`);
    });

    await t.step("it renders the landing page, text included, without an error", async () => {
      await using server = await startServer();
      await using browser = await launchBrowser(found);
      await using opened = await openPage(browser, `${server.url}/`, { javaScript: true });
      assert.equal(opened.response?.status(), 200);
      // Without a font Chromium lays text out zero pixels high, and screenshots come out blank.
      const heading = await opened.page.locator("h1").boundingBox();
      assert.ok(heading && heading.height > 10, `the h1's box: ${JSON.stringify(heading)}`);
      assert.deepEqual(
        [opened.consoleErrors, opened.pageErrors, opened.failedRequests, opened.cspViolations],
        [[], [], [], []],
      );
    });
  },
});
