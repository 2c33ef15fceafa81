/** Flash messages: a note set before a redirect and shown once on the next page. */
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getSignedCookie, setSignedCookie } from "hono/cookie";

const COOKIE = "flash";

/** What a flash message says and how it looks. */
export type Flash = { kind: "success" | "error" | "info"; text: string };

/** Reads (and clears) the flash cookie into `c.var.flash`; signing keeps others from forging one. */
export const flash = (secret: string): MiddlewareHandler => {
  return async function flash(c, next) {
    const raw = c.req.method === "GET" ? await getSignedCookie(c, secret, COOKIE) : undefined;
    // `false` means the signature did not verify: the cookie is dropped unread.
    if (raw !== undefined) deleteCookie(c, COOKIE, { path: "/" });
    if (typeof raw === "string") {
      try {
        const parsed = JSON.parse(raw);
        if (typeof parsed?.text === "string") c.set("flash", parsed as Flash);
      } catch {
        // A cookie that is not ours to read is dropped.
      }
    }
    c.set("flashSecret", secret);
    await next();
  };
};

/** Sets the message the next page shows, typically right before a 303 redirect. */
export async function setFlash(c: Context, message: Flash): Promise<void> {
  await setSignedCookie(c, COOKIE, JSON.stringify(message), c.get("flashSecret"), {
    path: "/",
    httpOnly: true,
    sameSite: "Lax",
    maxAge: 60,
  });
}
