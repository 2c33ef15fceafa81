/** Runs the storage conformance suite against the Deno KV backend (in memory). */
import { defineStoreConformance } from "./conformance.ts";
import { openKvStore } from "./kv.ts";

defineStoreConformance("kv", () => openKvStore(":memory:"));
