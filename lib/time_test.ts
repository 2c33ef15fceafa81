import assert from "node:assert/strict";
import { canonicalTimeZone, formatTime, isTimeZone, timeZones } from "./time.ts";

const WINTER = new Date("2026-12-07T03:19:42.123Z");
const SUMMER = new Date("2026-07-01T12:00:00Z");

Deno.test("[time] a time in the user's zone, with the zone's name", () => {
  assert.equal(formatTime(WINTER, "UTC"), "2026-12-07 03:19 UTC");
  assert.equal(formatTime(WINTER, "Europe/Berlin"), "2026-12-07 04:19 GMT+1");
  assert.equal(formatTime(WINTER, "America/New_York"), "2026-12-06 22:19 EST", "the day before");
  assert.equal(formatTime(SUMMER, "America/New_York"), "2026-07-01 08:00 EDT", "daylight saving");
  assert.equal(formatTime(WINTER, "Asia/Calcutta"), "2026-12-07 08:49 GMT+5:30");
  assert.equal(formatTime(WINTER, "UTC", { seconds: true }), "2026-12-07 03:19:42 UTC");
  assert.equal(formatTime(new Date("2026-12-07T00:05:00Z"), "UTC"), "2026-12-07 00:05 UTC");
});

Deno.test("[time] only known zones; an unknown one shows UTC", () => {
  assert.ok(isTimeZone("UTC"));
  assert.ok(isTimeZone("Europe/Berlin"));
  assert.ok(!isTimeZone("Mars/Olympus_Mons"));
  assert.ok(!isTimeZone("europe/berlin"), "names are exact");
  assert.ok(!isTimeZone(42));
  assert.ok(timeZones().includes("Pacific/Auckland"));
  assert.equal(formatTime(WINTER, "Mars/Olympus_Mons"), "2026-12-07 03:19 UTC");
  // Aliases browsers report resolve to the listed name; junk does not.
  assert.equal(canonicalTimeZone("Europe/Berlin"), "Europe/Berlin");
  assert.ok(isTimeZone(canonicalTimeZone("Asia/Kolkata")));
  assert.equal(canonicalTimeZone("Mars/Olympus_Mons"), null);
  assert.equal(canonicalTimeZone("x".repeat(100)), null);
});
