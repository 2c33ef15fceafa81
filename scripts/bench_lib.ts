/**
 * The app-independent parts of `deno task bench`: load runner, statistics, asset scan, tables, and
 * the recording and replaying of Deno KV commits.
 */
import { serialize } from "node:v8";

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN when there are none. */
export function percentile(samples: ArrayLike<number>, p: number): number {
  if (p < 0 || p > 100) throw new RangeError(`percentile must be from 0 to 100 (got ${p})`);
  return percentileOfSorted(sorted(samples), p);
}

/** The middle value (the mean of the two middle values for an even count); NaN when empty. */
export function median(samples: ArrayLike<number>): number {
  const values = sorted(samples);
  if (values.length === 0) return NaN;
  const mid = values.length >> 1;
  return values.length % 2 === 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

/** Count, mean, p50, p99 and max of latency samples in milliseconds; NaN figures when empty. */
export function summarize(samples: ArrayLike<number>): LatencySummary {
  const values = sorted(samples);
  let sum = 0;
  for (const value of values) sum += value;
  return {
    count: values.length,
    meanMs: values.length === 0 ? NaN : sum / values.length,
    p50Ms: percentileOfSorted(values, 50),
    p99Ms: percentileOfSorted(values, 99),
    maxMs: values.length === 0 ? NaN : values[values.length - 1],
  };
}

/**
 * Calls `perform` from `concurrency` workers in a closed loop: each worker starts its next call
 * as soon as the previous one settles. Each call gets its worker's number (0..concurrency-1), so
 * a worker can keep state of its own, such as a signed-in user. A call that throws or rejects is an error; one that
 * resolves is a success and its latency is kept. Calls started during the warm-up are not
 * counted, so JIT, connection set-up and lazy caches do not weigh on the figures. Stops starting
 * calls after `durationMs` of measurement or `maxRequests` measured calls, whichever comes first.
 */
export async function runLoad(
  perform: (worker: number) => Promise<unknown>,
  options: LoadOptions,
): Promise<LoadResult> {
  const { concurrency, warmupMs = 0, durationMs, maxRequests = Infinity } = options;
  if (!(Number.isInteger(concurrency) && concurrency > 0)) {
    throw new RangeError(`concurrency must be a positive integer (got ${concurrency})`);
  }
  const samplesMs: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let started = 0;
  let lastEnd = 0;
  const measureFrom = performance.now() + warmupMs;
  const stopAt = measureFrom + durationMs;

  async function worker(number: number) {
    for (;;) {
      const start = performance.now();
      if (start >= stopAt) return;
      const measured = start >= measureFrom;
      if (measured && started >= maxRequests) return;
      if (measured) started++;
      let failure: unknown;
      let failed = false;
      try {
        await perform(number);
      } catch (error) {
        failed = true;
        failure = error;
      }
      const end = performance.now();
      if (!measured) continue;
      lastEnd = Math.max(lastEnd, end);
      if (failed) {
        errors++;
        firstError ??= failure instanceof Error ? failure.message : String(failure);
      } else {
        samplesMs.push(end - start);
      }
    }
  }

  await Promise.all(Array.from({ length: concurrency }, (_, number) => worker(number)));
  // The window runs until the last measured call settled, so calls in flight at the deadline count.
  const elapsedMs = Math.max(0, lastEnd - measureFrom);
  const requests = samplesMs.length + errors;
  return {
    requests,
    errors,
    firstError,
    elapsedMs,
    perSecond: elapsedMs > 0 ? samplesMs.length / (elapsedMs / 1000) : 0,
    samplesMs,
  };
}

/**
 * Returns a `runLoad` step that GETs `url` and reads the whole body. A non-2xx status throws,
 * so it counts as an error and never as a fast success. Redirects are not followed: a page that
 * bounces to /sign-in would otherwise be timed as the sign-in page.
 */
export function httpGet(
  url: string | URL,
  options: { client?: Deno.HttpClient; headers?: HeadersInit; timeoutMs?: number } = {},
): () => Promise<void> {
  const { client, headers, timeoutMs = 10_000 } = options;
  return async function httpGet() {
    const response = await fetch(url, {
      client,
      headers,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    // Reading the body to its end frees the connection for the next call on this keep-alive pool.
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`HTTP ${response.status} from GET ${url}`);
  };
}

/**
 * Same-origin stylesheets, scripts and icons a browser would fetch for this page, in document
 * order and without duplicates. This is a scan of `<link>` and `<script>` tags, not a full HTML
 * parser: it is meant for the server-rendered pages of this app, whose markup hono/jsx writes.
 */
export function extractAssetUrls(html: string, pageUrl: string | URL): PageAsset[] {
  const base = new URL(pageUrl);
  const found = new Map<string, PageAsset>();
  // Commented-out markup is not fetched by a browser.
  const markup = html.replace(/<!--[\s\S]*?-->/g, "");
  for (const match of markup.matchAll(/<(link|script)\b([^>]*)>/gi)) {
    const tag = match[1].toLowerCase();
    const attributes = parseAttributes(match[2]);
    let kind: PageAsset["kind"] | undefined;
    let href: string | undefined;
    if (tag === "script") {
      [kind, href] = ["js", attributes.get("src")];
    } else {
      const rel = (attributes.get("rel") ?? "").toLowerCase().split(/\s+/);
      if (rel.includes("stylesheet")) kind = "css";
      else if (rel.includes("icon")) kind = "icon";
      href = attributes.get("href");
    }
    if (kind === undefined || href === undefined || href.trim() === "") continue;
    const url = URL.parse(href.trim(), base);
    if (url === null || url.origin !== base.origin) continue;
    url.hash = "";
    if (!found.has(url.href)) found.set(url.href, { kind, url: url.href });
  }
  return [...found.values()];
}

/**
 * Whether a browser reuses a response with this Cache-Control on a later visit without asking the
 * server again: it must be fresh for a while (max-age > 0) and neither no-store nor no-cache.
 */
export function reusedOnRepeatVisit(cacheControl: string | null | undefined): boolean {
  const directives = (cacheControl ?? "").toLowerCase().split(",").map((part) => part.trim());
  if (directives.includes("no-store") || directives.includes("no-cache")) return false;
  return directives.some((part) => /^max-age=\d+$/.test(part) && Number(part.slice(8)) > 0);
}

/**
 * Lays out rows as a plain-text table with a header rule. Columns are left-aligned unless `align`
 * says otherwise; widths count emoji such as ✅ as two terminal cells so columns line up.
 */
export function formatTable(
  header: string[],
  rows: string[][],
  align: ("left" | "right")[] = [],
): string {
  const widths = header.map((cell, column) =>
    Math.max(displayWidth(cell), ...rows.map((row) => displayWidth(row[column] ?? "")))
  );
  const line = (cells: string[]) =>
    widths.map((width, column) => {
      const cell = cells[column] ?? "";
      const padding = " ".repeat(width - displayWidth(cell));
      return align[column] === "right" ? padding + cell : cell + padding;
    }).join("  ").trimEnd();
  return [line(header), widths.map((width) => "-".repeat(width)).join("  "), ...rows.map(line)]
    .join("\n");
}

/** Terminal cells a string takes: emoji shown as pictures take two, everything else one. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += /\p{Emoji_Presentation}/u.test(char) ? 2 : 1;
  return width;
}

/**
 * Bytes as "1,234 B" under 10 KiB, "12.3 KB" (KiB) under 10 MiB and "516.4 MB" (MiB) above, to
 * keep table columns short.
 */
export function formatBytes(bytes: number): string {
  if (bytes < 10 * 1024) return `${bytes.toLocaleString("en-US")} B`;
  if (bytes < 10 * 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** part ÷ whole, or null when the whole is not a positive figure (nothing to compare with). */
export function ratio(part: number, whole: number): number | null {
  return whole > 0 && Number.isFinite(part) && Number.isFinite(whole) ? part / whole : null;
}

/** A ratio as a whole percentage ("63 %"), or "n/a". */
export function formatRatio(value: number | null): string {
  return value === null ? "n/a" : `${Math.round(value * 100)} %`;
}

/** A ratio as a multiple with two decimals ("2.31×"), or "n/a". */
export function formatTimes(value: number | null): string {
  return value === null ? "n/a" : `${value.toFixed(2)}×`;
}

/**
 * The n-th client address of a load run (n ≥ 0), in 10.0.0.0/8 and never a network (.0) or
 * broadcast (.255) address. Sent as X-Forwarded-For to an app that trusts its proxy, each request
 * looks like another trader behind the proxy, so the per-address API limit never shapes a figure.
 */
export function clientAddress(n: number): string {
  if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`n must be a whole number (got ${n})`);
  const hosts = 254;
  const host = (n % hosts) + 1;
  const subnet = Math.floor(n / hosts) % (256 * 256);
  return `10.${subnet >> 8}.${subnet & 255}.${host}`;
}

/** A millisecond figure with one decimal, or "n/a" when there was nothing to measure. */
export function formatMs(ms: number): string {
  return Number.isFinite(ms) ? `${ms.toFixed(1)} ms` : "n/a";
}

/**
 * Runs `action` and records every Deno KV atomic commit made in this process meanwhile (its
 * checks, sets and deletes) and how many keys were read with get and getMany, then puts Deno KV
 * back as it was. It patches Deno KV's prototypes, so nothing else should use KV meanwhile.
 */
export async function recordKv<T>(
  action: () => Promise<T>,
): Promise<{ result: T; commits: KvCommit[]; keysRead: number }> {
  const atomicProto = Deno.AtomicOperation.prototype;
  const kvProto = Deno.Kv.prototype;
  const saved = {
    check: atomicProto.check,
    set: atomicProto.set,
    delete: atomicProto.delete,
    commit: atomicProto.commit,
    get: kvProto.get,
    getMany: kvProto.getMany,
  };
  const pending = new WeakMap<Deno.AtomicOperation, KvCommit>();
  const commits: KvCommit[] = [];
  let keysRead = 0;
  const of = (atomic: Deno.AtomicOperation) => {
    let commit = pending.get(atomic);
    if (!commit) pending.set(atomic, commit = { checks: [], mutations: [] });
    return commit;
  };
  atomicProto.check = function (this: Deno.AtomicOperation, ...checks: Deno.AtomicCheck[]) {
    of(this).checks.push(...checks.map(({ key, versionstamp }) => ({ key, versionstamp })));
    return saved.check.apply(this, checks);
  };
  atomicProto.set = function (
    this: Deno.AtomicOperation,
    ...args: Parameters<Deno.AtomicOperation["set"]>
  ) {
    of(this).mutations.push({ type: "set", key: args[0], value: args[1] });
    return saved.set.apply(this, args);
  };
  atomicProto.delete = function (this: Deno.AtomicOperation, key: Deno.KvKey) {
    of(this).mutations.push({ type: "delete", key });
    return saved.delete.call(this, key);
  };
  atomicProto.commit = async function (this: Deno.AtomicOperation) {
    const result = await saved.commit.call(this);
    if (result.ok) commits.push(of(this));
    return result;
  };
  kvProto.get = function (this: Deno.Kv, ...args: Parameters<Deno.Kv["get"]>) {
    keysRead++;
    return saved.get.apply(this, args);
  } as Deno.Kv["get"];
  kvProto.getMany = function (this: Deno.Kv, ...args: Parameters<Deno.Kv["getMany"]>) {
    keysRead += args[0].length;
    return saved.getMany.apply(this, args);
  } as Deno.Kv["getMany"];
  try {
    return { result: await action(), commits, keysRead };
  } finally {
    Object.assign(atomicProto, {
      check: saved.check,
      set: saved.set,
      delete: saved.delete,
      commit: saved.commit,
    });
    Object.assign(kvProto, { get: saved.get, getMany: saved.getMany });
  }
}

/**
 * The size of a commit: checks, sets, deletes, and the bytes of the keys (as Deno KV encodes key
 * parts) and of the values (V8-serialised, as Deno KV stores them, header included).
 */
export function kvCommitSize(commit: KvCommit): KvCommitSize {
  let keyBytes = commit.checks.reduce((sum, check) => sum + kvKeyBytes(check.key), 0);
  let valueBytes = 0;
  let sets = 0;
  for (const mutation of commit.mutations) {
    keyBytes += kvKeyBytes(mutation.key);
    if (mutation.type === "set") {
      sets++;
      valueBytes += serialize(mutation.value).length;
    }
  }
  return {
    checks: commit.checks.length,
    sets,
    deletes: commit.mutations.length - sets,
    keyBytes,
    valueBytes,
  };
}

/** Bytes of a key as Deno KV encodes it: a tag per part, strings and bytes end with a zero. */
export function kvKeyBytes(key: Deno.KvKey): number {
  let bytes = 0;
  for (const part of key) {
    if (typeof part === "string") bytes += 2 + new TextEncoder().encode(part).length;
    else if (part instanceof Uint8Array) bytes += 2 + part.length;
    else if (typeof part === "number") bytes += 9;
    else if (typeof part === "bigint") bytes += 2 + Math.ceil(part.toString(16).length / 2);
    else bytes += 1;
  }
  return bytes;
}

/**
 * A replayer of recorded commits on a Deno KV: each call commits the next recording in turn with
 * the same checks, sets (the same values) and deletes, reading nothing first, so it measures what
 * Deno KV itself costs for those commits. A key the recording checked absent was created by it,
 * and so was every key that names such a key's last part (a new document's index entries name its
 * id): those are made anew on every call, with the call's number after their last part. The other
 * keys are rewritten in place, checked at the versionstamp the previous call left on them, so
 * replayers sharing one KV must replay recordings of different documents, as the writers they
 * stand for did.
 */
export function kvReplayer(kv: Deno.Kv, recordings: KvCommit[]): () => Promise<void> {
  if (recordings.length === 0) throw new RangeError("nothing recorded to replay");
  const plans = recordings.map((commit) => {
    const absent = commit.checks.filter((check) => check.versionstamp === null);
    const created = new Set(absent.map((check) => keyText(check.key)));
    const names = new Set(absent.map((check) => keyText(check.key.slice(-1))));
    const plan = (key: Deno.KvKey) => ({
      key,
      text: keyText(key),
      fresh: created.has(keyText(key)) || names.has(keyText(key.slice(-1))),
    });
    return {
      checks: commit.checks.map((check) => plan(check.key)),
      mutations: commit.mutations.map((mutation) => ({
        ...plan(mutation.key),
        value: mutation.type === "set" ? mutation.value : undefined,
        set: mutation.type === "set",
      })),
    };
  });
  const versionstamps = new Map<string, string>();
  let calls = 0;
  return async function replay() {
    const call = calls++;
    const plan = plans[call % plans.length];
    const keyOf = (step: { key: Deno.KvKey; fresh: boolean }) => {
      if (!step.fresh) return step.key;
      const last = step.key[step.key.length - 1];
      return typeof last === "string"
        ? [...step.key.slice(0, -1), `${last}~${call}`]
        : [...step.key, call];
    };
    const atomic = kv.atomic();
    for (const check of plan.checks) {
      atomic.check({
        key: keyOf(check),
        versionstamp: check.fresh ? null : versionstamps.get(check.text) ?? null,
      });
    }
    for (const mutation of plan.mutations) {
      if (mutation.set) atomic.set(keyOf(mutation), mutation.value);
      else atomic.delete(keyOf(mutation));
    }
    const result = await atomic.commit();
    if (!result.ok) throw new Error("a replayed commit failed its checks");
    for (const mutation of plan.mutations) {
      if (mutation.fresh) continue;
      if (mutation.set) versionstamps.set(mutation.text, result.versionstamp);
      else versionstamps.delete(mutation.text);
    }
  };
}

function keyText(key: Deno.KvKey): string {
  return key.map((part) =>
    typeof part === "bigint"
      ? `${part}n`
      : part instanceof Uint8Array
      ? `b${[...part].join(",")}`
      : JSON.stringify(part)
  ).join("\u0001");
}

function sorted(samples: ArrayLike<number>): Float64Array {
  // A typed array sorts numerically and fast, which matters for tens of thousands of samples.
  return Float64Array.from(samples).sort();
}

function percentileOfSorted(values: Float64Array, p: number): number {
  if (values.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * values.length);
  return values[Math.min(values.length, Math.max(1, rank)) - 1];
}

function parseAttributes(source: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (
    const match of source.matchAll(
      /([^\s"'=<>\/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g,
    )
  ) {
    const name = match[1].toLowerCase();
    // The first occurrence wins, as in the HTML parsing rules.
    if (!attributes.has(name)) {
      attributes.set(name, decodeEntities(match[2] ?? match[3] ?? match[4] ?? ""));
    }
  }
  return attributes;
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: "&",
  quot: '"',
  apos: "'",
  lt: "<",
  gt: ">",
};

function decodeEntities(value: string): string {
  // hono/jsx escapes only the named ones in attribute values; numeric ones cover hand-written markup.
  return value.replace(
    /&(?:#(\d+)|#x([\da-f]+)|([a-z]+));/gi,
    (entity, decimal?: string, hex?: string, name?: string) => {
      if (decimal) return String.fromCodePoint(Number(decimal));
      if (hex) return String.fromCodePoint(parseInt(hex, 16));
      return NAMED_ENTITIES[name!.toLowerCase()] ?? entity;
    },
  );
}

/** Options of `runLoad`. */
export type LoadOptions = {
  /** Calls in flight at any time (for HTTP: connections, with keep-alive). */
  concurrency: number;
  /** Time spent calling before measurement starts; its calls are discarded. */
  warmupMs?: number;
  /** Measurement window; no call starts after it. */
  durationMs: number;
  /** Upper bound on measured calls, so a very fast target cannot grow the sample array without end. */
  maxRequests?: number;
};

/** What `runLoad` measured. */
export type LoadResult = {
  /** Measured calls: successes plus errors. */
  requests: number;
  errors: number;
  /** Message of the first failed call, to tell "server down" from "wrong status". */
  firstError?: string;
  /** From the end of the warm-up until the last measured call settled. */
  elapsedMs: number;
  /** Successful calls per second of `elapsedMs`. */
  perSecond: number;
  /** Latency of each successful call in milliseconds. */
  samplesMs: number[];
};

/** Latency statistics in milliseconds. */
export type LatencySummary = {
  count: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
};

/** One recorded Deno KV atomic commit. */
export type KvCommit = {
  checks: { key: Deno.KvKey; versionstamp: string | null }[];
  mutations: (
    | { type: "set"; key: Deno.KvKey; value: unknown }
    | { type: "delete"; key: Deno.KvKey }
  )[];
};

/** What one commit checks and writes. */
export type KvCommitSize = {
  checks: number;
  sets: number;
  deletes: number;
  keyBytes: number;
  valueBytes: number;
};

/** A subresource of a page: its absolute URL and what it is. */
export type PageAsset = { kind: "css" | "js" | "icon"; url: string };
