/** Securities and quotes as the API shows them. */
import type { Security } from "../lib/market/securities.ts";
import type { Quote } from "../lib/market/simulator.ts";
import { type Market, securityFor } from "../lib/trading/market.ts";

export function securityJson(security: Security) {
  return {
    symbol: security.symbol,
    name: security.name,
    exchange: security.exchange,
    assetClass: security.assetClass,
    sector: security.sector,
    tradable: security.tradable,
    fractionable: security.qtyDecimals > 0,
    priceDecimals: security.priceDecimals,
    qtyDecimals: security.qtyDecimals,
  };
}

/** Quotes for symbols a user named; an unknown one is a 422 `unknown_symbol`. */
export async function quotesFor(market: Market, symbols: string[], at: Date): Promise<Quote[]> {
  const securities = symbols.map((s) => securityFor(market, s));
  return securities.length ? await market.provider.quotes(securities, at) : [];
}
