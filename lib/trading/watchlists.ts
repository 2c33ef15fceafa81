/**
 * Watchlists: a few named lists of symbols per user, each shown with live quotes. The cap on lists
 * holds under concurrent creates: each one moves the user's counter on from the version it read
 * before counting, in the same commit as the new list, so of two creates from one count only one
 * commits and the other counts again.
 */
import { AppError } from "../errors.ts";
import { findAll } from "../store/find_all.ts";
import { ConflictError, type Doc, type NewDoc, type Store, type WriteOp } from "../store/port.ts";
import { retryOnConflict } from "../store/retry.ts";

export const MAX_WATCHLISTS = 20;
export const MAX_SYMBOLS = 50;
const DEFAULT_NAME = "My watchlist";
const DEFAULT_SYMBOLS = ["SPY", "AAPL", "MSFT", "NVDA", "BTC/USD"];

/** The user's watchlists, oldest first; a first one with a few popular symbols is made when there is none. */
export async function listWatchlists(
  store: Store,
  userId: string,
  now = new Date(),
): Promise<Watchlist[]> {
  const lists = await storedWatchlists(store, userId);
  if (lists.length > 0) return lists;
  try {
    // A fixed id makes the first list once, however many requests race to make it.
    await store.insert<Watchlist>("watchlist", {
      _id: `${userId}:default`,
      userId,
      name: DEFAULT_NAME,
      symbols: DEFAULT_SYMBOLS,
      createdAt: now,
      updatedAt: now,
    });
  } catch (err) {
    if (!(err instanceof ConflictError)) throw err;
  }
  return await storedWatchlists(store, userId);
}

/**
 * Every list of the user, oldest first, however many there are (lists made before the cap held
 * must still be seen to be deleted).
 */
async function storedWatchlists(store: Store, userId: string): Promise<Watchlist[]> {
  const lists = await findAll<Watchlist>(store, "watchlist", {
    where: { userId },
    limit: MAX_WATCHLISTS + 1,
  });
  return lists.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
}

/** A new empty list, or 422 `too_many_watchlists` when the user has MAX_WATCHLISTS already. */
export async function createWatchlist(
  store: Store,
  userId: string,
  name: string,
  now = new Date(),
): Promise<Watchlist> {
  // A lost attempt means another create committed: a race to the cap ends within MAX_WATCHLISTS.
  return await retryOnConflict(
    async () => {
      // The counter is read before the lists, so a create that commits after this count moves it on.
      const counter = await store.get<WatchlistCounter>("watchlist_counters", userId);
      const existing = await listWatchlists(store, userId, now);
      if (existing.length >= MAX_WATCHLISTS) {
        throw new AppError(
          422,
          "too_many_watchlists",
          `You can have at most ${MAX_WATCHLISTS} watchlists.`,
        );
      }
      const list: NewDoc<Watchlist> = {
        userId,
        name: name.trim(),
        symbols: [],
        createdAt: now,
        updatedAt: now,
      };
      const [created] = await store.commit([
        { op: "insert", collection: "watchlist", doc: list },
        counterStep(userId, counter),
      ]);
      return created as Watchlist;
    },
    "Your watchlists are busy. Please try again.",
    MAX_WATCHLISTS + 2,
  );
}

/** Moves the user's counter on from the version read; the first create makes it. */
function counterStep(userId: string, counter: WatchlistCounter | null): WriteOp {
  return counter
    ? {
      op: "update",
      collection: "watchlist_counters",
      id: userId,
      set: { created: counter.created + 1 },
      ifVersion: counter._v,
    }
    : { op: "insert", collection: "watchlist_counters", doc: { _id: userId, created: 1 } };
}

/** One of the user's watchlists, or 404. */
export async function ownWatchlist(store: Store, userId: string, id: string): Promise<Watchlist> {
  const list = await store.get<Watchlist>("watchlist", id);
  if (!list || list.userId !== userId) throw new AppError(404, "not_found", "No such watchlist.");
  return list;
}

export async function renameWatchlist(
  store: Store,
  userId: string,
  id: string,
  name: string,
  now = new Date(),
) {
  const list = await ownWatchlist(store, userId, id);
  return await store.update<Watchlist>("watchlist", id, { name: name.trim(), updatedAt: now }, {
    ifVersion: list._v,
  });
}

export async function deleteWatchlist(store: Store, userId: string, id: string): Promise<void> {
  const list = await ownWatchlist(store, userId, id);
  await store.delete("watchlist", id, { ifVersion: list._v });
}

/** Adds a (known, normalised) symbol; adding one already there changes nothing. */
export async function addSymbol(
  store: Store,
  userId: string,
  id: string,
  symbol: string,
  now = new Date(),
) {
  return await changeSymbols(store, userId, id, now, (symbols) => {
    if (symbols.includes(symbol)) return symbols;
    if (symbols.length >= MAX_SYMBOLS) {
      throw new AppError(
        422,
        "watchlist_full",
        `A watchlist holds at most ${MAX_SYMBOLS} symbols.`,
      );
    }
    return [...symbols, symbol];
  });
}

export async function removeSymbol(
  store: Store,
  userId: string,
  id: string,
  symbol: string,
  now = new Date(),
) {
  return await changeSymbols(
    store,
    userId,
    id,
    now,
    (symbols) => symbols.filter((s) => s !== symbol),
  );
}

async function changeSymbols(
  store: Store,
  userId: string,
  id: string,
  now: Date,
  change: (symbols: string[]) => string[],
): Promise<Watchlist> {
  for (;;) {
    const list = await ownWatchlist(store, userId, id);
    const symbols = change(list.symbols);
    if (symbols === list.symbols) return list;
    try {
      return await store.update<Watchlist>("watchlist", id, { symbols, updatedAt: now }, {
        ifVersion: list._v,
      });
    } catch (err) {
      // Two tabs edited the list at once: apply this change on top of the other.
      if (!(err instanceof ConflictError && err.reason === "version")) throw err;
    }
  }
}

export function watchlistJson(list: Watchlist) {
  return {
    id: list._id,
    name: list.name,
    symbols: list.symbols,
    createdAt: list.createdAt.toISOString(),
  };
}

export type Watchlist = Doc & {
  userId: string;
  name: string;
  symbols: string[];
  createdAt: Date;
  updatedAt: Date;
};

/**
 * One per user who has created a list, `_id` = the user id: how many lists they have created.
 * Its version, not its number, is what serialises creates; deleting a list cannot break the cap,
 * so deletes leave it alone.
 */
type WatchlistCounter = Doc & { created: number };
