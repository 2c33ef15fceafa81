/** `deno task db:restore <dir> [--force]`: loads a backup into the configured store, which must be empty unless forced. */
import { formatCounts, restoreStore } from "../lib/backup.ts";
import { runWithStore } from "./run_with_store.ts";

const force = Deno.args.includes("--force");
const [dir, ...extra] = Deno.args.filter((arg) => arg !== "--force");
if (!dir || extra.length || dir.startsWith("-")) {
  console.error("usage: deno task db:restore <dir> [--force]");
  console.error("  --force  delete every document in the target store first (it does not merge)");
  Deno.exit(2);
}

await runWithStore("db:restore", async (store) => {
  const started = performance.now();
  const report = await restoreStore(store, dir, {
    force,
    // Said before the first delete, so it shows even if the restore then fails.
    onWipe: (collections) =>
      console.error(
        `WARNING: --force: deleting every document of the ${store.backend} store in ` +
          `${collections.join(", ")} before restoring; nothing is merged`,
      ),
  });
  const { manifest } = report;
  console.log(
    `restored the backup of ${manifest.createdAt} (${manifest.backend}, app ` +
      `${manifest.appVersion}) into the ${store.backend} store:`,
  );
  for (const line of formatCounts(report.collections, performance.now() - started)) {
    console.log(line);
  }
  if (report.wiped) {
    console.log(`  ${report.wiped} documents that were there before were deleted`);
  }
  // Versions are concurrency tokens; see restoreStore.
  console.log("  every restored document starts again at version 1 (_v)");
  return 0;
});
