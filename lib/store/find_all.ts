/**
 * Every document a query matches, read page by page through the store's cursor. For sets the
 * domain keeps small (one user's sessions, one account's positions or working orders), where the
 * caller needs them all at once; lists shown to people page instead.
 */
import type { CollectionName } from "./schema.ts";
import type { Doc, Query, Store } from "./port.ts";

export async function findAll<T extends Doc>(
  store: Store,
  collection: CollectionName,
  query: Omit<Query, "cursor" | "limit"> & { limit?: number },
): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.find<T>(collection, { limit: 500, ...query, cursor });
    all.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all;
}
