/** Quote providers: the simulated one, and Finnhub's against a real local server that mimics /quote. */
import assert from "node:assert/strict";
import { createLogger } from "../log.ts";
import { parseFixed } from "../money.ts";
import { createMarketClock } from "./clock.ts";
import {
  createQuoteProvider,
  finnhubProvider,
  finnhubSymbol,
  ProviderError,
  simulatedProvider,
} from "./provider.ts";
import { type PricedSecurity, simulatedQuote } from "./simulator.ts";

const API_KEY = "fh-test-key-7c1d9e0a";
const clock = createMarketClock("nyse");
const AAPL: PricedSecurity = {
  symbol: "AAPL",
  assetClass: "us_equity",
  referencePrice: "277.50",
  volatility: 0.27,
  priceDecimals: 2,
};
const BTC: PricedSecurity = {
  symbol: "BTC/USD",
  assetClass: "crypto",
  referencePrice: "90250.00",
  volatility: 0.6,
  priceDecimals: 2,
};
const DOGE: PricedSecurity = {
  symbol: "DOGE/USD",
  assetClass: "crypto",
  referencePrice: "0.14250",
  volatility: 0.9,
  priceDecimals: 5,
};
const T0 = new Date("2026-06-16T15:00:00Z");
const later = (ms: number) => new Date(T0.getTime() + ms);
const num = (text: string) => parseFixed(text, 8);

type Upstream = {
  baseUrl: string;
  /** Requests per Finnhub symbol that carried the right token. */
  hits: Map<string, number>;
  /** What the server does next: answer quotes, fail with a status, or never answer. */
  mode: "ok" | 429 | 500 | "hang";
  peakConcurrent: number;
  close(): Promise<void>;
};

const QUOTES: Record<string, Record<string, number>> = {
  AAPL: { c: 187.25, d: 1.2, dp: 0.65, h: 188.1, l: 185.9, o: 186.4, pc: 186.05, t: 1781622000 },
  "BINANCE:BTCUSDT": { c: 90321.57, h: 91000, l: 89000, o: 89900.1, pc: 90012.99, t: 1781622001 },
  // More decimals than DOGE's price has, and more than a JSON float prints exactly.
  "BINANCE:DOGEUSDT": { c: 0.142337, h: 0.15, l: 0.14, o: 0.1411, pc: 0.1402, t: 1781622002 },
  // What Finnhub returns for a symbol it does not know.
  NOPE: { c: 0, d: 0, dp: 0, h: 0, l: 0, o: 0, pc: 0, t: 0 },
};

/** A Finnhub look-alike on 127.0.0.1: checks the token header, answers /quote as JSON. */
function startUpstream(delayMs = 0): Upstream {
  const releases: (() => void)[] = [];
  let concurrent = 0;
  const upstream: Upstream = {
    baseUrl: "",
    hits: new Map(),
    mode: "ok",
    peakConcurrent: 0,
    close: async () => {
      for (const release of releases) release();
      await server.shutdown();
    },
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (req.headers.get("x-finnhub-token") !== API_KEY) {
      return Response.json({ error: "Invalid API key" }, { status: 401 });
    }
    if (url.pathname !== "/api/v1/quote") return new Response("not found", { status: 404 });
    const symbol = url.searchParams.get("symbol") ?? "";
    upstream.hits.set(symbol, (upstream.hits.get(symbol) ?? 0) + 1);
    concurrent++;
    upstream.peakConcurrent = Math.max(upstream.peakConcurrent, concurrent);
    try {
      if (upstream.mode === "hang") await new Promise<void>((resolve) => releases.push(resolve));
      if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (typeof upstream.mode === "number") {
        return Response.json({ error: "upstream trouble" }, { status: upstream.mode });
      }
      return Response.json(QUOTES[symbol] ?? QUOTES.NOPE);
    } finally {
      concurrent--;
    }
  });
  upstream.baseUrl = `http://127.0.0.1:${server.addr.port}/api/v1`;
  return upstream;
}

function capturingLog() {
  const lines: string[] = [];
  return { lines, log: createLogger("debug", (line) => lines.push(line)) };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

Deno.test("[market] finnhub: quotes from /quote with bid < ask around c, at the security's decimals", async () => {
  const upstream = startUpstream();
  const { log } = capturingLog();
  try {
    const provider = finnhubProvider({ apiKey: API_KEY, baseUrl: upstream.baseUrl, log });
    assert.equal(provider.name, "finnhub");
    const [aapl, btc, doge] = await provider.quotes([AAPL, BTC, DOGE], T0);
    assert.deepEqual(
      { last: aapl.last, open: aapl.open, prevClose: aapl.prevClose, time: aapl.time },
      { last: "187.25", open: "186.40", prevClose: "186.05", time: "2026-06-16T15:00:00.000Z" },
    );
    assert.ok(num(aapl.bid) < num("187.25") && num("187.25") < num(aapl.ask), JSON.stringify(aapl));
    assert.match(aapl.bid, /^\d+\.\d{2}$/);
    assert.equal(btc.symbol, "BTC/USD");
    assert.equal(btc.last, "90321.57");
    assert.ok(num(btc.bid) < num(btc.last) && num(btc.last) < num(btc.ask));
    // 0.142337 rounds half-even to DOGE's five decimals.
    assert.equal(doge.last, "0.14234");
    assert.match(doge.ask, /^0\.\d{5}$/);
    assert.deepEqual([...upstream.hits.keys()].sort(), [
      "AAPL",
      "BINANCE:BTCUSDT",
      "BINANCE:DOGEUSDT",
    ]);
  } finally {
    await upstream.close();
  }
});

Deno.test("[market] finnhub: a symbol is fetched once per 5 s, however many callers ask", async () => {
  const upstream = startUpstream(20);
  const { log } = capturingLog();
  try {
    const provider = finnhubProvider({ apiKey: API_KEY, baseUrl: upstream.baseUrl, log });
    // Concurrent callers share the request in flight; later ones within 5 s read the cache.
    await Promise.all([provider.quotes([AAPL], T0), provider.quotes([AAPL, AAPL], T0)]);
    await provider.quotes([AAPL], later(4_999));
    assert.equal(upstream.hits.get("AAPL"), 1);
    await provider.quotes([AAPL], later(5_000));
    assert.equal(upstream.hits.get("AAPL"), 2);
  } finally {
    await upstream.close();
  }
});

Deno.test("[market] finnhub: at most `concurrency` requests run at once", async () => {
  const upstream = startUpstream(30);
  const { log } = capturingLog();
  try {
    const provider = finnhubProvider({ apiKey: API_KEY, baseUrl: upstream.baseUrl, log });
    const many = Array.from({ length: 12 }, (_, n) => ({ ...AAPL, symbol: `S${n}` }));
    // Unknown symbols: every one fails, but only after each request has run.
    await assert.rejects(provider.quotes(many, T0), ProviderError);
    assert.equal([...upstream.hits.values()].reduce((a, b) => a + b), 12);
    assert.ok(upstream.peakConcurrent <= 4, `peak ${upstream.peakConcurrent}`);
    assert.ok(upstream.peakConcurrent >= 2, `peak ${upstream.peakConcurrent}`);
  } finally {
    await upstream.close();
  }
});

Deno.test("[market] finnhub: on 429 or 500 a quote under 60 s old stands in, then ProviderError", async () => {
  const upstream = startUpstream();
  const { lines, log } = capturingLog();
  try {
    const provider = finnhubProvider({ apiKey: API_KEY, baseUrl: upstream.baseUrl, log });
    const [good] = await provider.quotes([AAPL], T0);
    upstream.mode = 429;
    assert.deepEqual(await provider.quotes([AAPL], later(10_000)), [good]);
    upstream.mode = 500;
    assert.deepEqual(await provider.quotes([AAPL], later(59_000)), [good]);
    assert.equal(upstream.hits.get("AAPL"), 3, "each stale read still asks upstream");
    const error = await rejection(provider.quotes([AAPL], later(60_000)));
    assert.ok(error instanceof ProviderError);
    assert.equal(error.symbol, "AAPL");
    assert.match(error.message, /AAPL/);
    // Recovery: the next good answer is served and cached again.
    upstream.mode = "ok";
    assert.equal((await provider.quotes([AAPL], later(61_000)))[0].last, "187.25");
    const warnings = lines.map((line) => JSON.parse(line)).filter((e) => e.level === "warn");
    assert.deepEqual(
      warnings.map((e) => [e.symbol, e.reason, e.fallback]),
      [["AAPL", "HTTP 429", true], ["AAPL", "HTTP 500", true], ["AAPL", "HTTP 500", false]],
    );
    for (const line of lines) assert.ok(!line.includes(API_KEY), line);
  } finally {
    await upstream.close();
  }
});

Deno.test("[market] finnhub: a hanging upstream fails within the timeout", async () => {
  const upstream = startUpstream();
  const { lines, log } = capturingLog();
  try {
    const provider = finnhubProvider({
      apiKey: API_KEY,
      baseUrl: upstream.baseUrl,
      log,
      timeoutMs: 150,
    });
    upstream.mode = "hang";
    const started = performance.now();
    const error = await rejection(provider.quotes([AAPL], T0));
    const elapsed = performance.now() - started;
    assert.ok(error instanceof ProviderError, String(error));
    assert.ok(elapsed < 1_000, `${elapsed} ms`);
    assert.match(lines.join("\n"), /no answer within 150 ms/);
  } finally {
    await upstream.close();
  }
});

Deno.test("[market] finnhub: the API key never appears in errors or logs", async () => {
  const upstream = startUpstream();
  const { lines, log } = capturingLog();
  try {
    const unknown = { ...AAPL, symbol: "NOPE" };
    const failures: Error[] = [];
    // A wrong key (401), an unknown symbol (zeros), an unreachable server, a hanging one.
    const wrongKey = finnhubProvider({ apiKey: `${API_KEY}-x`, baseUrl: upstream.baseUrl, log });
    failures.push(await rejection(wrongKey.quotes([AAPL], T0)));
    const provider = finnhubProvider({ apiKey: API_KEY, baseUrl: upstream.baseUrl, log });
    failures.push(await rejection(provider.quotes([unknown], T0)));
    const closed = finnhubProvider({ apiKey: API_KEY, baseUrl: "http://127.0.0.1:9/api/v1", log });
    failures.push(await rejection(closed.quotes([AAPL], T0)));
    upstream.mode = "hang";
    const slow = finnhubProvider({
      apiKey: API_KEY,
      baseUrl: upstream.baseUrl,
      log,
      timeoutMs: 50,
    });
    failures.push(await rejection(slow.quotes([BTC], T0)));
    for (const error of failures) {
      assert.ok(error instanceof ProviderError, String(error));
      const text = `${error.name} ${error.message} ${error.stack} ${String(error.cause)}`;
      assert.ok(!text.includes(API_KEY.slice(3)), text);
    }
    assert.equal(lines.length, 4);
    for (const line of lines) assert.ok(!line.includes(API_KEY.slice(3)), line);
  } finally {
    await upstream.close();
  }
});

Deno.test("[market] providers: simulated when no key is set, finnhub when one is", async () => {
  const { log } = capturingLog();
  const simulated = createQuoteProvider(
    { marketDataApiKey: undefined, marketDataBaseUrl: "https://finnhub.io/api/v1" },
    clock,
    log,
  );
  assert.equal(simulated.name, "simulated");
  assert.deepEqual(await simulated.quotes([AAPL, BTC], T0), [
    simulatedQuote(AAPL, clock, T0),
    simulatedQuote(BTC, clock, T0),
  ]);
  assert.deepEqual(await simulatedProvider(clock).quotes([], T0), []);
  const real = createQuoteProvider(
    { marketDataApiKey: API_KEY, marketDataBaseUrl: "https://finnhub.io/api/v1" },
    clock,
    log,
  );
  assert.equal(real.name, "finnhub");
  assert.equal(finnhubSymbol(BTC), "BINANCE:BTCUSDT");
  assert.equal(finnhubSymbol(AAPL), "AAPL");
});

Deno.test("[market] finnhub: candles from /stock/candle and /crypto/candle, cached, in the window", async () => {
  const seen: string[] = [];
  let fail = false;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const url = new URL(request.url);
    if (request.headers.get("X-Finnhub-Token") !== API_KEY) {
      return new Response("", { status: 401 });
    }
    seen.push(`${url.pathname}?${url.searchParams}`);
    if (fail) return new Response("", { status: 500 });
    const from = Number(url.searchParams.get("from"));
    // Three one-hour candles from the window's start, newest first to check the sorting.
    const t = [from + 7200, from + 3600, from];
    return Response.json({
      s: "ok",
      t,
      o: [101.5, 100.25, 100],
      h: [102, 101.75, 100.5],
      l: [101, 100, 99.5],
      c: [101.75, 101.5, 100.25],
      v: [300, 200, 100],
    });
  });
  try {
    const provider = finnhubProvider({
      apiKey: API_KEY,
      baseUrl: `http://127.0.0.1:${server.addr.port}`,
      log: createLogger("error", () => {}),
    });
    const start = new Date("2026-06-16T13:00:00Z");
    const query = { timeframe: "1Hour" as const, start, end: T0, limit: 2 };
    const [bars, again] = await Promise.all([
      provider.bars(AAPL, query, T0),
      provider.bars(AAPL, query, T0),
    ]);
    assert.deepEqual(bars.map((b) => b.t), [
      "2026-06-16T13:00:00.000Z",
      "2026-06-16T14:00:00.000Z",
    ], "the last `limit` bars before the end, oldest first");
    assert.deepEqual(bars[1], {
      t: "2026-06-16T14:00:00.000Z",
      o: "100.25",
      h: "101.75",
      l: "100.00",
      c: "101.50",
      v: 200,
    });
    assert.equal(again, bars);
    assert.equal(seen.length, 1, "concurrent requests share one upstream call");
    assert.equal(
      seen[0],
      `/stock/candle?symbol=AAPL&resolution=60&from=${start.getTime() / 1000}&to=${
        T0.getTime() / 1000
      }`,
    );
    await provider.bars(AAPL, query, later(30_000));
    assert.equal(seen.length, 1, "reused within a minute");
    await provider.bars(BTC, { timeframe: "1Day", end: T0, limit: 5 }, T0);
    assert.match(
      seen[1],
      /^\/crypto\/candle\?symbol=BINANCE%3ABTCUSDT&resolution=D&from=\d+&to=\d+$/,
    );
    fail = true;
    await assert.rejects(provider.bars(AAPL, query, later(120_000)), ProviderError);
  } finally {
    await server.shutdown();
  }
});

Deno.test("[market] simulated provider: bars are the simulator's", async () => {
  const bars = await simulatedProvider(clock).bars(
    AAPL,
    { timeframe: "1Day", end: T0, limit: 3 },
    T0,
  );
  assert.equal(bars.length, 3);
  assert.equal(bars[2].t, "2026-06-16T13:30:00.000Z");
});
