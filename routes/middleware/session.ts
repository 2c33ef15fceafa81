/** Loads the signed-in user from the session cookie, and the guards that require one. */
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { CookieOptions } from "hono/utils/cookie";
import type { Role } from "../../lib/auth/users.ts";
import { validateSessionToken } from "../../lib/auth/session.ts";
import { apiKeyStillValid } from "../../lib/auth/api_keys.ts";
import { recognizeDevice } from "../../lib/auth/devices.ts";
import type { Config } from "../../lib/config.ts";
import { AppError } from "../../lib/errors.ts";
import type { Store } from "../../lib/store/port.ts";
import type { AppEnv } from "../env.ts";
import { requestOrigin } from "../request.ts";

type CookieConfig = Pick<Config, "isProduction" | "sessionCookieDomain">;

const BASE_NAME = "orion_session";

/**
 * In production the `__Host-` prefix pins the cookie to our exact host over https; sharing it
 * across subdomains (SESSION_COOKIE_DOMAIN) needs `__Secure-`, which allows a Domain.
 */
function cookieOptions(config: CookieConfig): CookieOptions {
  const prefix = !config.isProduction ? undefined : config.sessionCookieDomain ? "secure" : "host";
  return {
    path: "/",
    httpOnly: true,
    sameSite: "Lax",
    secure: config.isProduction,
    prefix,
    ...(prefix === "secure" ? { domain: config.sessionCookieDomain } : {}),
  };
}

/** The cookie's full name, prefix included. */
export function sessionCookieName(config: CookieConfig): string {
  const { prefix } = cookieOptions(config);
  return prefix === "host"
    ? `__Host-${BASE_NAME}`
    : prefix === "secure"
    ? `__Secure-${BASE_NAME}`
    : BASE_NAME;
}

/** Sets the session cookie to expire with the session. */
export function setSessionCookie(
  c: Context,
  config: CookieConfig,
  token: string,
  expiresAt: Date,
): void {
  setCookie(c, BASE_NAME, token, { ...cookieOptions(config), expires: expiresAt });
}

const DEVICE_NAME = "orion_device";
/** A device cookie lasts as long as browsers allow (400 days): it is how a device is known again. */
const DEVICE_MAX_AGE_S = 400 * 24 * 60 * 60;

/**
 * After a sign-in: the browser's device cookie is recognised or issued, and a sign-in from a new
 * device notifies the user (lib/auth/devices.ts).
 */
export async function rememberDevice(
  c: Context,
  deps: { store: Store; config: Config },
  userId: string,
): Promise<void> {
  const prefix = deps.config.isProduction ? "host" : undefined;
  const { token } = await recognizeDevice(
    deps.store,
    userId,
    getCookie(c, DEVICE_NAME, prefix),
    requestOrigin(c, deps.config.trustProxy),
  );
  setCookie(c, DEVICE_NAME, token, {
    path: "/",
    httpOnly: true,
    sameSite: "Lax",
    secure: deps.config.isProduction,
    prefix,
    maxAge: DEVICE_MAX_AGE_S,
  });
}

export function clearSessionCookie(c: Context, config: CookieConfig): void {
  deleteCookie(c, BASE_NAME, cookieOptions(config));
}

/** Puts `user` and `session` on the context when the cookie holds a valid session. */
export const loadSession = (
  deps: { store: Store; config: Config },
  options: { exempt?: RegExp } = {},
): MiddlewareHandler<AppEnv> => {
  const { config } = deps;
  const { prefix } = cookieOptions(config);
  return async function loadSession(c, next) {
    // Paths that never act for a session (a signal URL): a cookie sent along is not even read, so
    // it is neither renewed nor cleared.
    if (options.exempt?.test(c.req.path)) return next();
    // Authenticated by an API key (middleware/api_key.ts): no session is read, renewed or set.
    if (c.get("apiKey")) return next();
    const token = getCookie(c, BASE_NAME, prefix);
    if (token) {
      const result = await validateSessionToken(
        deps.store,
        token,
        requestOrigin(c, config.trustProxy),
      );
      if (result) {
        c.set("user", result.user);
        c.set("session", result.session);
        // A renewed session moves its expiry; the cookie follows so the browser keeps it as long.
        // Only then: a Set-Cookie on every answer would cost every page ~130 bytes.
        if (result.renewed) setSessionCookie(c, config, token, result.session.expiresAt);
      } else clearSessionCookie(c, config);
    }
    await next();
  };
};

/**
 * A check, for a long-lived response, that the request's session still holds: false once it was
 * signed out, expired, or ended by a credential change or suspension. For a request made with an
 * API key, that the key still holds: not revoked or expired, its user not suspended.
 */
export function sessionCheck(
  c: Context<AppEnv>,
  deps: { store: Store; config: Config },
): () => Promise<boolean> {
  const key = c.get("apiKey");
  if (key) return () => apiKeyStillValid(deps.store, key.id);
  const token = getCookie(c, BASE_NAME, cookieOptions(deps.config).prefix);
  const origin = requestOrigin(c, deps.config.trustProxy);
  return async () =>
    token !== undefined && (await validateSessionToken(deps.store, token, origin)) !== null;
}

/** Only signed-in users pass; others get 401 (pages turn that into a redirect to sign in). */
export const requireUser: MiddlewareHandler<AppEnv> = async function requireUser(c, next) {
  if (!c.get("user")) throw new AppError(401, "unauthenticated", "Please sign in to continue.");
  await next();
};

/** Only users with one of `roles` pass; others get 403. */
export const requireRole = (...roles: Role[]): MiddlewareHandler<AppEnv> => {
  return async function requireRole(c, next) {
    const user = c.get("user");
    if (!user) throw new AppError(401, "unauthenticated", "Please sign in to continue.");
    if (!roles.includes(user.role)) {
      throw new AppError(403, "forbidden", "You do not have access to this page.");
    }
    await next();
  };
};
