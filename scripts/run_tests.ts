/**
 * `deno task test`: runs every test (`deno test --allow-all --parallel`, plus any arguments given)
 * and then prints one summary of what was skipped and why, and which Chromium the browser tests
 * used. Test files report those lines through a temporary file (tests/support/skip_report.ts);
 * deno test's own output passes through untouched, and its exit code is this script's.
 */
import { REPORT_ENV, type ReportLine } from "../tests/support/skip_report.ts";

// deno test colours its output even into a pipe, so its closing line is read without them.
// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const TAIL_CHARS = 4096;

// Never when imported: running deno test from inside a deno test run would never end.
if (import.meta.main) Deno.exitCode = await main();

/** Runs deno test, prints the summary, and returns deno test's exit code. */
async function main(): Promise<number> {
  const report = await Deno.makeTempFile({ prefix: "orion-test-report-" });
  // Ctrl-C reaches deno test too; waiting for it keeps its report and this summary.
  const ignoreInterrupt = () => {};
  Deno.addSignalListener("SIGINT", ignoreInterrupt);
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["test", "--allow-all", "--parallel", ...Deno.args],
      env: { [REPORT_ENV]: report, DENO_JOBS: Deno.env.get("DENO_JOBS") ?? String(testJobs()) },
      stdin: "inherit",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    let tail = "";
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) {
      await writeAll(chunk);
      tail = (tail + decoder.decode(chunk, { stream: true })).slice(-TAIL_CHARS);
    }
    const status = await child.status;
    const lines = (await Deno.readTextFile(report)).split("\n").filter(Boolean)
      .map((line) => JSON.parse(line) as ReportLine);
    console.log(summary(lines, counts(tail)));
    return status.success ? 0 : (status.code || 1);
  } finally {
    Deno.removeSignalListener("SIGINT", ignoreInterrupt);
    await Deno.remove(report);
  }
}

/**
 * How many test files run at once: two per core. The browser and server tests spend most of their
 * time waiting on Chromium and the app they started, so one file per core leaves the cores idle
 * (on 2 cores: about 2 min 50 s with 2 at once, 2 min 30 s with 4). DENO_JOBS overrides it.
 */
function testJobs(): number {
  return 2 * (navigator.hardwareConcurrency || 1);
}

type Counts = { passed: number; failed: number; ignored: number };

/** The numbers on deno test's closing line, `ok | 5 passed (2 steps) | 0 failed | 1 ignored (3s)`. */
function counts(tail: string): Counts | undefined {
  const closing = tail.replace(ANSI, "").split("\n").reverse()
    .find((line) => /^(ok|FAILED) \| /.test(line));
  if (!closing) return undefined;
  const count = (word: string) => Number(closing.match(new RegExp(`(\\d+) ${word}`))?.[1] ?? 0);
  return { passed: count("passed"), failed: count("failed"), ignored: count("ignored") };
}

function summary(lines: ReportLine[], total: Counts | undefined): string {
  const out = ["==> summary of deno task test"];
  // reason -> file -> number of tests skipped there
  const skips = new Map<string, Map<string, number>>();
  for (const line of lines) {
    if (line.kind !== "skip") continue;
    const files = skips.get(line.reason) ?? new Map<string, number>();
    files.set(line.file, (files.get(line.file) ?? 0) + 1);
    skips.set(line.reason, files);
  }
  let explained = 0;
  for (const [reason, files] of skips) {
    const number = [...files.values()].reduce((sum, n) => sum + n, 0);
    explained += number;
    out.push(`SKIPPED ${number} test${number === 1 ? "" : "s"}: ${reason}`);
    out.push(`  in ${[...files].map(([file, n]) => `${file} (${n})`).join(", ")}`);
  }
  if (total && total.ignored > explained) {
    out.push(`SKIPPED ${total.ignored - explained} more test(s) without a reported reason`);
  }
  if (skips.size === 0 && (!total || total.ignored === 0)) out.push("nothing was skipped");
  for (const text of new Set(lines.flatMap((line) => line.kind === "note" ? [line.text] : []))) {
    out.push(text);
  }
  // The plain closing line that CI reads, after the summary so it stays the last one.
  if (total) {
    out.push(`tests: ${total.passed} passed, ${total.failed} failed, ${total.ignored} skipped`);
  }
  return out.join("\n");
}

/** Passes deno test's output on as it comes; a write to a pipe may take only part of it. */
async function writeAll(data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await Deno.stdout.write(data.subarray(written));
}
