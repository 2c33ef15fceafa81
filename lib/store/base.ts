/**
 * What every backend shares: the single-document writes as one-op atomic units, findOne as a
 * one-row find, and the identity of each operation's document.
 */
import { newId } from "../ids.ts";
import type { CollectionName } from "./schema.ts";
import type { Doc, NewDoc, Page, Query, Store, Where, WriteOp } from "./port.ts";

export abstract class BaseStore implements Store {
  abstract readonly backend: Store["backend"];
  abstract ensureSchema(): Promise<void>;
  abstract describeSchema(): Promise<Record<string, string[]>>;
  abstract ping(): Promise<void>;
  abstract get<T extends Doc>(collection: CollectionName, id: string): Promise<T | null>;
  abstract getMany<T extends Doc>(collection: CollectionName, ids: string[]): Promise<(T | null)[]>;
  abstract find<T extends Doc>(collection: CollectionName, query: Query): Promise<Page<T>>;
  abstract commit(ops: WriteOp[]): Promise<(Doc | null)[]>;
  abstract close(): Promise<void>;

  async findOne<T extends Doc>(collection: CollectionName, where: Where): Promise<T | null> {
    return (await this.find<T>(collection, { where, limit: 1 })).items[0] ?? null;
  }

  async insert<T extends Doc>(collection: CollectionName, doc: NewDoc<T>): Promise<T> {
    const [written] = await this.commit([{ op: "insert", collection, doc: doc as NewDoc<Doc> }]);
    return written as T;
  }

  async update<T extends Doc>(
    collection: CollectionName,
    id: string,
    set: Partial<Omit<T, "_id" | "_v">>,
    options: { ifVersion?: number } = {},
  ): Promise<T> {
    const [written] = await this.commit([{
      op: "update",
      collection,
      id,
      set,
      ifVersion: options.ifVersion,
    }]);
    return written as T;
  }

  async delete(
    collection: CollectionName,
    id: string,
    options: { ifVersion?: number } = {},
  ): Promise<void> {
    await this.commit([{ op: "delete", collection, id, ifVersion: options.ifVersion }]);
  }
}

/**
 * The document each operation of a unit writes, ids made once for inserts (so a retried unit
 * inserts the same documents). A unit may touch a document only once: two changes to one
 * document in one unit have no clear order, so that is a programming error.
 */
export function unitTargets(ops: WriteOp[]): { collection: CollectionName; id: string }[] {
  const targets = ops.map((op) => ({
    collection: op.collection,
    id: op.op === "insert" ? (op.doc._id ?? newId()) : op.id,
  }));
  const seen = new Set<string>();
  for (const t of targets) {
    const key = `${t.collection}/${t.id}`;
    if (seen.has(key)) throw new Error(`an atomic unit touches ${key} twice`);
    seen.add(key);
  }
  return targets;
}

/**
 * A page cursor's text: the JSON of its values, base64url. Characters beyond ASCII are written as
 * JSON escapes first, because base64 here takes only Latin-1 text and an index value (a name, a
 * symbol) may hold any character; `JSON.parse` reads the escapes back.
 */
export function cursorText(values: unknown[]): string {
  const json = JSON.stringify(values).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return btoa(json).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
