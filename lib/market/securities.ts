/** The securities catalog: seeding the `securities` collection, symbol normalisation, lookup and search. */
import { ConflictError, type Doc, type Store } from "../store/port.ts";
import { SECURITY_SEEDS, type SecuritySeed } from "./securities_data.ts";

/** Catalog fields that follow the code on every seeding; see `changesFromSeed` for the price. */
const SYNCED_FIELDS = [
  "name",
  "exchange",
  "assetClass",
  "sector",
  "volatility",
  "priceDecimals",
  "qtyDecimals",
] as const satisfies readonly (keyof SecuritySeed)[];
/** Rounds of re-reading when other instances keep writing the same security; a few always suffice. */
const MAX_ATTEMPTS = 5;
const PAGE_SIZE = 500;

const CRYPTO_BASES = new Set(
  SECURITY_SEEDS.filter((s) => s.assetClass === "crypto").map((s) => s.symbol.split("/")[0]),
);
/** Search ties go to the better-known name, which the seed list puts first. */
const SEED_RANK = new Map(SECURITY_SEEDS.map((s, n) => [s.symbol, n]));

/**
 * Inserts missing seeds and brings changed catalog fields of existing ones in line with the code;
 * never deletes. Safe at every start and from several instances at once: a write that loses a race
 * re-reads what the other instance wrote and decides again.
 */
export async function seedSecurities(store: Store, now = new Date()): Promise<SeedCounts> {
  const counts: SeedCounts = { inserted: 0, updated: 0, unchanged: 0 };
  const stored = await store.getMany<Security>(
    "securities",
    SECURITY_SEEDS.map((s) => s.symbol),
  );
  for (const [n, seed] of SECURITY_SEEDS.entries()) {
    counts[await seedOne(store, seed, stored[n], now)]++;
  }
  return counts;
}

/**
 * The canonical form of a symbol a trader or a quote vendor wrote: trimmed and uppercased, crypto
 * pairs of known bases as `BTC/USD` (from `BTCUSD`, `BTC-USD`), share classes as `BRK.B`.
 */
export function normalizeSymbol(input: string): string {
  const symbol = input.trim().toUpperCase();
  const pair = /^([A-Z0-9]+)[-/]?USD$/.exec(symbol);
  if (pair && CRYPTO_BASES.has(pair[1])) return `${pair[1]}/USD`;
  // Vendors write a share class as BRK-B or BRK/B; the catalog, like the exchange, as BRK.B.
  const shareClass = /^([A-Z]+)[-/]([A-Z])$/.exec(symbol);
  return shareClass ? `${shareClass[1]}.${shareClass[2]}` : symbol;
}

/**
 * The catalog in memory: it is small (well under a thousand rows) and read on every quote and
 * order, so it is loaded once and answered without the store. A restart picks up changes.
 */
export class SecurityCatalog {
  readonly #all: readonly Security[];
  readonly #bySymbol: Map<string, Security>;
  readonly #names: Map<Security, string>;

  /** A catalog of securities already read; `load` reads them from the store. */
  constructor(securities: Iterable<Security>) {
    // Frozen copies, because every request shares them and a caller's edit must not leak.
    this.#all = [...securities].map((s) => Object.freeze({ ...s }))
      .sort((a, b) => compare(a.symbol, b.symbol));
    this.#bySymbol = new Map(this.#all.map((s) => [s.symbol, s]));
    this.#names = new Map(this.#all.map((s) => [s, searchable(s.name)]));
  }

  /** Reads every stored security, page by page. */
  static async load(store: Store): Promise<SecurityCatalog> {
    const securities: Security[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.find<Security>("securities", { limit: PAGE_SIZE, cursor });
      securities.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return new SecurityCatalog(securities);
  }

  /** The security for a symbol in any case or common spelling (`brk-b`, `btcusd`), if listed. */
  get(symbol: string): Security | undefined {
    return this.#bySymbol.get(normalizeSymbol(symbol));
  }

  /** Every security, by symbol. */
  all(): readonly Security[] {
    return this.#all;
  }

  /**
   * Up to `limit` matches for what a trader typed, best first: the exact symbol, then symbols
   * starting with it, then names starting with it, then names with a word starting with it, then
   * names containing it. The query is plain text (never a pattern); an empty query matches nothing.
   */
  search(q: string, limit = 10): Security[] {
    const upper = q.trim().toUpperCase();
    if (!upper || !(limit >= 1)) return [];
    const exact = normalizeSymbol(q);
    const text = searchable(q);
    const hits: { security: Security; tier: number }[] = [];
    for (const security of this.#all) {
      const tier = matchTier(security.symbol, this.#names.get(security)!, exact, upper, text);
      if (tier !== null) hits.push({ security, tier });
    }
    hits.sort((a, b) =>
      a.tier - b.tier || rank(a.security) - rank(b.security) ||
      compare(a.security.symbol, b.security.symbol)
    );
    return hits.slice(0, Math.floor(limit)).map((h) => h.security);
  }
}

async function seedOne(
  store: Store,
  seed: SecuritySeed,
  stored: Security | null,
  now: Date,
): Promise<keyof SeedCounts> {
  for (let attempt = 1;; attempt++) {
    try {
      if (!stored) {
        await store.insert<Security>("securities", {
          _id: seed.symbol,
          ...seed,
          tradable: true,
          updatedAt: now,
        });
        return "inserted";
      }
      const changes = changesFromSeed(stored, seed);
      if (!changes) return "unchanged";
      await store.update<Security>("securities", seed.symbol, { ...changes, updatedAt: now }, {
        ifVersion: stored._v,
      });
      return "updated";
    } catch (error) {
      // `duplicate` means another document claims the symbol under a different id: not a race,
      // and re-reading by id would not resolve it.
      const raced = error instanceof ConflictError &&
        (error.reason === "exists" || error.reason === "version" || error.reason === "missing");
      if (!raced || attempt === MAX_ATTEMPTS) throw error;
      stored = await store.get<Security>("securities", seed.symbol);
    }
  }
}

/**
 * The fields to write so a stored security matches its seed, or null when it already does.
 * The reference price is kept once a security exists: the simulated market has moved on from it,
 * open orders and positions were priced against it, and an operator may have set it on purpose,
 * so a new seed price must not make the market jump at a deploy. It is replaced only when it no
 * longer fits the seed's price decimals, because a price must always be expressible in its tick.
 * `tradable` is never touched here: halting a symbol is an operator's decision.
 */
function changesFromSeed(stored: Security, seed: SecuritySeed): Partial<SecuritySeed> | null {
  const changes: Partial<SecuritySeed> = Object.fromEntries(
    SYNCED_FIELDS.filter((f) => stored[f] !== seed[f]).map((f) => [f, seed[f]]),
  );
  if (decimalPlaces(stored.referencePrice) > seed.priceDecimals) {
    changes.referencePrice = seed.referencePrice;
  }
  return Object.keys(changes).length ? changes : null;
}

function decimalPlaces(decimal: string): number {
  const point = decimal.indexOf(".");
  return point === -1 ? 0 : decimal.length - point - 1;
}

/** Lowercase words separated by single spaces, so `Coca-Cola` and `coca cola` compare equal. */
function searchable(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, " ").trim();
}

function matchTier(
  symbol: string,
  name: string,
  exact: string,
  upper: string,
  text: string,
): number | null {
  if (symbol === exact) return 0;
  if (symbol.startsWith(upper) || symbol.startsWith(exact)) return 1;
  // A query of punctuation only has no words to look for in names.
  if (!text) return null;
  if (name.startsWith(text)) return 2;
  if (` ${name}`.includes(` ${text}`)) return 3;
  if (name.includes(text)) return 4;
  return null;
}

function rank(security: Security): number {
  return SEED_RANK.get(security.symbol) ?? SEED_RANK.size;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The stored security; `_id` is the symbol, so lookups by symbol are a direct get. */
export type Security = Doc & SecuritySeed & {
  /** False when an operator has halted trading in it; seeding never changes it. */
  tradable: boolean;
  updatedAt: Date;
};

/** What one seeding run did, per security. */
export type SeedCounts = { inserted: number; updated: number; unchanged: number };

export type { SecuritySeed };
