/**
 * Every document a query matches, read page by page through the store's cursor. For sets the
 * domain keeps small (one user's sessions, one account's positions or working orders), where the
 * caller needs them all at once; lists shown to people page instead.
 */
import { newId } from "../ids.ts";
import type { CollectionName } from "./schema.ts";
import type { Doc, Query, Store, Where } from "./port.ts";

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

/**
 * The distinct values of a string `field` among the documents matching `where`, in order: a loose
 * index scan of `{...where, field}`, one seek per value however many documents share it.
 */
export async function distinctValues(
  store: Store,
  collection: CollectionName,
  where: Where,
  field: string,
): Promise<string[]> {
  const values: string[] = [];
  let from = "";
  for (;;) {
    const page = await store.find<Doc & Record<string, unknown>>(collection, {
      where,
      sort: { field, direction: 1 },
      range: { gte: from },
      limit: 1,
    });
    const next = page.items[0];
    if (!next) return values;
    const value = String(next[field]);
    values.push(value);
    // The smallest string after this value: the next seek lands on the next one.
    from = `${value}\u0000`;
  }
}

/**
 * Deletes the documents of `collection` made before `before` (their `_id` is a time-ordered id,
 * lib/ids.ts, so they come first by `_id` and no index is needed), except those `keep` keeps: an
 * old active alert, say. Reads in pages behind the cursor, so the kept ones are read once a run.
 * Returns how many it deleted.
 */
export async function pruneMadeBefore<T extends Doc>(
  store: Store,
  collection: CollectionName,
  before: Date,
  keep: (doc: T) => boolean = () => false,
): Promise<number> {
  // Every id made before `before` sorts below the 10-character time prefix of an id made then.
  const bound = newId(before.getTime()).slice(0, 10);
  let deleted = 0;
  let cursor: string | undefined;
  do {
    const page = await store.find<T>(collection, {
      sort: { field: "_id", direction: 1 },
      range: { lt: bound },
      limit: 100,
      cursor,
    });
    const gone = page.items.filter((doc) => !keep(doc));
    if (gone.length > 0) {
      // At most 100 deletes: within any store's unit. One already gone is not an error to stop on.
      await store.commit(gone.map((doc) => ({ op: "delete", collection, id: doc._id })))
        .catch(async () => {
          for (const doc of gone) await store.delete(collection, doc._id).catch(() => {});
        });
      deleted += gone.length;
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return deleted;
}
