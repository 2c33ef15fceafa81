/**
 * Authenticates `/api` requests that carry `Authorization: Bearer <API key>` (lib/auth/api_keys.ts)
 * and enforces what a key may do, in one place, so no route can forget it: keys open only the
 * trading areas of the API, any method but GET and HEAD needs the `trade` scope, and each key
 * has its own rate limits.
 */
import type { MiddlewareHandler } from "hono";
import { type ApiKeyRefusal, authenticateApiKey } from "../../lib/auth/api_keys.ts";
import { tooManyRequests } from "../../lib/auth/limits.ts";
import { AppError } from "../../lib/errors.ts";
import { limitWithDeadline, type RateRule } from "../../lib/rate_limit.ts";
import type { AppDeps, AppEnv } from "../env.ts";
import { requestOrigin } from "../request.ts";

export const API_KEY_LIMITS = {
  /** Every request made with one key. */
  requests: { name: "api-key", limit: 200, windowS: 60 },
  /** Orders placed or replaced with one key, on top of the account's own order rate. */
  orders: { name: "api-key-orders", limit: 10, windowS: 1 },
} as const satisfies Record<string, RateRule>;

/**
 * The parts of the API a key opens: the user's trading data and the market. The rest (the auth
 * API with its sessions and passwords, key management, the admin API) needs a signed-in session,
 * so a leaked key cannot make more keys, change the password or act as an admin. A new area stays
 * closed to keys until it is listed here.
 */
const KEY_AREAS =
  /^\/api\/(?:accounts|orders|positions|trades|realized-gains|activities|watchlists|portfolio|exports|stream|clock|securities|quotes|bars|corporate-actions|alerts|notifications|webhooks|signal-urls)(?:\/|$)/;

/** Whether an API key may be used on this /api path at all (its scope aside). */
export function keyOpens(path: string): boolean {
  return KEY_AREAS.test(path);
}

const READ_METHODS = new Set(["GET", "HEAD"]);

/** Whether a request with this method and path places or replaces an order. */
function placesOrder(method: string, path: string): boolean {
  return (method === "POST" && path === "/api/orders") ||
    (method === "PATCH" && /^\/api\/orders\/[^/]+$/.test(path));
}

/** The request's Bearer credential, or undefined when it has none. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
  return match?.[1];
}

export const apiKeyAuth = (
  deps: AppDeps,
  options: { exempt?: RegExp } = {},
): MiddlewareHandler<AppEnv> => {
  return async function apiKeyAuth(c, next) {
    // A signal's credential is its URL's token (routes/signals_api.ts), whatever else it carries.
    if (options.exempt?.test(c.req.path)) return next();
    const header = c.req.header("Authorization");
    if (header === undefined || !/^Bearer\b/i.test(header)) return next();
    const secret = bearerToken(header);
    const origin = requestOrigin(c, deps.config.trustProxy);
    const result = secret === undefined
      ? { refused: "invalid" as const }
      : await authenticateApiKey(deps.store, secret, origin);
    if ("refused" in result) throw refusal(result.refused);
    const { key, user } = result;
    // Claimed before the route runs, like every limit here: simultaneous requests cannot slip
    // past it. Fails open, as the API-wide limit does: a limiter outage must not stop trading.
    const limit = async (rule: RateRule) => {
      const decision = await limitWithDeadline(deps.limiter, rule, key._id, {
        failClosed: false,
        log: deps.log,
      });
      if (!decision.allowed) throw tooManyRequests(decision.retryAfterS);
    };
    await limit(API_KEY_LIMITS.requests);
    if (!keyOpens(c.req.path)) {
      throw insufficientScope("API keys work only on the trading API; sign in for this.");
    }
    if (!READ_METHODS.has(c.req.method) && !key.scopes.includes("trade")) {
      throw insufficientScope("This API key may only read. Create a key with the trade scope.");
    }
    if (placesOrder(c.req.method, c.req.path)) await limit(API_KEY_LIMITS.orders);
    c.set("user", user);
    c.set("apiKey", { id: key._id, scopes: key.scopes });
    await next();
  };
};

function refusal(reason: ApiKeyRefusal): AppError {
  return new AppError(
    401,
    "invalid_api_key",
    reason === "expired"
      ? "This API key has expired. Create a new one in settings."
      : "This API key is not valid: it may have been revoked.",
    undefined,
    { "WWW-Authenticate": 'Bearer realm="orion", error="invalid_token"' },
  );
}

function insufficientScope(message: string): AppError {
  return new AppError(403, "insufficient_scope", message, undefined, {
    "WWW-Authenticate": 'Bearer realm="orion", error="insufficient_scope"',
  });
}
