/** Backup and restore of every collection through the storage port, so data can move between backends. */
import { createHash } from "node:crypto";
import type { Doc, Store } from "./store/port.ts";
import { COLLECTION_NAMES, type CollectionName, type IndexSpec, SCHEMA } from "./store/schema.ts";

/** The format tag of the manifest; a restore refuses any other. */
export const BACKUP_FORMAT = "orion-backup/1";
const MANIFEST = "manifest.json";
/** Documents read per page while backing up or wiping: memory stays bounded by one page. */
const PAGE_SIZE = 500;
/** Writes per atomic unit at most; see unitSize for the Deno KV bound below it. */
const BATCH_SIZE = 50;
/** Deno KV checks at most 100 keys in one atomic unit. */
const KV_MAX_CHECKS = 100;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const BIGINT = /^-?\d+$/;
/** Numbers that JSON cannot write, kept as text that `Number()` parses back exactly. */
const SPECIAL_NUMBERS = new Set(["NaN", "Infinity", "-Infinity", "-0"]);
const INVALID_DATE = "Invalid Date";

/** A backup or restore refused or stopped, with a message meant for the operator. */
export class BackupError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BackupError";
  }
}

/**
 * Writes every document of every collection in SCHEMA to `dir`, one JSON Lines file per collection
 * (`<collection>.jsonl`, one document per line, `_id` and `_v` included), then `manifest.json` with
 * each file's document count and SHA-256. Values JSON cannot hold are written as one-key objects:
 * `{"$date": ISO}`, `{"$bigint": "123"}`, `{"$number": "NaN" | "Infinity" | "-Infinity" | "-0"}`,
 * `{"$undefined": true}`, and `{"$object": {...}}` around a stored object whose only key starts
 * with `$`, so it cannot be mistaken for one of these. Any other kind of value (a Map, bytes) is
 * refused with the document and field named, rather than written in a form that would not restore.
 *
 * `dir` is created when missing and must be empty otherwise. Pages are written as they are read.
 * The manifest is written last, and under a temporary name that is then renamed, so a backup that
 * stopped part-way has no manifest and a restore refuses it. The store offers no snapshot: stop
 * the app first, or a backup of a live store may catch a change half-way across collections.
 */
export async function backupStore(
  store: Store,
  dir: string,
  options: { now?: Date; version?: string } = {},
): Promise<Manifest> {
  await claimEmptyDir(dir);
  const createdAt = (options.now ?? new Date()).toISOString();
  const collections: Manifest["collections"] = {};
  for (const collection of COLLECTION_NAMES) {
    const file = fileOf(collection);
    collections[collection] = {
      ...await writeCollection(store, collection, `${dir}/${file}`),
      file,
    };
  }
  const manifest: Manifest = {
    format: BACKUP_FORMAT,
    createdAt,
    appVersion: options.version ?? "unknown",
    backend: store.backend,
    collections,
  };
  const partial = `${dir}/${MANIFEST}.partial`;
  await Deno.writeTextFile(partial, `${JSON.stringify(manifest, null, 2)}\n`);
  await Deno.rename(partial, `${dir}/${MANIFEST}`);
  return manifest;
}

/**
 * Restores a backup written by backupStore into `store`. Before anything is written, the manifest
 * is checked, and every file it lists is read in full: its document count and SHA-256 must match
 * and every line must decode to a document, so a tampered, truncated or missing file is refused by
 * name. The target must be empty (no document in any declared collection).
 *
 * `force` replaces instead of refusing: every declared collection of the target is emptied first,
 * page by page (including any the backup does not hold), so the result is exactly the backup and
 * never a merge. `onWipe` is called with the collections about to be emptied, before the first
 * delete, so a caller can say so while it matters.
 *
 * Documents are inserted with their original `_id`, in atomic units of 50, with unique indexes
 * enforced. Their `_v` is not kept: the port inserts at version 1 and offers no way to write a
 * version, and climbing back by one update per version would cost as many writes as the document
 * ever had. Versions are concurrency tokens, never data: nothing shows them or compares them
 * across documents, and a token only has to hold among the writers of one store. A restore runs
 * with the app stopped, so no token read before it is still in use, and every restored document
 * can start again at 1; the report says so (`versions: "reset"`). The files are read twice (checked,
 * then inserted) and must not change in between. A restore that fails part-way leaves the target
 * incomplete; run it again with `force`.
 */
export async function restoreStore(
  store: Store,
  dir: string,
  options: { force?: boolean; onWipe?: (collections: CollectionName[]) => void } = {},
): Promise<RestoreReport> {
  const manifest = await readManifest(dir);
  const listed = COLLECTION_NAMES.filter((name) => manifest.collections[name]);
  for (const name of listed) await verifyFile(dir, name, manifest.collections[name]!);

  const occupied: CollectionName[] = [];
  for (const name of COLLECTION_NAMES) {
    if ((await store.find(name, { limit: 1 })).items.length) occupied.push(name);
  }
  if (occupied.length && !options.force) {
    throw new BackupError(
      `the target store is not empty (documents in ${occupied.join(", ")}); restore into an ` +
        "empty store, or force it (--force) to delete its documents first",
    );
  }
  let wiped = 0;
  if (occupied.length) {
    options.onWipe?.(occupied);
    for (const name of occupied) wiped += await wipeCollection(store, name);
  }

  const collections: RestoreReport["collections"] = {};
  let total = 0;
  for (const name of listed) {
    let count = 0;
    try {
      for await (const batch of batches(readDocs(`${dir}/${fileOf(name)}`), unitSize(name))) {
        await store.commit(
          batch.map(({ _v, ...doc }) => ({ op: "insert", collection: name, doc })),
        );
        count += batch.length;
        total += batch.length;
      }
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new BackupError(
        `restore stopped in ${name} after ${total} documents (${reason}); the target store is ` +
          "incomplete: fix the cause and restore again with --force",
        { cause },
      );
    }
    collections[name] = count;
  }
  return { collections, total, wiped, versions: "reset", manifest };
}

/**
 * For the ops scripts: one line per declared collection with its document count (or a note that
 * the backup does not hold it), then the total and how long it took.
 */
export function formatCounts(
  counts: Partial<Record<CollectionName, number>>,
  elapsedMs: number,
): string[] {
  const width = Math.max(...COLLECTION_NAMES.map((name) => name.length));
  let total = 0;
  const lines = COLLECTION_NAMES.map((name) => {
    const count = counts[name];
    total += count ?? 0;
    return `  ${name.padEnd(width)}  ${count ?? "(not in the backup)"}`;
  });
  lines.push(`  ${"total".padEnd(width)}  ${total} documents in ${(elapsedMs / 1000).toFixed(1)}s`);
  return lines;
}

/** Creates `dir` when missing; refuses one that holds anything, so no backup mixes with another. */
async function claimEmptyDir(dir: string): Promise<void> {
  try {
    for await (const _ of Deno.readDir(dir)) {
      throw new BackupError(`${dir} is not empty; back up into a new or empty directory`);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    await Deno.mkdir(dir, { recursive: true });
  }
}

/** Writes one collection page by page, hashing the bytes as they go out. */
async function writeCollection(
  store: Store,
  collection: CollectionName,
  path: string,
): Promise<{ count: number; sha256: string }> {
  const encoder = new TextEncoder();
  const hash = createHash("sha256");
  let count = 0;
  // createNew: a backup racing another into the same directory fails instead of interleaving.
  using file = await Deno.open(path, { write: true, createNew: true });
  let cursor: string | undefined;
  do {
    const page = await store.find<Doc>(collection, { limit: PAGE_SIZE, cursor });
    const bytes = encoder.encode(page.items.map((doc) => encodeDoc(collection, doc)).join(""));
    hash.update(bytes);
    for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
    count += page.items.length;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  // On disk before the manifest vouches for it.
  await file.syncData();
  return { count, sha256: hash.digest("hex") };
}

function encodeDoc(collection: string, doc: Doc): string {
  return `${JSON.stringify(encodeValue(doc, `${collection} ${doc._id}`))}\n`;
}

function encodeValue(value: unknown, where: string): unknown {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    // String(-0) is "0", and JSON would write it as 0 too.
    if (Object.is(value, -0)) return { $number: "-0" };
    return Number.isFinite(value) ? value : { $number: String(value) };
  }
  if (typeof value === "bigint") return { $bigint: value.toString() };
  if (value === undefined) return { $undefined: true };
  if (value instanceof Date) {
    return { $date: Number.isNaN(value.getTime()) ? INVALID_DATE : value.toISOString() };
  }
  if (Array.isArray(value)) return value.map((item, n) => encodeValue(item, `${where}[${n}]`));
  const proto = typeof value === "object" ? Object.getPrototypeOf(value) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    const kind = (value as object)?.constructor?.name ?? typeof value;
    throw new BackupError(`${where}: a ${kind} value cannot be backed up`);
  }
  const own = Object.entries(value as object);
  const fields = Object.fromEntries(
    own.map(([key, item]) => [key, encodeValue(item, `${where}.${key}`)]),
  );
  const keys = Object.keys(fields);
  return keys.length === 1 && keys[0].startsWith("$") ? { $object: fields } : fields;
}

function decodeValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeValue);
  if (value === null || typeof value !== "object") return value;
  const keys = Object.keys(value);
  if (keys.length !== 1 || !keys[0].startsWith("$")) return decodeFields(value);
  const [tag, arg] = [keys[0], (value as Record<string, unknown>)[keys[0]]];
  if (tag === "$date" && typeof arg === "string") {
    const date = new Date(arg);
    if (arg === INVALID_DATE || !Number.isNaN(date.getTime())) return date;
  }
  if (tag === "$bigint" && typeof arg === "string" && BIGINT.test(arg)) return BigInt(arg);
  if (tag === "$number" && typeof arg === "string" && SPECIAL_NUMBERS.has(arg)) return Number(arg);
  if (tag === "$undefined" && arg === true) return undefined;
  if (tag === "$object" && arg !== null && typeof arg === "object" && !Array.isArray(arg)) {
    return decodeFields(arg);
  }
  throw new Error(`${JSON.stringify(value)} is not a value this format writes`);
}

function decodeFields(value: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, decodeValue(item)]));
}

function decodeDoc(line: string): Doc {
  const doc = decodeValue(JSON.parse(line)) as Doc;
  if (
    typeof doc !== "object" || doc === null || Array.isArray(doc) || typeof doc._id !== "string"
  ) {
    throw new Error("not a document with a string _id");
  }
  return doc;
}

/** The manifest, with every field a restore relies on checked. */
async function readManifest(dir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/${MANIFEST}`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new BackupError(
      `${dir} has no ${MANIFEST}: not a backup, or one that did not finish; nothing was restored`,
    );
  }
  const bad = (detail: string) => new BackupError(`${dir}/${MANIFEST}: ${detail}`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text);
  } catch {
    throw bad("not valid JSON");
  }
  if (manifest?.format !== BACKUP_FORMAT) {
    throw bad(`format is ${JSON.stringify(manifest?.format)}, expected "${BACKUP_FORMAT}"`);
  }
  if (typeof manifest.collections !== "object" || manifest.collections === null) {
    throw bad("no collections");
  }
  for (const [name, entry] of Object.entries(manifest.collections)) {
    if (!(COLLECTION_NAMES as string[]).includes(name)) {
      throw bad(`collection ${name} is not one this version of the app declares`);
    }
    if (
      entry?.file !== fileOf(name) || !Number.isSafeInteger(entry.count) || entry.count < 0 ||
      !SHA256_HEX.test(entry.sha256)
    ) {
      throw bad(`the entry of ${name} needs file "${fileOf(name)}", a count and a sha256`);
    }
  }
  return manifest;
}

/** Reads a file in full and checks it against its manifest entry; writes nothing. */
async function verifyFile(dir: string, name: CollectionName, entry: ManifestEntry): Promise<void> {
  const path = `${dir}/${entry.file}`;
  const hash = createHash("sha256");
  let count = 0;
  let firstBad: string | undefined;
  try {
    for await (const line of readLines(path, (bytes) => hash.update(bytes))) {
      count++;
      try {
        decodeDoc(line);
      } catch (error) {
        firstBad ??= `line ${count}: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new BackupError(`${entry.file} is missing from ${dir}; nothing was restored`);
  }
  const refuse = (detail: string) =>
    new BackupError(`${entry.file} (${name}) ${detail}; nothing was restored`);
  if (count !== entry.count) {
    throw refuse(`holds ${count} documents but the manifest says ${entry.count}`);
  }
  const sha256 = hash.digest("hex");
  if (sha256 !== entry.sha256) {
    throw refuse(`has sha256 ${sha256} but the manifest says ${entry.sha256}: it was changed`);
  }
  if (firstBad) throw refuse(`is corrupt at ${firstBad}`);
}

/**
 * The lines of a file without their newlines, each chunk of bytes passed to `onBytes` as it is
 * read. Lines are split on the decoded text: a multi-byte character may straddle two chunks.
 */
async function* readLines(
  path: string,
  onBytes: (bytes: Uint8Array) => void = () => {},
): AsyncGenerator<string> {
  const file = await Deno.open(path);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let rest = "";
  for await (const chunk of file.readable) {
    onBytes(chunk);
    const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
    rest = lines.pop()!;
    yield* lines;
  }
  rest += decoder.decode();
  if (rest) yield rest;
}

async function* readDocs(path: string): AsyncGenerator<Doc> {
  for await (const line of readLines(path)) yield decodeDoc(line);
}

/**
 * Inserts per atomic unit for a collection: an insert checks its document's key and one entry per
 * unique index, and the unit must stay within Deno KV's limit (today 50 for every collection).
 */
function unitSize(collection: CollectionName): number {
  const unique = (SCHEMA[collection] as readonly IndexSpec[]).filter((spec) => spec.unique).length;
  return Math.min(BATCH_SIZE, Math.floor(KV_MAX_CHECKS / (1 + unique)));
}

async function* batches<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

/** Deletes every document of a collection, a page at a time; returns how many. */
async function wipeCollection(store: Store, collection: CollectionName): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { items } = await store.find<Doc>(collection, { limit: PAGE_SIZE });
    if (!items.length) return deleted;
    for (let i = 0; i < items.length; i += BATCH_SIZE) {
      const batch = items.slice(i, i + BATCH_SIZE);
      await store.commit(batch.map((doc) => ({ op: "delete", collection, id: doc._id })));
      deleted += batch.length;
    }
  }
}

function fileOf(collection: string): string {
  return `${collection}.jsonl`;
}

/** `manifest.json`: what a backup holds, and how to check that its files are whole. */
export type Manifest = {
  format: typeof BACKUP_FORMAT;
  /** When the backup started (ISO 8601). */
  createdAt: string;
  /** The app version that wrote it (deno.json `version`). */
  appVersion: string;
  /** The backend it was read from; any backend can restore it. */
  backend: Store["backend"];
  /** Every declared collection at backup time, empty ones included. */
  collections: Partial<Record<CollectionName, ManifestEntry>>;
};

/** One collection's file in a backup. */
export type ManifestEntry = {
  /** Documents in the file, one per line. */
  count: number;
  /** SHA-256 of the file's bytes, in hex. */
  sha256: string;
  /** The file's name inside the backup directory: `<collection>.jsonl`. */
  file: string;
};

/** What a restore wrote. */
export type RestoreReport = {
  /** Documents inserted per collection of the backup, in SCHEMA order. */
  collections: Partial<Record<CollectionName, number>>;
  total: number;
  /** Documents deleted from the target before restoring (only with `force`). */
  wiped: number;
  /** Every restored document starts again at `_v` 1; see restoreStore for why that is safe. */
  versions: "reset";
  /** The manifest of the backup restored. */
  manifest: Manifest;
};
