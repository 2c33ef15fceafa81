/**
 * Signals in: `POST /api/signals/:token`, where an outside sender (a TradingView alert, a script)
 * posts an order to one of a user's signal URLs; and `/api/signal-urls`, where the user manages
 * them and reads their log (lib/trading/signals.ts).
 *
 * A signal carries no session and no API key: the token in the path, and a signature when the URL
 * requires one, are its only credentials. So the origin check, the API-key and session middleware
 * and the per-address API limit leave the path alone (SIGNAL_PATH): a cookie sent along is never
 * read, renewed or cleared, and a page on another origin gains nothing by posting there, since it
 * would need the token, with which anyone can post from anywhere.
 */
import { type Context, Hono } from "hono";
import { reauthenticationRequired } from "../lib/auth/account.ts";
import { LIMITS, tooManyRequests } from "../lib/auth/limits.ts";
import { inSudoMode } from "../lib/auth/session.ts";
import { AppError, notFound } from "../lib/errors.ts";
import { normalizeSymbol } from "../lib/market/securities.ts";
import { limitWithDeadline } from "../lib/rate_limit.ts";
import { placeOrder } from "../lib/trading/orders.ts";
import {
  createSignalUrl,
  findSignalUrl,
  listSignals,
  listSignalUrls,
  ownSignalUrl,
  recordSignal,
  revokeSignalUrl,
  SIGNAL_BODY_MAX_BYTES,
  SIGNAL_TOKEN_PREFIX_LENGTH,
  SIGNAL_URL_RATE,
  signalAccount,
  signalAddress,
  signalIdempotencyKey,
  signalJson,
  type SignalRequestSummary,
  signalUrlJson,
  summarizeSignal,
  verifySignalSignature,
} from "../lib/trading/signals.ts";
import type { AppDeps, AppEnv } from "./env.ts";
import { requireUser } from "./middleware/session.ts";
import { jsonBody, parseInput, requestOrigin } from "./request.ts";
import { signalInput, signalsQuery, signalUrlInput } from "./signals_schemas.ts";

/** The path signals are posted to, which the session, API-key and origin middleware leave alone. */
export const SIGNAL_PATH = /^\/api\/signals\/[^/]+$/;

/** A signal's path as the request log keeps it: the token cut to the prefix lists show. */
export function redactSignalToken(path: string): string {
  return SIGNAL_PATH.test(path)
    ? path.replace(/[^/]+$/, (token) => `${token.slice(0, SIGNAL_TOKEN_PREFIX_LENGTH)}…`)
    : path;
}

/** `POST /api/signals/:token`: one signal, placed as an order, kept with its outcome. */
export function signalDeliveryApi(deps: AppDeps) {
  const { store, config } = deps;
  const limit = (rule: typeof SIGNAL_URL_RATE, key: string) =>
    limitWithDeadline(deps.limiter, rule, key, { failClosed: false, log: deps.log });

  return new Hono<AppEnv>().post("/:token", async (c) => {
    const origin = requestOrigin(c, config.trustProxy);
    const found = await findSignalUrl(store, c.req.param("token"));
    if (!found) {
      // Only a known URL has a limit of its own; anything else counts against the address, like
      // every other API request, and learns no more than that nothing is there.
      const decision = await limit(LIMITS.apiPerIp, origin.ip);
      if (!decision.allowed) throw tooManyRequests(decision.retryAfterS);
      throw notFound("No such signal URL.");
    }
    const { url, user } = found;
    // Claimed first and not recorded: a flood must neither get further nor fill the log.
    const decision = await limit(SIGNAL_URL_RATE, url._id);
    if (!decision.allowed) {
      const wait = Math.max(1, Math.ceil(decision.retryAfterS));
      throw new AppError(
        429,
        "rate_limited",
        `Too many signals for this URL: at most ${SIGNAL_URL_RATE.limit} a minute. Please wait ${wait} second${
          wait === 1 ? "" : "s"
        }.`,
        { retryAfterS: wait },
        { "Retry-After": String(wait) },
      );
    }

    const bytes = new Uint8Array(await c.req.arrayBuffer());
    const text = new TextDecoder().decode(bytes);
    let summary: SignalRequestSummary = summarizeSignal(null);
    const record = (
      outcome: "placed" | "replayed" | "rejected",
      orderId: string | null,
      status: number,
      error: AppError | null,
    ) =>
      recordSignal(store, url, {
        ip: origin.ip,
        body: text,
        summary,
        outcome,
        orderId,
        status,
        error,
      });
    try {
      if (bytes.length > SIGNAL_BODY_MAX_BYTES) {
        throw new AppError(
          413,
          "payload_too_large",
          `A signal is at most ${SIGNAL_BODY_MAX_BYTES} bytes.`,
        );
      }
      const messageId = await verifySignalSignature(url, config, bytes, c.req.raw.headers);
      const body = signalBody(text);
      summary = summarizeSignal(body);
      const input = parseInput(signalInput, body);
      const account = await signalAccount(store, url);
      const { order, replayed } = await placeOrder(deps.trading, user._id, {
        ...input,
        accountId: account._id,
        symbol: normalizeSymbol(input.symbol),
      }, {
        idempotencyKey: signalIdempotencyKey(url, input.clientOrderId, messageId),
        origin,
      });
      const status = replayed ? 200 : 201;
      const signal = await record(replayed ? "replayed" : "placed", order.id, status, null);
      if (replayed) c.header("Idempotent-Replayed", "true");
      return c.json({ signal: signalJson(signal), replayed, order }, status);
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      const signal = await record("rejected", null, err.status, err);
      // The sender's answer names the log entry, so the owner can find it.
      throw new AppError(
        err.status,
        err.code,
        err.message,
        { ...err.details, signalId: signal._id },
        err.headers,
      );
    }
  });
}

/**
 * A signal's body as JSON, whatever its Content-Type: TradingView posts its alert message as
 * text/plain unless the message itself is JSON.
 */
function signalBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError(
      400,
      "malformed_json",
      'A signal is JSON: {"symbol":"AAPL","side":"buy","qty":1}.',
    );
  }
}

/**
 * `/api/signal-urls`: the user's signal URLs and their logs. A session or an API key may list,
 * read and revoke them (keys: `read` to read, `trade` to revoke); making one needs a session with
 * a recent sign-in, as API keys do, so a leaked key cannot mint new ways in.
 */
export function signalUrlsApi(deps: AppDeps) {
  const { store, config } = deps;
  const origin = (c: Context<AppEnv>) => requestOrigin(c, config.trustProxy);
  const userId = (c: Context<AppEnv>) => c.get("user")!._id;

  return new Hono<AppEnv>()
    .use(requireUser)
    .get("/", async (c) => {
      const urls = await listSignalUrls(store, userId(c));
      return c.json({ signalUrls: urls.map(signalUrlJson) });
    })
    .post("/", async (c) => {
      const session = c.get("session");
      if (!session) {
        throw new AppError(
          403,
          "insufficient_scope",
          "Signal URLs are made from a signed-in session, not with an API key.",
        );
      }
      if (!inSudoMode(session)) throw reauthenticationRequired();
      const input = parseInput(signalUrlInput, await jsonBody(c));
      const { url, token, secret } = await createSignalUrl(
        store,
        { ...config, startingCash: deps.trading.settings.startingCash },
        c.get("user")!,
        input,
        origin(c),
      );
      // The only answer that ever holds the token (and the URL's own secret).
      return c.json({
        signalUrl: signalUrlJson(url),
        url: signalAddress(config.appUrl, token),
        token,
        secret,
      }, 201);
    })
    .delete("/:id", async (c) => {
      await revokeSignalUrl(store, userId(c), c.req.param("id"), origin(c));
      return c.body(null, 204);
    })
    .get("/:id/signals", async (c) => {
      const url = await ownSignalUrl(store, userId(c), c.req.param("id"));
      const query = parseInput(signalsQuery, c.req.query());
      const page = await listSignals(store, url, query.limit, query.cursor);
      return c.json({ signals: page.items.map(signalJson), nextCursor: page.nextCursor });
    });
}
