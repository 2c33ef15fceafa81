/** The shapes of auth input, shared by the JSON API and the HTML forms (same field names). */
import { z } from "zod";
import { canonicalTimeZone } from "../lib/time.ts";
import { NOTIFICATION_EMAIL_CHOICES } from "../lib/auth/users.ts";

const email = z.string().trim().max(254, "Use at most 254 characters.").pipe(
  z.email("Enter a valid email address."),
);
// The length rules with their friendly messages live in lib/auth/password.ts; this only bounds
// the work Argon2 does on hostile input.
const password = z.string().min(1, "Enter a password.").max(1024, "Use at most 128 characters.");
const code = z.string().trim().max(32, "That code is too long.");

export const signUpInput = z.object({
  email,
  password,
  name: z.string().trim().min(1, "Enter your name.").max(100, "Use at most 100 characters."),
});

export const signInInput = z.object({
  email: z.string().trim().min(1, "Enter your email.").max(254, "Use at most 254 characters."),
  password,
  totpCode: code.optional(),
});

export const verifyEmailInput = z.union([
  z.object({ token: z.string().trim().min(1, "The link is incomplete.").max(200) }),
  z.object({ email, code: code.min(1, "Enter the code from the email.") }),
]);

export const emailOnlyInput = z.object({ email });

export const resetPasswordInput = z.object({
  token: z.string().trim().min(1, "The link is incomplete.").max(200),
  password,
});

export const changePasswordInput = z.object({
  currentPassword: password,
  newPassword: password,
});

export const reauthInput = z.object({ password, totpCode: code.optional() });

const name = z.string().trim().min(1, "Enter your name.").max(100, "Use at most 100 characters.");

/**
 * A time zone for showing times: an IANA name from the runtime's list (aliases browsers report are
 * turned into the listed name), or "" / null for "none chosen" (the browser's zone, else UTC).
 */
const timeZone = z.union([z.string(), z.null()]).transform((value, ctx) => {
  if (value === null || value.trim() === "") return null;
  const zone = canonicalTimeZone(value.trim());
  if (!zone) {
    ctx.addIssue({
      code: "custom",
      message: "Choose a time zone from the list, such as Europe/Berlin or UTC.",
    });
    return z.NEVER;
  }
  return zone;
});

/** The profile: the name and the time zone, each optional, at least one. */
const profileFields = z.object({ name: name.optional(), timeZone: timeZone.optional() });

export const profileInput = profileFields.refine(
  (p) => p.name !== undefined || p.timeZone !== undefined,
  { message: "Send a name or a timeZone.", path: ["name"] },
);

/** PATCH /api/auth/profile: the profile, and the email choices the settings page also sets. */
export const profilePatch = profileFields.extend({
  weeklyStatement: z.boolean({ error: "weeklyStatement must be true or false." }).optional(),
  notificationEmail: z.enum(NOTIFICATION_EMAIL_CHOICES, {
    error: `Use one of ${NOTIFICATION_EMAIL_CHOICES.join(", ")}.`,
  }).optional(),
}).refine((p) => Object.values(p).some((v) => v !== undefined), {
  message: "Send a name, timeZone, weeklyStatement or notificationEmail.",
  path: ["name"],
});

/** The weekly statement checkbox: sent as "true" when ticked, absent when not. */
export const weeklyStatementInput = z.object({
  weeklyStatement: z.enum(["true"], { error: "Tick the box or leave it empty." }).optional(),
});

export const codeInput = z.object({ code: code.min(1, "Enter the 6-digit code.") });
