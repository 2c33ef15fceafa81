/**
 * An admin's first shift in real Chromium, with JavaScript on and off: signed up through the UI,
 * promoted by `deno task admin:promote` against the server's own KV file, then finds a user,
 * suspends them and reads the audit entry. Phone-size screenshots land in /tmp.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { Locator } from "playwright-core";
import { browserTest, launchBrowser, openPage } from "./support/browser.ts";
import { Journey } from "./support/journey.ts";
import { startServer, type TestServer } from "./support/server.ts";

// Kept on disk so a person (or a CI artifact upload) can look at the phone layout.
const USER_SCREENSHOT = "/tmp/orion-admin-user.png";
const METRICS_SCREENSHOT = "/tmp/orion-admin-metrics.png";
const ADMIN = "admin@example.com";
const PASSWORD = "vivid-otter-planet-42";
const ROOT = new URL("../", import.meta.url);

browserTest(import.meta.url, {
  name: "[browser] an admin finds a user, suspends them and sees it in the audit log",
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "orion-admin-" });
    const kvPath = `${dir}/orion.kv`;
    try {
      // A KV file, not memory, so the promotion script reaches the server's store. MONGODB_URI is
      // blanked for both, so a CI run against MongoDB cannot split them across two stores.
      await using server = await startServer({
        KV_PATH: kvPath,
        MONGODB_URI: "",
        ENABLE_ANALYTICS: "true",
      });
      await using browser = await launchBrowser();

      for (const javaScript of [true, false]) {
        await t.step(`JavaScript ${javaScript ? "on" : "off"}`, async () => {
          const target = `victim.${javaScript ? "js" : "nojs"}@example.com`;
          await signUpAndTrade(server, target);
          await using opened = await openPage(browser, `${server.url}/`, { javaScript });
          const shift = new Shift(opened, server, javaScript);
          if (javaScript) await shift.becomeAdmin(kvPath);
          else await shift.signIn();
          await shift.findAndSuspend(target);
          await shift.readAudit(target);
          if (javaScript) await shift.metrics();
          shift.assertClean("the shift");
        });
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** A trader who signs up, signs in and places an order through the JSON API, for the admin to find. */
async function signUpAndTrade(server: TestServer, email: string) {
  const post = (path: string, body: unknown, cookie = "") =>
    fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Origin: server.url, Cookie: cookie },
      body: JSON.stringify(body),
    });
  const signUp = await post("/api/auth/sign-up", { email, password: PASSWORD, name: "Victim" });
  assert.equal(signUp.status, 201, await signUp.text());
  const signIn = await post("/api/auth/sign-in", { email, password: PASSWORD });
  assert.equal(signIn.status, 200, await signIn.text());
  const cookie = signIn.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  const order = await post("/api/orders", {
    symbol: "AAPL",
    side: "buy",
    type: "market",
    qty: "1",
    timeInForce: "day",
  }, cookie);
  assert.equal(order.status, 201, await order.text());
}

/** `deno task admin:promote <email>` against the KV file, as ops run it. */
async function promote(kvPath: string, email: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      fileURLToPath(new URL("deno.json", ROOT)),
      fileURLToPath(new URL("scripts/admin_promote.ts", ROOT)),
      email,
    ],
    cwd: await Deno.makeTempDir(),
    env: { KV_PATH: kvPath, NODE_ENV: "test", USER: "browser-test" },
    clearEnv: true,
  }).output();
  const text = new TextDecoder();
  assert.equal(out.code, 0, text.decode(out.stderr));
  assert.match(text.decode(out.stdout), /admin@example.com is now an ADMIN/);
}

/** One admin's walk through the admin pages; it provokes no failure, so none is allowed. */
class Shift extends Journey {
  /** Signs up through the form, is promoted by the ops script, and signs in again as an admin. */
  async becomeAdmin(kvPath: string) {
    const { page } = this;
    await this.fillSignUp("Ada Admin", ADMIN, PASSWORD);
    await this.navigation(page.getByRole("button", { name: "Create my account" }).click());
    await promote(kvPath, ADMIN);
    await this.signIn();
  }

  async signIn() {
    const { page } = this;
    await this.navigation(this.nav("Sign in").click());
    await page.getByLabel("Email").fill(ADMIN);
    await page.getByLabel("Password").fill(PASSWORD);
    await this.navigation(page.getByRole("button", { name: "Sign in", exact: true }).click());
    this.assertPath("/dashboard");
  }

  async findAndSuspend(email: string) {
    const { page } = this;
    await this.openMore();
    await this.navigation(this.nav("Admin").click());
    this.assertPath("/admin");
    await this.assertHeading("Admin");
    assert.match(
      (await page.getByRole("heading", { name: /^Read-only mode/ }).textContent()) ?? "",
      /off/,
    );
    await this.navigation(this.section("Users").click());
    this.assertPath("/admin/users");
    await page.getByLabel("Email starts with").fill(email.slice(0, 9));
    const link = page.locator("#user-results").getByRole("link", { name: email });
    if (this.javaScript) {
      // Typing filters as you go: htmx swaps the results in and keeps the URL in step.
      await link.waitFor();
      await page.waitForURL((url) => url.searchParams.get("email") === email.slice(0, 9));
    } else {
      await this.navigation(page.getByRole("button", { name: "Search" }).click());
      assert.equal(new URL(page.url()).searchParams.get("email"), email.slice(0, 9));
    }
    await this.navigation(link.click());
    await this.assertHeading(email);
    const accounts = page.locator("section", { has: page.locator("#accounts-h") });
    assert.match((await accounts.textContent()) ?? "", /PA\d{8}active\$[\d,]+\.\d\d/);
    const orders = page.locator("section", { has: page.locator("#orders-h") });
    assert.match((await orders.textContent()) ?? "", /BUY 1 AAPL/);
    if (this.javaScript) await page.screenshot({ path: USER_SCREENSHOT, fullPage: true });

    await this.navigation(page.getByRole("button", { name: "Suspend" }).click());
    await this.assertHeading(email);
    await this.assertFlash(`${email} is suspended and signed out everywhere.`);
    assert.equal(await page.getByRole("button", { name: "Reinstate" }).count(), 1);
  }

  async readAudit(email: string) {
    const { page } = this;
    await this.navigation(page.getByRole("link", { name: "This user's audit log" }).click());
    this.assertPath("/admin/audit");
    await this.assertHeading("Audit log");
    assert.equal(await page.getByLabel("User (id or email)").inputValue() !== "", true);
    const row = page.getByRole("row").filter({ hasText: "admin.role_changed" });
    assert.equal(await row.count(), 1);
    const text = (await row.textContent()) ?? "";
    assert.match(text, /success/);
    assert.match(
      text,
      new RegExp(`${email.replaceAll(".", "\\.")}${ADMIN.replaceAll(".", "\\.")}`),
    );
    assert.match(text, /from=USER to=SUSPENDED/);
    await page.getByLabel("Action").selectOption("auth.sign_in");
    await this.navigation(page.getByRole("button", { name: "Filter" }).click());
    assert.equal(new URL(page.url()).searchParams.get("action"), "auth.sign_in");
    assert.equal(await page.getByRole("row").filter({ hasText: "admin.role_changed" }).count(), 0);
    assert.equal(await page.getByRole("row").filter({ hasText: "auth.sign_in" }).count(), 1);
  }

  async metrics() {
    const { page } = this;
    await this.navigation(this.section("Metrics").click());
    await this.assertHeading("Metrics");
    assert.equal(await page.getByRole("img", { name: /^Sign-ups per day: / }).count(), 1);
    assert.equal(await page.locator("figure.chart svg").count(), 6);
    await page.screenshot({ path: METRICS_SCREENSHOT, fullPage: true });
  }

  section(name: string): Locator {
    return this.page.getByRole("navigation", { name: "Admin sections" }).getByRole("link", {
      name,
      exact: true,
    });
  }
}
