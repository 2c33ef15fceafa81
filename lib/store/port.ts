/**
 * The storage port: the one interface the rest of the app uses to persist documents.
 * Backends (Deno KV, MongoDB) implement it with the same semantics, proven by the
 * conformance suite in `conformance.ts`.
 */
import type { CollectionName, IndexSpec } from "./schema.ts";

/**
 * The outcome the caller must handle when an atomic unit cannot be applied as asked.
 * Nothing of the unit was written.
 */
export class ConflictError extends Error {
  constructor(
    /** `version`: a document changed since it was read; `duplicate`: a unique index value is taken;
     * `missing`: a document to update, delete or check does not exist; `exists`: an insert's id is taken. */
    readonly reason: "version" | "duplicate" | "missing" | "exists",
    readonly collection: string,
    readonly id?: string,
    /** For `duplicate`: the unique index that refused the value. */
    readonly index?: string,
  ) {
    super(`${reason} conflict in ${collection}${index ? ` on ${index}` : ""}`);
    this.name = "ConflictError";
  }
}

/** The store could not be reached or did not answer in time. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}

/** A paging cursor that this store did not issue (tampered with, or from another query). */
export class BadCursorError extends Error {
  constructor() {
    super("invalid cursor");
    this.name = "BadCursorError";
  }
}

/** Opens a backend; the conformance suite runs against any such factory. */
export type StoreFactory = () => Promise<Store>;

/** The storage port. Every method may throw StoreUnavailableError; writes may throw ConflictError. */
export interface Store {
  /** Which backend this is, for health and readiness output. */
  readonly backend: "kv" | "mongodb";
  /** Creates the declared collections and indexes (idempotent) and drops index entries no longer declared. */
  ensureSchema(): Promise<void>;
  /** The collections and index names that exist in the store now. */
  describeSchema(): Promise<Record<string, string[]>>;
  /** One round trip to the store; throws when it does not answer. */
  ping(): Promise<void>;

  get<T extends Doc>(collection: CollectionName, id: string): Promise<T | null>;
  /** The documents with these ids, in the same order; null where absent. */
  getMany<T extends Doc>(collection: CollectionName, ids: string[]): Promise<(T | null)[]>;
  /** Documents matching `where` through a declared index, ordered and paged by cursor. */
  find<T extends Doc>(collection: CollectionName, query: Query): Promise<Page<T>>;
  /** The first document matching `where`, through a declared index. */
  findOne<T extends Doc>(collection: CollectionName, where: Where): Promise<T | null>;

  /** Inserts one document (an id is made when absent); returns it with `_id` and `_v` = 1. */
  insert<T extends Doc>(collection: CollectionName, doc: NewDoc<T>): Promise<T>;
  /** Sets top-level fields (undefined removes one); with `ifVersion`, only from that version. */
  update<T extends Doc>(
    collection: CollectionName,
    id: string,
    set: Partial<Omit<T, "_id" | "_v">>,
    options?: { ifVersion?: number },
  ): Promise<T>;
  /** Deletes one document; with `ifVersion`, only at that version. */
  delete(collection: CollectionName, id: string, options?: { ifVersion?: number }): Promise<void>;
  /**
   * Applies every operation or none. Throws ConflictError when an expected version does not
   * hold, a document is missing, or a unique value is taken. Returns the documents as written,
   * in operation order (null for delete and check).
   */
  commit(ops: WriteOp[]): Promise<(Doc | null)[]>;

  close(): Promise<void>;
}

/** One operation of an atomic unit. */
export type WriteOp =
  | { op: "insert"; collection: CollectionName; doc: Fields & { _id?: string } }
  | {
    op: "update";
    collection: CollectionName;
    id: string;
    set: Record<string, unknown>;
    ifVersion?: number;
  }
  | { op: "delete"; collection: CollectionName; id: string; ifVersion?: number }
  /** Writes nothing; the unit fails unless the document is still at this version. */
  | { op: "check"; collection: CollectionName; id: string; version: number };

/** Every stored document has a string id and a version that each write increments. */
export type Doc = { _id: string; _v: number };

/** A document's fields, as the backends handle them without knowing its type. */
export type Fields = { [field: string]: unknown };

/** A document before it is stored: the id is optional and the version is set by the store. */
export type NewDoc<T extends Doc> = Omit<T, "_id" | "_v"> & { _id?: string };

/** A value that can be matched by an index: equality in `where`, bounds in `range`. */
export type IndexValue = string | number | boolean | Date | null;

/** Equality on indexed fields. */
export type Where = Record<string, IndexValue>;

/** A query answered from one declared index: equality on its leading fields, then order by the next. */
export type Query = {
  where?: Where;
  /** Order by this field (the index field after the `where` fields); ties break on `_id`. */
  sort?: { field: string; direction: 1 | -1 };
  /** Bounds on the sort field. */
  range?: { gte?: IndexValue; lt?: IndexValue };
  /** Page size, 1..1000. */
  limit: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
};

/** One page of results; `nextCursor` is null on the last page. */
export type Page<T> = { items: T[]; nextCursor: string | null };

export type { CollectionName, IndexSpec };
