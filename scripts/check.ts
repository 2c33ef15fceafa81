/** `deno task check`: production readiness as a checklist (or JSON with --json); exit 1 on a failure. */
import { allChecks } from "../lib/checks.ts";
import { readEnv, withDevAuthSecret } from "../lib/config.ts";
import {
  type CheckResult,
  type CheckSummary,
  environmentBanner,
  prepareContext,
  runChecks,
  summarize,
} from "../lib/readiness.ts";

const ICONS = { pass: "✅", warn: "⚠️", fail: "❌" } as const;

const json = Deno.args.includes("--json");
let exitCode = 1;
try {
  // As the app starts: outside production, the development secret kept beside the KV file.
  const ctx = await prepareContext(await withDevAuthSecret(await readEnv()));
  // Outside production the warning comes first, before any green tick can reassure; with --json
  // it goes to stderr so the output stays parseable.
  const banner = environmentBanner(ctx);
  if (banner) (json ? console.error : console.log)(banner);
  try {
    const results = await runChecks(allChecks, ctx);
    const summary = summarize(results);
    const report = json
      ? JSON.stringify({ ok: summary.failed === 0, results, summary }, null, 2)
      : checklist(results, summary);
    console.log(report);
    exitCode = summary.failed === 0 ? 0 : 1;
  } finally {
    await ctx.store?.close();
  }
} catch (error) {
  // Only a bug or an unreadable .env gets here; one line, never a stack.
  console.error(`check: ${error instanceof Error ? error.message : String(error)}`);
}
// A check that timed out may still hold a pending store call; exit instead of waiting for it.
Deno.exit(exitCode);

/** The results grouped under their group's name, in first-seen order, then the totals. */
function checklist(results: CheckResult[], summary: CheckSummary): string {
  const groups = Map.groupBy(results, (result) => result.group);
  const lines: string[] = [];
  for (const [group, members] of groups) {
    lines.push(group.charAt(0).toUpperCase() + group.slice(1));
    for (const r of members) lines.push(`  ${ICONS[r.status]} ${r.title}: ${r.detail}`);
    lines.push("");
  }
  const warnings = `${summary.warnings} warning${summary.warnings === 1 ? "" : "s"}`;
  lines.push(`${summary.passed} passed, ${warnings}, ${summary.failed} failed`);
  return lines.join("\n");
}
