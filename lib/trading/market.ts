/** What trading needs from the market: the catalog, the clock, and quotes as fixed-point amounts. */
import { AppError } from "../errors.ts";
import type { MarketClock } from "../market/clock.ts";
import type { QuoteProvider } from "../market/provider.ts";
import { normalizeSymbol, type Security, type SecurityCatalog } from "../market/securities.ts";
import { type Fixed, parseFixed } from "../money.ts";

export type Market = { catalog: SecurityCatalog; clock: MarketClock; provider: QuoteProvider };

/** A quote in amounts, for order logic. */
export type LiveQuote = {
  symbol: string;
  bid: Fixed;
  ask: Fixed;
  last: Fixed;
  open: Fixed;
  prevClose: Fixed;
  time: Date;
};

/** The security a trader named, or 422 `unknown_symbol`. */
export function securityFor(market: Market, symbol: string): Security {
  const security = market.catalog.get(normalizeSymbol(symbol));
  if (!security) {
    throw new AppError(422, "unknown_symbol", `There is no security with the symbol ${symbol}.`, {
      fields: { symbol: "Unknown symbol." },
    });
  }
  if (!security.tradable) {
    throw new AppError(422, "not_tradable", `${security.symbol} cannot be traded right now.`, {
      fields: { symbol: "Not tradable." },
    });
  }
  return security;
}

/** Live quotes for these securities, in the same order. */
export async function liveQuotes(
  market: Market,
  securities: Security[],
  at: Date,
): Promise<LiveQuote[]> {
  if (securities.length === 0) return [];
  const quotes = await market.provider.quotes(securities, at);
  return quotes.map((q, n) => {
    const decimals = securities[n].priceDecimals;
    return {
      symbol: q.symbol,
      bid: parseFixed(q.bid, decimals),
      ask: parseFixed(q.ask, decimals),
      last: parseFixed(q.last, decimals),
      open: parseFixed(q.open, decimals),
      prevClose: parseFixed(q.prevClose, decimals),
      time: new Date(q.time),
    };
  });
}

export async function liveQuote(market: Market, security: Security, at: Date): Promise<LiveQuote> {
  return (await liveQuotes(market, [security], at))[0];
}

/** Whether orders for this security execute now. */
export function marketOpen(market: Market, security: Security, at: Date): boolean {
  return market.clock.isOpen(security.assetClass, at);
}
