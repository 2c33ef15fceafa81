/** Chooses and opens the storage backend the configuration asks for. */
import type { Config } from "../config.ts";
import { createLogger, type Logger } from "../log.ts";
import { openKvStore } from "./kv.ts";
import type { Store } from "./port.ts";

/**
 * MongoDB when MONGODB_URI is set (database MONGODB_DB), Deno KV at KV_PATH otherwise. The schema
 * is ensured before use. A MongoDB server that cannot run transactions is refused here, since
 * every write is one: better one clear line at start-up than a failure on every request.
 */
export async function openStore(
  config: Config,
  log: Logger = createLogger(config.logLevel),
): Promise<Store> {
  if (config.mongodbUri) {
    // The driver is large; a KV install (and its cold start) should not pay for loading it.
    const { openMongoStore, transactionSupport } = await import("./mongo.ts");
    const store = await openMongoStore({ uri: config.mongodbUri, db: config.mongodbDb, log });
    try {
      const transactions = await transactionSupport(store);
      if (!transactions.ok) throw new Error(`MONGODB_URI: ${transactions.detail}`);
      await store.ensureSchema();
      log.info("store opened", {
        backend: store.backend,
        db: config.mongodbDb,
        topology: transactions.detail,
      });
      return store;
    } catch (error) {
      await store.close();
      throw error;
    }
  }
  const store = await openKvStore(config.kvPath);
  await store.ensureSchema();
  return store;
}
