/** Readiness checks of the trading data: its invariants hold (docs/design.md, Money invariants). */
import { type Check, fail, pass, warn } from "../readiness.ts";
import { checkIntegrity, type IntegrityReport } from "./integrity.ts";

/** How many problem or warning lines the check shows; the rest are counted. */
const SHOWN_LINES = 5;

/** Appended to the default checks by `deno task check`. */
export const tradingChecks: Check[] = [
  {
    id: "data.integrity",
    group: "data integrity",
    title: "Money and share invariants",
    // It reads every account, order, trade and ledger entry: minutes on a very large store.
    timeoutMs: 10 * 60 * 1000,
    run: async ({ store, storeError }) => {
      if (!store) {
        return fail(
          storeError
            ? `the store did not open: ${storeError}`
            : "not checked until the configuration parses",
        );
      }
      const report = await checkIntegrity(store);
      if (report.problems.length > 0) return fail(listed(report.problems, "problem"));
      if (report.warnings.length > 0) {
        return warn(`${counts(report)}; ${listed(report.warnings, "warning")}`);
      }
      return pass(`${counts(report)}: all invariants hold`);
    },
  },
];

function counts(report: IntegrityReport): string {
  const n = (count: number, noun: string) =>
    `${count.toLocaleString("en-US")} ${noun}${count === 1 ? "" : "s"}`;
  return [
    n(report.accounts, "account"),
    n(report.ledgerEntries, "ledger entry").replace(/entrys$/, "entries"),
    n(report.orders, "order"),
    n(report.trades, "trade"),
    n(report.positions, "position"),
  ].join(", ");
}

/** "3 problems: a; b; c", or the first few and "(+N more)". */
function listed(lines: string[], noun: string): string {
  const more = lines.length - SHOWN_LINES;
  const shown = lines.slice(0, SHOWN_LINES).join("; ");
  return `${lines.length} ${noun}${lines.length === 1 ? "" : "s"}: ${shown}${
    more > 0 ? ` (+${more} more)` : ""
  }`;
}
