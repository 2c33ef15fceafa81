/** What trading needs from the market: the catalog, the clock, and quotes as fixed-point amounts. */
import { AppError } from "../errors.ts";
import type { MarketClock } from "../market/clock.ts";
import type { QuoteProvider } from "../market/provider.ts";
import { normalizeSymbol, type Security, type SecurityCatalog } from "../market/securities.ts";
import { symbolUniform } from "../market/simulator.ts";
import { divFixed, type Fixed, fixed, parseFixed, SCALE } from "../money.ts";

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
  /** The quantity shown at the bid and at the ask: the most one order takes from this quote. */
  bidSize: Fixed;
  askSize: Fixed;
};

/** Symbols longer than this are cut when a message repeats them. */
const SHOWN_SYMBOL_MAX = 12;

/** The security a trader named, or 422 `unknown_symbol`. */
export function securityFor(market: Market, symbol: string): Security {
  const security = market.catalog.get(normalizeSymbol(symbol));
  if (!security) {
    const shown = shownSymbol(symbol);
    throw new AppError(
      422,
      "unknown_symbol",
      shown
        ? `There is no security with the symbol ${shown}.`
        : "There is no security with that symbol.",
      { fields: { symbol: "Unknown symbol." } },
    );
  }
  if (!security.tradable) {
    throw new AppError(422, "not_tradable", `${security.symbol} cannot be traded right now.`, {
      fields: { symbol: "Not tradable." },
    });
  }
  return security;
}

/**
 * What a message may repeat of a symbol the trader typed: only if it looks like one, and short, so
 * an error never echoes arbitrary input back at length.
 */
function shownSymbol(input: string): string | null {
  const symbol = normalizeSymbol(input);
  if (!/^[A-Z0-9][A-Z0-9./-]*$/.test(symbol)) return null;
  return symbol.length > SHOWN_SYMBOL_MAX ? `${symbol.slice(0, SHOWN_SYMBOL_MAX)}…` : symbol;
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
    const security = securities[n];
    const decimals = security.priceDecimals;
    const bid = parseFixed(q.bid, decimals);
    const ask = parseFixed(q.ask, decimals);
    return {
      symbol: q.symbol,
      bid,
      ask,
      last: parseFixed(q.last, decimals),
      open: parseFixed(q.open, decimals),
      prevClose: parseFixed(q.prevClose, decimals),
      time: new Date(q.time),
      bidSize: touchSize(security, "bid", bid, at),
      askSize: touchSize(security, "ask", ask, at),
    };
  });
}

/** Displayed liquidity per side and second, as a notional amount in dollars: log-uniform in this range. */
const TOUCH_NOTIONAL_MIN = 40_000;
const TOUCH_NOTIONAL_MAX = 400_000;
/** Stocks and ETFs are shown in round lots. */
const ROUND_LOT = fixed(100);

/**
 * The simulated quantity available at one side of the quote during the second `at` falls in: worth
 * between $40,000 and $400,000, whole round lots (at least one) for stocks and ETFs, down to the
 * smallest unit for crypto. A pure function of (symbol, side, second), so every app instance agrees.
 * Every provider's quotes get it, since no free quote feed reports depth. An order larger than the
 * size fills in parts (see README, "Liquidity and partial fills").
 */
export function touchSize(security: Security, side: "bid" | "ask", price: Fixed, at: Date): Fixed {
  const u = symbolUniform(security.symbol, side === "bid" ? 1 : 2, Math.floor(at.getTime() / 1000));
  // Whole dollars: the draw is noise, and fixed() keeps the size arithmetic in integers.
  const notional = fixed(
    Math.round(TOUCH_NOTIONAL_MIN * (TOUCH_NOTIONAL_MAX / TOUCH_NOTIONAL_MIN) ** u),
  );
  const qty = divFixed(notional, price, security.qtyDecimals, "floor");
  // Crypto shows its size to the smallest unit; shares show whole round lots, fractionable or not.
  if (security.assetClass === "crypto") {
    const unit = 10n ** BigInt(SCALE - security.qtyDecimals);
    return qty < unit ? unit : qty;
  }
  const lots = qty / ROUND_LOT;
  return (lots < 1n ? 1n : lots) * ROUND_LOT;
}

export async function liveQuote(market: Market, security: Security, at: Date): Promise<LiveQuote> {
  return (await liveQuotes(market, [security], at))[0];
}

/**
 * Whether orders for this security execute now: in the regular session, or with `extendedHours`
 * also in pre-market and after-hours (when the simulated prices move too).
 */
export function marketOpen(
  market: Market,
  security: Security,
  at: Date,
  extendedHours = false,
): boolean {
  const phase = market.clock.phase(security.assetClass, at);
  return phase === "regular" || (extendedHours && phase !== "closed");
}
