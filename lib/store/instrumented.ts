/** A storage port wrapper that times each call and counts failures; otherwise transparent. */
import type { Metrics, StoreOperation } from "../metrics.ts";
import type { CollectionName, Doc, NewDoc, Page, Query, Store, Where, WriteOp } from "./port.ts";

/**
 * Wraps `store` so each call is recorded in store_operation_duration_seconds (and, when it
 * throws, store_operation_errors_total), and each committed write that sets an order's status in
 * orders_status_changes_total. Results and errors pass through unchanged.
 */
export function instrumentStore(store: Store, metrics: Metrics): Store {
  return new InstrumentedStore(store, metrics);
}

class InstrumentedStore implements Store {
  readonly backend: Store["backend"];
  readonly #store: Store;
  readonly #metrics: Metrics;

  constructor(store: Store, metrics: Metrics) {
    this.backend = store.backend;
    this.#store = store;
    this.#metrics = metrics;
  }

  ensureSchema(): Promise<void> {
    return this.#timed("ensureSchema", () => this.#store.ensureSchema());
  }

  describeSchema(): Promise<Record<string, string[]>> {
    return this.#timed("describeSchema", () => this.#store.describeSchema());
  }

  ping(): Promise<void> {
    return this.#timed("ping", () => this.#store.ping());
  }

  get<T extends Doc>(collection: CollectionName, id: string): Promise<T | null> {
    return this.#timed("get", () => this.#store.get<T>(collection, id));
  }

  getMany<T extends Doc>(collection: CollectionName, ids: string[]): Promise<(T | null)[]> {
    return this.#timed("getMany", () => this.#store.getMany<T>(collection, ids));
  }

  find<T extends Doc>(collection: CollectionName, query: Query): Promise<Page<T>> {
    return this.#timed("find", () => this.#store.find<T>(collection, query));
  }

  findOne<T extends Doc>(collection: CollectionName, where: Where): Promise<T | null> {
    return this.#timed("findOne", () => this.#store.findOne<T>(collection, where));
  }

  async insert<T extends Doc>(collection: CollectionName, doc: NewDoc<T>): Promise<T> {
    const written = await this.#timed("insert", () => this.#store.insert<T>(collection, doc));
    this.#countOrders([{ op: "insert", collection, doc: doc as NewDoc<Doc> }]);
    return written;
  }

  async update<T extends Doc>(
    collection: CollectionName,
    id: string,
    set: Partial<Omit<T, "_id" | "_v">>,
    options?: { ifVersion?: number },
  ): Promise<T> {
    const written = await this.#timed(
      "update",
      () => this.#store.update<T>(collection, id, set, options),
    );
    this.#countOrders([{ op: "update", collection, id, set }]);
    return written;
  }

  delete(collection: CollectionName, id: string, options?: { ifVersion?: number }): Promise<void> {
    return this.#timed("delete", () => this.#store.delete(collection, id, options));
  }

  async commit(ops: WriteOp[]): Promise<(Doc | null)[]> {
    const written = await this.#timed("commit", () => this.#store.commit(ops));
    this.#countOrders(ops);
    return written;
  }

  close(): Promise<void> {
    return this.#store.close();
  }

  async #timed<T>(operation: StoreOperation, call: () => Promise<T>): Promise<T> {
    const start = performance.now();
    const observe = (error?: unknown) =>
      this.#metrics.observeStoreOperation({
        backend: this.backend,
        operation,
        seconds: (performance.now() - start) / 1000,
        error,
      });
    try {
      const result = await call();
      observe();
      return result;
    } catch (error) {
      observe(error);
      throw error;
    }
  }

  /**
   * Every order status change is a write through here, whichever code made it (placement, the
   * execution worker, a cancel), so counting committed writes misses none and reads nothing.
   */
  #countOrders(ops: WriteOp[]): void {
    for (const op of ops) {
      if (op.collection !== "orders") continue;
      if (op.op === "insert") this.#metrics.countOrderStatus(op.doc.status);
      else if (op.op === "update" && "status" in op.set) {
        this.#metrics.countOrderStatus(op.set.status);
      }
    }
  }
}
