/** Users: the stored shape, email normalisation, and the view of a user that leaves the server. */
import { auditOp, type RequestOrigin } from "../audit.ts";
import type { Doc, Store } from "../store/port.ts";
import { retryOnConflict } from "../store/retry.ts";

export const ROLES = ["USER", "ADMIN", "DEMO", "SUSPENDED"] as const;

/**
 * Email addresses compare case-insensitively in practice, so they are stored trimmed and
 * lowercased. Provider-specific tricks (dots, plus tags) are left alone: they are real addresses.
 */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** The user a session belongs to, as the API and pages may show it. */
export function publicUser(user: User): PublicUser {
  return {
    id: user._id,
    email: user.email,
    name: user.name,
    role: user.role,
    emailVerified: user.emailVerifiedAt !== null,
    twoFactorEnabled: Boolean(user.totp),
    timeZone: user.timeZone ?? null,
    weeklyStatement: user.weeklyStatement ?? false,
    notificationEmail: user.notificationEmail ?? "none",
    createdAt: user.createdAt.toISOString(),
  };
}

/**
 * The field to set, in the same write as the credential change, so every session opened before it
 * ends (the write must be at the version read: `ifVersion`, so two changes cannot both add one).
 */
export function nextCredentialVersion(user: Pick<User, "credentialVersion">): {
  credentialVersion: number;
} {
  return { credentialVersion: (user.credentialVersion ?? 0) + 1 };
}

/** The user with this (normalised) email, or null. */
export function findUserByEmail(store: Store, email: string): Promise<User | null> {
  return store.findOne<User>("users", { email: normalizeEmail(email) });
}

export type Role = (typeof ROLES)[number];

/** TOTP two-factor state; the key is sealed with AUTH_SECRET (see secret_box.ts). */
export type TotpState = {
  sealedKey: string;
  enabledAt: Date;
  /** The last time step accepted, so no code is accepted twice. */
  lastUsedStep: number | null;
  /** Wrong codes in a row; at TOTP_MAX_FAILURES the second factor locks until a password reset. */
  failures: number;
};

export type User = Doc & {
  email: string;
  name: string;
  passwordHash: string;
  role: Role;
  emailVerifiedAt: Date | null;
  createdAt: Date;
  passwordChangedAt: Date;
  totp: TotpState | null;
  /** A key generated for enrolment, confirmed by a first code before it becomes `totp`. */
  totpPendingKey: string | null;
  recoveryCodeHashes: string[];
  /**
   * Moves on by one with every change that must end the sessions opened before it: password
   * change or reset, role change (suspension included), email change, turning two-factor on.
   * Each session records the
   * version it was opened under and stops working when they differ (session.ts). Absent on
   * documents written before it existed, which is version 0.
   */
  credentialVersion?: number;
  /**
   * The IANA time zone the user chose for showing times (lib/time.ts); absent or null: none
   * chosen, so the browser's zone when it told us, else UTC.
   */
  timeZone?: string | null;
  /**
   * Whether the user asked for the weekly statement email (lib/trading/weekly_statement.ts);
   * absent on documents written before it existed, which is off.
   */
  weeklyStatement?: boolean;
  /**
   * Which notifications also come by email (lib/notify/notifications.ts): none, fills and
   * alerts, or everything. Absent: none.
   */
  notificationEmail?: NotificationEmailChoice;
};

/** Which notifications a user also wants by email. */
export const NOTIFICATION_EMAIL_CHOICES = ["none", "fills_alerts", "all"] as const;
export type NotificationEmailChoice = (typeof NOTIFICATION_EMAIL_CHOICES)[number];

export type PublicUser = {
  id: string;
  email: string;
  name: string;
  role: Role;
  emailVerified: boolean;
  twoFactorEnabled: boolean;
  /** The chosen time zone, or null when none was chosen. */
  timeZone: string | null;
  /** The email choices (settings → Weekly statement, Notifications). */
  weeklyStatement: boolean;
  notificationEmail: NotificationEmailChoice;
  createdAt: string;
};

/** The emails a user can choose: the weekly statement, and which notifications come by email. */
export type EmailChoice =
  | { weeklyStatement: boolean }
  | { notificationEmail: NotificationEmailChoice };

/** Saves one of the user's email choices, audited when it changes. */
export async function setEmailChoice(
  store: Store,
  userId: string,
  choice: EmailChoice,
  origin: RequestOrigin,
  now = new Date(),
): Promise<void> {
  const [[field, value]] = Object.entries(choice);
  await retryOnConflict(async () => {
    const user = (await store.get<User>("users", userId))!;
    const current = "weeklyStatement" in choice
      ? user.weeklyStatement ?? false
      : user.notificationEmail ?? "none";
    if (current === value) return;
    await store.commit([
      { op: "update", collection: "users", id: user._id, set: choice, ifVersion: user._v },
      auditOp({
        action: "weeklyStatement" in choice
          ? "user.weekly_statement_changed"
          : "user.notification_email_changed",
        outcome: "success",
        userId: user._id,
        origin,
        details: "weeklyStatement" in choice ? { on: value } : { [field]: value },
      }, now),
    ]);
  }, "Your settings are busy. Please try again.");
}
