/** The market clock: NYSE holidays, early closes and DST for 2026–2027, and the always-open mode. */
import assert from "node:assert/strict";
import { clockJson, createMarketClock, nyseHolidays, type Session } from "./clock.ts";

const nyse = createMarketClock("nyse");
const always = createMarketClock("always");
const at = (iso: string) => new Date(iso);

// The NYSE's published calendars for 2026 and 2027.
const HOLIDAYS_2026 = [
  "2026-01-01", // New Year's Day
  "2026-01-19", // Martin Luther King Jr. Day
  "2026-02-16", // Washington's Birthday
  "2026-04-03", // Good Friday
  "2026-05-25", // Memorial Day
  "2026-06-19", // Juneteenth
  "2026-07-03", // Independence Day, observed (July 4 is a Saturday)
  "2026-09-07", // Labor Day
  "2026-11-26", // Thanksgiving
  "2026-12-25", // Christmas
];
const HOLIDAYS_2027 = [
  "2027-01-01",
  "2027-01-18",
  "2027-02-15",
  "2027-03-26", // Good Friday
  "2027-05-31",
  "2027-06-18", // Juneteenth, observed (June 19 is a Saturday)
  "2027-07-05", // Independence Day, observed (July 4 is a Sunday)
  "2027-09-06",
  "2027-11-25",
  "2027-12-24", // Christmas, observed (December 25 is a Saturday)
];
const EARLY_CLOSES_2026 = ["2026-11-27", "2026-12-24"];
const EARLY_CLOSES_2027 = ["2027-11-26"];

/** Walks every day of a year at New York noon and sorts weekdays into closed and early-close days. */
function walkYear(year: number) {
  const closedWeekdays: string[] = [];
  const earlyCloses: string[] = [];
  for (let day = Date.UTC(year, 0, 1); day < Date.UTC(year + 1, 0, 1); day += 86_400_000) {
    const noon = new Date(day + 17 * 3_600_000);
    const weekday = new Date(day).getUTCDay();
    const session = nyse.sessionOn(noon);
    const date = new Date(day).toISOString().slice(0, 10);
    if (!session && weekday !== 0 && weekday !== 6) closedWeekdays.push(date);
    if (session?.earlyClose) earlyCloses.push(date);
    if (session) assert.equal(session.date, date);
  }
  return { closedWeekdays, earlyCloses };
}

Deno.test("[market] NYSE 2026: the published holidays and early closes, and no other closed weekday", () => {
  assert.deepEqual(walkYear(2026), {
    closedWeekdays: HOLIDAYS_2026,
    earlyCloses: EARLY_CLOSES_2026,
  });
  assert.deepEqual(nyseHolidays(2026), {
    holidays: HOLIDAYS_2026,
    earlyCloses: EARLY_CLOSES_2026,
  });
});

Deno.test("[market] NYSE 2027: the published holidays and early closes, and no other closed weekday", () => {
  assert.deepEqual(walkYear(2027), {
    closedWeekdays: HOLIDAYS_2027,
    earlyCloses: EARLY_CLOSES_2027,
  });
  assert.deepEqual(nyseHolidays(2027), {
    holidays: HOLIDAYS_2027,
    earlyCloses: EARLY_CLOSES_2027,
  });
});

Deno.test("[market] a Saturday New Year's Day closes no Friday; other years follow the same rules", () => {
  // 2028-01-01 and 2022-01-01 are Saturdays: NYSE traded on 2027-12-31 and 2021-12-31.
  assert.ok(nyse.sessionOn(at("2027-12-31T17:00:00Z")));
  assert.ok(nyse.sessionOn(at("2028-01-03T17:00:00Z")));
  assert.ok(nyse.sessionOn(at("2021-12-31T17:00:00Z")));
  assert.deepEqual(nyseHolidays(2025), {
    holidays: [
      "2025-01-01",
      "2025-01-20",
      "2025-02-17",
      "2025-04-18",
      "2025-05-26",
      "2025-06-19",
      "2025-07-04",
      "2025-09-01",
      "2025-11-27",
      "2025-12-25",
    ],
    earlyCloses: ["2025-07-03", "2025-11-28", "2025-12-24"],
  });
  // Juneteenth became an NYSE holiday in 2022.
  assert.ok(nyse.sessionOn(at("2021-06-18T17:00:00Z")));
});

Deno.test("[market] session times follow New York across the March and November DST switches", () => {
  const times = (iso: string) => {
    const s = nyse.sessionOn(at(iso)) as Session;
    return [s.open.toISOString(), s.close.toISOString()];
  };
  // 2026: clocks spring forward on Sunday March 8 and fall back on Sunday November 1.
  assert.deepEqual(times("2026-03-06T16:00:00Z"), [
    "2026-03-06T14:30:00.000Z",
    "2026-03-06T21:00:00.000Z",
  ]);
  assert.deepEqual(times("2026-03-09T16:00:00Z"), [
    "2026-03-09T13:30:00.000Z",
    "2026-03-09T20:00:00.000Z",
  ]);
  assert.deepEqual(times("2026-10-30T16:00:00Z"), [
    "2026-10-30T13:30:00.000Z",
    "2026-10-30T20:00:00.000Z",
  ]);
  assert.deepEqual(times("2026-11-02T16:00:00Z"), [
    "2026-11-02T14:30:00.000Z",
    "2026-11-02T21:00:00.000Z",
  ]);
  // 2027: March 14 and November 7.
  assert.deepEqual(times("2027-03-12T16:00:00Z"), [
    "2027-03-12T14:30:00.000Z",
    "2027-03-12T21:00:00.000Z",
  ]);
  assert.deepEqual(times("2027-03-15T16:00:00Z"), [
    "2027-03-15T13:30:00.000Z",
    "2027-03-15T20:00:00.000Z",
  ]);
  assert.deepEqual(times("2027-11-05T16:00:00Z"), [
    "2027-11-05T13:30:00.000Z",
    "2027-11-05T20:00:00.000Z",
  ]);
  assert.deepEqual(times("2027-11-08T16:00:00Z"), [
    "2027-11-08T14:30:00.000Z",
    "2027-11-08T21:00:00.000Z",
  ]);
  // 02:30 UTC on a Tuesday is still Monday evening in New York.
  assert.equal(nyse.sessionOn(at("2026-03-10T02:30:00Z"))?.date, "2026-03-09");
  assert.equal(nyse.sessionOn(at("2026-03-09T03:30:00Z")), null, "Sunday evening in New York");
});

Deno.test("[market] isOpen: 09:30 up to but not including 16:00 (13:00 on early closes); crypto always", () => {
  const cases: [string, boolean][] = [
    ["2026-06-16T13:29:59Z", false],
    ["2026-06-16T13:30:00Z", true],
    ["2026-06-16T19:59:59Z", true],
    ["2026-06-16T20:00:00Z", false],
    ["2026-11-27T17:59:00Z", true],
    ["2026-11-27T18:00:00Z", false],
    ["2026-12-24T17:00:00Z", true],
    ["2026-12-24T18:30:00Z", false],
    ["2026-07-03T15:00:00Z", false],
    ["2026-06-20T15:00:00Z", false],
  ];
  for (const [iso, open] of cases) {
    assert.equal(nyse.isOpen("us_equity", at(iso)), open, iso);
    assert.equal(nyse.isOpen("etf", at(iso)), open, iso);
    assert.equal(nyse.isOpen("crypto", at(iso)), true, iso);
  }
});

Deno.test("[market] next and previous sessions skip weekends and holidays", () => {
  const date = (s: Session) => s.date;
  // Thursday before Good Friday 2026, after the close: next is Monday, previous is Thursday.
  assert.equal(date(nyse.nextSession(at("2026-04-02T21:00:00Z"))), "2026-04-06");
  assert.equal(date(nyse.previousSession(at("2026-04-02T21:00:00Z"))), "2026-04-02");
  // During a session: next is that session, previous the one before.
  assert.equal(date(nyse.nextSession(at("2026-04-06T15:00:00Z"))), "2026-04-06");
  assert.equal(date(nyse.previousSession(at("2026-04-06T15:00:00Z"))), "2026-04-02");
  // Before Monday's open: next is Monday's, previous is the last session before it.
  assert.equal(date(nyse.nextSession(at("2026-04-06T12:00:00Z"))), "2026-04-06");
  assert.equal(date(nyse.previousSession(at("2026-04-06T12:00:00Z"))), "2026-04-02");
  // At the close instant the session is over.
  assert.equal(date(nyse.nextSession(at("2026-06-16T20:00:00Z"))), "2026-06-17");
  // Christmas 2027 is observed on Friday 24th; Thanksgiving weekend with its early close.
  assert.equal(date(nyse.nextSession(at("2027-12-23T22:00:00Z"))), "2027-12-27");
  assert.equal(date(nyse.previousSession(at("2027-12-25T12:00:00Z"))), "2027-12-23");
  assert.equal(nyse.previousSession(at("2026-11-28T12:00:00Z")).earlyClose, true);
});

Deno.test("[market] clockJson reports the next open and close, Alpaca-style", () => {
  assert.deepEqual(clockJson(nyse, at("2026-06-16T15:00:00Z")), {
    timestamp: "2026-06-16T15:00:00.000Z",
    isOpen: true,
    nextOpen: "2026-06-17T13:30:00.000Z",
    nextClose: "2026-06-16T20:00:00.000Z",
    session: "regular",
    extendedHours: {
      date: "2026-06-16",
      preMarketOpen: "2026-06-16T08:00:00.000Z",
      preMarketClose: "2026-06-16T13:30:00.000Z",
      afterHoursOpen: "2026-06-16T20:00:00.000Z",
      afterHoursClose: "2026-06-17T00:00:00.000Z",
    },
  });
  // Thursday after-hours: the next regular session is Monday's, the extended times still today's.
  assert.deepEqual(clockJson(nyse, at("2026-06-18T21:00:00Z")), {
    timestamp: "2026-06-18T21:00:00.000Z",
    isOpen: false,
    nextOpen: "2026-06-22T13:30:00.000Z", // Friday the 19th is Juneteenth
    nextClose: "2026-06-22T20:00:00.000Z",
    session: "post",
    extendedHours: {
      date: "2026-06-18",
      preMarketOpen: "2026-06-18T08:00:00.000Z",
      preMarketClose: "2026-06-18T13:30:00.000Z",
      afterHoursOpen: "2026-06-18T20:00:00.000Z",
      afterHoursClose: "2026-06-19T00:00:00.000Z",
    },
  });
  // Once after-hours end, the extended times are the next trading day's.
  assert.equal(clockJson(nyse, at("2026-06-19T00:00:00Z")).session, "closed");
  assert.equal(clockJson(nyse, at("2026-06-19T00:00:00Z")).extendedHours?.date, "2026-06-22");
  // The day after Thanksgiving: pre-market before its open, after-hours 13:00–17:00.
  assert.deepEqual(clockJson(nyse, at("2026-11-27T14:00:00Z")), {
    timestamp: "2026-11-27T14:00:00.000Z",
    isOpen: false,
    nextOpen: "2026-11-27T14:30:00.000Z",
    nextClose: "2026-11-27T18:00:00.000Z",
    session: "pre",
    extendedHours: {
      date: "2026-11-27",
      preMarketOpen: "2026-11-27T09:00:00.000Z",
      preMarketClose: "2026-11-27T14:30:00.000Z",
      afterHoursOpen: "2026-11-27T18:00:00.000Z",
      afterHoursClose: "2026-11-27T22:00:00.000Z",
    },
  });
});

Deno.test("[market] phase: pre-market 04:00–09:30, after-hours 16:00–20:00 New York time, 13:00–17:00 on an early close", () => {
  const cases: [string, string][] = [
    // Tuesday 16 June 2026, summer time (UTC−4).
    ["2026-06-16T07:59:59Z", "closed"],
    ["2026-06-16T08:00:00Z", "pre"],
    ["2026-06-16T13:29:59Z", "pre"],
    ["2026-06-16T13:30:00Z", "regular"],
    ["2026-06-16T19:59:59Z", "regular"],
    ["2026-06-16T20:00:00Z", "post"],
    ["2026-06-16T23:59:59Z", "post"],
    ["2026-06-17T00:00:00Z", "closed"],
    // The Friday before and the Monday after the March 2026 switch: winter (UTC−5), then summer.
    ["2026-03-06T08:59:59Z", "closed"],
    ["2026-03-06T09:00:00Z", "pre"],
    ["2026-03-07T00:59:59Z", "post"],
    ["2026-03-07T01:00:00Z", "closed"],
    ["2026-03-09T07:59:59Z", "closed"],
    ["2026-03-09T08:00:00Z", "pre"],
    ["2026-03-10T00:00:00Z", "closed"],
    // The Monday after the November switch is back on winter time.
    ["2026-11-02T08:30:00Z", "closed"],
    ["2026-11-02T09:00:00Z", "pre"],
    ["2026-11-03T00:30:00Z", "post"],
    // The day after Thanksgiving closes at 13:00 and its after-hours at 17:00.
    ["2026-11-27T18:00:00Z", "post"],
    ["2026-11-27T21:59:59Z", "post"],
    ["2026-11-27T22:00:00Z", "closed"],
    // No extended sessions on a holiday (Independence Day, observed) or a weekend.
    ["2026-07-03T12:00:00Z", "closed"],
    ["2026-07-03T21:00:00Z", "closed"],
    ["2026-06-20T12:00:00Z", "closed"],
  ];
  for (const [iso, phase] of cases) {
    assert.equal(nyse.phase("us_equity", at(iso)), phase, iso);
    assert.equal(nyse.phase("etf", at(iso)), phase, iso);
    assert.equal(nyse.isOpen("us_equity", at(iso)), phase === "regular", iso);
    assert.equal(nyse.phase("crypto", at(iso)), "regular", iso);
    assert.equal(always.phase("us_equity", at(iso)), "regular", iso);
  }
});

Deno.test("[market] nextSession with extended: the trading day until its after-hours end", () => {
  // Tuesday after-hours: the regular session ahead is Wednesday's, the extended day still Tuesday.
  assert.equal(nyse.nextSession(at("2026-06-16T21:00:00Z")).date, "2026-06-17");
  assert.equal(nyse.nextSession(at("2026-06-16T21:00:00Z"), true).date, "2026-06-16");
  assert.equal(nyse.nextSession(at("2026-06-17T00:00:00Z"), true).date, "2026-06-17");
  // Thursday after-hours before Juneteenth, then the weekend: Monday.
  assert.equal(nyse.nextSession(at("2026-06-19T00:00:00Z"), true).date, "2026-06-22");
  assert.equal(
    nyse.nextSession(at("2026-11-27T20:00:00Z"), true).postClose.toISOString(),
    "2026-11-27T22:00:00.000Z",
  );
});

Deno.test("[market] always mode: every UTC day is a session and everything is open", () => {
  const saturday = at("2026-06-20T03:00:00Z");
  assert.equal(always.mode, "always");
  assert.equal(always.isOpen("us_equity", saturday), true);
  assert.deepEqual(always.sessionOn(saturday), {
    date: "2026-06-20",
    open: at("2026-06-20T00:00:00Z"),
    close: at("2026-06-21T00:00:00Z"),
    earlyClose: false,
    preOpen: at("2026-06-20T00:00:00Z"),
    postClose: at("2026-06-21T00:00:00Z"),
  });
  assert.equal(always.previousSession(saturday).date, "2026-06-19");
  assert.equal(always.nextSession(saturday).date, "2026-06-20");
  assert.equal(clockJson(always, saturday).nextOpen, "2026-06-21T00:00:00.000Z");
  assert.equal(clockJson(always, saturday).session, "regular");
  assert.equal(clockJson(always, saturday).extendedHours, null);
});
