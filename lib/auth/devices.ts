/**
 * New-device sign-ins. Each browser that signs in gets a long-lived random device cookie; the
 * user's `known_devices` record (its `_id` is the user id) keeps the SHA-256 hashes of the last
 * MAX_KNOWN_DEVICES, most recent first. A sign-in whose cookie is absent or unknown is from a new
 * device: the trader gets a `security` notification, written in the same unit that learns the
 * device, so it is told once.
 *
 * The hashes are not on the user document on purpose: a sign-in must not move the user's version,
 * or every change made at the version read (a password change or reset, a role change, two-factor)
 * would fail when it raced one.
 *
 * Users who have never been recorded (no record yet: a first sign-in after sign-up, or an account
 * from before this existed) are recorded silently: there is nothing to compare with.
 */
import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import type { RequestOrigin } from "../audit.ts";
import { noticeOp } from "../notify/notifications.ts";
import type { Doc, Store, WriteOp } from "../store/port.ts";
import { retryOnConflict } from "../store/retry.ts";
import { hashSecret } from "./tokens.ts";
import type { User } from "./users.ts";

export const MAX_KNOWN_DEVICES = 20;

/** The devices a user signed in from; `_id` is the user id. */
type KnownDevices = Doc & { hashes: string[] };

/** A device token as this app issues them: 32 random bytes, base64url. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Records the browser a user just signed in from and returns the device token its cookie should
 * hold (the one it sent when well-formed, else a new one). Notifies when the device is new.
 */
export async function recognizeDevice(
  store: Store,
  userId: string,
  presented: string | undefined,
  origin: RequestOrigin,
  now = new Date(),
): Promise<{ token: string; isNew: boolean }> {
  const token = presented && TOKEN.test(presented)
    ? presented
    : encodeBase64urlNoPadding(crypto.getRandomValues(new Uint8Array(32)));
  const hash = hashSecret(token);
  return await retryOnConflict(async () => {
    const [user, record] = await Promise.all([
      store.get<User>("users", userId),
      store.get<KnownDevices>("known_devices", userId),
    ]);
    if (!user) return { token, isNew: false };
    const known = record?.hashes;
    if (known?.[0] === hash) return { token, isNew: false };
    const isNew = !known?.includes(hash);
    const hashes = [hash, ...(known ?? []).filter((h) => h !== hash)].slice(0, MAX_KNOWN_DEVICES);
    const ops: WriteOp[] = [
      record
        ? {
          op: "update",
          collection: "known_devices",
          id: userId,
          ifVersion: record._v,
          set: { hashes },
        }
        : { op: "insert", collection: "known_devices", doc: { _id: userId, hashes } },
    ];
    if (isNew && known !== undefined) {
      ops.push(noticeOp(user, {
        kind: "security",
        title: `New sign-in: ${describeDevice(origin.userAgent)}`,
        body: `From the address ${origin.ip}. If this was not you, change your password and ` +
          "sign out your other sessions in Settings.",
        link: "/settings",
      }, now));
    }
    await store.commit(ops);
    return { token, isNew: isNew && known !== undefined };
  }, "Could not finish signing in. Please try again.");
}

/**
 * "Firefox on Linux": enough of a user agent for a person to recognise their device (the sessions
 * list, the new-device notice).
 */
export function describeDevice(userAgent: string): string {
  const browser = /Edg\//.test(userAgent)
    ? "Edge"
    : /OPR\//.test(userAgent)
    ? "Opera"
    : /Firefox\//.test(userAgent)
    ? "Firefox"
    : /Chrome\/|Chromium\//.test(userAgent)
    ? "Chrome"
    : /Safari\//.test(userAgent)
    ? "Safari"
    : /curl\//.test(userAgent)
    ? "curl"
    : "Unknown browser";
  const system = /Android/.test(userAgent)
    ? "Android"
    : /iPhone|iPad/.test(userAgent)
    ? "iOS"
    : /Windows/.test(userAgent)
    ? "Windows"
    : /Mac OS X/.test(userAgent)
    ? "macOS"
    : /Linux/.test(userAgent)
    ? "Linux"
    : null;
  return system ? `${browser} on ${system}` : browser;
}
