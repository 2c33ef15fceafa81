/** The securities catalog: seed data validity, idempotent and concurrent seeding, lookup and search. */
import assert from "node:assert/strict";
import { parseFixed } from "../money.ts";
import { openKvStore } from "../store/kv.ts";
import type { Store } from "../store/port.ts";
import { normalizeSymbol, type Security, SecurityCatalog, seedSecurities } from "./securities.ts";
import { SECURITY_SEEDS } from "./securities_data.ts";

const GICS_SECTORS = [
  "Information Technology",
  "Communication Services",
  "Consumer Discretionary",
  "Consumer Staples",
  "Health Care",
  "Financials",
  "Industrials",
  "Energy",
  "Materials",
  "Real Estate",
  "Utilities",
];
const POSITIVE_DECIMAL = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;

async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
  const store = await openKvStore(":memory:");
  try {
    await store.ensureSchema();
    await fn(store);
  } finally {
    await store.close();
  }
}

async function storedSecurities(store: Store): Promise<Security[]> {
  return (await SecurityCatalog.load(store)).all() as Security[];
}

Deno.test("[securities] the seed catalog lists enough stocks, ETFs and crypto pairs", () => {
  const count = (assetClass: string) =>
    SECURITY_SEEDS.filter((s) => s.assetClass === assetClass).length;
  assert.ok(count("us_equity") + count("etf") >= 100);
  assert.ok(count("etf") >= 20);
  assert.ok(count("crypto") >= 6 && count("crypto") <= 10);
  const symbols = SECURITY_SEEDS.map((s) => s.symbol);
  assert.equal(new Set(symbols).size, symbols.length, "symbols are unique");
  const sectors = new Set(
    SECURITY_SEEDS.filter((s) => s.assetClass === "us_equity").map((s) => s.sector),
  );
  assert.deepEqual([...sectors].sort(), [...GICS_SECTORS].sort(), "every GICS sector is covered");
});

Deno.test("[securities] every seed is valid", () => {
  for (const seed of SECURITY_SEEDS) {
    const at = `${seed.symbol}: `;
    assert.equal(seed.symbol, seed.symbol.trim().toUpperCase(), `${at}uppercase`);
    assert.equal(normalizeSymbol(seed.symbol), seed.symbol, `${at}already canonical`);
    assert.ok(seed.name.trim(), `${at}name`);
    assert.match(seed.referencePrice, POSITIVE_DECIMAL, `${at}decimal string`);
    assert.ok(/[1-9]/.test(seed.referencePrice), `${at}positive`);
    const decimals = seed.referencePrice.split(".")[1]?.length ?? 0;
    assert.ok(decimals <= seed.priceDecimals, `${at}at most priceDecimals decimals`);
    assert.ok(seed.volatility > 0 && seed.volatility < 2, `${at}volatility in (0, 2)`);
    if (seed.assetClass === "crypto") {
      assert.match(seed.symbol, /^[A-Z0-9]+\/USD$/, `${at}BASE/USD`);
      assert.equal(seed.exchange, "CRYPTO", `${at}exchange`);
      assert.equal(seed.sector, null, `${at}no sector`);
      assert.equal(seed.qtyDecimals, 8, `${at}qtyDecimals`);
      // A one-tick move must stay within 0.1 % of the price, or quotes would jump in steps.
      assert.ok(inTicks(seed.referencePrice, seed.priceDecimals) >= 1000n, `${at}price decimals`);
    } else {
      assert.match(seed.symbol, /^[A-Z]+(\.[A-Z])?$/, `${at}ticker`);
      assert.notEqual(seed.exchange, "CRYPTO", `${at}exchange`);
      assert.ok(seed.sector, `${at}sector`);
      // Fractions of a share (to a millionth) from $30 at listing; whole shares below.
      assert.equal(
        seed.qtyDecimals,
        parseFixed(seed.referencePrice, 4) >= parseFixed("30", 0) ? 6 : 0,
        `${at}fractionable from $30`,
      );
      assert.equal(seed.priceDecimals, seed.referencePrice.startsWith("0.") ? 4 : 2, `${at}tick`);
    }
  }
});

Deno.test("[securities] seeding inserts every seed once; a second run changes nothing", async () => {
  await withStore(async (store) => {
    const now = new Date("2026-01-05T14:30:00Z");
    assert.deepEqual(await seedSecurities(store, now), {
      inserted: SECURITY_SEEDS.length,
      updated: 0,
      unchanged: 0,
    });
    assert.deepEqual(await seedSecurities(store), {
      inserted: 0,
      updated: 0,
      unchanged: SECURITY_SEEDS.length,
    });
    const aapl = await store.get<Security>("securities", "AAPL");
    assert.ok(aapl);
    assert.equal(aapl._v, 1);
    assert.equal(aapl.symbol, "AAPL");
    assert.equal(aapl.tradable, true);
    assert.deepEqual(aapl.updatedAt, now);
    const btc = await store.findOne<Security>("securities", { symbol: "BTC/USD" });
    assert.equal(btc?._id, "BTC/USD");
  });
});

Deno.test("[securities] seeding updates catalog fields but keeps the reference price and tradable", async () => {
  await withStore(async (store) => {
    await seedSecurities(store);
    const seed = SECURITY_SEEDS.find((s) => s.symbol === "MSFT")!;
    await store.update<Security>("securities", "MSFT", {
      name: "Old Name",
      volatility: 0.9,
      referencePrice: "100.00",
      tradable: false,
    });
    const later = new Date("2026-02-01T00:00:00Z");
    const counts = await seedSecurities(store, later);
    assert.deepEqual(counts, { inserted: 0, updated: 1, unchanged: SECURITY_SEEDS.length - 1 });
    const msft = await store.get<Security>("securities", "MSFT");
    assert.equal(msft?.name, seed.name);
    assert.equal(msft?.volatility, seed.volatility);
    assert.equal(msft?.referencePrice, "100.00");
    assert.equal(msft?.tradable, false);
    assert.deepEqual(msft?.updatedAt, later);
  });
});

Deno.test("[securities] a reference price that no longer fits the price decimals is replaced", async () => {
  await withStore(async (store) => {
    await seedSecurities(store);
    await store.update<Security>("securities", "F", { referencePrice: "13.4025" });
    await seedSecurities(store);
    const ford = await store.get<Security>("securities", "F");
    assert.equal(
      ford?.referencePrice,
      SECURITY_SEEDS.find((s) => s.symbol === "F")!.referencePrice,
    );
  });
});

Deno.test("[securities] seeding never deletes a security the seeds no longer list", async () => {
  await withStore(async (store) => {
    await store.insert<Security>("securities", {
      ...SECURITY_SEEDS[0],
      _id: "ZZZZ",
      symbol: "ZZZZ",
      tradable: true,
      updatedAt: new Date(),
    });
    await seedSecurities(store);
    assert.ok(await store.get("securities", "ZZZZ"));
    assert.equal((await storedSecurities(store)).length, SECURITY_SEEDS.length + 1);
  });
});

Deno.test("[securities] two instances seeding a fresh store at once leave one document per symbol", async () => {
  await withStore(async (store) => {
    const [a, b] = await Promise.all([seedSecurities(store), seedSecurities(store)]);
    assert.equal(a.inserted + b.inserted, SECURITY_SEEDS.length);
    assert.equal(a.updated + b.updated, 0);
    assert.equal(a.inserted + a.unchanged, SECURITY_SEEDS.length);
    assert.equal(b.inserted + b.unchanged, SECURITY_SEEDS.length);
    const stored = await storedSecurities(store);
    assert.deepEqual(
      stored.map((s) => s.symbol),
      SECURITY_SEEDS.map((s) => s.symbol).sort(),
    );
    assert.ok(stored.every((s) => s._id === s.symbol && s._v === 1));
  });
});

Deno.test("[securities] a write that loses a race re-reads instead of overwriting", async () => {
  await withStore(async (store) => {
    await seedSecurities(store);
    await store.update<Security>("securities", "NVDA", { name: "Stale" });
    const seed = SECURITY_SEEDS.find((s) => s.symbol === "NVDA")!;
    let raced = false;
    // Another instance fixes the same document between this run's read and its write.
    const racing = new Proxy(store, {
      get(target, property) {
        if (property === "update" && !raced) {
          return async (...args: Parameters<Store["update"]>) => {
            raced = true;
            await target.update("securities", "NVDA", { name: seed.name });
            return target.update(...args);
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const counts = await seedSecurities(racing);
    assert.ok(raced);
    assert.deepEqual(counts, { inserted: 0, updated: 0, unchanged: SECURITY_SEEDS.length });
    const nvda = await store.get<Security>("securities", "NVDA");
    assert.equal(nvda?.name, seed.name);
    assert.equal(nvda?._v, 3, "only the other instance's write landed");
  });
});

Deno.test("[securities] normalizeSymbol writes symbols the way the catalog does", () => {
  assert.equal(normalizeSymbol("  aapl "), "AAPL");
  assert.equal(normalizeSymbol("btcusd"), "BTC/USD");
  assert.equal(normalizeSymbol("BTC-USD"), "BTC/USD");
  assert.equal(normalizeSymbol("btc/usd"), "BTC/USD");
  assert.equal(normalizeSymbol("brk-b"), "BRK.B");
  assert.equal(normalizeSymbol("BRK/B"), "BRK.B");
  assert.equal(normalizeSymbol("brk.b"), "BRK.B");
  // Only known crypto bases become pairs; anything else is left as typed.
  assert.equal(normalizeSymbol("XYZUSD"), "XYZUSD");
});

Deno.test("[securities] the catalog loads every page and finds symbols in any spelling", async () => {
  await withStore(async (store) => {
    await seedSecurities(store);
    const catalog = await SecurityCatalog.load(store);
    assert.equal(catalog.all().length, SECURITY_SEEDS.length);
    assert.equal(catalog.get("aapl")?.name, "Apple Inc.");
    assert.equal(catalog.get("Brk-B")?.symbol, "BRK.B");
    for (const alias of ["btcusd", "BTC-USD", "btc/usd", " BTC/USD "]) {
      assert.equal(catalog.get(alias)?.symbol, "BTC/USD", alias);
    }
    assert.equal(catalog.get("NOPE"), undefined);
    assert.throws(() => {
      (catalog.get("AAPL") as { name: string }).name = "Changed";
    }, TypeError);
  });
});

Deno.test("[securities] the catalog pages through more rows than one page holds", async () => {
  await withStore(async (store) => {
    const template = { ...SECURITY_SEEDS[0], tradable: true, updatedAt: new Date() };
    for (let n = 0; n < 501; n++) {
      const symbol = `T${String(n).padStart(4, "0")}`;
      await store.insert<Security>("securities", { ...template, _id: symbol, symbol });
    }
    assert.equal((await SecurityCatalog.load(store)).all().length, 501);
  });
});

Deno.test("[securities] search ranks the exact symbol, then symbol prefixes, then names", async () => {
  await withStore(async (store) => {
    await seedSecurities(store);
    const catalog = await SecurityCatalog.load(store);
    const symbols = (q: string, limit?: number) => catalog.search(q, limit).map((s) => s.symbol);

    assert.equal(symbols("AAPL")[0], "AAPL");
    assert.equal(symbols("app")[0], "AAPL");
    assert.ok(symbols("micro").includes("MSFT"));
    assert.equal(symbols("bitcoin")[0], "BTC/USD");
    assert.equal(symbols("btc-usd")[0], "BTC/USD");
    assert.equal(symbols("V")[0], "V", "an exact one-letter symbol beats longer ones");
    assert.ok(symbols("coca-cola").includes("KO"));
    assert.deepEqual(symbols(""), []);
    assert.deepEqual(symbols("   "), []);
    assert.deepEqual(symbols("(.*"), []);
    assert.deepEqual(symbols("[a-z]+$"), []);
    assert.equal(symbols("a", 3).length, 3);
    assert.deepEqual(symbols("a", 0), []);
  });
});

/** A decimal price as a whole number of ticks of 10^-decimals, without floating point. */
function inTicks(price: string, decimals: number): bigint {
  const [whole, fraction = ""] = price.split(".");
  return BigInt(whole + fraction.padEnd(decimals, "0"));
}
