/**
 * A store that counts the order and alert documents its finds return: how much of the book, or of
 * the alerts, a pass reads.
 */
import type { Query, Store } from "../../lib/store/port.ts";

export function countingStore(
  store: Store,
): { store: Store; counter: { orders: number; alerts: number } } {
  const counter = { orders: 0, alerts: 0 };
  const wrapped = new Proxy(store, {
    get(target, name) {
      if (name !== "find") {
        // Methods run on the real store: its private fields are not the proxy's.
        const value = Reflect.get(target, name, target);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return async (collection: string, query: Query) => {
        const page = await target.find(collection as never, query);
        if (collection === "orders") counter.orders += page.items.length;
        if (collection === "alerts") counter.alerts += page.items.length;
        return page;
      };
    },
  });
  return { store: wrapped as Store, counter };
}
