/** `deno task bench`: throughput, latency, cold start, page weight and trading figures, all on 127.0.0.1. */
import {
  measurePortfolio,
  PORTFOLIO,
  type PortfolioFigures,
  portfolioReport,
} from "./bench_portfolio.ts";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import zlib from "node:zlib";
import {
  extractAssetUrls,
  formatBytes,
  formatMs,
  formatRatio,
  formatTable,
  formatTimes,
  httpGet,
  type LatencySummary,
  median,
  type PageAsset,
  ratio,
  reusedOnRepeatVisit,
  runLoad,
  summarize,
} from "./bench_lib.ts";
import {
  apiClient,
  BOOK,
  type BookFigures,
  LIST,
  type ListFigures,
  measureExecution,
  measureMarketOrders,
  measureOrderLists,
  ORDER_LOAD,
  type OrderFigures,
} from "./bench_trading.ts";
import { ORDERS_PER_COMMIT, RESTING_PER_COMMIT } from "./seed_orders.ts";
import { measureSlowPaint, type PaintFigures, SLOW } from "./bench_paint.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const APP_SCRIPT = "main.ts";
const BARE_SCRIPT = "scripts/bench_bare_server.ts";
const RESULTS_FILE = `${ROOT}bench-results/latest.json`;

const LOAD = { concurrency: 16, warmupMs: 1_000, durationMs: 5_000, maxRequests: 1_000_000 };
const COLD_START_RUNS = 3;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;
const POLL_INTERVAL_MS = 2;
/** The public landing page, and the budgeted page that needs a signed-in trader. */
const PUBLIC_PAGE = "/";
const SIGNED_IN_PAGE = "/dashboard";
const ACCEPT_ENCODING = "br, gzip";
/** docs/design.md, Performance budgets: bytes of compressed bodies. */
const BUDGETS = { firstVisitBytes: 30 * 1024, repeatVisitBytes: 4 * 1024 };

/**
 * The app as a test would run it: loopback only, throwaway store, no per-request log lines, the
 * market always open, sign-up without email verification, and the client address taken from
 * X-Forwarded-For (the bench sends a fresh one per request; see clientAddress in bench_lib.ts).
 */
const APP_ENV = {
  HOST: "127.0.0.1",
  KV_PATH: ":memory:",
  NODE_ENV: "test",
  LOG_LEVEL: "warn",
  MARKET_HOURS: "always",
  REQUIRE_EMAIL_VERIFICATION: "false",
  TRUST_PROXY: "true",
};

/** Every child still running, so an interrupt can take them down too. */
const running = new Set<Deno.ChildProcess>();
/** Temporary KV files (hundreds of MB with 100 000 orders), removed on every way out. */
let scratchDir: string | undefined;
/** Where resting books are seeded before they are copied to scratchDir: RAM, when there is some. */
let seedDir: string | undefined;
const RAM_DIR = "/dev/shm";

async function main(): Promise<Results> {
  const environment = await describeEnvironment();

  progress(`cold start: ${COLD_START_RUNS} fresh starts of ${APP_SCRIPT}`);
  const coldStartRuns: number[] = [];
  for (let run = 0; run < COLD_START_RUNS; run++) {
    const server = await startServer(APP_SCRIPT, "/api/health");
    await server.stop();
    coldStartRuns.push(server.readyMs);
  }

  progress(`page weight of ${PUBLIC_PAGE} and ${SIGNED_IN_PAGE}, then load on GET /api/health`);
  const app = await startServer(APP_SCRIPT, "/api/health");
  let pages: Results["pages"];
  let health: LoadFigures;
  try {
    pages = {
      home: await measurePageWeight(new URL(PUBLIC_PAGE, app.origin)),
      dashboard: await measureSignedInPage(new URL(SIGNED_IN_PAGE, app.origin)),
      slowPaint: await measureSlowDashboard(new URL(SIGNED_IN_PAGE, app.origin)),
    };
    health = await measureLoad(new URL("/api/health", app.origin));
  } finally {
    await app.stop();
  }

  progress("load on a bare Hono route (baseline)");
  const bare = await startServer(BARE_SCRIPT, "/");
  let baseline: LoadFigures;
  try {
    baseline = await measureLoad(new URL("/", bare.origin));
  } finally {
    await bare.stop();
  }

  scratchDir = await Deno.makeTempDir({ prefix: "orion-bench-" });
  const start = (env: Record<string, string>) => startServer(APP_SCRIPT, "/api/health", env);
  progress(
    `market orders: ${ORDER_LOAD.concurrency} traders for ${
      ORDER_LOAD.durationMs / 1000
    } s through the API, then the same commits through the store port and on raw Deno KV`,
  );
  const orders = await measureMarketOrders(start, scratchDir);
  progress(
    `order lists: seeding ${LIST.small.toLocaleString("en-US")} and ${
      LIST.large.toLocaleString("en-US")
    } orders, then ${LIST.requests} GETs of each list`,
  );
  const lists = await measureOrderLists(start, scratchDir);
  seedDir = await ramDir();
  progress(
    `execution pass: seeding ${count(BOOK.small)} and ${
      count(BOOK.large)
    } resting orders, ${BOOK.passes} passes over each, then market orders on an empty store and with the larger book`,
  );
  const book = await measureExecution(start, scratchDir, seedDir);
  progress(
    `portfolio: seeding ${
      count(PORTFOLIO.fills)
    } fills and a year of equity, then ${PORTFOLIO.requests} GETs of its history and performance`,
  );
  const portfolio = await measurePortfolio(start, scratchDir);

  return {
    ...environment,
    load: {
      ...LOAD,
      health,
      bareHono: baseline,
      healthVsBare: ratio(health.perSecond, baseline.perSecond),
    },
    coldStart: { runsMs: coldStartRuns, medianMs: median(coldStartRuns) },
    pages,
    trading: { orders, lists, book },
    portfolio,
  };
}

/** A new folder in RAM_DIR when it is a folder (Linux), else undefined. */
async function ramDir(): Promise<string | undefined> {
  try {
    if (!(await Deno.stat(RAM_DIR)).isDirectory) return undefined;
    return await Deno.makeTempDir({ dir: RAM_DIR, prefix: "orion-bench-" });
  } catch {
    return undefined;
  }
}

/**
 * The page weight of a page that needs a session, for a trader signed up through the API just
 * before. A page that does not exist yet is reported as missing rather than failing the bench.
 */
async function measureSignedInPage(pageUrl: URL): Promise<PageWeight | MissingPage> {
  const api = apiClient(pageUrl.origin, 1);
  try {
    const cookie = await api.signUp("bench-dashboard@example.com");
    const probe = await api.request("GET", pageUrl.pathname, { cookie });
    if (probe.status === 404) return { url: pageUrl.href, missing: true, status: probe.status };
    return await measurePageWeight(pageUrl, cookie);
  } finally {
    api.close();
  }
}

/** The dashboard's first paint on an emulated slow connection, for a trader signed up now. */
async function measureSlowDashboard(pageUrl: URL): Promise<PaintFigures> {
  progress(
    `first paint of ${pageUrl.pathname} at ${SLOW.roundTripMs} ms round trips and ${
      SLOW.bytesPerSecond / 1024
    } KB/s`,
  );
  const api = apiClient(pageUrl.origin, 1);
  try {
    return await measureSlowPaint(pageUrl, await api.signUp("bench-paint@example.com"));
  } finally {
    api.close();
  }
}

/**
 * Closed-loop load from this process with its own connection pool, closed afterwards. Requests
 * ask for compression as a browser does, so the figures include what compression costs.
 */
async function measureLoad(url: URL): Promise<LoadFigures> {
  const client = Deno.createHttpClient({ http2: false, poolMaxIdlePerHost: LOAD.concurrency });
  const headers = { "Accept-Encoding": ACCEPT_ENCODING };
  try {
    const result = await runLoad(httpGet(url, { client, headers }), LOAD);
    return {
      url: url.href,
      requests: result.requests,
      errors: result.errors,
      firstError: result.firstError ?? null,
      elapsedMs: result.elapsedMs,
      perSecond: result.perSecond,
      latency: summarize(result.samplesMs),
    };
  } finally {
    client.close();
  }
}

/**
 * Spawns `deno run -A script` with APP_ENV and `env` on top, and resolves once `readyPath`
 * answers 200; kills it on failure.
 */
async function startServer(
  script: string,
  readyPath: string,
  env: Record<string, string> = {},
): Promise<Server> {
  const port = freePort();
  const origin = `http://127.0.0.1:${port}`;
  const spawnedAt = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script],
    cwd: ROOT,
    env: { ...APP_ENV, ...env, PORT: String(port) },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  running.add(child);
  let exited: Deno.CommandStatus | undefined;
  const status = child.status.then((value) => (exited = value));
  const stderr = tailOf(child.stderr);

  async function stop() {
    if (!exited) {
      // SIGTERM lets main.ts close its store; SIGKILL is the fallback for a hung shutdown.
      kill(child, "SIGTERM");
      const timer = setTimeout(() => kill(child, "SIGKILL"), STOP_TIMEOUT_MS);
      await status;
      clearTimeout(timer);
    }
    running.delete(child);
    await stderr.done;
  }

  try {
    const readyAt = await pollUntilOk(`${origin}${readyPath}`, () => exited, stderr);
    return { origin, pid: child.pid, readyMs: readyAt - spawnedAt, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Polls `url` until it answers 200; fails when the process exits or START_TIMEOUT_MS passes. */
async function pollUntilOk(
  url: string,
  exited: () => Deno.CommandStatus | undefined,
  stderr: Tail,
): Promise<number> {
  const deadline = performance.now() + START_TIMEOUT_MS;
  let lastProblem = "no answer yet";
  while (performance.now() < deadline) {
    const status = exited();
    if (status) {
      throw new Error(
        `server exited with code ${status.code} before ${url} answered 200:\n${stderr.text()}`,
      );
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.status === 200) return performance.now();
      lastProblem = `HTTP ${response.status}`;
    } catch (error) {
      // Connection refused until the server listens; that is the expected wait, not a failure.
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new Error(
    `${url} did not answer 200 within ${START_TIMEOUT_MS} ms (${lastProblem}):\n${stderr.text()}`,
  );
}

/**
 * Compressed bytes of a first and a repeat visit of a page. Deno's fetch decompresses bodies
 * out of sight, so every resource is downloaded with curl instead: without `--compressed`, curl
 * asks for nothing itself and writes the body exactly as it came off the wire, so the file's
 * length is the compressed size. The body is decompressed here only to parse the HTML and to
 * report the decoded size.
 */
async function measurePageWeight(pageUrl: URL, cookie?: string): Promise<PageWeight> {
  const html = await download(pageUrl.href, "html", cookie);
  const assets = extractAssetUrls(new TextDecoder().decode(html.decoded), pageUrl);
  const resources = [html.resource];
  for (const asset of assets) {
    resources.push((await download(asset.url, asset.kind, cookie)).resource);
  }

  // A repeat visit fetches the page again plus whatever the browser may not reuse from its cache.
  const repeatHtml = (await download(pageUrl.href, "html", cookie)).resource;
  const refetched = resources.filter((resource) =>
    resource.kind !== "html" && !reusedOnRepeatVisit(resource.cacheControl)
  );
  const sum = (list: Resource[]) => list.reduce((total, resource) => total + resource.wireBytes, 0);
  const byKind = (kind: Resource["kind"]) => sum(resources.filter((r) => r.kind === kind));
  const firstVisit = sum(resources);
  const repeatVisit = repeatHtml.wireBytes + sum(refetched);
  return {
    url: pageUrl.href,
    acceptEncoding: ACCEPT_ENCODING,
    resources,
    firstVisit: {
      htmlBytes: byKind("html"),
      cssBytes: byKind("css"),
      jsBytes: byKind("js"),
      iconBytes: byKind("icon"),
      totalBytes: firstVisit,
      budgetBytes: BUDGETS.firstVisitBytes,
      withinBudget: firstVisit <= BUDGETS.firstVisitBytes,
    },
    repeatVisit: {
      htmlBytes: repeatHtml.wireBytes,
      refetchedUrls: refetched.map((resource) => resource.url),
      totalBytes: repeatVisit,
      budgetBytes: BUDGETS.repeatVisitBytes,
      withinBudget: repeatVisit <= BUDGETS.repeatVisitBytes,
    },
  };
}

/** One resource through curl, with the session cookie a signed-in browser would send. */
async function download(
  url: string,
  kind: Resource["kind"],
  cookie?: string,
): Promise<{ resource: Resource; decoded: Uint8Array }> {
  const bodyFile = await Deno.makeTempFile({ prefix: "orion-bench-" });
  try {
    let output: Deno.CommandOutput;
    try {
      output = await new Deno.Command("curl", {
        args: [
          "--silent",
          "--show-error",
          "--noproxy",
          "*",
          "--max-time",
          "10",
          "--header",
          `Accept-Encoding: ${ACCEPT_ENCODING}`,
          "--output",
          bodyFile,
          ...(cookie ? ["--cookie", cookie] : []),
          "--write-out",
          '{"info":%{json},"headers":%{header_json}}',
          url,
        ],
        stdin: "null",
      }).output();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new Error("curl is needed to measure compressed page weight; install it first");
      }
      throw error;
    }
    const stderr = new TextDecoder().decode(output.stderr).trim();
    if (!output.success) throw new Error(`curl ${url} failed: ${stderr}`);
    const { info, headers } = JSON.parse(new TextDecoder().decode(output.stdout)) as CurlReport;
    if (info.http_code < 200 || info.http_code > 299) {
      throw new Error(`GET ${url} answered ${info.http_code}, so its weight means nothing`);
    }
    const wire = await Deno.readFile(bodyFile);
    if (wire.length !== info.size_download) {
      throw new Error(`${url}: curl counted ${info.size_download} bytes but wrote ${wire.length}`);
    }
    const encoding = headers["content-encoding"]?.join(", ").toLowerCase() || "identity";
    const decoded = decode(wire, encoding, url);
    return {
      resource: {
        url,
        kind,
        status: info.http_code,
        contentType: headers["content-type"]?.[0] ?? null,
        contentEncoding: encoding,
        cacheControl: headers["cache-control"]?.join(", ") ?? null,
        wireBytes: wire.length,
        decodedBytes: decoded.length,
        headerBytes: info.size_header,
      },
      decoded,
    };
  } finally {
    await Deno.remove(bodyFile);
  }
}

function decode(body: Uint8Array, encoding: string, url: string): Uint8Array {
  switch (encoding) {
    case "identity":
      return body;
    case "br":
      return zlib.brotliDecompressSync(body);
    case "gzip":
      return zlib.gunzipSync(body);
    case "deflate":
      return zlib.inflateSync(body);
    default:
      throw new Error(`${url}: cannot decode Content-Encoding "${encoding}"`);
  }
}

/**
 * A port the OS says is free now; the child binds it a moment later, on loopback only. Choosing
 * it here, rather than reading the "listening" line, is what lets the app run with
 * LOG_LEVEL=warn, which silences that line along with the per-request ones.
 */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

function kill(child: Deno.ChildProcess, signal: Deno.Signal) {
  try {
    child.kill(signal);
  } catch {
    // It exited between the check and the signal, which is what we wanted.
  }
}

/** Keeps the end of a child's stderr to explain a failed start; draining it keeps the pipe from filling. */
function tailOf(stream: ReadableStream<Uint8Array>): Tail {
  let text = "";
  const done = (async () => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text = (text + chunk).slice(-4_000);
    }
  })().catch(() => {
    // Only diagnostics are lost when the pipe breaks; the measurement does not depend on them.
  });
  return { text: () => text.trim() || "(no stderr output)", done };
}

async function describeEnvironment() {
  const git = async (...args: string[]) => {
    try {
      const output = await new Deno.Command("git", { args, cwd: ROOT, stderr: "null" }).output();
      return output.success ? new TextDecoder().decode(output.stdout).trim() : null;
    } catch {
      return null;
    }
  };
  const [commit, changes] = await Promise.all([
    git("rev-parse", "--short", "HEAD"),
    git("status", "--porcelain"),
  ]);
  return {
    date: new Date().toISOString(),
    commit,
    uncommittedChanges: changes === null ? null : changes !== "",
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    os: `${Deno.build.os}-${Deno.build.arch}`,
    cpuCount: navigator.hardwareConcurrency,
    // Load at the start tells whether another job on the machine may have skewed the figures.
    loadAverage: Deno.loadavg(),
  };
}

function report(results: Results): string {
  const { load, coldStart, pages, trading } = results;
  const firstErrors = [load.health, load.bareHono]
    .filter((figures) => figures.firstError !== null)
    .map((figures) => `first error on ${figures.url}: ${figures.firstError}`);

  return [
    `Orion bench · ${results.date} · ${results.commit ?? "no git"}${
      results.uncommittedChanges ? " (uncommitted changes)" : ""
    } · deno ${results.deno} · ${results.cpuCount} CPUs · load ${
      results.loadAverage.map((value) => value.toFixed(2)).join(" ")
    }`,
    "",
    `Load: ${load.concurrency} connections, ${load.warmupMs / 1000} s warm-up, ${
      load.durationMs / 1000
    } s measured, client in this process (fetch)`,
    formatTable(
      ["route", "req/s", "p50", "p99", "requests", "errors"],
      [
        loadRow("app GET /api/health", load.health),
        loadRow("bare Hono GET /", load.bareHono),
      ],
      ["left", "right", "right", "right", "right", "right"],
    ),
    `app / bare throughput: ${formatRatio(load.healthVsBare)}`,
    ...firstErrors,
    "",
    `Cold start (spawn → first 200 from /api/health): median ${
      formatMs(coldStart.medianMs)
    } (runs: ${coldStart.runsMs.map((ms) => ms.toFixed(1)).join(", ")} ms)`,
    "",
    pageReport(pages.home),
    "",
    "missing" in pages.dashboard
      ? `Page weight of ${pages.dashboard.url}: missing (HTTP ${pages.dashboard.status} for a signed-in trader) ❌`
      : pageReport(pages.dashboard, "signed in"),
    "",
    paintReport(pages.slowPaint),
    "",
    ordersReport(trading.orders),
    "",
    listsReport(trading.lists),
    "",
    bookReport(trading.book, trading.orders),
    portfolioReport(results.portfolio),
    "",
    `Results written to ${RESULTS_FILE}`,
  ].join("\n");
}

function mark(ok: boolean): string {
  return ok ? "✅" : "❌";
}

function count(value: number): string {
  return value.toLocaleString("en-US");
}

function loadRow(name: string, figures: Omit<LoadFigures, "url">): string[] {
  return [
    name,
    count(Math.round(figures.perSecond)),
    formatMs(figures.latency.p50Ms),
    formatMs(figures.latency.p99Ms),
    count(figures.requests),
    `${count(figures.errors)}${figures.errors > 0 ? " ❌" : ""}`,
  ];
}

function paintReport(paint: PaintFigures): string {
  return `First paint of ${paint.url} at ${paint.roundTripMs} ms round trips and ${
    paint.bytesPerSecond / 1024
  } KB/s (Chromium, empty cache): ${formatMs(paint.firstPaintMs)} = ${
    paint.roundTrips.toFixed(2)
  } round trips (it waited for ${
    formatBytes(paint.blockingBytes)
  } of HTML and CSS); budget: two round trips, so under ${formatMs(paint.budgetMs)} ${
    mark(paint.withinBudget)
  }`;
}

function pageReport(page: PageWeight, note?: string): string {
  const kb = (bytes: number) => `${bytes / 1024} KB`;
  const { firstVisit, repeatVisit } = page;
  return [
    `Page weight of ${page.url}${
      note ? `, ${note}` : ""
    } (Accept-Encoding: ${page.acceptEncoding}; bytes on the wire)`,
    formatTable(
      ["resource", "kind", "encoding", "wire", "decoded", "cache-control"],
      page.resources.map((resource) => [
        new URL(resource.url).pathname,
        resource.kind,
        resource.contentEncoding,
        formatBytes(resource.wireBytes),
        formatBytes(resource.decodedBytes),
        resource.cacheControl ?? "(none)",
      ]),
      ["left", "left", "left", "right", "right", "left"],
    ),
    "",
    formatTable(
      ["visit", "bytes", "budget", ""],
      [
        ["first: HTML", formatBytes(firstVisit.htmlBytes), "", ""],
        ["first: CSS", formatBytes(firstVisit.cssBytes), "", ""],
        ["first: JS", formatBytes(firstVisit.jsBytes), "", ""],
        ["first: icon", formatBytes(firstVisit.iconBytes), "", ""],
        [
          "first visit total",
          formatBytes(firstVisit.totalBytes),
          kb(firstVisit.budgetBytes),
          mark(firstVisit.withinBudget),
        ],
        [
          `repeat visit (HTML${
            repeatVisit.refetchedUrls.length
              ? ` + ${repeatVisit.refetchedUrls.length} uncached`
              : ""
          })`,
          formatBytes(repeatVisit.totalBytes),
          kb(repeatVisit.budgetBytes),
          mark(repeatVisit.withinBudget),
        ],
      ],
      ["left", "right", "right", "left"],
    ),
  ].join("\n");
}

function ordersReport(orders: OrderFigures): string {
  const scan = orders.integrityAfterLoad;
  const firstErrors = [orders.endToEnd, orders.rawStore, orders.rawKv]
    .filter((figures) => figures.firstError !== null)
    .map((figures) => `first error of ${figures.what}: ${figures.firstError}`);
  const target = (value: number | null, of: string) =>
    `end to end / ${of}: ${formatRatio(value)} (target ≥ ${formatRatio(orders.target)}) ${
      mark(value !== null && value >= orders.target)
    }`;
  const { unit } = orders;
  return [
    `Market orders: ${orders.concurrency} traders (one account each), ${
      orders.warmupMs / 1000
    } s warm-up, ${orders.durationMs / 1000} s measured; 1 share of ${
      orders.symbols.join(", ")
    }, buy then sell; all on a KV file`,
    formatTable(
      ["what", "per s", "p50", "p99", "calls", "errors"],
      [
        loadRow("app POST /api/orders (market, end to end)", orders.endToEnd),
        loadRow("store port: store.commit of the same unit", orders.rawStore),
        loadRow("raw Deno KV: atomic() of the same size", orders.rawKv),
      ],
      ["left", "right", "right", "right", "right", "right"],
    ),
    target(orders.ratio, "store port"),
    target(orders.kvRatio, "raw Deno KV"),
    `a market order's commit, as Deno KV saw it (mean of ${unit.recorded}): ${unit.checks} checks, ${unit.sets} sets, ${unit.deletes} deletes, ${
      formatBytes(unit.keyBytes)
    } of keys, ${
      formatBytes(unit.valueBytes)
    } of values; the port read ${unit.keysReadFirst} keys before it`,
    ...firstErrors,
    `invariants after the load: ${count(scan.orders)} orders, ${count(scan.trades)} trades, ${
      count(scan.ledgerEntries)
    } ledger entries scanned in ${formatMs(scan.elapsedMs)}: ${
      scan.problems === 0 ? "all hold" : `${count(scan.problems)} problems`
    } ${mark(scan.problems === 0)}`,
    ...scan.firstProblems.map((line) => `  ${line}`),
  ].join("\n");
}

function listsReport(lists: ListFigures): string {
  const row = (figures: ListFigures["small"]) => [
    count(figures.orders),
    formatMs(figures.latency.p50Ms),
    formatMs(figures.latency.p99Ms),
    count(figures.requests),
    `${count(figures.errors)}${figures.errors > 0 ? " ❌" : ""}`,
    formatBytes(figures.bodyBytes),
  ];
  const same = lists.p50Ratio !== null && lists.p50Ratio <= lists.tolerance;
  const { seed, integrityScan: scan } = lists;
  return [
    `Order list latency: GET ${lists.path}, one request at a time${
      lists.htmlPage
        ? " (the HTML page)"
        : ` (the JSON list: /orders answered HTTP ${lists.htmlProbeStatus}, not an HTML page)`
    }`,
    formatTable(
      ["orders behind it", "p50", "p99", "requests", "errors", "body (decoded)"],
      [row(lists.small), row(lists.large)],
      ["right", "right", "right", "right", "right", "right"],
    ),
    `${count(lists.large.orders)} / ${count(lists.small.orders)} orders: p50 ${
      formatRatio(lists.p50Ratio)
    }, p99 ${formatRatio(lists.p99Ratio)} (same cost: p50 within ${formatRatio(lists.tolerance)}) ${
      mark(same)
    }`,
    `seeded ${count(seed.orders)} orders in ${(seed.elapsedMs / 1000).toFixed(1)} s (${
      count(Math.round(seed.perSecond))
    } orders/s, ${ORDERS_PER_COMMIT} per commit; KV file ${formatBytes(seed.fileBytes)})`,
    `integrity scan of that store (${count(scan.orders)} orders): ${formatMs(scan.elapsedMs)}, ${
      scan.problems === 0 ? "all invariants hold" : `${count(scan.problems)} problems`
    } ${mark(scan.problems === 0)}`,
    ...scan.firstProblems.map((line) => `  ${line}`),
  ].join("\n");
}

function bookReport(book: BookFigures, orders: OrderFigures): string {
  const { small, large } = book;
  const row = (figures: BookFigures["small"]) => [
    count(figures.orders),
    count(figures.accounts),
    formatMs(figures.latency.p50Ms),
    formatMs(figures.latency.p99Ms),
    `${(figures.elapsedMs / 1000).toFixed(1)} s`,
    formatBytes(figures.fileBytes),
  ];
  const within = book.p50Ratio !== null && book.p50Ratio <= book.target;
  const changed = small.changed + large.changed;
  const sweep = large.sweep;
  const withBook = book.ordersWithLargeBook;
  return [
    `Execution pass over resting limit orders, none marketable, on ${book.symbols} symbols (KV file): ${large.passes} timed passes on each book, taking turns, after ${BOOK.warmupPasses} untimed`,
    formatTable(
      ["orders resting", "accounts", "pass p50", "pass p99", "seeded in", "KV file"],
      [row(small), row(large)],
      ["right", "right", "right", "right", "right", "right"],
    ),
    `${count(large.orders)} / ${count(small.orders)} resting: pass p50 ${
      formatTimes(book.p50Ratio)
    } (target ≤ ${formatTimes(book.target)}) ${mark(within)}`,
    `the timed passes changed ${count(changed)} orders (a book nothing can reach: 0) ${
      mark(changed === 0)
    }`,
    sweep
      ? `sweep of the ${count(large.orders)} working orders (at start and hourly): ${
        formatMs(sweep.elapsedMs)
      }, ${count(sweep.indexed)} given a new place in the execution index, ${
        count(sweep.cancelled)
      } cancelled (seeded as placement writes them: 0 and 0) ${
        mark(sweep.indexed === 0 && sweep.cancelled === 0)
      }`
      : "sweep: not timed",
    `seeded ${count(large.orders)} orders in ${(large.elapsedMs / 1000).toFixed(1)} s (${
      count(Math.round(large.orders / (large.elapsedMs / 1000)))
    } orders/s, ${RESTING_PER_COMMIT} per commit${
      large.seededInRam ? `, in ${RAM_DIR} then copied to disk` : ""
    })`,
    formatTable(
      ["market orders end to end", "per s", "p50", "p99", "calls", "errors", "app idle after"],
      [
        bookLoadRow("empty store", book.ordersWithoutBook),
        bookLoadRow(`${count(large.orders)} orders resting`, withBook),
      ],
      ["left", "right", "right", "right", "right", "right", "right"],
    ),
    `with ${count(large.orders)} resting / empty: ${
      formatRatio(ratio(withBook.perSecond, book.ordersWithoutBook.perSecond))
    } (the market-order table above: ${count(Math.round(orders.endToEnd.perSecond))}/s)`,
    ...[book.ordersWithoutBook, withBook].filter((figures) => figures.firstError)
      .map((figures) => `first error of ${figures.what}: ${figures.firstError}`),
  ].join("\n");
}

/** A load row, with how long the app took to idle before it (waitUntilIdle in bench_trading.ts). */
function bookLoadRow(name: string, figures: BookFigures["ordersWithLargeBook"]): string[] {
  const settle = figures.settle;
  const waited = settle
    ? `${(settle.waitedMs / 1000).toFixed(1)} s${settle.idle ? "" : " ❌"}`
    : "";
  return [...loadRow(name, figures), waited];
}

function progress(message: string) {
  console.error(`bench: ${message}…`);
}

if (import.meta.main) {
  // Loopback must never go through a proxy that the environment may configure.
  Deno.env.set("NO_PROXY", ["127.0.0.1", Deno.env.get("NO_PROXY")].filter(Boolean).join(","));
  const removeScratch = () => {
    for (const dir of [scratchDir, seedDir]) if (dir) Deno.removeSync(dir, { recursive: true });
    scratchDir = seedDir = undefined;
  };
  const interrupt = () => {
    for (const child of running) kill(child, "SIGKILL");
    removeScratch();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", interrupt);
  Deno.addSignalListener("SIGTERM", interrupt);
  try {
    const { values: flags } = parseArgs({
      args: Deno.args,
      options: { json: { type: "boolean", default: false } },
    });
    const results = await main();
    await Deno.mkdir(`${ROOT}bench-results`, { recursive: true });
    const json = JSON.stringify(results, null, 2);
    await Deno.writeTextFile(RESULTS_FILE, `${json}\n`);
    console.log(flags.json ? json : report(results));
  } catch (error) {
    console.error(`bench: cannot run: ${error instanceof Error ? error.message : error}`);
    Deno.exitCode = 1;
  } finally {
    for (const child of running) kill(child, "SIGKILL");
    removeScratch();
    Deno.removeSignalListener("SIGINT", interrupt);
    Deno.removeSignalListener("SIGTERM", interrupt);
  }
}

type Server = { origin: string; pid: number; readyMs: number; stop(): Promise<void> };

type Tail = { text(): string; done: Promise<void> };

type CurlReport = {
  info: { http_code: number; size_header: number; size_download: number };
  headers: Record<string, string[] | undefined>;
};

type LoadFigures = {
  url: string;
  requests: number;
  errors: number;
  firstError: string | null;
  elapsedMs: number;
  perSecond: number;
  latency: LatencySummary;
};

type Resource = {
  url: string;
  kind: PageAsset["kind"] | "html";
  status: number;
  contentType: string | null;
  contentEncoding: string;
  cacheControl: string | null;
  /** Body bytes as sent, compressed when the server compressed them. */
  wireBytes: number;
  /** Body bytes after undoing Content-Encoding. */
  decodedBytes: number;
  /** Status line and headers, not counted against the budget but worth watching. */
  headerBytes: number;
};

type PageWeight = {
  url: string;
  acceptEncoding: string;
  resources: Resource[];
  firstVisit: {
    htmlBytes: number;
    cssBytes: number;
    jsBytes: number;
    iconBytes: number;
    totalBytes: number;
    budgetBytes: number;
    withinBudget: boolean;
  };
  repeatVisit: {
    htmlBytes: number;
    refetchedUrls: string[];
    totalBytes: number;
    budgetBytes: number;
    withinBudget: boolean;
  };
};

type Results = Awaited<ReturnType<typeof describeEnvironment>> & {
  load: typeof LOAD & {
    health: LoadFigures;
    bareHono: LoadFigures;
    /** Health throughput as a fraction of the bare route's. */
    healthVsBare: number | null;
  };
  coldStart: { runsMs: number[]; medianMs: number };
  pages: { home: PageWeight; dashboard: PageWeight | MissingPage; slowPaint: PaintFigures };
  trading: { orders: OrderFigures; lists: ListFigures; book: BookFigures };
  portfolio: PortfolioFigures;
};

/** A page the bench measures that the app does not serve yet. */
type MissingPage = { url: string; missing: true; status: number };
