/**
 * Query planning shared by every backend: which declared index answers a query. Both backends
 * refuse the same queries with the same error, so no backend quietly scans what another cannot.
 */
import { type CollectionName, indexName, type IndexSpec, SCHEMA } from "./schema.ts";
import type { Where } from "./port.ts";

/** A declared index with its name and its fields in order. */
export type DeclaredIndex = { name: string; spec: IndexSpec; fields: string[] };

const DECLARED = new Map<string, DeclaredIndex[]>(
  Object.entries(SCHEMA).map(([collection, specs]) => [
    collection,
    (specs as readonly IndexSpec[]).map((spec) => ({
      name: indexName(spec),
      spec,
      fields: Object.keys(spec.fields),
    })),
  ]),
);

/** The declared indexes of a collection. */
export function declaredIndexes(collection: CollectionName): DeclaredIndex[] {
  return DECLARED.get(collection)!;
}

/**
 * The index that answers equality on `where` ordered by `sortField` (then `_id`): null for the
 * primary key (no filter, ordered by `_id`), else the index whose leading fields are exactly the
 * `where` fields and whose next field is the sort field. Throws when no declared index fits.
 */
export function planIndex(
  collection: CollectionName,
  where: Where,
  sortField?: string,
): DeclaredIndex | null {
  const fields = Object.keys(where);
  if (!fields.length && (!sortField || sortField === "_id")) return null;
  for (const index of declaredIndexes(collection)) {
    const lead = index.fields.slice(0, fields.length);
    if (lead.length !== fields.length || !lead.every((f) => f in where)) continue;
    const next = index.fields[fields.length];
    const byId = sortField === undefined || sortField === "_id";
    if (next !== sortField && !(byId && (next === undefined || sortField === undefined))) continue;
    // A unique index has one entry per value: it cannot order ties by `_id`.
    if (sortField === "_id" && index.spec.unique) continue;
    return index;
  }
  throw new Error(
    `no declared index on ${collection} serves where ${JSON.stringify(fields)} sorted by ${
      sortField ?? "_id"
    }`,
  );
}
