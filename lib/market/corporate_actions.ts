/**
 * The simulated market's corporate actions: quarterly cash dividends of the payers in the catalog
 * and rare forward splits. Like every price (simulator.ts), the schedule is a pure function of the
 * symbol and the calendar, so every instance declares the same actions without sharing state and
 * nothing random happens at runtime.
 *
 * Dividends. A payer (DIVIDEND_YIELD_BP) goes ex four times a year, in the same three-month cycle
 * and near the same day of the month every year (both hashed from the symbol), on a NYSE trading
 * day. Settlement is T+1, so the record date is the ex-date: whoever held the shares when the
 * ex-date began (00:00 New York) is entitled. The dividend is declared 21 days before the ex-date,
 * at a quarter of the yield on the price at that moment, rounded down to a hundredth of a cent
 * (how dividends are quoted), and paid on a trading day 2 to 4 weeks after it.
 *
 * Splits. Only non-paying stocks listed at $100 or more split, about SPLITS_PER_YEAR of them a
 * year, forward 2:1, 3:1 or 4:1 only, so whole shares stay whole. A split is announced 30 days
 * ahead and takes effect when its ex-date begins (00:00 New York, markets closed). Because payers
 * never split, no dividend is ever declared in one share count and paid in another.
 *
 * Nothing happens before SCHEDULE_START: positions, prices and charts of earlier times are as they
 * always were.
 */
import { type Fixed, fixed, formatFixed, parseFixed, roundFixed } from "../money.ts";
import { createMarketClock } from "./clock.ts";
import { DIVIDEND_YIELD_BP, SECURITY_SEEDS } from "./securities_data.ts";
import { type PricedSecurity, rawSimulatedPrice, symbolUniform } from "./simulator.ts";

/** The first instant of the schedule: actions have ex-dates on or after it. */
export const SCHEDULE_START = new Date("2026-10-01T04:00:00Z");
const FIRST_YEAR = 2026;
/** About this many splits a year across the whole catalog. */
const SPLITS_PER_YEAR = 3;
const DECLARED_DAYS_AHEAD = 21;
const SPLIT_ANNOUNCED_DAYS_AHEAD = 30;
/** Per-share dividends are quoted to a hundredth of a cent. */
const DIVIDEND_DECIMALS = 4;
const DAY_MS = 86_400_000;
/** Salts of symbolUniform, so each choice draws its own noise. */
const SALT = { cycle: 0xd1, day: 0xd2, pay: 0xd3, splits: 0x51, ratio: 0x52, date: 0x53 };

/** The calendar every instance agrees on, whatever its MARKET_HOURS. */
const NYSE = createMarketClock("nyse");

export type Dividend = {
  id: string;
  kind: "dividend";
  symbol: string;
  /** New York dates, YYYY-MM-DD. */
  declaredDate: string;
  exDate: string;
  recordDate: string;
  payDate: string;
  /** When the declaration is public, when entitlement is fixed (positions held then), when it pays. */
  declaredAt: Date;
  cutoffAt: Date;
  payAt: Date;
  /** Cash per share, 4 decimals. */
  amount: string;
};

export type Split = {
  id: string;
  kind: "split";
  symbol: string;
  declaredDate: string;
  exDate: string;
  declaredAt: Date;
  /** When the split takes effect: 00:00 New York on its ex-date. */
  effectiveAt: Date;
  /** New shares per old share: 2, 3 or 4. */
  ratio: number;
};

export type CorporateAction = Dividend | Split;

/** Whether this symbol pays regular dividends in the simulated market. */
export function isDividendPayer(symbol: string): boolean {
  return DIVIDEND_YIELD_BP[symbol] !== undefined;
}

/**
 * The dividends of `security` whose ex-date begins in [from, to), oldest first. The amount follows
 * the price at declaration on the NYSE calendar, whatever MARKET_HOURS says, so it is one number.
 */
export function dividendsBetween(security: PricedSecurity, from: Date, to: Date): Dividend[] {
  const yieldBp = DIVIDEND_YIELD_BP[security.symbol];
  if (yieldBp === undefined || security.assetClass === "crypto") return [];
  const out: Dividend[] = [];
  for (const year of yearsOf(from, to)) {
    for (let quarter = 0; quarter < 4; quarter++) {
      const dividend = dividendOf(security, yieldBp, year, quarter);
      const inSchedule = dividend.cutoffAt >= SCHEDULE_START;
      if (inSchedule && dividend.cutoffAt >= from && dividend.cutoffAt < to) out.push(dividend);
    }
  }
  return out;
}

/** The splits of `symbol` taking effect in [from, to), oldest first. */
export function splitsBetween(symbol: string, from: Date, to: Date): Split[] {
  if (!SPLIT_CANDIDATES.has(symbol)) return [];
  return yearsOf(from, to).flatMap((year) => splitsOfYear(year))
    .filter((s) => s.symbol === symbol && s.effectiveAt >= from && s.effectiveAt < to);
}

/** Every split of the catalog taking effect in [from, to), oldest first. */
export function allSplitsBetween(from: Date, to: Date): Split[] {
  return yearsOf(from, to).flatMap((year) => splitsOfYear(year))
    .filter((s) => s.effectiveAt >= from && s.effectiveAt < to)
    .sort((a, b) => a.effectiveAt.getTime() - b.effectiveAt.getTime());
}

/**
 * How many of today's shares one share of SCHEDULE_START has become by `at`: the product of the
 * ratios of the splits in effect. A price of `at` in the share count of `asOf` is the raw price ×
 * splitFactor(at) ÷ splitFactor(asOf). Called for every simulated price, so it is a lookup.
 */
export function splitFactor(symbol: string, at: Date | number): number {
  if (!SPLIT_CANDIDATES.has(symbol)) return 1;
  const time = typeof at === "number" ? at : at.getTime();
  if (time < SCHEDULE_START.getTime()) return 1;
  let factor = 1;
  for (const year of yearsOf(SCHEDULE_START, new Date(time + 1))) {
    for (const split of splitsOfYear(year)) {
      if (split.symbol === symbol && split.effectiveAt.getTime() <= time) factor *= split.ratio;
    }
  }
  return factor;
}

/** A price of `at`, in the share count of `asOf` (a later time): divided by the splits between. */
export function adjustedForSplits(
  symbol: string,
  price: Fixed,
  at: Date,
  asOf: Date,
  decimals: number,
): Fixed {
  const ratio = splitFactor(symbol, asOf) / splitFactor(symbol, at);
  return ratio === 1 ? price : roundFixed(price / BigInt(ratio), decimals);
}

/** The non-paying stocks listed at $100 or more, the only ones that split. */
const SPLIT_CANDIDATES: ReadonlySet<string> = new Set(
  SECURITY_SEEDS.filter((s) =>
    s.assetClass === "us_equity" && !isDividendPayer(s.symbol) &&
    parseFixed(s.referencePrice, 8) >= fixed(100)
  ).map((s) => s.symbol).sort(),
);

const splitsByYear = new Map<number, Split[]>();

function splitsOfYear(year: number): Split[] {
  let splits = splitsByYear.get(year);
  if (!splits) {
    splits = [];
    const chance = SPLITS_PER_YEAR / SPLIT_CANDIDATES.size;
    for (const symbol of SPLIT_CANDIDATES) {
      if (symbolUniform(symbol, SALT.splits, year) >= chance) continue;
      const r = symbolUniform(symbol, SALT.ratio, year);
      const ratio = r < 0.6 ? 2 : r < 0.85 ? 3 : 4;
      const u = symbolUniform(symbol, SALT.date, year);
      const month = Math.floor(u * 12);
      const day = 1 + Math.floor((u * 12 - month) * 20);
      const exDate = tradingDayOnOrAfter(isoDate(Date.UTC(year, month, day)));
      const effectiveAt = nyMidnight(exDate);
      const declaredDate = isoDate(effectiveAt.getTime() - SPLIT_ANNOUNCED_DAYS_AHEAD * DAY_MS);
      splits.push({
        id: `split:${symbol}:${exDate}`,
        kind: "split",
        symbol,
        declaredDate,
        exDate,
        declaredAt: nyMidnight(declaredDate, false),
        effectiveAt,
        ratio,
      });
    }
    // The schedule's first year starts part-way: nothing takes effect before SCHEDULE_START.
    splits = splits.filter((s) => s.effectiveAt >= SCHEDULE_START);
    splits.sort((a, b) => a.effectiveAt.getTime() - b.effectiveAt.getTime());
    splitsByYear.set(year, splits);
  }
  return splits;
}

/** Dividends computed so far, by symbol, reference price and quarter: the worker asks every minute. */
const dividendCache = new Map<string, Dividend>();

function dividendOf(
  security: PricedSecurity,
  yieldBp: number,
  year: number,
  quarter: number,
): Dividend {
  const key = `${security.symbol}|${security.referencePrice}|${year}|${quarter}`;
  let dividend = dividendCache.get(key);
  if (!dividend) {
    if (dividendCache.size >= 10_000) dividendCache.clear();
    dividend = computeDividend(security, yieldBp, year, quarter);
    dividendCache.set(key, dividend);
  }
  return dividend;
}

function computeDividend(
  security: PricedSecurity,
  yieldBp: number,
  year: number,
  quarter: number,
): Dividend {
  const { symbol } = security;
  const cycle = Math.floor(symbolUniform(symbol, SALT.cycle, 0) * 3);
  const dayOfMonth = 5 + Math.floor(symbolUniform(symbol, SALT.day, 0) * 15);
  const exDate = tradingDayOnOrAfter(isoDate(Date.UTC(year, quarter * 3 + cycle, dayOfMonth)));
  const cutoffAt = nyMidnight(exDate);
  const declaredDate = isoDate(cutoffAt.getTime() - DECLARED_DAYS_AHEAD * DAY_MS);
  const declaredAt = nyMidnight(declaredDate, false);
  const payDays = 14 + Math.floor(symbolUniform(symbol, SALT.pay, 0) * 14);
  const payDate = tradingDayOnOrAfter(isoDate(cutoffAt.getTime() + payDays * DAY_MS + DAY_MS / 2));
  const price = parseFixed(rawSimulatedPrice(security, NYSE, declaredAt), 8);
  // A quarter of the annual yield: price × bp ÷ 10 000 ÷ 4, down to a hundredth of a cent.
  const amount = roundFixed(price * BigInt(yieldBp) / 40_000n, DIVIDEND_DECIMALS, "floor");
  return {
    id: `div:${symbol}:${exDate}`,
    kind: "dividend",
    symbol,
    declaredDate,
    exDate,
    recordDate: exDate,
    payDate,
    declaredAt,
    cutoffAt,
    payAt: nyMidnight(payDate),
    amount: formatFixed(amount, DIVIDEND_DECIMALS),
  };
}

/** The calendar years [from, to) touches, from FIRST_YEAR on. */
function yearsOf(from: Date, to: Date): number[] {
  const first = Math.max(FIRST_YEAR, from.getUTCFullYear() - 1);
  const last = to.getUTCFullYear();
  const years: number[] = [];
  for (let year = first; year <= last; year++) years.push(year);
  return years;
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The first NYSE trading day on or after a date. */
function tradingDayOnOrAfter(date: string): string {
  let ms = Date.parse(`${date}T17:00:00Z`);
  while (!NYSE.sessionOn(new Date(ms))) ms += DAY_MS;
  return isoDate(ms);
}

/**
 * 00:00 in New York on a date: four hours before its pre-market on a trading day. Another day
 * (a declaration on a weekend) takes 05:00 UTC, which is New York midnight in winter and 01:00 in
 * summer; only the date of a declaration is shown.
 */
function nyMidnight(date: string, tradingDay = true): Date {
  const session = NYSE.sessionOn(new Date(`${date}T17:00:00Z`));
  if (!session) {
    if (tradingDay) throw new Error(`${date} is not a trading day`);
    return new Date(`${date}T05:00:00Z`);
  }
  return new Date(session.preOpen.getTime() - 4 * 3_600_000);
}
