/** The simulated market: every price is a pure function of (security, time), so instances agree without sharing state. */
import { type Fixed, formatFixed, parseFixed, roundFixed, SCALE } from "../money.ts";
import type { MarketClock, Session } from "./clock.ts";
import { splitFactor } from "./corporate_actions.ts";

/*
 * The model. log(price / reference) = volatility × X(τ), where X is a sum of value-noise octaves:
 * octave k has period T_k = 10 s × 2^k (k = 0…20, so 10 s to about 121 days), pseudo-random knot
 * values hashed from (symbol, k, bucket), and smoothstep interpolation between knots. Octave k is
 * weighted by √(α·T_k): an octave moves the price over horizons near its period, so the variance
 * of a move over a horizon h sums to about α·h·I/ln 2 for 10 s ≪ h ≪ 121 days, the variance of a
 * random walk. α = ln 2 / I makes that exactly volatility²·h (h in years). Beyond the longest
 * octave the variance stops growing, so the price wanders around its reference instead of drifting
 * away. Evaluating X costs 21 octaves whatever the time, and needs no history.
 *
 * Floating point is used inside the model only: it generates a price, it does not compute money.
 * Every value that leaves this module is rounded to the security's tick with lib/money.ts.
 */
const BASE_PERIOD_MS = 10_000;
const OCTAVES = 21;
const YEAR_MS = 365.25 * 86_400_000;
const DAY_MS = 86_400_000;
/**
 * ∫₀^∞ d(x)/x² dx, where d(x) is the mean squared change of one unit-variance smoothstep
 * value-noise octave over x periods (computed numerically; d(x) → 2.4x² near 0, 52/35 beyond 2).
 */
const NOISE_INTEGRAL = 3.382;
const OCTAVE_WEIGHTS = Array.from(
  { length: OCTAVES },
  (_, k) => Math.sqrt((Math.LN2 / NOISE_INTEGRAL) * (BASE_PERIOD_MS * 2 ** k / YEAR_MS)),
);
/** Knots are uniform on [-√3, √3): unit variance, which the weights above assume. */
const KNOT_SPAN = 2 * Math.sqrt(3);
/**
 * A session covers this many times its length of model time (capped at a day), so most of a
 * day's move happens while the market is open and the rest shows as the opening gap.
 */
const SESSION_SPEEDUP = 3;
/**
 * Pre-market and after-hours run model time at this rate: a move over an hour is √(0.4/3) ≈ 0.37
 * of the regular session's, as thin extended-hours trading moves less. A NYSE day then covers at
 * most 6.5 h × 3 + (5.5 h + 4 h) × 0.4 = 23.3 h of model time, less than the day to the next
 * pre-market, so model time still never runs back.
 */
const EXTENDED_SPEEDUP = 0.4;
/** The spread in pre-market and after-hours, as a multiple of the regular one: less liquidity. */
const EXTENDED_SPREAD_FACTOR = 4n;
/** The full bid/ask spread in tenths of a basis point of the price; the tick sets the minimum. */
const SPREAD_TENTHS_BP: Record<PricedSecurity["assetClass"], bigint> = {
  etf: 5n,
  us_equity: 10n,
  crypto: 50n,
};

/**
 * The simulated quote for one security at `at`; `open` = price at the current/most recent session
 * open (crypto: 00:00 UTC), `prevClose` = price at the previous session's close (crypto: 24 h
 * earlier). In pre-market and after-hours the price moves and the spread is wider. Every price is
 * in the share count of `at` (corporate_actions.ts): the morning after a 2:1 split the previous
 * close is shown halved, as brokers show it, so the day's change is the market's, not the split's.
 */
export function simulatedQuote(security: PricedSecurity, clock: MarketClock, at: Date): Quote {
  let priced: number;
  let open: Date;
  let prevClose: Date;
  if (security.assetClass === "crypto") {
    priced = at.getTime();
    open = new Date(Math.floor(priced / DAY_MS) * DAY_MS);
    prevClose = new Date(priced - DAY_MS);
  } else {
    const session = latestSession(clock, at);
    priced = Math.min(at.getTime(), latestTradingDay(clock, at).postClose.getTime());
    open = session.open;
    prevClose = clock.previousSession(session.open).close;
  }
  const phase = clock.phase(security.assetClass, new Date(priced));
  const extended = phase === "pre" || phase === "post";
  return {
    symbol: security.symbol,
    ...quoteSides(security, modelPrice(security, clock, new Date(priced), at), extended),
    open: simulatedPrice(security, clock, open, at),
    prevClose: simulatedPrice(security, clock, prevClose, at),
    // A frozen equity's quote is the one from the end of after-hours, and says so.
    time: new Date(priced).toISOString(),
  };
}

/**
 * The simulated last price at `at` (used for bars and stop triggers), in the share count of `asOf`
 * (a later instant, for a chart adjusted for the splits since); by default as it traded then.
 */
export function simulatedPrice(
  security: PricedSecurity,
  clock: MarketClock,
  at: Date,
  asOf: Date = at,
): string {
  return formatFixed(
    toTick(security, modelPrice(security, clock, at, asOf)),
    security.priceDecimals,
  );
}

/** The price as it traded at `at` (what a dividend is declared on). */
export function rawSimulatedPrice(security: PricedSecurity, clock: MarketClock, at: Date): string {
  return simulatedPrice(security, clock, at);
}

/**
 * Bid, ask and last around a mid price, by the simulator's spread rule: a few basis points
 * (widest for crypto, four times as wide in extended hours), bid rounded down and ask up to the
 * tick so they are at least a tick apart, everything at least one tick above zero.
 */
export function quoteSides(
  security: PricedSecurity,
  mid: Fixed,
  extended = false,
): { bid: string; ask: string; last: string } {
  const tick = 10n ** BigInt(SCALE - security.priceDecimals);
  const spread = SPREAD_TENTHS_BP[security.assetClass] * (extended ? EXTENDED_SPREAD_FACTOR : 1n);
  const half = (mid * spread) / 200_000n;
  let bid = roundFixed(mid - half, security.priceDecimals, "floor");
  let ask = roundFixed(mid + half, security.priceDecimals, "ceil");
  if (bid < tick) bid = tick;
  if (ask <= bid) ask = bid + tick;
  const last = toTick(security, mid);
  const clamped = last < bid ? bid : last > ask ? ask : last;
  const text = (value: Fixed) => formatFixed(value, security.priceDecimals);
  return { bid: text(bid), ask: text(ask), last: text(clamped) };
}

/**
 * The model's price at `at`, unrounded (SCALE places), in the share count of `asOf`; equities hold
 * their last price while closed. The path itself never jumps at a split: after one it is the
 * pre-split path divided by the ratio, so a holder's value (shares × price) is unchanged by it.
 */
function modelPrice(security: PricedSecurity, clock: MarketClock, at: Date, asOf: Date): Fixed {
  const x = logDeviation(security.symbol, modelTime(security, clock, at.getTime()));
  const price = Number(security.referencePrice) * Math.exp(security.volatility * x) /
    splitFactor(security.symbol, asOf);
  return parseFixed(price.toFixed(SCALE), SCALE);
}

/**
 * Model time: wall time for crypto; for equities it runs only in sessions, faster than the wall
 * clock in the regular session and slower in pre-market and after-hours. It is continuous at the
 * open and the close, and τ(open) = open, so the regular session prices as it always has.
 */
function modelTime(security: PricedSecurity, clock: MarketClock, time: number): number {
  if (security.assetClass === "crypto") return time;
  const day = latestTradingDay(clock, new Date(time));
  const open = day.open.getTime();
  const close = day.close.getTime();
  const speed = Math.min(SESSION_SPEEDUP, DAY_MS / (close - open));
  const at = Math.min(time, day.postClose.getTime());
  if (at < open) return open - (open - at) * EXTENDED_SPEEDUP;
  // τ(close) = open + speed × length ≤ open + 24 h, and with the extended sessions the day still
  // ends before the next one's pre-market starts (EXTENDED_SPEEDUP), so model time never runs back.
  if (at <= close) return open + (at - open) * speed;
  return open + (close - open) * speed + (at - close) * EXTENDED_SPEEDUP;
}

/** The session in progress at `at`, or else the last one that has closed. */
function latestSession(clock: MarketClock, at: Date): Session {
  const today = clock.sessionOn(at);
  return today && today.open <= at ? today : clock.previousSession(at);
}

/** The trading day whose pre-market has begun at `at`: today's, or else the last one. */
function latestTradingDay(clock: MarketClock, at: Date): Session {
  const today = clock.sessionOn(at);
  return today && today.preOpen <= at ? today : clock.previousSession(at);
}

function toTick(security: PricedSecurity, value: Fixed): Fixed {
  const tick = 10n ** BigInt(SCALE - security.priceDecimals);
  const rounded = roundFixed(value, security.priceDecimals);
  return rounded < tick ? tick : rounded;
}

/** X(τ): the unit-volatility sum of octaves described at the top of this file. */
function logDeviation(symbol: string, time: number): number {
  const { seed, phases } = symbolNoise(symbol);
  let x = 0;
  for (let k = 0; k < OCTAVES; k++) {
    const u = time / (BASE_PERIOD_MS * 2 ** k) + phases[k];
    const bucket = Math.floor(u);
    const f = u - bucket;
    const a = knot(seed, k, bucket);
    const b = knot(seed, k, bucket + 1);
    x += OCTAVE_WEIGHTS[k] * (a + (b - a) * f * f * (3 - 2 * f));
  }
  return x;
}

/**
 * A uniform number in [0, 1) for (symbol, salt, bucket): the simulator's noise for anything that is
 * not a price (the displayed size at the touch, for one). Pure, like every price here.
 */
export function symbolUniform(symbol: string, salt: number, bucket: number): number {
  const { seed } = symbolNoise(symbol);
  const high = Math.floor(bucket / 0x1_0000_0000);
  return fmix(mix(mix(mix(seed, 0x51ed + salt), bucket | 0), high | 0)) / 0x1_0000_0000;
}

function knot(seed: number, octave: number, bucket: number): number {
  // Buckets exceed 32 bits only for octave 0 thousands of years out; both halves are mixed anyway.
  const high = Math.floor(bucket / 0x1_0000_0000);
  const h = fmix(mix(mix(mix(seed, octave), bucket | 0), high | 0));
  return (h / 0x1_0000_0000 - 0.5) * KNOT_SPAN;
}

const noiseBySymbol = new Map<string, { seed: number; phases: number[] }>();

function symbolNoise(symbol: string): { seed: number; phases: number[] } {
  let noise = noiseBySymbol.get(symbol);
  if (!noise) {
    let seed = 0x811c9dc5;
    for (let i = 0; i < symbol.length; i++) {
      seed = Math.imul(seed ^ symbol.charCodeAt(i), 0x01000193);
    }
    seed = fmix(seed);
    // Each octave starts at its own offset, so knots of different octaves never line up.
    const phases = Array.from(
      { length: OCTAVES },
      (_, k) => fmix(mix(seed, 0x9e37 + k)) / 0x1_0000_0000,
    );
    noise = { seed, phases };
    noiseBySymbol.set(symbol, noise);
  }
  return noise;
}

function mix(h: number, value: number): number {
  h = Math.imul(h ^ value, 0x5bd1e995);
  return h ^ (h >>> 15);
}

/** MurmurHash3's finaliser: every input bit reaches every output bit. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** What the simulator needs of a catalog security. */
export type PricedSecurity = {
  symbol: string;
  assetClass: "us_equity" | "etf" | "crypto";
  /** A decimal string: the level the simulated price wanders around. */
  referencePrice: string;
  /** Annualised volatility of the log price (0.3 = 30 %). */
  volatility: number;
  /** Decimals of a price (the tick is 10^-priceDecimals). */
  priceDecimals: number;
};

/** A quote; every price is a decimal string with the security's price decimals. */
export type Quote = {
  symbol: string;
  bid: string;
  ask: string;
  last: string;
  open: string;
  prevClose: string;
  /** ISO instant the prices are from (the end of after-hours, for an equity while its market is closed). */
  time: string;
};
