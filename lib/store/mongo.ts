/**
 * The MongoDB backend of the storage port: one client per process, a transaction per atomic unit.
 *
 * Layout, chosen so an ops person can read and query the data in mongosh:
 * - one MongoDB collection per declared collection, named as in SCHEMA;
 * - `_id` is the port's string id, fields are stored as they are (dates as BSON dates) and `_v`
 *   is a plain number;
 * - every declared index exists under its declared name (`indexName()`); a non-unique one also
 *   ends with `_id`, as the KV backend's index entries do, so a page ordered by its field and
 *   tie-broken by id is read from the index alone instead of being sorted in memory.
 * Queries are planned exactly as the KV backend plans them, so a query that one backend refuses
 * the other refuses too, and both return the same documents in the same order.
 */
import {
  type ClientSession,
  type Collection,
  type Db,
  type Document,
  type IndexDescription,
  MongoClient,
  MongoClientClosedError,
  type MongoClientOptions,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type TransactionOptions,
} from "mongodb";
import {
  BadCursorError,
  type CollectionName,
  ConflictError,
  type Doc,
  type Fields,
  type IndexValue,
  type Page,
  type Query,
  type Store,
  StoreUnavailableError,
  type Where,
  type WriteOp,
} from "./port.ts";
import { COLLECTION_NAMES, type IndexSpec } from "./schema.ts";
import { declaredIndexes, planIndex } from "./plan.ts";
import { BaseStore, cursorText, unitTargets } from "./base.ts";
import { createLogger, type Logger } from "../log.ts";

/** MongoDB names the mandatory primary-key index this way; it is never declared, created or dropped. */
const ID_INDEX = "_id_";
/** Attempts of one unit when transactions collide (WriteConflict); the KV backend allows as many. */
const MAX_ATTEMPTS = 20;
/** Commits retried when the server may or may not have applied one (UnknownTransactionCommitResult). */
const COMMIT_ATTEMPTS = 3;
/** The backoff curve of the driver's own `withTransaction`: 5 ms growing by 1.5 up to 500 ms, jittered. */
const BACKOFF_INITIAL_MS = 5;
const BACKOFF_GROWTH = 1.5;
const BACKOFF_MAX_MS = 500;
const DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 10_000;
const MAX_PAGE = 1000;
/** Server error codes that mean "no usable primary right now" (the driver's retryable-read set). */
const UNAVAILABLE_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  134, // ReadConcernMajorityNotAvailableYet
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);
const BUMP_VERSION: Document = { $inc: { _v: 1 } };
const UNBUMP_VERSION: Document = { $inc: { _v: -1 } };
const WRITE_CONFLICT = 112;
const DUPLICATE_KEY = 11000;
const NAMESPACE_EXISTS = 48;
const INDEX_NOT_FOUND = 27;
const ILLEGAL_OPERATION = 20;

/**
 * Read at a snapshot, acknowledged by a majority: a committed unit survives a failover, and
 * every read inside the unit sees one consistent state.
 */
const TRANSACTION: TransactionOptions = {
  readConcern: { level: "snapshot" },
  writeConcern: { w: "majority" },
  readPreference: "primary",
};

/**
 * Pool and timeout defaults; any of them set in the connection string wins (docs/mongodb.md).
 * A small pool suits Deno Deploy, where many short-lived isolates each hold their own pool and
 * together must stay under the cluster's connection limit; idle connections are closed after a
 * minute so isolates that linger do not pin server connections. A long-running server can raise
 * `maxPoolSize` in the URI. `socketTimeoutMS` stays unset (no limit): index builds at start-up
 * may legitimately take long, and a dead server is noticed by the driver's heartbeat instead.
 */
const CLIENT_DEFAULTS = {
  maxPoolSize: 10,
  minPoolSize: 0,
  maxIdleTimeMS: 60_000,
  connectTimeoutMS: 10_000,
  retryWrites: true,
  retryReads: true,
  appName: "orion-assets-broker",
  w: "majority",
} as const;

/** A document as stored: the port's fields plus whatever the caller's type has. */
type Stored = Doc & Fields;

/**
 * Connects to MongoDB and returns the store; the caller runs `ensureSchema()` before use.
 * Throws StoreUnavailableError when no server answers within the server selection timeout.
 */
export async function openMongoStore(options: {
  uri: string;
  db: string;
  log?: Logger;
  serverSelectionTimeoutMs?: number;
}): Promise<Store> {
  const client = new MongoClient(
    options.uri,
    clientOptions(options.uri, options.serverSelectionTimeoutMs),
  );
  // Counting starts before connect() so that no connection the pool opens goes uncounted.
  const pool = new PoolCounter(client);
  try {
    await client.connect();
  } catch (cause) {
    // Releases whatever the attempt opened; the failure to connect is the error worth reporting.
    await client.close().catch(() => {});
    throw new StoreUnavailableError(`MongoDB did not accept the connection: ${messageOf(cause)}`, {
      cause,
    });
  }
  return new MongoStore(client, options.db, options.log ?? createLogger("info"), pool);
}

/**
 * The connection pool figures of a MongoDB store (the store `openMongoStore` returned, not a
 * wrapper of it), summed over the servers it talks to; null for any other backend.
 */
export function mongoPoolFigures(store: Store): MongoPoolFigures | null {
  return store instanceof MongoStore ? store.pool.figures() : null;
}

/**
 * Whether the store can run multi-document transactions: MongoDB needs a replica set or a
 * sharded cluster (mongos); a standalone server refuses them. Deno KV always can.
 */
export async function transactionSupport(store: Store): Promise<{ ok: boolean; detail: string }> {
  if (!(store instanceof MongoStore)) {
    return { ok: true, detail: "Deno KV commits atomic units without a replica set" };
  }
  try {
    return helloSupport(await store.hello());
  } catch (error) {
    return { ok: false, detail: `MongoDB did not answer hello: ${messageOf(error)}` };
  }
}

/** Reads a `hello` reply: a replica set names itself, and mongos answers `msg: "isdbgrid"`. */
export function helloSupport(hello: Document): { ok: boolean; detail: string } {
  if (hello.msg === "isdbgrid") {
    return { ok: true, detail: "sharded cluster (mongos): transactions available" };
  }
  if (typeof hello.setName === "string") {
    return { ok: true, detail: `replica set ${hello.setName}: transactions available` };
  }
  return {
    ok: false,
    detail:
      "standalone server: transactions need a replica set (start mongod with --replSet and run rs.initiate(); see docs/mongodb.md)",
  };
}

class MongoStore extends BaseStore {
  readonly backend = "mongodb" as const;
  readonly #client: MongoClient;
  readonly #db: Db;
  readonly #log: Logger;
  readonly pool: PoolCounter;
  #closing: Promise<void> | null = null;
  /** When the current outage began; null while the server answers. Only used to log once. */
  #outageSince: number | null = null;

  constructor(client: MongoClient, db: string, log: Logger, pool: PoolCounter) {
    super();
    this.#client = client;
    this.pool = pool;
    this.#db = client.db(db);
    this.#log = log.child({ store: "mongodb", db });
  }

  async ensureSchema(): Promise<void> {
    await this.#run(async () => {
      const existing = new Set(await this.#collectionNames());
      // Collections are independent, so their round trips overlap: a cold start stays short.
      await Promise.all(COLLECTION_NAMES.map(async (name) => {
        if (!existing.has(name)) await this.#createCollection(name);
        const collection = this.#collection(name);
        const change = reconcileIndexes(
          declaredIndexes(name),
          await collection.listIndexes().toArray(),
        );
        for (const drop of change.drop) {
          await collection.dropIndex(drop).catch((error) => {
            if (codeOf(error) !== INDEX_NOT_FOUND) throw error;
          });
        }
        if (!change.create.length) return;
        try {
          await collection.createIndexes(change.create);
        } catch (error) {
          // A unique index over data that already repeats a value: the same outcome as in KV.
          const conflict = duplicateKeyConflict(error, name, undefined);
          throw conflict ?? error;
        }
      }));
    });
  }

  async describeSchema(): Promise<Record<string, string[]>> {
    return await this.#run(async () => {
      const names = await this.#collectionNames();
      const indexes = await Promise.all(
        names.map((name) => this.#db.collection(name).listIndexes().toArray()),
      );
      return Object.fromEntries(names.map((name, n) => [
        name,
        indexes[n].map((index) => String(index.name)).filter((index) => index !== ID_INDEX),
      ]));
    });
  }

  async ping(): Promise<void> {
    try {
      await this.#run(() => this.#db.command({ ping: 1 }));
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error;
      throw new StoreUnavailableError(`MongoDB did not answer a ping: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  /** The server's `hello` reply, for `transactionSupport`. */
  async hello(): Promise<Document> {
    return await this.#run(() => this.#db.command({ hello: 1 }));
  }

  async get<T extends Doc>(collection: CollectionName, id: string): Promise<T | null> {
    return await this.#run(async () =>
      (await this.#collection(collection).findOne({ _id: id })) as T | null
    );
  }

  async getMany<T extends Doc>(collection: CollectionName, ids: string[]): Promise<(T | null)[]> {
    if (!ids.length) return [];
    return await this.#run(async () => {
      const found = await this.#collection(collection)
        .find({ _id: { $in: [...new Set(ids)] } })
        .toArray();
      const byId = new Map(found.map((doc) => [doc._id, doc as T]));
      return ids.map((id) => byId.get(id) ?? null);
    });
  }

  async find<T extends Doc>(collection: CollectionName, query: Query): Promise<Page<T>> {
    const limit = query.limit;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw new RangeError(`limit must be an integer from 1 to ${MAX_PAGE}`);
    }
    const plan = planQuery(collection, query.where ?? {}, query.sort?.field);
    if (plan.order.length === 0) {
      // Every field of a unique index is fixed: one document at most, and no second page.
      const { filter } = findSpec(plan, query, undefined);
      if (query.cursor !== undefined || !filter) return { items: [], nextCursor: null };
      return await this.#run(async () => ({
        items: (await this.#collection(collection).find(filter).limit(1).toArray()) as T[],
        nextCursor: null,
      }));
    }
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, plan.order);
    const spec = findSpec(plan, query, after);
    const filter = spec.filter;
    if (!filter) return { items: [], nextCursor: null };
    return await this.#run(async () => {
      // One extra document tells whether another page exists without issuing a cursor to an empty page.
      const docs = await this.#collection(collection)
        .find(filter, { sort: spec.sort, limit: limit + 1, batchSize: limit + 1 })
        .toArray() as Stored[];
      const items = docs.slice(0, limit);
      return {
        items: items as T[],
        nextCursor: docs.length > limit ? encodeCursor(plan.order, items[items.length - 1]) : null,
      };
    });
  }

  async commit(ops: WriteOp[]): Promise<(Doc | null)[]> {
    // Ids are made once, so a retried transaction inserts the same documents.
    const targets = unitTargets(ops);
    for (const op of ops) {
      if (op.op === "insert") checkIndexedFields(op.collection, op.doc);
      if (op.op === "update") checkUpdateFields(op.collection, op.set);
    }
    if (!ops.length) return [];
    return await this.#run(() =>
      this.#transact(
        async (session) => {
          const written: (Doc | null)[] = [];
          // One at a time: a transaction's operations must not run in parallel on its session.
          for (const [n, op] of ops.entries()) {
            written.push(
              await this.#apply(op, targets[n].id, session),
            );
          }
          return written;
        },
        // Still colliding after every attempt: as in KV, the caller sees a version conflict.
        () => new ConflictError("version", targets[0].collection, targets[0].id),
      )
    );
  }

  close(): Promise<void> {
    // Closing twice is harmless, so shutdown paths need not track who closed first.
    this.#closing ??= this.#client.close();
    return this.#closing;
  }

  async #apply(op: WriteOp, id: string, session: ClientSession): Promise<Doc | null> {
    const collection = this.#collection(op.collection);
    try {
      if (op.op === "insert") {
        const { _id: _ignored, ...fields } = op.doc;
        const doc = stripUndefined({ ...fields, _id: id, _v: 1 });
        await collection.insertOne(doc, { session });
        return doc;
      }
      if (op.op === "update") {
        const filter = op.ifVersion === undefined ? { _id: id } : { _id: id, _v: op.ifVersion };
        const after = await collection.findOneAndUpdate(filter, updateDocument(op.set), {
          session,
          returnDocument: "after",
        });
        if (!after) throw await this.#refusal(op.collection, id, session);
        return after;
      }
      if (op.op === "delete") {
        const filter = op.ifVersion === undefined ? { _id: id } : { _id: id, _v: op.ifVersion };
        const { deletedCount } = await collection.deleteOne(filter, { session });
        if (deletedCount === 0) throw await this.#refusal(op.collection, id, session);
        return null;
      }
      // A read alone would not notice a writer that commits after our snapshot was taken; writing
      // the document (and undoing the write) makes such a writer collide with this unit instead,
      // so the check holds until the commit, as KV's does. The document ends up unchanged.
      const { matchedCount } = await collection.updateOne(
        { _id: id, _v: op.version },
        BUMP_VERSION,
        { session },
      );
      if (matchedCount === 0) throw await this.#refusal(op.collection, id, session);
      await collection.updateOne({ _id: id }, UNBUMP_VERSION, { session });
      return null;
    } catch (error) {
      throw duplicateKeyConflict(error, op.collection, id) ?? error;
    }
  }

  /** Why an update, delete or check matched nothing, read in the unit's own snapshot. */
  async #refusal(
    collection: CollectionName,
    id: string,
    session: ClientSession,
  ): Promise<ConflictError> {
    const current = await this.#collection(collection).findOne(
      { _id: id },
      { session, projection: { _v: 1 } },
    );
    return new ConflictError(current ? "version" : "missing", collection, id);
  }

  /**
   * Runs `work` in a transaction, retrying it when it collides with another transaction. The
   * driver's `withTransaction` does the same but keeps retrying for up to two minutes, which a
   * web request cannot wait; here the attempts are counted.
   */
  async #transact<R>(
    work: (session: ClientSession) => Promise<R>,
    contended: () => Error,
  ): Promise<R> {
    return await this.#client.withSession(async (session) => {
      let last: unknown;
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        if (attempt > 1) await delay(backoffMs(attempt));
        session.startTransaction(TRANSACTION);
        let result: R;
        try {
          result = await work(session);
        } catch (error) {
          await abortQuietly(session);
          if (!isTransient(error)) throw error;
          last = error;
          continue;
        }
        try {
          await commitWithRetry(session);
          return result;
        } catch (error) {
          if (!isTransient(error)) throw error;
          last = error;
        }
      }
      // Lost connections are an outage to report as one; only collisions are the caller's conflict.
      throw isUnavailable(last) ? last : contended();
    });
  }

  /**
   * Runs one call to the server: refuses once closed, reconnects when the first connection
   * attempt had failed, maps "no server" errors to StoreUnavailableError and logs an outage once.
   */
  async #run<R>(call: () => Promise<R>): Promise<R> {
    if (this.#closing) throw new StoreUnavailableError("the MongoDB store is closed");
    try {
      // The driver closes its topology when a connection attempt finds no server, and every later
      // call would fail at once; connecting again is a no-op while the topology is open.
      await this.#client.connect();
      const result = await call();
      this.#answered();
      return result;
    } catch (error) {
      if (error instanceof StoreUnavailableError) {
        this.#unavailable(error);
        throw error;
      }
      if (isUnavailable(error)) {
        this.#unavailable(error);
        throw new StoreUnavailableError(`MongoDB did not answer: ${messageOf(error)}`, {
          cause: error,
        });
      }
      if (error instanceof MongoServerError && error.code === ILLEGAL_OPERATION) {
        throw new Error(
          `MongoDB refused a transaction (${error.message}); Orion needs a replica set or mongos, see docs/mongodb.md`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  #unavailable(error: unknown): void {
    if (this.#outageSince !== null) return;
    this.#outageSince = Date.now();
    this.#log.error("MongoDB is unreachable; store calls fail until it answers again", {
      error: messageOf(error),
    });
  }

  #answered(): void {
    if (this.#outageSince === null) return;
    this.#log.info("MongoDB answers again", { downMs: Date.now() - this.#outageSince });
    this.#outageSince = null;
  }

  async #collectionNames(): Promise<string[]> {
    const infos = await this.#db
      .listCollections({ type: "collection" }, { nameOnly: true })
      .toArray();
    return infos.map((info) => info.name).filter((name) => !name.startsWith("system."));
  }

  async #createCollection(name: string): Promise<void> {
    try {
      await this.#db.createCollection(name);
    } catch (error) {
      // Another process starting at the same moment may have created it first.
      if (codeOf(error) !== NAMESPACE_EXISTS) throw error;
    }
  }

  #collection(name: string): Collection<Stored> {
    return this.#db.collection<Stored>(name);
  }
}

/**
 * Counts a client's pooled connections from the driver's connection pool monitoring events, the
 * documented way to observe the pool (its counters are internal to the driver).
 */
class PoolCounter {
  #open = 0;
  #checkedOut = 0;
  /** Connections created but not yet ready (connecting, handshaking), by `address/id`. */
  readonly #pending = new Set<string>();
  readonly #client: MongoClient;

  constructor(client: MongoClient) {
    this.#client = client;
    const key = (event: { address: string; connectionId: number | string }) =>
      `${event.address}/${event.connectionId}`;
    client.on("connectionCreated", (event) => {
      this.#open++;
      this.#pending.add(key(event));
    });
    client.on("connectionReady", (event) => this.#pending.delete(key(event)));
    // A connection that fails its handshake is closed without ever being ready.
    client.on("connectionClosed", (event) => {
      this.#open--;
      this.#pending.delete(key(event));
    });
    client.on("connectionCheckedOut", () => this.#checkedOut++);
    // The pool checks a broken or stale connection in before closing it, so this always follows.
    client.on("connectionCheckedIn", () => this.#checkedOut--);
  }

  figures(): MongoPoolFigures {
    const open = Math.max(0, this.#open);
    const checkedOut = Math.max(0, this.#checkedOut);
    const pending = this.#pending.size;
    return {
      open,
      checkedOut,
      pending,
      available: Math.max(0, open - checkedOut - pending),
      maxPerServer: this.#client.options.maxPoolSize,
    };
  }
}

/** A snapshot of the connection pools: connections open, in use, idle, still connecting. */
export type MongoPoolFigures = {
  /** Every pooled connection, in use, idle or connecting. */
  open: number;
  /** Lent to an operation right now. */
  checkedOut: number;
  /** Idle and ready to lend. */
  available: number;
  /** Created and still connecting or handshaking. */
  pending: number;
  /** maxPoolSize: the most connections the pool of one server may hold. */
  maxPerServer: number;
};

/** One of the plans the KV backend would make; `order` is empty when a unique index is fully fixed. */
export type QueryPlan = {
  /** The index that answers the query: a declared name, or `_id_` for a scan by id. */
  index: string;
  /** The fields the KV index entries are ordered by after the `where` fields, ending with `_id` unless unique. */
  order: string[];
  where: Where;
};

/**
 * Plans a query as the KV backend does: the first declared index (in declaration order) whose
 * leading fields are exactly the `where` fields and whose next field is the sort field. Throws,
 * with KV's words, when no declared index serves the query.
 */
export function planQuery(collection: CollectionName, where: Where, sortField?: string): QueryPlan {
  const index = planIndex(collection, where, sortField);
  if (!index) return { index: ID_INDEX, order: ["_id"], where };
  const rest = index.fields.slice(Object.keys(where).length);
  return { index: index.name, order: index.spec.unique ? rest : [...rest, "_id"], where };
}

/**
 * The MongoDB filter and sort for a planned query: equality on `where`, `range` on the first
 * ordered field, and, after a cursor, only what comes strictly after it in the page order.
 * `filter` is null when nothing can match, so no round trip is needed.
 */
export function findSpec(
  plan: QueryPlan,
  query: Pick<Query, "sort" | "range">,
  after: IndexValue[] | undefined,
): { filter: Document | null; sort: Record<string, 1 | -1> } {
  const direction = query.sort?.direction === -1 ? -1 : 1;
  const sort = Object.fromEntries(plan.order.map((field): [string, 1 | -1] => [field, direction]));
  const filter: Document = {};
  for (const [field, value] of Object.entries(plan.where)) {
    // A missing value is null in the index, as in KV; MongoDB's `{field: null}` matches both.
    filter[field] = indexValue(value ?? null, field);
  }
  const first = plan.order[0];
  const { gte, lt } = query.range ?? {};
  if (first !== undefined && (gte !== undefined || lt !== undefined)) {
    // Null sorts before every value, so `lt: null` admits nothing and `gte: null` bounds nothing.
    if (lt === null) return { filter: null, sort };
    const bounds: Document = {};
    if (gte !== undefined && gte !== null) bounds.$gte = indexValue(gte, first);
    if (lt !== undefined) bounds.$lt = indexValue(lt, first);
    if (Object.keys(bounds).length) filter[first] = bounds;
  }
  if (after) {
    // The order's fields never repeat the `where` fields, so the branches cannot clash with them.
    const branches = afterBranches(plan.order, after, direction);
    if (!branches.length) return { filter: null, sort };
    filter.$or = branches;
  }
  return { filter, sort };
}

/**
 * Everything after the position `values` (one per ordered field) in the page order: greater on
 * the first field, or equal on it and greater on the next, and so on. Null (or a missing field)
 * sorts first, as in KV, so a descending page reaches documents without a value last.
 */
function afterBranches(order: string[], values: IndexValue[], direction: 1 | -1): Document[] {
  const branches: Document[] = [];
  order.forEach((field, n) => {
    const equal = Object.fromEntries(order.slice(0, n).map((f, i) => [f, values[i]]));
    const value = values[n];
    if (direction === 1) {
      branches.push({ ...equal, [field]: value === null ? { $ne: null } : { $gt: value } });
    } else if (field === "_id") {
      branches.push({ ...equal, _id: { $lt: value } });
    } else if (value !== null) {
      branches.push({ ...equal, $or: [{ [field]: { $lt: value } }, { [field]: null }] });
    }
  });
  return branches;
}

/** The page cursor: the last item's value on each ordered field, typed so dates stay dates. */
export function encodeCursor(order: string[], last: Fields): string {
  const values = order.map((field) => {
    const value = indexValue((last[field] ?? null) as IndexValue, field);
    return value instanceof Date ? { $date: value.getTime() } : value;
  });
  return cursorText(values);
}

/** The values of a cursor this store issued for a query ordered by `order`; BadCursorError otherwise. */
export function decodeCursor(cursor: string, order: string[]): IndexValue[] {
  try {
    const parts: unknown = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
    if (Array.isArray(parts) && parts.length === order.length) {
      const values = parts.map(cursorValue);
      const idLast = order[order.length - 1] !== "_id" ||
        typeof values[values.length - 1] === "string";
      if (idLast && values.every((v) => v !== undefined)) return values as IndexValue[];
    }
  } catch {
    // Falls through to the same error as a well-formed cursor of the wrong shape.
  }
  throw new BadCursorError();
}

function cursorValue(part: unknown): IndexValue | undefined {
  if (part === null || typeof part === "string" || typeof part === "boolean") return part;
  if (typeof part === "number") return Number.isFinite(part) ? part : undefined;
  if (typeof part === "object" && Object.keys(part).length === 1) {
    const ms = (part as { $date?: unknown }).$date;
    if (typeof ms === "number" && Number.isInteger(ms) && Math.abs(ms) <= 8.64e15) {
      return new Date(ms);
    }
  }
  return undefined;
}

/**
 * The ConflictError for a duplicate-key error (code 11000), or null for any other error. The
 * index is read from the server's message (`index: email_1 dup key`), else from `keyPattern`;
 * a taken `_id` means the insert's id exists.
 */
export function duplicateKeyConflict(
  error: unknown,
  collection: CollectionName,
  id: string | undefined,
): ConflictError | null {
  if (typeof error !== "object" || error === null) return null;
  const e = error as { code?: unknown; errmsg?: unknown; message?: unknown; keyPattern?: unknown };
  if (e.code !== DUPLICATE_KEY) return null;
  const text = [e.errmsg, e.message].find((t): t is string => typeof t === "string") ?? "";
  const named = /index: (\S+) dup key/.exec(text)?.[1];
  const index = named ?? indexForKeyPattern(collection, e.keyPattern);
  if (index === ID_INDEX) return new ConflictError("exists", collection, id);
  return new ConflictError("duplicate", collection, id, index);
}

function indexForKeyPattern(collection: CollectionName, pattern: unknown): string | undefined {
  if (typeof pattern !== "object" || pattern === null) return undefined;
  const fields = Object.keys(pattern);
  if (fields.length === 1 && fields[0] === "_id") return ID_INDEX;
  return declaredIndexes(collection).find((index) =>
    index.spec.unique && index.fields.join() === fields.join()
  )?.name;
}

/** The key MongoDB indexes for a declared spec: non-unique ones end with `_id`, as KV's entries do. */
export function mongoIndexKey(spec: IndexSpec): Record<string, 1 | -1> {
  if (spec.unique) return { ...spec.fields };
  const directions = Object.values(spec.fields);
  // The same direction as the last field, so one index scan serves both orders of a page.
  return { ...spec.fields, _id: directions[directions.length - 1] ?? 1 };
}

/**
 * What to drop and create so a collection has exactly the declared indexes: an index whose name
 * is declared but whose key or uniqueness differs is rebuilt; undeclared ones go (never `_id_`).
 */
export function reconcileIndexes(
  declared: readonly { name: string; spec: IndexSpec }[],
  present: readonly Document[],
): { drop: string[]; create: IndexDescription[] } {
  const wanted = declared.map(({ name, spec }) => ({
    name,
    key: mongoIndexKey(spec),
    unique: spec.unique === true,
  }));
  const drop: string[] = [];
  const kept = new Set<string>();
  for (const index of present) {
    const name = String(index.name);
    if (name === ID_INDEX) continue;
    const want = wanted.find((w) => w.name === name);
    if (want && sameKey(want.key, index.key) && want.unique === (index.unique === true)) {
      kept.add(name);
    } else drop.push(name);
  }
  const create = wanted
    .filter((w) => !kept.has(w.name))
    .map((
      w,
    ) => (w.unique ? { key: w.key, name: w.name, unique: true } : { key: w.key, name: w.name }));
  return { drop, create };
}

function sameKey(want: Record<string, number>, have: unknown): boolean {
  if (typeof have !== "object" || have === null) return false;
  const a = Object.entries(want);
  const b = Object.entries(have as Record<string, unknown>);
  return a.length === b.length &&
    a.every(([field, dir], n) => b[n][0] === field && Number(b[n][1]) === dir);
}

/** `$set` for values, `$unset` for undefined ones (the port's "undefined removes a field"), `_v` + 1. */
function updateDocument(set: Record<string, unknown>): Document {
  const { _id: _i, _v: _w, ...fields } = set;
  const $set: Document = {};
  const $unset: Document = {};
  for (const [field, value] of Object.entries(fields)) {
    if (value === undefined) $unset[field] = "";
    else $set[field] = value;
  }
  return {
    ...BUMP_VERSION,
    ...(Object.keys($set).length ? { $set } : {}),
    ...(Object.keys($unset).length ? { $unset } : {}),
  };
}

/** KV refuses to index values it cannot order; refusing the same writes keeps the backends alike. */
function checkIndexedFields(collection: CollectionName, doc: Fields): void {
  for (const index of declaredIndexes(collection)) {
    for (const field of index.fields) indexValue(doc[field] as IndexValue | undefined, field);
  }
}

function checkUpdateFields(collection: CollectionName, set: Record<string, unknown>): void {
  for (const field of Object.keys(set)) {
    // MongoDB reads `a.b` as a path into `a` and `$x` as an operator; KV would store the name as is.
    if (field.includes(".") || field.startsWith("$")) {
      throw new TypeError(`${field}: a field name with "." or a leading "$" cannot be set`);
    }
  }
  checkIndexedFields(collection, set);
}

function indexValue(value: IndexValue | undefined, field = "value"): IndexValue {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) {
      throw new TypeError(`${field}: an indexed date must be valid`);
    }
    return value;
  }
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new TypeError(`${field}: an indexed number must be finite`);
  }
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
    return value;
  }
  throw new TypeError(`${field}: ${typeof value} values cannot be indexed`);
}

function stripUndefined(doc: Stored): Stored {
  for (const key of Object.keys(doc)) if (doc[key] === undefined) delete doc[key];
  return doc;
}

/** Defaults for every client option the connection string does not set itself. */
function clientOptions(uri: string, serverSelectionTimeoutMs?: number): MongoClientOptions {
  const inUri = new Set(
    [...new URLSearchParams(uri.split("?")[1] ?? "").keys()].map((key) => key.toLowerCase()),
  );
  const defaults: Record<string, unknown> = {
    ...CLIENT_DEFAULTS,
    serverSelectionTimeoutMS: DEFAULT_SERVER_SELECTION_TIMEOUT_MS,
  };
  const options: Record<string, unknown> = Object.fromEntries(
    Object.entries(defaults).filter(([key]) => !inUri.has(key.toLowerCase())),
  );
  if (serverSelectionTimeoutMs !== undefined) {
    options.serverSelectionTimeoutMS = serverSelectionTimeoutMs;
  }
  // Undefined fields are left out instead of stored as null, and bigints come back as bigints,
  // so documents round-trip as they do through KV.
  return { ...options, ignoreUndefined: true, useBigInt64: true };
}

/**
 * Commits, asking again while the server's answer is lost: a commit is applied at most once, so
 * asking again is safe, whereas running the whole unit again could apply it twice.
 */
async function commitWithRetry(session: ClientSession): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await session.commitTransaction();
      return;
    } catch (error) {
      const unknown = error instanceof MongoError &&
        error.hasErrorLabel("UnknownTransactionCommitResult");
      if (!unknown) throw error;
      if (attempt >= COMMIT_ATTEMPTS) {
        throw new StoreUnavailableError(
          `MongoDB did not confirm a commit, which may or may not have been applied: ${
            messageOf(error)
          }`,
          { cause: error },
        );
      }
    }
  }
}

async function abortQuietly(session: ClientSession): Promise<void> {
  try {
    await session.abortTransaction();
  } catch {
    // The server aborts an abandoned transaction by itself; the work's own error is the one to report.
  }
}

/** A collision with another transaction, or a failover mid-unit: trying the whole unit again is safe. */
function isTransient(error: unknown): boolean {
  if (!(error instanceof MongoError)) return false;
  // Waiting out another server selection timeout would keep a request hanging for no gain.
  if (error instanceof MongoServerSelectionError) return false;
  return error.hasErrorLabel("TransientTransactionError") || error.code === WRITE_CONFLICT;
}

function isUnavailable(error: unknown): boolean {
  return error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoTopologyClosedError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoClientClosedError ||
    error instanceof MongoServerClosedError ||
    error instanceof MongoOperationTimeoutError ||
    (error instanceof MongoServerError && UNAVAILABLE_CODES.has(Number(error.code)));
}

function codeOf(error: unknown): unknown {
  return typeof error === "object" && error !== null
    ? (error as { code?: unknown }).code
    : undefined;
}

function backoffMs(attempt: number): number {
  return Math.random() * Math.min(BACKOFF_INITIAL_MS * BACKOFF_GROWTH ** attempt, BACKOFF_MAX_MS);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Drops a whole database: for tests that give each run a database of its own. */
export async function dropMongoDatabase(uri: string, db: string): Promise<void> {
  const client = new MongoClient(uri);
  try {
    await client.db(db).dropDatabase();
  } finally {
    await client.close();
  }
}
