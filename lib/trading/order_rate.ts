/**
 * The one limit on how fast an account may place and replace orders, whatever the way in (the JSON
 * API, the order form, later API keys and signals): placeOrder and replaceOrder call it, so no
 * route can forget it. Cancels are never limited: taking risk off must always work.
 *
 * A sliding window of two seconds holding twice the per-second rate behaves like a token bucket
 * of that capacity refilling at that rate where it matters: a burst of 20 at once passes in full,
 * and anything faster than 10 a second sustained is refused, with the wait in Retry-After. The
 * limiter's sliding window runs the same on every backend (in-process, Redis, Upstash), so
 * instances sharing Redis share the count.
 *
 * Fails open: when the limiter errors or does not answer within its deadline, the order goes
 * through (and a warning is logged). Refusing would stop every customer from trading — closing a
 * position included — because a cache is down, while what the limit protects against stays
 * bounded without it: an account serialises its own writes (account_queue.ts), may have at most
 * 500 open orders (open_orders.ts), and the API's per-address limit still applies.
 */
import { AppError } from "../errors.ts";
import { limitWithDeadline, type RateRule } from "../rate_limit.ts";
import type { TradingContext } from "./orders.ts";

/** Orders per second sustained by default (ORDERS_PER_SECOND); bursts may reach twice as many. */
export const DEFAULT_ORDERS_PER_SECOND = 10;
/** The window the burst is counted over, in seconds: the burst is this many seconds' worth. */
const BURST_SECONDS = 2;

/** The rule for `perSecond` orders a second sustained and a burst of 2 × perSecond. */
export function orderRateRule(perSecond = DEFAULT_ORDERS_PER_SECOND): RateRule {
  return { name: "orders-account", limit: perSecond * BURST_SECONDS, windowS: BURST_SECONDS };
}

/** Counts one placement for the account; throws 429 `rate_limited` with Retry-After when over. */
export async function limitOrderPlacement(ctx: TradingContext, accountId: string): Promise<void> {
  if (!ctx.limiter) return;
  const rule = orderRateRule(ctx.settings.ordersPerSecond);
  const decision = await limitWithDeadline(ctx.limiter, rule, accountId, {
    failClosed: false,
    log: ctx.log,
  });
  if (decision.allowed) return;
  const wait = Math.max(1, Math.ceil(decision.retryAfterS));
  throw new AppError(
    429,
    "rate_limited",
    `Too many orders for this account: at most ${rule.limit} at once and ${
      rule.limit / rule.windowS
    } a second. Please wait ${wait} second${wait === 1 ? "" : "s"} and try again.`,
    { retryAfterS: wait, limit: rule.limit, windowS: rule.windowS },
    { "Retry-After": String(wait) },
  );
}
