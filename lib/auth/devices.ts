/**
 * New-device sign-ins. Each browser that signs in gets a long-lived random device cookie; the user
 * keeps the SHA-256 hashes of the last MAX_KNOWN_DEVICES (`knownDevices`, most recent first). A
 * sign-in whose cookie is absent or unknown is from a new device: the trader gets a `security`
 * notification, written in the same unit that learns the device, so it is told once.
 *
 * Users who have never been recorded (no `knownDevices` yet: a first sign-in after sign-up, or an
 * account from before this existed) are recorded silently: there is nothing to compare with.
 */
import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import type { RequestOrigin } from "../audit.ts";
import { noticeOp } from "../notify/notifications.ts";
import type { Store, WriteOp } from "../store/port.ts";
import { retryOnConflict } from "../store/retry.ts";
import { hashSecret } from "./tokens.ts";
import type { User } from "./users.ts";

export const MAX_KNOWN_DEVICES = 20;

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
    const user = await store.get<User>("users", userId);
    if (!user) return { token, isNew: false };
    const known = user.knownDevices;
    if (known?.[0] === hash) return { token, isNew: false };
    const isNew = !known?.includes(hash);
    const ops: WriteOp[] = [{
      op: "update",
      collection: "users",
      id: user._id,
      ifVersion: user._v,
      set: {
        knownDevices: [hash, ...(known ?? []).filter((h) => h !== hash)].slice(
          0,
          MAX_KNOWN_DEVICES,
        ),
      },
    }];
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
