/** Chooses and opens the storage backend the configuration asks for. */
import type { Config } from "../config.ts";
import { openKvStore } from "./kv.ts";
import type { Store } from "./port.ts";

/** Deno KV at KV_PATH; MongoDB when MONGODB_URI is set. The schema is ensured before use. */
export async function openStore(config: Config): Promise<Store> {
  if (config.mongodbUri) {
    throw new Error(
      "MONGODB_URI: the MongoDB backend is not part of this build; unset it to use Deno KV",
    );
  }
  const store = await openKvStore(config.kvPath);
  await store.ensureSchema();
  return store;
}
