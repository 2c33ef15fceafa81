/** Opens the market at start-up: the catalog seeded and loaded, the clock, the quote provider. */
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { createMarketClock } from "../market/clock.ts";
import { createQuoteProvider } from "../market/provider.ts";
import { SecurityCatalog, seedSecurities } from "../market/securities.ts";
import { parseFixed } from "../money.ts";
import type { RateLimiter } from "../rate_limit.ts";
import type { Store } from "../store/port.ts";
import type { Market } from "./market.ts";
import { commissionFor } from "./order_rules.ts";
import type { TradingContext } from "./orders.ts";

export async function openMarket(
  store: Store,
  config: Pick<Config, "marketHours" | "marketDataApiKey" | "marketDataBaseUrl">,
  log: Logger,
): Promise<Market> {
  const seeded = await seedSecurities(store);
  if (seeded.inserted || seeded.updated) log.info("securities seeded", seeded);
  const clock = createMarketClock(config.marketHours);
  return {
    catalog: await SecurityCatalog.load(store),
    clock,
    provider: createQuoteProvider(config, clock, log),
  };
}

/** The trading code's view of the app. */
export function tradingContext(
  store: Store,
  market: Market,
  config: Pick<Config, "demoStartingCash" | "commissionPerOrder" | "ordersPerSecond">,
  log: Logger,
  limiter?: RateLimiter,
): TradingContext {
  return {
    store,
    market,
    settings: {
      startingCash: config.demoStartingCash,
      commission: commissionFor(parseFixed(config.commissionPerOrder, 2)),
      ordersPerSecond: config.ordersPerSecond,
    },
    log,
    limiter,
  };
}
