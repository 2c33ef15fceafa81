/** Securities and quotes as the API shows them. */
import type { MarketPhase } from "../lib/market/clock.ts";
import type { Security } from "../lib/market/securities.ts";
import type { Quote } from "../lib/market/simulator.ts";
import { formatFixed, parseFixed } from "../lib/money.ts";
import { type Market, securityFor, touchSize } from "../lib/trading/market.ts";

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

/**
 * Quotes for symbols a user named, with the size shown at each side (what one order can take from
 * this quote) and the session it is from (`pre`, `regular`, `post`, or `closed` for a held price);
 * an unknown symbol is a 422 `unknown_symbol`.
 */
export async function quotesFor(
  market: Market,
  symbols: string[],
  at: Date,
): Promise<(Quote & { bidSize: string; askSize: string; session: MarketPhase })[]> {
  const securities = symbols.map((s) => securityFor(market, s));
  const quotes = securities.length ? await market.provider.quotes(securities, at) : [];
  return quotes.map((quote, n) => {
    const security = securities[n];
    const size = (side: "bid" | "ask") =>
      formatFixed(
        touchSize(security, side, parseFixed(quote[side], security.priceDecimals), at),
        0,
      );
    return {
      ...quote,
      bidSize: size("bid"),
      askSize: size("ask"),
      session: market.clock.phase(security.assetClass, at),
    };
  });
}
