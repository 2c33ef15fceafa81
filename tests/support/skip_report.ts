/**
 * Why tests were skipped, and which outside programs the run used. Under `deno task test`
 * (scripts/run_tests.ts) every line goes to the file named by ORION_TEST_REPORT and the task prints one
 * summary after the run. A plain `deno test` has no such file, so each file's skip is announced on
 * stderr instead, since an ignored test is easy to miss in a green run.
 */
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The environment variable through which scripts/run_tests.ts names its report file. */
export const REPORT_ENV = "ORION_TEST_REPORT";

/** One line of the report file, as JSON. */
export type ReportLine =
  /** One skipped test: `file` is relative to the repository, `reason` says why and what to do. */
  | { kind: "skip"; file: string; reason: string }
  /** Something worth a line in the summary even though nothing was skipped. */
  | { kind: "note"; text: string };

const ROOT = new URL("../../", import.meta.url);
const reportFile = Deno.env.get(REPORT_ENV);
const announced = new Set<string>();

/**
 * Records that one test of `module` (the test file's `import.meta.url`) is skipped, and why.
 * Call it once per ignored test, so the summary's count matches deno test's "ignored" count.
 */
export function reportSkip(module: string, reason: string): void {
  const file = relative(fileURLToPath(ROOT), fileURLToPath(module));
  if (reportFile) {
    append({ kind: "skip", file, reason });
    return;
  }
  const key = `${file}\n${reason}`;
  if (announced.has(key)) return;
  announced.add(key);
  console.error(`\n!!! SKIPPED in ${file}: ${reason} !!!\n`);
}

/** Adds `text` to the summary of `deno task test`; said once however often it is reported. */
export function reportNote(text: string): void {
  if (announced.has(text)) return;
  announced.add(text);
  if (reportFile) append({ kind: "note", text });
}

function append(line: ReportLine): void {
  // One short O_APPEND write per line: parallel test files (and processes) never interleave.
  Deno.writeTextFileSync(reportFile!, JSON.stringify(line) + "\n", { append: true });
}

/** The reason of the MongoDB-only tests, which need a replica set that only GitHub CI starts. */
export const NO_MONGODB =
  "MONGODB_URI is not set; these tests need a MongoDB replica set, which the GitHub workflow starts";
