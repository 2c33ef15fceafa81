/** `deno task db:restore <dir> [--force]`: loads a backup into the configured store, which must be empty unless forced. */
import { formatCounts, restoreStore } from "../lib/backup.ts";
import { ConfigError, loadConfig, readEnv } from "../lib/config.ts";
import { openStore } from "../lib/store/open.ts";

const force = Deno.args.includes("--force");
const [dir, ...extra] = Deno.args.filter((arg) => arg !== "--force");
if (!dir || extra.length || dir.startsWith("-")) {
  console.error("usage: deno task db:restore <dir> [--force]");
  console.error("  --force  delete every document in the target store first (it does not merge)");
  Deno.exit(2);
}

let exitCode = 1;
try {
  const started = performance.now();
  const store = await openStore(loadConfig(await readEnv()));
  try {
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
    exitCode = 0;
  } finally {
    await store.close();
  }
} catch (error) {
  if (error instanceof ConfigError) {
    for (const problem of error.problems) console.error(`config: ${problem}`);
  } else console.error(`db:restore: ${error instanceof Error ? error.message : String(error)}`);
}
Deno.exit(exitCode);
