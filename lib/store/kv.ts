/**
 * The Deno KV backend of the storage port (the embedded default; the platform KV on Deno Deploy).
 *
 * Key layout, all under one KV database:
 * - `["d", collection, id]` → the document
 * - `["i", collection, index, ...values, id]` → id, one entry per document per non-unique index
 * - `["u", collection, index, ...values]` → id, one entry per document per unique index
 * - `["m", "schema"]` → the index names built so far, per collection
 * Index entries change in the same atomic commit as their document, so a query never sees an
 * index out of step with the data it points to.
 */
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
import { type DeclaredIndex, declaredIndexes, planIndex } from "./plan.ts";
import { COLLECTION_NAMES } from "./schema.ts";
import { BaseStore, cursorText, unitTargets } from "./base.ts";
import { conflictBackoff } from "./retry.ts";

/** KV accepts at most 100 checks and 10 keys per getMany; these bound one unit of work. */
const MAX_CHECKS = 100;
const GET_MANY_CHUNK = 10;
/** Retries when a document without an expected version changed between our read and our commit. */
const MAX_ATTEMPTS = 20;
/** Retries when another process wrote the file mid-commit: about 5 s of jittered waits at most. */
const MAX_LOCKED_RETRIES = 50;
const SCHEMA_KEY = ["m", "schema"];

/** A document as stored: the port's fields plus whatever the caller's type has. */
type Stored = Doc & Fields;
type Key = Deno.KvKey;
type KeyPart = Deno.KvKeyPart;

/** Opens a KV store at `path` (a file, `:memory:`, or undefined for the platform's default). */
export async function openKvStore(path?: string): Promise<Store> {
  // A local file gets its folder made; ":memory:" and a KV Connect URL (https://…) have none.
  if (path && path !== ":memory:" && !/^https?:\/\//.test(path)) {
    const dir = path.replace(/[^/]*$/, "");
    if (dir) await Deno.mkdir(dir, { recursive: true });
  }
  return kvStoreOn(await Deno.openKv(path));
}

/** The store over a KV database already open; closing the store closes it. */
export function kvStoreOn(kv: Deno.Kv): Store {
  return new KvStore(kv);
}

class KvStore extends BaseStore {
  readonly backend = "kv" as const;
  #closed = false;
  constructor(readonly kv: Deno.Kv) {
    super();
  }

  async ensureSchema(): Promise<void> {
    const built = (await this.kv.get<Record<string, string[]>>(SCHEMA_KEY)).value ?? {};
    for (const collection of COLLECTION_NAMES) {
      const declared = declaredIndexes(collection);
      const have = new Set(built[collection] ?? []);
      for (const index of declared) {
        if (!have.has(index.name)) await this.#backfill(collection, index);
      }
      for (const name of have) {
        if (!declared.some((i) => i.name === name)) await this.#dropIndex(collection, name);
      }
      built[collection] = declared.map((i) => i.name);
    }
    for (const name of Object.keys(built)) {
      if (!(COLLECTION_NAMES as string[]).includes(name)) delete built[name];
    }
    await this.kv.set(SCHEMA_KEY, built);
  }

  async describeSchema(): Promise<Record<string, string[]>> {
    return (await this.kv.get<Record<string, string[]>>(SCHEMA_KEY)).value ?? {};
  }

  async ping(): Promise<void> {
    try {
      await this.kv.get(SCHEMA_KEY);
    } catch (cause) {
      throw new StoreUnavailableError("Deno KV did not answer", { cause });
    }
  }

  async get<T extends Doc>(collection: CollectionName, id: string): Promise<T | null> {
    const key = docKey(collection, id);
    return oversized(key) ? null : (await this.kv.get<T>(key)).value;
  }

  async getMany<T extends Doc>(collection: CollectionName, ids: string[]): Promise<(T | null)[]> {
    const entries = await this.#getEntries(ids.map((id) => docKey(collection, id)));
    return entries.map((e) => e.value as T | null);
  }

  async find<T extends Doc>(collection: CollectionName, query: Query): Promise<Page<T>> {
    const limit = query.limit;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new RangeError("limit must be an integer from 1 to 1000");
    }
    const where = query.where ?? {};
    const plan = this.#plan(collection, where, query.sort?.field);
    // A value too long for a key was never indexed (its write would have failed): nothing matches.
    if (oversized(plan.prefix)) return { items: [], nextCursor: null };
    if (plan.tail === 0) {
      // Every field of a unique index is fixed: at most one entry, read by its exact key.
      const id = query.cursor ? null : (await this.kv.get<string>(plan.prefix)).value;
      const doc = id ? await this.get<T>(collection, id) : null;
      return { items: doc && matches(doc, where) ? [doc] : [], nextCursor: null };
    }
    const reverse = query.sort?.direction === -1;
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, plan.tail);
    const { gte, lt } = query.range ?? {};

    // The range and the cursor become the key span KV lists, so it reads no entry outside them.
    // An entry's key `[...prefix, value, ...rest]` sorts at or after `[...prefix, value]` (the
    // start for `gte: value`) and before `[...prefix, v]` for any greater v (the end, exclusive
    // in KV as in the port, for `lt: v`), however its ties on `_id` fall.
    const lower = tighter(
      gte === undefined ? undefined : [...plan.prefix, encodeBound(gte)],
      // After the cursor's entry: past its own key, yet before any greater key.
      after && !reverse ? [...plan.prefix, ...after, 0] : undefined,
      1,
    );
    const upper = tighter(
      lt === undefined ? undefined : [...plan.prefix, encodeBound(lt)],
      after && reverse ? [...plan.prefix, ...after] : undefined,
      -1,
    );
    if ([lower, upper].some((key) => key && oversized(key))) return { items: [], nextCursor: null };
    // A span that is empty (a cursor past the range) is refused by KV: nothing matches.
    if (lower && upper && compareKeys(lower, upper) >= 0) return { items: [], nextCursor: null };
    const selector: Deno.KvListSelector = lower && upper
      ? { start: lower, end: upper }
      : lower
      ? { prefix: plan.prefix, start: lower }
      : upper
      ? { prefix: plan.prefix, end: upper }
      : { prefix: plan.prefix };

    // One extra entry tells whether another page exists without issuing a cursor to an empty page.
    const hits: { id: string; tail: KeyPart[] }[] = [];
    for await (
      const entry of this.kv.list<unknown>(selector, {
        reverse,
        limit: limit + 1,
        batchSize: Math.min(limit + 1, 1000),
      })
    ) {
      const tail = entry.key.slice(plan.prefix.length);
      hits.push({ id: plan.primary ? (entry.value as Doc)._id : entry.value as string, tail });
    }
    const more = hits.length > limit;
    const page = hits.slice(0, limit);
    const docs = await this.getMany<T>(collection, page.map((h) => h.id));
    // A document may change between the index read and the document read; keep only true matches.
    const items = docs.filter((d): d is T => d !== null && matches(d, where));
    return {
      items,
      nextCursor: more ? encodeCursor(page[page.length - 1].tail) : null,
    };
  }

  async commit(ops: WriteOp[]): Promise<(Doc | null)[]> {
    const targets = unitTargets(ops);

    let locked = 0;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const current = await this.#getEntries(targets.map((t) => docKey(t.collection, t.id)));
      const atomic = this.kv.atomic();
      const written: (Doc | null)[] = [];
      const claims: { key: Key; id: string; collection: string; index: string }[] = [];
      const released = new Set<string>();
      let checks = 0;

      ops.forEach((op, n) => {
        const { collection, id } = targets[n];
        const entry = current[n];
        const before = entry.value as Doc | null;
        atomic.check({ key: entry.key, versionstamp: entry.versionstamp });
        checks++;
        let after: Doc | null = null;
        if (op.op === "insert") {
          if (before) throw new ConflictError("exists", collection, id);
          const { _id: _ignored, ...fields } = op.doc;
          after = stripUndefined({ ...fields, _id: id, _v: 1 });
        } else {
          if (!before) throw new ConflictError("missing", collection, id);
          const expected = op.op === "check" ? op.version : op.ifVersion;
          if (expected !== undefined && before._v !== expected) {
            throw new ConflictError("version", collection, id);
          }
          if (op.op === "update") {
            const { _id: _i, _v: _w, ...set } = op.set;
            after = stripUndefined({ ...before, ...set, _id: id, _v: before._v + 1 });
          }
        }
        if (op.op === "check") {
          written.push(null);
          return;
        }
        for (const index of declaredIndexes(collection)) {
          const oldKey = before && indexKey(collection, index, before);
          const newKey = after && indexKey(collection, index, after);
          if (oldKey && newKey && sameKey(oldKey, newKey)) continue;
          if (oldKey) {
            atomic.delete(oldKey);
            released.add(JSON.stringify(oldKey));
          }
          if (newKey) {
            atomic.set(newKey, id);
            if (index.spec.unique) claims.push({ key: newKey, id, collection, index: index.name });
          }
        }
        const key = docKey(collection, id);
        if (after) atomic.set(key, after);
        else atomic.delete(key);
        written.push(after);
      });

      if (claims.length) {
        const taken = await this.#getEntries(claims.map((c) => c.key));
        const claimed = new Set<string>();
        claims.forEach((claim, n) => {
          const text = JSON.stringify(claim.key);
          const owner = taken[n].value as string | null;
          const takenByOther = owner !== null && owner !== claim.id && !released.has(text);
          if (claimed.has(text) || takenByOther) {
            throw new ConflictError("duplicate", claim.collection, claim.id, claim.index);
          }
          claimed.add(text);
          atomic.check({ key: claim.key, versionstamp: taken[n].versionstamp });
          checks++;
        });
      }
      if (checks > MAX_CHECKS) {
        throw new RangeError(`an atomic unit may check at most ${MAX_CHECKS} keys`);
      }
      try {
        if ((await atomic.commit()).ok) return written;
      } catch (err) {
        // Another process wrote the same file between this unit's checks and its writes (SQLite
        // answers SQLITE_BUSY, without waiting, to a transaction whose snapshot went stale).
        // Nothing was written, so it is a lost race like a failed check: read again and retry.
        // It says nothing about this unit's own documents, so it has a budget of its own, and on
        // a busy machine the other process may win many times in a row.
        if (!lockedByOtherProcess(err)) throw err;
        if (++locked > MAX_LOCKED_RETRIES) break;
        attempt--;
        await conflictBackoff(Math.min(locked, 6));
      }
    }
    throw new ConflictError("version", targets[0]?.collection ?? "", targets[0]?.id);
  }

  close(): Promise<void> {
    // Closing twice is harmless, so shutdown paths need not track who closed first.
    if (!this.#closed) this.kv.close();
    this.#closed = true;
    return Promise.resolve();
  }

  /** The key range that answers a query, or an error naming the missing index. */
  #plan(collection: CollectionName, where: Where, sortField?: string) {
    const index = planIndex(collection, where, sortField);
    if (!index) return { prefix: ["d", collection] as Key, tail: 1, primary: true };
    const fields = Object.keys(where);
    const prefix: Key = [
      index.spec.unique ? "u" : "i",
      collection,
      index.name,
      ...index.fields.slice(0, fields.length).map((f) => encodeValue(where[f])),
    ];
    const tail = index.fields.length - fields.length + (index.spec.unique ? 0 : 1);
    return { prefix, tail, primary: false };
  }

  async #getEntries(keys: Key[]): Promise<Deno.KvEntryMaybe<unknown>[]> {
    // An id too long for a key names no document: it reads as absent instead of failing the read.
    const readable = keys.filter((key) => !oversized(key));
    const chunks: Key[][] = [];
    for (let i = 0; i < readable.length; i += GET_MANY_CHUNK) {
      chunks.push(readable.slice(i, i + GET_MANY_CHUNK));
    }
    const entries = (await Promise.all(chunks.map((c) => this.kv.getMany(c)))).flat();
    let next = 0;
    return keys.map((key) =>
      oversized(key) ? { key, value: null, versionstamp: null } : entries[next++]
    );
  }

  async #backfill(collection: CollectionName, index: DeclaredIndex): Promise<void> {
    let atomic = this.kv.atomic();
    let pending = 0;
    for await (const entry of this.kv.list<Doc>({ prefix: ["d", collection] })) {
      const key = indexKey(collection, index, entry.value);
      if (index.spec.unique) {
        const owner = (await this.kv.get<string>(key)).value;
        if (owner && owner !== entry.value._id) {
          throw new ConflictError("duplicate", collection, entry.value._id, index.name);
        }
      }
      atomic.set(key, entry.value._id);
      if (++pending === 500) {
        await atomic.commit();
        atomic = this.kv.atomic();
        pending = 0;
      }
    }
    if (pending) await atomic.commit();
  }

  async #dropIndex(collection: string, name: string): Promise<void> {
    for (const tag of ["i", "u"]) {
      for await (const entry of this.kv.list({ prefix: [tag, collection, name] })) {
        await this.kv.delete(entry.key);
      }
    }
  }
}

/** Deno KV's SQLite file was written by another process (an app instance) during this unit. */
function lockedByOtherProcess(err: unknown): boolean {
  return err instanceof TypeError && err.message === "database is locked";
}

/** Deno KV refuses keys over 2 KiB (2,048 bytes to write, 2,049 to read). */
const MAX_KEY_BYTES = 2048;
const utf8 = new TextEncoder();

/**
 * Whether a key may exceed what Deno KV accepts. The estimate errs high (each string counts its
 * UTF-8 bytes, each NUL twice for its escape, plus a tag and terminator per part), so every key
 * that was written reads as not oversized.
 */
function oversized(key: Key): boolean {
  let bytes = 0;
  for (const part of key) {
    if (typeof part === "string") {
      bytes += utf8.encode(part).length + part.split("\0").length + 1;
    } else bytes += 10;
  }
  return bytes > MAX_KEY_BYTES;
}

function docKey(collection: string, id: string): Key {
  return ["d", collection, id];
}

/** The index entry's key for a document. */
function indexKey(collection: string, index: DeclaredIndex, doc: Stored): Key {
  const parts = index.fields.map((f) => encodeValue(doc[f] as IndexValue, f));
  return index.spec.unique
    ? ["u", collection, index.name, ...parts]
    : ["i", collection, index.name, ...parts, doc._id];
}

// KV orders key parts by type first (bytes < string < number < bigint < boolean), so null and
// missing values, stored as empty bytes, sort before everything else, as they do in MongoDB.
const NULL_PART = new Uint8Array(0);
const TYPE_ORDER = ["bytes", "string", "number", "bigint", "boolean"];

function encodeValue(value: IndexValue | undefined, field = "value"): KeyPart {
  if (value === null || value === undefined) return NULL_PART;
  if (value instanceof Date) return value.getTime();
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new TypeError(`${field}: an indexed number must be finite`);
  }
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
    return value;
  }
  throw new TypeError(`${field}: ${typeof value} values cannot be indexed`);
}

/**
 * A range bound as a key part. KV sorts -0 before 0 while MongoDB holds them equal, so a bound at
 * zero is placed before both: `gte: 0` admits a stored -0 and `lt: 0` does not.
 */
function encodeBound(value: IndexValue): KeyPart {
  const part = encodeValue(value);
  return part === 0 ? -0 : part;
}

function partType(part: KeyPart): number {
  return TYPE_ORDER.indexOf(part instanceof Uint8Array ? "bytes" : typeof part);
}

/** Two key parts in the order KV stores them. */
function compareParts(a: KeyPart, b: KeyPart): number {
  const byType = partType(a) - partType(b);
  if (byType !== 0) return byType;
  if (a instanceof Uint8Array) return compareBytes(a, b as Uint8Array);
  // KV orders strings by their UTF-8 bytes, that is by code point, where `<` compares UTF-16
  // units: "\u{1F600}" sorts after "\uffff" in KV but before it by `<`.
  if (typeof a === "string") {
    return a === b ? 0 : compareBytes(utf8.encode(a), utf8.encode(b as string));
  }
  const [x, y] = [a as number | bigint | boolean, b as number | bigint | boolean];
  // KV keeps -0 apart from 0, just before it.
  if (x === 0 && y === 0) return Number(Object.is(y, -0)) - Number(Object.is(x, -0));
  return x < y ? -1 : x > y ? 1 : 0;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let n = 0; n < Math.min(a.length, b.length); n++) {
    if (a[n] !== b[n]) return a[n] - b[n];
  }
  return a.length - b.length;
}

/** Two keys in the order KV stores them: part by part, a key before any longer key it begins. */
function compareKeys(a: Key, b: Key): number {
  for (let n = 0; n < Math.min(a.length, b.length); n++) {
    const order = compareParts(a[n], b[n]);
    if (order !== 0) return order;
  }
  return a.length - b.length;
}

/** Of two bounds (either may be absent), the later one when `direction` is 1, else the earlier. */
function tighter(a: Key | undefined, b: Key | undefined, direction: 1 | -1): Key | undefined {
  if (!a || !b) return a ?? b;
  return compareKeys(a, b) * direction >= 0 ? a : b;
}

function sameKey(a: Key, b: Key): boolean {
  return a.length === b.length && a.every((part, n) => compareParts(part, b[n]) === 0);
}

function matches(doc: Stored, where: Where): boolean {
  return Object.entries(where).every(([field, want]) =>
    compareParts(encodeValue(doc[field] as IndexValue), encodeValue(want)) === 0
  );
}

function stripUndefined(doc: Stored): Stored {
  for (const key of Object.keys(doc)) if (doc[key] === undefined) delete doc[key];
  return doc;
}

function encodeCursor(tail: KeyPart[]): string {
  return cursorText(tail.map((p) => (p instanceof Uint8Array ? null : p)));
}

function decodeCursor(cursor: string, length: number): KeyPart[] {
  try {
    const parts = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
    if (
      Array.isArray(parts) && parts.length === length &&
      parts.every((p) => p === null || ["string", "number", "boolean"].includes(typeof p))
    ) {
      return parts.map((p) => (p === null ? NULL_PART : p));
    }
  } catch {
    // Falls through to the same error as a well-formed cursor of the wrong shape.
  }
  throw new BadCursorError();
}
