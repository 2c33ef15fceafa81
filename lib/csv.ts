/**
 * CSV files people open in spreadsheets (the exports): RFC 4180 quoting by csv-stringify, UTF-8
 * with a byte order mark so Excel does not read it as a legacy code page, and cells that cannot run
 * as formulas. Rows arrive page by page and leave as they arrive, so a file of any length holds one
 * page in memory.
 */
import { stringify } from "csv-stringify/sync";

/** A cell as the exports build it: already a string, or empty. */
export type CsvCell = string | null;

/**
 * What a spreadsheet may take for the start of a formula (OWASP "CSV injection"): `=`, `+`, `-`,
 * `@`, tab and carriage return, and their full-width forms, which some spreadsheets also accept.
 */
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;
/** A plain decimal: no spreadsheet reads it as anything but a number. */
const DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * A text cell (symbol, description, client order id…): one that could start a formula gets a
 * leading `'`, which spreadsheets show as text and never run.
 *
 * csv-stringify's own `escape_formulas` does the same to every cell except JavaScript numbers, but
 * our amounts are decimal strings (`"-187.25"`, exact, never floats), so it would turn every
 * negative amount into text. Instead text columns go through this function and numeric columns
 * through `decimal`, which keeps a negative amount a number.
 */
export function text(value: string | null | undefined): CsvCell {
  if (value === null || value === undefined) return null;
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/**
 * A numeric cell: a decimal string as stored (money, quantity, price), left as it is so `-187.25`
 * stays a number. Anything else is treated as text, so a column can never carry a formula.
 */
export function decimal(value: string | number | null | undefined): CsvCell {
  if (value === null || value === undefined) return null;
  const s = String(value);
  return DECIMAL.test(s) ? s : text(s);
}

/** An instant as ISO 8601 in UTC (`2026-01-05T14:30:00.000Z`), which sorts as it reads. */
export function isoTime(value: Date | null | undefined): CsvCell {
  return value ? value.toISOString() : null;
}

const encoder = new TextEncoder();
/** RFC 4180 ends records with CRLF; csv-stringify quotes any cell holding `,`, `"`, CR or LF. */
const OPTIONS = { record_delimiter: "\r\n" } as const;

/**
 * The file as a byte stream: the header, then each page of rows as the reader asks for it (the
 * next page is read only when the previous one has been taken), so the server never holds more
 * than one page, and a client that goes away stops the reading.
 */
export function csvStream(
  header: readonly string[],
  pages: AsyncIterable<CsvCell[][]>,
): ReadableStream<Uint8Array> {
  const iterator = pages[Symbol.asyncIterator]();
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(encoder.encode(`\uFEFF${stringify([[...header]], OPTIONS)}`));
        return;
      }
      // A pull must enqueue or close, or the stream stalls: skip pages that filtered to nothing.
      for (;;) {
        const next = await iterator.next();
        if (next.done) return controller.close();
        if (next.value.length) {
          return controller.enqueue(encoder.encode(stringify(next.value, OPTIONS)));
        }
      }
    },
    async cancel() {
      await iterator.return?.();
    },
  }, { highWaterMark: 1 });
}
