/**
 * Times as people read them: in their own time zone, with the zone's name, through the platform's
 * Intl.DateTimeFormat (so daylight saving and zone history come from the ICU data, not from us).
 */

/** The zones a user may choose: the runtime's IANA list, plus "UTC" (which it lists as Etc/UTC). */
const ZONES = new Set([...Intl.supportedValuesOf("timeZone"), "UTC"]);

/** Where times are shown when the user chose no zone and the browser told us none. */
export const DEFAULT_TIME_ZONE = "UTC";

/** The zones for a picker, in the runtime's (alphabetical) order. */
export function timeZones(): string[] {
  return [...ZONES];
}

/** Whether `name` is a time zone of the list (an IANA name such as "Europe/Berlin", or "UTC"). */
export function isTimeZone(name: unknown): name is string {
  return typeof name === "string" && ZONES.has(name);
}

/**
 * The listed name for a zone a browser or client reports, or null when it is no zone: browsers
 * disagree on aliases (Firefox says "Asia/Kolkata", the runtime's list has "Asia/Calcutta"), so a
 * name the list lacks is checked by what Intl resolves it to.
 */
export function canonicalTimeZone(name: unknown): string | null {
  if (typeof name !== "string" || name.length > 64) return null;
  if (ZONES.has(name)) return name;
  try {
    const resolved = new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions()
      .timeZone;
    return ZONES.has(resolved) ? resolved : null;
  } catch {
    return null;
  }
}

/** One formatter per zone and precision: building one is far dearer than using it. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string, seconds: boolean): Intl.DateTimeFormat {
  const key = `${timeZone}|${seconds}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      ...(seconds ? { second: "2-digit" } : {}),
      hourCycle: "h23",
      timeZoneName: "short",
    });
    formatters.set(key, f);
  }
  return f;
}

/**
 * `2026-12-07 04:19 GMT+1`: the date and time in `timeZone` (sortable, the same width in every
 * row of a table) followed by the zone's short name as Intl gives it ("UTC", "EST", "GMT+1").
 * An unknown zone falls back to UTC rather than failing the page.
 */
export function formatTime(
  at: Date,
  timeZone: string = DEFAULT_TIME_ZONE,
  options: { seconds?: boolean } = {},
): string {
  const zone = isTimeZone(timeZone) ? timeZone : DEFAULT_TIME_ZONE;
  const parts = Object.fromEntries(
    formatter(zone, options.seconds ?? false).formatToParts(at).map((p) => [p.type, p.value]),
  );
  const time = `${parts.hour}:${parts.minute}${options.seconds ? `:${parts.second}` : ""}`;
  return `${parts.year}-${parts.month}-${parts.day} ${time} ${parts.timeZoneName}`;
}
