/** Structured JSON-lines logger that redacts secrets before anything is written. */

/** Levels from most to least severe; a logger writes its own level and every one before it. */
export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;

const REDACTED = "[redacted]";
const SECRET_KEY = /pass(?:word|code|phrase)|token|secret|cookie|authorization|api[-_]?key/i;
// `code`, `totp_code`, `totpCode`, `recoveryCodes` — but not words like `barcode`.
const CODE_KEY = [/(?:^|[-_])codes?$/i, /[a-z\d]Codes?$/];

/**
 * Creates a logger writing one JSON object per line (`time`, `level`, `msg`, then fields).
 * Without a sink, error and warn go to stderr and the rest to stdout.
 */
export function createLogger(level: LogLevel, sink?: (line: string) => void): Logger {
  return buildLogger(level, sink, {});
}

function buildLogger(
  level: LogLevel,
  sink: ((line: string) => void) | undefined,
  base: Record<string, unknown>,
): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const method = (entryLevel: LogLevel): LogMethod => (msg, fields) => {
    if (LOG_LEVELS.indexOf(entryLevel) > threshold) return;
    const head = { time: new Date().toISOString(), level: entryLevel, msg };
    // `head` is spread twice so its keys lead the line and no field can overwrite them.
    const redacted = redact({ ...base, ...fields }, new WeakSet()) as Record<string, unknown>;
    const line = JSON.stringify({ ...head, ...redacted, ...head });
    if (sink) sink(line);
    else if (entryLevel === "error" || entryLevel === "warn") console.error(line);
    else console.log(line);
  };
  return {
    error: method("error"),
    warn: method("warn"),
    info: method("info"),
    debug: method("debug"),
    child: (fields) => buildLogger(level, sink, { ...base, ...fields }),
  };
}

function redact(value: unknown, ancestors: WeakSet<object>): unknown {
  if (typeof value === "bigint") return value.toString();
  if (typeof value !== "object" || value === null) return value;
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (value instanceof Headers) return redact(Object.fromEntries(value), ancestors);
  // Objects with toJSON (Date, URL) serialise themselves without exposing fields.
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return value;
  // A cycle would make JSON.stringify throw, and a logger must never throw.
  if (ancestors.has(value)) return "[circular]";
  ancestors.add(value);
  const copy = Array.isArray(value)
    ? value.map((item) => redact(item, ancestors))
    : Object.fromEntries(
      Object.entries(value).map((
        [key, item],
      ) => [key, isSensitive(key, item) ? REDACTED : redact(item, ancestors)]),
    );
  // Only ancestors count, so an object logged twice side by side is not mistaken for a cycle.
  ancestors.delete(value);
  return copy;
}

function isSensitive(key: string, value: unknown): boolean {
  // A boolean or an absent value carries no secret, and "tokenSet: true" is worth seeing.
  if (value === null || value === undefined || typeof value === "boolean") return false;
  if (SECRET_KEY.test(key)) return true;
  // Numeric codes are HTTP or database statuses; verification codes are strings.
  return typeof value !== "number" && CODE_KEY.some((pattern) => pattern.test(key));
}

/** Severity of a log entry; `LOG_LEVEL` picks the least severe one written. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Writes one entry; `fields` are merged into the JSON line after redaction. */
export type LogMethod = (msg: string, fields?: Record<string, unknown>) => void;

/** A logger; `child` returns one that adds `fields` to every entry. */
export type Logger = {
  error: LogMethod;
  warn: LogMethod;
  info: LogMethod;
  debug: LogMethod;
  child(fields: Record<string, unknown>): Logger;
};
