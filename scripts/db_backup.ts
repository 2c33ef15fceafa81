/** `deno task db:backup <dir>`: writes every collection of the configured store to a new backup directory. */
import denoJson from "../deno.json" with { type: "json" };
import { backupStore, formatCounts } from "../lib/backup.ts";
import { runWithStore } from "./run_with_store.ts";

const [dir, ...extra] = Deno.args;
if (!dir || extra.length || dir.startsWith("-")) {
  console.error("usage: deno task db:backup <dir>   (a new or empty directory)");
  Deno.exit(2);
}

await runWithStore("db:backup", async (store) => {
  const started = performance.now();
  const manifest = await backupStore(store, dir, { version: denoJson.version });
  const counts = Object.fromEntries(
    Object.entries(manifest.collections).map(([name, entry]) => [name, entry.count]),
  );
  console.log(`backed up the ${manifest.backend} store to ${dir}:`);
  for (const line of formatCounts(counts, performance.now() - started)) console.log(line);
  return 0;
});
