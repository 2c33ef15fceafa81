/** A new user's whole account journey in real Chromium, through the UI only, with JavaScript on and off. */
import assert from "node:assert/strict";
import { browserTest, launchBrowser, openPage } from "./support/browser.ts";
import { Journey } from "./support/journey.ts";
import { startServer } from "./support/server.ts";

// Kept on disk so a person (or a CI artifact upload) can look at the phone layout.
const SIGN_UP_ERROR_SCREENSHOT = "/tmp/orion-signup-error.png";
const SETTINGS_SCREENSHOT = "/tmp/orion-settings.png";

const NAME = "Ada Lovelace";
const WEAK_PASSWORD = "password1";
const STRONG_PASSWORD = "vivid-otter-planet-42";
const WRONG_PASSWORD = "wrong-otter-planet-43";

browserTest(import.meta.url, {
  name: "[browser] a new user signs up, confirms the email, signs in and out",
  async fn(t) {
    await using server = await startServer({ REQUIRE_EMAIL_VERIFICATION: "true" });
    await using browser = await launchBrowser();

    for (const javaScript of [true, false]) {
      await t.step(`JavaScript ${javaScript ? "on" : "off"}`, async () => {
        await using opened = await openPage(browser, `${server.url}/`, { javaScript });
        const journey = new AuthJourney(opened, server, javaScript);
        await journey.run(`ada.${javaScript ? "js" : "nojs"}@example.com`);
      });
    }
  },
});

/** One user's walk through the auth pages, and the failures the walk provokes on purpose. */
class AuthJourney extends Journey {
  async run(email: string) {
    await this.signUp(email);
    await this.confirmEmail(email);
    await this.signIn(email);
    await this.signOut();
    this.assertClean("the journey");
  }

  async signUp(email: string) {
    const { page } = this;
    await this.fillSignUp(NAME, email, WEAK_PASSWORD);
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
    const href = (await link.getAttribute("href"))!;
    // A wrong code first: the error shows in the form, which stays the only one on the page.
    await this.navigation(
      page.goto(`${this.server.url}/verify-email?email=${encodeURIComponent(email)}`),
    );
    await page.getByLabel("Code").fill("1234 5678");
    const codeError = page.locator("#verify-code-form").getByRole("alert");
    await this.submitExpectingError("Confirm", "/verify-email", 422, codeError);
    assert.match((await codeError.textContent()) ?? "", /code/i);

    await this.navigation(page.goto(href));
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
    await this.openMore();
    await this.navigation(this.nav("Settings").click());
    this.assertPath("/settings");
    await this.assertHeading("Settings");
    const emailSection = page.getByRole("region", { name: "Email", exact: true });
    assert.match((await emailSection.textContent()) ?? "", new RegExp(`${email}\\s+confirmed`));
    const sessions = page.getByRole("region", { name: "Where you are signed in" });
    assert.equal(await sessions.getByText("this device", { exact: true }).count(), 1);
    if (this.javaScript) {
      await page.screenshot({ path: SETTINGS_SCREENSHOT, fullPage: true });
    }

    // Two-factor set-up with a wrong code: the settings page answers in place, never nested.
    await this.navigation(
      page.getByRole("button", { name: "Set up two-factor authentication" }).click(),
    );
    await page.getByLabel("Code from the app").fill("000000");
    const totpError = page.locator("#totp-form").getByRole("alert");
    await this.submitExpectingError("Turn on", "/settings/2fa/confirm", 422, totpError);
  }

  async signOut() {
    const { page } = this;
    await this.openMore();
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
}
