/** The shell of every ops command: open the configured store, run, close, and exit with one clear line on failure. */
import { ConfigError, loadConfig, readEnv } from "../lib/config.ts";
import { openStore } from "../lib/store/open.ts";
import type { Store } from "../lib/store/port.ts";

/**
 * Runs `command` on the store the environment configures and exits with the code it returns.
 * A bad configuration prints one `config:` line per problem; any other failure one line named
 * after the command, never a stack. Exit code 1 on failure.
 */
export async function runWithStore(
  name: string,
  command: (store: Store) => Promise<number>,
): Promise<never> {
  let exitCode = 1;
  try {
    const store = await openStore(loadConfig(await readEnv()));
    try {
      exitCode = await command(store);
    } finally {
      await store.close();
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) console.error(`config: ${problem}`);
    } else console.error(`${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
  Deno.exit(exitCode);
}
