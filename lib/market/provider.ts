/** Market data behind one interface: the simulated market, or Finnhub's quote API when a key is set. */
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { DecimalError, type Fixed, formatFixed, parseFixed, roundFixed, SCALE } from "../money.ts";
import { type BarQuery, type PriceBar, simulatedBars, type Timeframe, TIMEFRAMES } from "./bars.ts";
import type { MarketClock } from "./clock.ts";
import { type PricedSecurity, type Quote, quoteSides, simulatedQuote } from "./simulator.ts";

const DEFAULT_TIMEOUT_MS = 3_000;
const DEFAULT_CACHE_MS = 5_000;
const DEFAULT_CONCURRENCY = 4;
/** Candles change only at their last bar; a minute's reuse keeps a busy chart to one request. */
const DEFAULT_BARS_CACHE_MS = 60_000;
const BARS_CACHE_MAX = 500;
/** Finnhub's candle resolutions for our timeframes. */
const RESOLUTIONS: Record<Timeframe, string> = {
  "1Min": "1",
  "5Min": "5",
  "15Min": "15",
  "1Hour": "60",
  "1Day": "D",
};
/** How old a last good quote may be and still stand in for a failed request. */
const FALLBACK_MS = 60_000;

/** No quote for a symbol: the upstream failed and no recent quote can stand in. Safe to show. */
export class ProviderError extends Error {
  constructor(readonly symbol: string) {
    super(`No market data for ${symbol} right now; try again shortly.`);
    this.name = "ProviderError";
  }
}

/** The simulated market: quotes computed locally, never failing. */
export function simulatedProvider(clock: MarketClock): QuoteProvider {
  return {
    name: "simulated",
    quotes: (securities, at) =>
      Promise.resolve(securities.map((security) => simulatedQuote(security, clock, at))),
    bars: (security, query, at) => Promise.resolve(simulatedBars(security, clock, query, at)),
  };
}

/**
 * Finnhub's /quote endpoint (GET {baseUrl}/quote?symbol=AAPL, header X-Finnhub-Token) → {c,h,l,o,pc,t}.
 * It has no bid/ask, so they are derived from `c` with the simulator's spread rule; crypto uses
 * Binance's USDT pairs ("BINANCE:BTCUSDT"). Each request is bounded by a timeout and at most
 * `concurrency` run at once; a symbol's quote is reused for `cacheMs` and concurrent requests for
 * it share one upstream call, so many users watching a symbol cost one request. When a request
 * fails, the last good quote stands in if it is younger than 60 s; otherwise ProviderError.
 * `quotes(…, at)` takes `at` as the current time, which ages the cache.
 */
export function finnhubProvider(options: FinnhubOptions): QuoteProvider {
  const { apiKey, baseUrl, log } = options;
  const fetchQuote = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const cacheMs = options.cacheMs ?? DEFAULT_CACHE_MS;
  const limit = concurrencyLimit(options.concurrency ?? DEFAULT_CONCURRENCY);
  const lastGood = new Map<string, { quote: Quote; fetchedAt: number }>();
  const inFlight = new Map<string, Promise<Quote>>();

  /** One upstream GET, bounded by the timeout; any failure is an UpstreamError with a fixed text. */
  async function getJson(url: string): Promise<unknown> {
    try {
      // The key travels in a header, never in the URL, so no error or log line can carry it.
      const response = await fetchQuote(url, {
        headers: { "X-Finnhub-Token": apiKey, accept: "application/json" },
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!response.ok) {
        await response.body?.cancel();
        throw new UpstreamError(`HTTP ${response.status}`);
      }
      return await response.json();
    } catch (error) {
      if (error instanceof UpstreamError) throw error;
      // Only a fixed description leaves here: a fetch error's text is not ours to vouch for.
      const name = error instanceof Error ? error.name : "";
      throw new UpstreamError(
        name === "TimeoutError"
          ? `no answer within ${timeoutMs} ms`
          : name === "SyntaxError"
          ? "malformed JSON"
          : "network error",
      );
    }
  }

  async function request(security: PricedSecurity, at: Date): Promise<Quote> {
    const url = `${baseUrl}/quote?symbol=${encodeURIComponent(finnhubSymbol(security))}`;
    return toQuote(security, await getJson(url), at);
  }

  function quote(security: PricedSecurity, at: Date): Promise<Quote> {
    const { symbol } = security;
    const now = at.getTime();
    const cached = lastGood.get(symbol);
    if (cached && now - cached.fetchedAt < cacheMs) return Promise.resolve(cached.quote);
    let pending = inFlight.get(symbol);
    if (!pending) {
      pending = limit(() => request(security, at))
        .then(
          (fresh) => {
            lastGood.set(symbol, { quote: fresh, fetchedAt: now });
            return fresh;
          },
          (error: unknown) => {
            const fallback = cached && now - cached.fetchedAt < FALLBACK_MS ? cached.quote : null;
            log.warn("market data request failed", {
              provider: "finnhub",
              symbol,
              reason: error instanceof UpstreamError ? error.message : "unexpected response",
              fallback: fallback !== null,
            });
            if (fallback) return fallback;
            throw new ProviderError(symbol);
          },
        )
        .finally(() => inFlight.delete(symbol));
      inFlight.set(symbol, pending);
    }
    return pending;
  }

  const barsCacheMs = options.barsCacheMs ?? DEFAULT_BARS_CACHE_MS;
  const barsCache = new Map<string, { bars: PriceBar[]; fetchedAt: number }>();
  const barsInFlight = new Map<string, Promise<PriceBar[]>>();

  /**
   * Finnhub's candles (GET {baseUrl}/stock/candle or /crypto/candle?symbol&resolution&from&to,
   * seconds) → {s, t[], o[], h[], l[], c[], v[]}. Without a start the window reaches back far
   * enough for `limit` bars (sessions are shorter than days, so generously). A window is reused
   * for `barsCacheMs` (keyed to the minute of its end) and shared by concurrent requests; a failure
   * is a ProviderError (a chart has nothing to stand in with).
   */
  function bars(security: PricedSecurity, query: BarQuery, at: Date): Promise<PriceBar[]> {
    const length = TIMEFRAMES[query.timeframe];
    const end = Math.min(query.end.getTime(), at.getTime());
    const reach = query.timeframe === "1Day" ? length * 1.6 : length * 4.5;
    const start = query.start?.getTime() ?? end - Math.ceil(query.limit * reach);
    const to = Math.floor(end / 60_000) * 60;
    const from = Math.floor(start / 1000);
    const kind = security.assetClass === "crypto" ? "crypto" : "stock";
    const url = `${baseUrl}/${kind}/candle?symbol=${
      encodeURIComponent(finnhubSymbol(security))
    }&resolution=${RESOLUTIONS[query.timeframe]}&from=${from}&to=${to}`;
    const key = `${url}|${query.limit}`;
    const cached = barsCache.get(key);
    if (cached && at.getTime() - cached.fetchedAt < barsCacheMs) {
      return Promise.resolve(cached.bars);
    }
    let pending = barsInFlight.get(key);
    if (!pending) {
      pending = limit(() => getJson(url))
        .then((body) => toBars(security, body, start, end, query.limit))
        .then(
          (fresh) => {
            if (barsCache.size >= BARS_CACHE_MAX) barsCache.clear();
            barsCache.set(key, { bars: fresh, fetchedAt: at.getTime() });
            return fresh;
          },
          (error: unknown) => {
            log.warn("market data request failed", {
              provider: "finnhub",
              symbol: security.symbol,
              kind: "candles",
              reason: error instanceof UpstreamError ? error.message : "unexpected response",
            });
            throw new ProviderError(security.symbol);
          },
        )
        .finally(() => barsInFlight.delete(key));
      barsInFlight.set(key, pending);
    }
    return pending;
  }

  return {
    name: "finnhub",
    bars,
    async quotes(securities, at) {
      // Every request runs to the end (and fills the cache) before one failure is reported.
      const results = await Promise.allSettled(securities.map((s) => quote(s, at)));
      const failed = results.find((r) => r.status === "rejected");
      if (failed) throw failed.reason;
      return results.map((r) => (r as PromiseFulfilledResult<Quote>).value);
    },
  };
}

/** Finnhub when MARKET_DATA_API_KEY is set, the simulated market otherwise. */
export function createQuoteProvider(
  config: Pick<Config, "marketDataApiKey" | "marketDataBaseUrl">,
  clock: MarketClock,
  log: Logger,
): QuoteProvider {
  if (config.marketDataApiKey === undefined) return simulatedProvider(clock);
  return finnhubProvider({
    apiKey: config.marketDataApiKey,
    baseUrl: config.marketDataBaseUrl,
    log: log.child({ component: "market_data" }),
  });
}

/** The symbol Finnhub knows a security by: crypto `BASE/USD` trades as Binance's `BASEUSDT`. */
export function finnhubSymbol(security: Pick<PricedSecurity, "symbol" | "assetClass">): string {
  if (security.assetClass !== "crypto") return security.symbol;
  return `BINANCE:${security.symbol.split("/")[0]}USDT`;
}

function toQuote(security: PricedSecurity, body: unknown, at: Date): Quote {
  const { c, o, pc, t } = (typeof body === "object" && body !== null ? body : {}) as Record<
    string,
    unknown
  >;
  // Finnhub answers an unknown symbol with zeros rather than an error status.
  if (!isPositive(c)) throw new UpstreamError("no price in the response");
  const last = jsonPrice(c);
  const tick = (value: unknown) =>
    formatFixed(
      roundFixed(isPositive(value) ? jsonPrice(value) : last, security.priceDecimals),
      security.priceDecimals,
    );
  return {
    symbol: security.symbol,
    ...quoteSides(security, last),
    open: tick(o),
    prevClose: tick(pc),
    time: (isPositive(t) ? new Date(t * 1000) : at).toISOString(),
  };
}

/** Finnhub's parallel candle arrays as bars in [start, end), the last `limit`, oldest first. */
function toBars(
  security: PricedSecurity,
  body: unknown,
  start: number,
  end: number,
  limit: number,
): PriceBar[] {
  const { s, t, o, h, l, c, v } = (typeof body === "object" && body !== null ? body : {}) as Record<
    string,
    unknown
  >;
  // "no_data" is Finnhub's answer for a window without trading (a weekend): no bars, not an error.
  if (s === "no_data") return [];
  if (s !== "ok" || ![t, o, h, l, c, v].every(Array.isArray)) {
    throw new UpstreamError("no candles in the response");
  }
  const columns = [o, h, l, c] as unknown[][];
  const times = t as unknown[];
  const volumes = v as unknown[];
  if (columns.some((column) => column.length !== times.length)) {
    throw new UpstreamError("candle arrays differ in length");
  }
  const price = (value: unknown) => {
    if (!isPositive(value)) throw new UpstreamError("no price in the response");
    return formatFixed(
      roundFixed(jsonPrice(value), security.priceDecimals),
      security.priceDecimals,
    );
  };
  const bars: PriceBar[] = [];
  times.forEach((time, n) => {
    if (typeof time !== "number" || !Number.isFinite(time)) {
      throw new UpstreamError("bad candle time");
    }
    const ms = time * 1000;
    if (ms < start || ms >= end) return;
    const volume = volumes[n];
    bars.push({
      t: new Date(ms).toISOString(),
      o: price(columns[0][n]),
      h: price(columns[1][n]),
      l: price(columns[2][n]),
      c: price(columns[3][n]),
      v: typeof volume === "number" && Number.isFinite(volume) && volume >= 0 ? volume : 0,
    });
  });
  bars.sort((a, b) => a.t.localeCompare(b.t));
  return bars.slice(-limit);
}

/** A JSON number as an amount, in its shortest decimal form (docs/design.md, Money invariants). */
function jsonPrice(value: number): Fixed {
  try {
    return parseFixed(value, SCALE);
  } catch (error) {
    if (!(error instanceof DecimalError)) throw error;
    // More places than SCALE (a sub-cent coin) or out of range: not a price we can hold.
    if (error.code !== "too_many_decimals") throw new UpstreamError("price out of range");
    return parseFixed(value.toFixed(SCALE), SCALE);
  }
}

function isPositive(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value > 0;
}

/** Runs at most `max` tasks at once; a finishing task hands its slot straight to the next in line. */
function concurrencyLimit(max: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active < max) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

/** Why one upstream request failed; the message is a fixed, secret-free description. */
class UpstreamError extends Error {
  override name = "UpstreamError";
}

/** Where quotes come from; `quotes` answers in the order asked, or throws ProviderError. */
export interface QuoteProvider {
  readonly name: "simulated" | "finnhub";
  quotes(securities: PricedSecurity[], at: Date): Promise<Quote[]>;
  /** Bars for a query at `at` (nothing after `at`), oldest first; or throws ProviderError. */
  bars(security: PricedSecurity, query: BarQuery, at: Date): Promise<PriceBar[]>;
}

/** Finnhub settings; the timeout, cache and concurrency defaults (3 s, 5 s, 4) suit production. */
export type FinnhubOptions = {
  apiKey: string;
  /** Without a trailing slash, e.g. https://finnhub.io/api/v1. */
  baseUrl: string;
  log: Logger;
  fetch?: typeof fetch;
  timeoutMs?: number;
  cacheMs?: number;
  /** How long a window of candles is reused (default 60 s). */
  barsCacheMs?: number;
  concurrency?: number;
};
