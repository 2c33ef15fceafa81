/**
 * The market clock: NYSE sessions in New York time (holidays, early closes, DST), or always open.
 * Each NYSE trading day also has its extended sessions: pre-market 04:00–09:30 and after-hours
 * 16:00–20:00 (13:00–17:00 on an early close), as NYSE Arca and Nasdaq run them.
 */

const NEW_YORK = "America/New_York";
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
const OPEN_MINUTE = 9 * 60 + 30;
const CLOSE_MINUTE = 16 * 60;
const EARLY_CLOSE_MINUTE = 13 * 60;
const PRE_MARKET_MINUTE = 4 * 60;
/** After-hours last four hours from the close, so an early close ends them at 17:00. */
const AFTER_HOURS_MINUTES = 4 * 60;
/** NYSE never has more than a few closed days in a row; a longer search means a bug, not a calendar. */
const MAX_SEARCH_DAYS = 31;
const [SUNDAY, MONDAY, THURSDAY, SATURDAY] = [0, 1, 4, 6];

// Building an Intl formatter is slow; one shared instance makes each conversion a few microseconds.
const newYorkParts = new Intl.DateTimeFormat("en-US", {
  timeZone: NEW_YORK,
  hourCycle: "h23",
  year: "numeric",
  month: "numeric",
  day: "numeric",
  hour: "numeric",
  minute: "numeric",
  second: "numeric",
});

/** Creates the clock for `MARKET_HOURS`: the NYSE calendar, or one session per UTC day. */
export function createMarketClock(mode: MarketHoursMode): MarketClock {
  const calendar = mode === "nyse" ? nyseCalendar : alwaysCalendar;

  const nextSession = (at: Date, extended = false): Session => {
    const time = at.getTime();
    const first = calendar.dayOf(time);
    for (let day = first; day <= first + MAX_SEARCH_DAYS; day++) {
      const session = calendar.session(day);
      const end = extended ? session?.postClose : session?.close;
      if (end && end.getTime() > time) return session!;
    }
    throw new Error(`no ${mode} session within ${MAX_SEARCH_DAYS} days of ${at.toISOString()}`);
  };

  const phase = (assetClass: AssetClass, at: Date): MarketPhase => {
    // Always mode's back-to-back sessions cover every instant: nothing is ever extended or closed.
    if (assetClass === "crypto" || mode === "always") return "regular";
    const session = calendar.session(calendar.dayOf(at.getTime()));
    if (!session || at < session.preOpen || at >= session.postClose) return "closed";
    return at < session.open ? "pre" : at < session.close ? "regular" : "post";
  };

  return {
    mode,
    isOpen: (assetClass, at) => phase(assetClass, at) === "regular",
    phase,
    sessionOn: (at) => calendar.session(calendar.dayOf(at.getTime())),
    nextSession,
    previousSession(at) {
      const last = calendar.dayOf(nextSession(at).open.getTime()) - 1;
      for (let day = last; day >= last - MAX_SEARCH_DAYS; day--) {
        const session = calendar.session(day);
        if (session) return session;
      }
      throw new Error(
        `no ${mode} session within ${MAX_SEARCH_DAYS} days before ${at.toISOString()}`,
      );
    },
  };
}

/**
 * The body of GET /api/clock, Alpaca-style: { timestamp, isOpen, nextOpen, nextClose } as ISO
 * strings, for US equities, with the session in progress (`session`) and the extended sessions of
 * the trading day in progress or next (`extendedHours`; null in always mode, which has none).
 */
export function clockJson(clock: MarketClock, at: Date): ClockJson {
  const session = clock.nextSession(at);
  const isOpen = clock.isOpen("us_equity", at);
  // While the market is open, the next open is the following session's, as Alpaca reports it.
  const nextOpen = isOpen ? clock.nextSession(session.close).open : session.open;
  const day = clock.nextSession(at, true);
  return {
    timestamp: at.toISOString(),
    isOpen,
    nextOpen: nextOpen.toISOString(),
    nextClose: session.close.toISOString(),
    session: clock.phase("us_equity", at),
    extendedHours: clock.mode === "always" ? null : {
      date: day.date,
      preMarketOpen: day.preOpen.toISOString(),
      preMarketClose: day.open.toISOString(),
      afterHoursOpen: day.close.toISOString(),
      afterHoursClose: day.postClose.toISOString(),
    },
  };
}

export type ClockJson = {
  timestamp: string;
  isOpen: boolean;
  nextOpen: string;
  nextClose: string;
  session: MarketPhase;
  extendedHours: {
    date: string;
    preMarketOpen: string;
    preMarketClose: string;
    afterHoursOpen: string;
    afterHoursClose: string;
  } | null;
};

/**
 * The NYSE holidays (closed days) and 13:00 early closes of a year, by rule (NYSE Rule 7.2):
 * a holiday on a Saturday is observed the Friday before, on a Sunday the Monday after — except
 * New Year's Day on a Saturday, which is not observed at all (that Friday ends an accounting year).
 */
export function nyseHolidays(year: number): { holidays: string[]; earlyCloses: string[] } {
  const { holidays, earlyCloses } = yearCalendar(year);
  return {
    holidays: [...holidays].sort((a, b) => a - b).map(isoDate),
    earlyCloses: [...earlyCloses].sort((a, b) => a - b).map(isoDate),
  };
}

const nyseCalendar: Calendar = {
  dayOf: (time) => Math.floor(newYorkLocal(time) / DAY_MS),
  session(day) {
    const times = sessionTimes(day);
    return times && {
      date: isoDate(day),
      open: new Date(times.open),
      close: new Date(times.close),
      earlyClose: times.earlyClose,
      preOpen: new Date(times.preOpen),
      postClose: new Date(times.postClose),
    };
  },
};

// Quotes and bars ask for the same few days over and over; a day's times never change.
const sessionCache = new Map<number, SessionTimes | null>();
const SESSION_CACHE_DAYS = 4096;

function sessionTimes(day: number): SessionTimes | null {
  let times = sessionCache.get(day);
  if (times !== undefined) return times;
  const weekday = weekdayOf(day);
  const { holidays, earlyCloses } = yearCalendar(yearOf(day));
  if (weekday === SATURDAY || weekday === SUNDAY || holidays.has(day)) times = null;
  else {
    const earlyClose = earlyCloses.has(day);
    const closeMinute = earlyClose ? EARLY_CLOSE_MINUTE : CLOSE_MINUTE;
    times = {
      open: newYorkInstant(day, OPEN_MINUTE),
      close: newYorkInstant(day, closeMinute),
      earlyClose,
      preOpen: newYorkInstant(day, PRE_MARKET_MINUTE),
      postClose: newYorkInstant(day, closeMinute + AFTER_HOURS_MINUTES),
    };
  }
  if (sessionCache.size >= SESSION_CACHE_DAYS) sessionCache.clear();
  sessionCache.set(day, times);
  return times;
}

// Demos and tests trade around the clock; a UTC day keeps "today's open" and "yesterday's close" meaningful.
const alwaysCalendar: Calendar = {
  dayOf: (time) => Math.floor(time / DAY_MS),
  session: (day) => ({
    date: isoDate(day),
    open: new Date(day * DAY_MS),
    close: new Date((day + 1) * DAY_MS),
    earlyClose: false,
    preOpen: new Date(day * DAY_MS),
    postClose: new Date((day + 1) * DAY_MS),
  }),
};

const calendars = new Map<number, YearCalendar>();

function yearCalendar(year: number): YearCalendar {
  let calendar = calendars.get(year);
  if (!calendar) {
    calendar = computeYear(year);
    calendars.set(year, calendar);
  }
  return calendar;
}

function computeYear(year: number): YearCalendar {
  const newYear = dayNumber(year, 1, 1);
  const holidays = new Set<number>([
    // Rule 7.2's exception: no Friday closure for a Saturday New Year's Day.
    ...(weekdayOf(newYear) === SATURDAY ? [] : [observed(newYear)]),
    nthWeekday(year, 1, MONDAY, 3), // Martin Luther King Jr. Day
    nthWeekday(year, 2, MONDAY, 3), // Washington's Birthday
    easter(year) - 2, // Good Friday
    lastWeekday(year, 5, MONDAY), // Memorial Day
    ...(year >= 2022 ? [observed(dayNumber(year, 6, 19))] : []), // Juneteenth, a holiday since 2022
    observed(dayNumber(year, 7, 4)), // Independence Day
    nthWeekday(year, 9, MONDAY, 1), // Labor Day
    nthWeekday(year, 11, THURSDAY, 4), // Thanksgiving
    observed(dayNumber(year, 12, 25)), // Christmas
  ]);
  const tradingWeekday = (day: number) =>
    weekdayOf(day) !== SATURDAY && weekdayOf(day) !== SUNDAY && !holidays.has(day);
  const earlyCloses = new Set<number>(
    [
      nthWeekday(year, 11, THURSDAY, 4) + 1, // the day after Thanksgiving
      dayNumber(year, 7, 3),
      dayNumber(year, 12, 24),
    ].filter(tradingWeekday),
  );
  return { holidays, earlyCloses };
}

function observed(day: number): number {
  const weekday = weekdayOf(day);
  return weekday === SATURDAY ? day - 1 : weekday === SUNDAY ? day + 1 : day;
}

function nthWeekday(year: number, month: number, weekday: number, n: number): number {
  const first = dayNumber(year, month, 1);
  return first + ((weekday - weekdayOf(first) + 7) % 7) + (n - 1) * 7;
}

function lastWeekday(year: number, month: number, weekday: number): number {
  const last = dayNumber(year, month + 1, 1) - 1;
  return last - ((weekdayOf(last) - weekday + 7) % 7);
}

/** Easter Sunday in the Gregorian calendar (the anonymous Meeus/Jones/Butcher algorithm). */
function easter(year: number): number {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return dayNumber(year, month, day);
}

/** The New York wall-clock time of an instant, as milliseconds on a UTC-based axis. */
function newYorkLocal(time: number): number {
  const parts: Record<string, number> = {};
  for (const part of newYorkParts.formatToParts(time)) {
    if (part.type !== "literal") parts[part.type] = Number(part.value);
  }
  const { year, month, day, hour, minute, second } = parts;
  return Date.UTC(year, month - 1, day, hour, minute, second) +
    (time - Math.floor(time / 1000) * 1000);
}

/** The instant when New York's clock shows `minute` past midnight on `day`. */
function newYorkInstant(day: number, minute: number): number {
  const local = day * DAY_MS + minute * MINUTE_MS;
  // The offset at the guess may differ from the offset at the answer near a DST switch; a second
  // pass settles it. Session times (04:00–20:00) never fall in the skipped or repeated hour.
  let time = local - (newYorkLocal(local) - local);
  time = local - (newYorkLocal(time) - time);
  return time;
}

function dayNumber(year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day) / DAY_MS;
}

function weekdayOf(day: number): number {
  // Day 0, 1970-01-01, was a Thursday.
  return (((day + THURSDAY) % 7) + 7) % 7;
}

function yearOf(day: number): number {
  return new Date(day * DAY_MS).getUTCFullYear();
}

function isoDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

type Calendar = {
  /** The calendar day (days since 1970-01-01) that an instant falls on. */
  dayOf(time: number): number;
  session(day: number): Session | null;
};

type YearCalendar = { holidays: Set<number>; earlyCloses: Set<number> };

type SessionTimes = {
  open: number;
  close: number;
  earlyClose: boolean;
  preOpen: number;
  postClose: number;
};

/** `nyse`: the NYSE calendar in New York time; `always`: open around the clock (demos, tests). */
export type MarketHoursMode = "nyse" | "always";

/**
 * One trading day: its regular session from `open` to `close`, pre-market from `preOpen` to `open`
 * and after-hours from `close` to `postClose` (in `always` mode both are empty: `preOpen` = `open`,
 * `postClose` = `close`). `date` is the New York date (the UTC date in `always` mode).
 */
export type Session = {
  date: string;
  open: Date;
  close: Date;
  earlyClose: boolean;
  preOpen: Date;
  postClose: Date;
};

export type AssetClass = "us_equity" | "etf" | "crypto";

/** Where the market stands: pre-market, the regular session, after-hours, or closed. */
export type MarketPhase = "pre" | "regular" | "post" | "closed";

/** When markets trade. Sessions are half-open: open at `open`, closed from `close`. */
export interface MarketClock {
  readonly mode: MarketHoursMode;
  /** Whether the regular session is on for this asset class (crypto: always). */
  isOpen(assetClass: AssetClass, at: Date): boolean;
  /** The session in progress for this asset class; crypto and always mode are always "regular". */
  phase(assetClass: AssetClass, at: Date): MarketPhase;
  /** The regular session of the New York trading day containing `at`, or null on a weekend/holiday. */
  sessionOn(at: Date): Session | null;
  /**
   * The next session that has not yet closed at `at` (today's if still open or not yet opened);
   * with `extended`, the next whose after-hours have not yet ended.
   */
  nextSession(at: Date, extended?: boolean): Session;
  /** The session before the one containing/after `at` (for the previous close). */
  previousSession(at: Date): Session;
}
