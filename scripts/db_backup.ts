/** `deno task db:backup <dir>`: writes every collection of the configured store to a new backup directory. */
import denoJson from "../deno.json" with { type: "json" };
import { backupStore, formatCounts } from "../lib/backup.ts";
import { ConfigError, loadConfig, readEnv } from "../lib/config.ts";
import { openStore } from "../lib/store/open.ts";

const [dir, ...extra] = Deno.args;
if (!dir || extra.length || dir.startsWith("-")) {
  console.error("usage: deno task db:backup <dir>   (a new or empty directory)");
  Deno.exit(2);
}

let exitCode = 1;
try {
  const started = performance.now();
  const store = await openStore(loadConfig(await readEnv()));
  try {
    const manifest = await backupStore(store, dir, { version: denoJson.version });
    const counts = Object.fromEntries(
      Object.entries(manifest.collections).map(([name, entry]) => [name, entry.count]),
    );
    console.log(`backed up the ${manifest.backend} store to ${dir}:`);
    for (const line of formatCounts(counts, performance.now() - started)) console.log(line);
    exitCode = 0;
  } finally {
    await store.close();
  }
} catch (error) {
  if (error instanceof ConfigError) {
    for (const problem of error.problems) console.error(`config: ${problem}`);
  } else console.error(`db:backup: ${error instanceof Error ? error.message : String(error)}`);
}
Deno.exit(exitCode);
