/** The emails the auth flows send, each with a plain-text and an HTML part. */
import { composeEmail as compose, type Email } from "../email.ts";

/** The verification email: a single-use link and, for typing on another device, an 8-digit code. */
export function verificationEmail(to: string, name: string, link: string, code: string): Email {
  return compose(to, "Confirm your email for Orion Assets Broker", name, [
    "Confirm this email address to finish setting up your Orion account.",
    { link, label: "Confirm my email" },
    `Or enter this code: ${code.slice(0, 4)} ${code.slice(4)}`,
    "The link and the code work once, for 24 hours. If you did not sign up, ignore this email.",
  ]);
}

/** The password reset email: a single-use link valid for one hour. */
export function passwordResetEmail(to: string, name: string, link: string): Email {
  return compose(to, "Reset your Orion Assets Broker password", name, [
    "Someone (hopefully you) asked to reset the password of your Orion account.",
    { link, label: "Choose a new password" },
    "The link works once, for one hour. If you did not ask, ignore this email: your password stays as it is.",
  ]);
}

/** A notice after the password changed, so an owner who did not change it learns at once. */
export function passwordChangedEmail(to: string, name: string, resetLink: string): Email {
  return compose(to, "Your Orion Assets Broker password was changed", name, [
    "The password of your Orion account was just changed, and every other session was signed out.",
    "If this was not you, reset your password now:",
    { link: resetLink, label: "Reset my password" },
  ]);
}

/** A notice to the address an account had before an email change, so a takeover is not silent. */
export function emailChangedEmail(
  to: string,
  name: string,
  newEmail: string,
  resetLink: string,
): Email {
  return compose(to, "The email of your Orion Assets Broker account was changed", name, [
    `The email address of your Orion account was just changed from ${to} to ${newEmail}, and every other session was signed out. Emails about the account now go to the new address.`,
    "If this was not you, secure your account now: choose a new password with this link, which signs everyone out. Then sign in with the new address and your new password, and change the email back in Settings.",
    { link: resetLink, label: "Secure my account" },
    "The link works once, for one hour. After that, contact support and quote this email.",
  ]);
}
