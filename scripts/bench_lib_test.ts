/**
 * Tests of the bench's app-independent parts: statistics, load runner, asset scan, tables, and
 * the recording and replaying of Deno KV commits.
 */
import assert from "node:assert/strict";
import {
  clientAddress,
  displayWidth,
  extractAssetUrls,
  formatBytes,
  formatMs,
  formatRatio,
  formatTable,
  formatTimes,
  httpGet,
  kvCommitSize,
  kvKeyBytes,
  kvReplayer,
  median,
  percentile,
  ratio,
  recordKv,
  reusedOnRepeatVisit,
  runLoad,
  summarize,
} from "./bench_lib.ts";

const oneToHundred = Array.from({ length: 100 }, (_, i) => 100 - i);

Deno.test("[bench] percentile uses the nearest rank of unsorted samples", () => {
  assert.equal(percentile(oneToHundred, 50), 50);
  assert.equal(percentile(oneToHundred, 99), 99);
  assert.equal(percentile(oneToHundred, 100), 100);
  assert.equal(percentile(oneToHundred, 0), 1);
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([3, 1, 2], 50), 2);
  // Nearest rank never invents a value between two samples.
  assert.equal(percentile([10, 20], 50), 10);
});

Deno.test("[bench] percentile of no samples is NaN, and p must be 0..100", () => {
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.throws(() => percentile([1], 101), RangeError);
  assert.throws(() => percentile([1], -1), RangeError);
});

Deno.test("[bench] median averages the two middle values of an even count", () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

Deno.test("[bench] summarize reports count, mean, p50, p99 and max", () => {
  assert.deepEqual(summarize(oneToHundred), {
    count: 100,
    meanMs: 50.5,
    p50Ms: 50,
    p99Ms: 99,
    maxMs: 100,
  });
  const empty = summarize([]);
  assert.equal(empty.count, 0);
  assert.ok([empty.meanMs, empty.p50Ms, empty.p99Ms, empty.maxMs].every(Number.isNaN));
});

Deno.test("[bench] runLoad keeps the number of calls in flight at the concurrency", async () => {
  let inFlight = 0;
  let most = 0;
  const result = await runLoad(async () => {
    most = Math.max(most, ++inFlight);
    await new Promise((resolve) => setTimeout(resolve, 1));
    inFlight--;
  }, { concurrency: 4, durationMs: 50 });
  assert.equal(most, 4);
  assert.ok(result.requests > 0);
  assert.equal(result.errors, 0);
  assert.equal(result.samplesMs.length, result.requests);
  assert.ok(result.perSecond > 0);
  assert.ok(result.samplesMs.every((ms) => ms >= 0));
});

Deno.test("[bench] runLoad gives each worker its own number, every call of it the same", async () => {
  const callsBy = new Map<number, number>();
  const inFlight = new Set<number>();
  const result = await runLoad(async (worker) => {
    assert.ok(!inFlight.has(worker), "a worker never overlaps itself");
    inFlight.add(worker);
    callsBy.set(worker, (callsBy.get(worker) ?? 0) + 1);
    await new Promise((resolve) => setTimeout(resolve, 1));
    inFlight.delete(worker);
  }, { concurrency: 3, durationMs: 30 });
  assert.deepEqual([...callsBy.keys()].sort(), [0, 1, 2]);
  assert.equal([...callsBy.values()].reduce((a, b) => a + b), result.requests);
});

Deno.test("[bench] runLoad counts a throwing call as an error, not a sample", async () => {
  let calls = 0;
  const result = await runLoad(async () => {
    await Promise.resolve();
    if (++calls % 2 === 0) throw new Error("HTTP 503");
  }, { concurrency: 1, durationMs: 20, maxRequests: 10 });
  assert.equal(result.requests, 10);
  assert.equal(result.errors, 5);
  assert.equal(result.samplesMs.length, 5);
  assert.equal(result.firstError, "HTTP 503");
});

Deno.test("[bench] runLoad does not count calls started during the warm-up", async () => {
  // Taken before runLoad starts, so runLoad's own warm-up ends at this instant or later.
  const warmupEndsBy = performance.now() + 30;
  const result = await runLoad(async () => {
    const inWarmup = performance.now() < warmupEndsBy;
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (inWarmup) throw new Error("warm-up call was counted");
    // A measured window long enough that a busy machine's timers still start calls inside it.
  }, { concurrency: 2, warmupMs: 30, durationMs: 300 });
  assert.equal(result.errors, 0);
  assert.ok(result.requests > 0);
});

Deno.test("[bench] runLoad stops at maxRequests and refuses a bad concurrency", async () => {
  const result = await runLoad(() => Promise.resolve(), {
    concurrency: 3,
    durationMs: 10_000,
    maxRequests: 7,
  });
  assert.equal(result.requests, 7);
  await assert.rejects(runLoad(() => Promise.resolve(), { concurrency: 0, durationMs: 1 }));
  await assert.rejects(runLoad(() => Promise.resolve(), { concurrency: 1.5, durationMs: 1 }));
});

Deno.test("[bench] httpGet succeeds on 2xx and throws on any other status, redirects too", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const status = Number(new URL(request.url).searchParams.get("status"));
    if (status === 303) return Response.redirect(new URL("/?status=200", request.url), 303);
    return new Response(status === 204 ? null : "body", { status });
  });
  const client = Deno.createHttpClient({});
  try {
    const base = `http://127.0.0.1:${server.addr.port}/`;
    await httpGet(`${base}?status=200`, { client })();
    await httpGet(`${base}?status=204`, { client })();
    await assert.rejects(httpGet(`${base}?status=503`, { client })(), /HTTP 503/);
    await assert.rejects(httpGet(`${base}?status=404`, { client })(), /HTTP 404/);
    await assert.rejects(httpGet(`${base}?status=303`, { client })(), /HTTP 303/);
    const result = await runLoad(httpGet(`${base}?status=500`, { client }), {
      concurrency: 2,
      durationMs: 1_000,
      maxRequests: 6,
    });
    assert.equal(result.errors, 6);
    assert.equal(result.samplesMs.length, 0);
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test("[bench] extractAssetUrls finds same-origin stylesheets, scripts and icons", () => {
  const html = `<!doctype html><html><head>
    <link rel="stylesheet" href="/static/app.1.css">
    <link rel="icon" type="image/svg+xml" href="/static/icon.2.svg" />
    <link rel="shortcut icon" href='favicon.ico'>
    <link rel=preload href="/static/font.woff2" as=font>
    <script src="/static/htmx.3.js" defer nonce="abc"></script>
    <script>inline()</script>
    <script src="https://cdn.example.com/x.js"></script>
    <script src="//cdn.example.com/y.js"></script>
    <link rel="stylesheet" href="http://127.0.0.1:8000/static/app.1.css">
    <link rel="stylesheet" href="/s.css?a=1&amp;b=2#top">
    <!-- <script src="/static/old.js"></script> -->
    <link rel="icon" href="data:image/svg+xml,%3Csvg%3E">
    <LINK REL="Stylesheet" HREF="/upper.css">
  </head><body><img src="/static/icon.2.svg"></body></html>`;
  assert.deepEqual(extractAssetUrls(html, "http://127.0.0.1:8000/trade/"), [
    { kind: "css", url: "http://127.0.0.1:8000/static/app.1.css" },
    { kind: "icon", url: "http://127.0.0.1:8000/static/icon.2.svg" },
    { kind: "icon", url: "http://127.0.0.1:8000/trade/favicon.ico" },
    { kind: "js", url: "http://127.0.0.1:8000/static/htmx.3.js" },
    { kind: "css", url: "http://127.0.0.1:8000/s.css?a=1&b=2" },
    { kind: "css", url: "http://127.0.0.1:8000/upper.css" },
  ]);
});

Deno.test("[bench] extractAssetUrls returns nothing for a page without assets", () => {
  assert.deepEqual(extractAssetUrls("<p>hello</p>", "http://127.0.0.1:8000/"), []);
  assert.deepEqual(extractAssetUrls('<link rel="stylesheet">', "http://127.0.0.1:8000/"), []);
});

Deno.test("[bench] reusedOnRepeatVisit needs a positive max-age without no-store or no-cache", () => {
  assert.equal(reusedOnRepeatVisit("public, max-age=31536000, immutable"), true);
  assert.equal(reusedOnRepeatVisit("Max-Age=60"), true);
  assert.equal(reusedOnRepeatVisit("max-age=0"), false);
  assert.equal(reusedOnRepeatVisit("immutable"), false);
  assert.equal(reusedOnRepeatVisit("no-store"), false);
  assert.equal(reusedOnRepeatVisit("max-age=600, no-cache"), false);
  assert.equal(reusedOnRepeatVisit(null), false);
});

Deno.test("[bench] formatTable pads columns, right-aligns on request and counts emoji as two cells", () => {
  const table = formatTable(
    ["name", "bytes", ""],
    [["first visit", "13.9 KB", "✅"], ["repeat", "1,046 B", "❌"]],
    ["left", "right", "left"],
  );
  assert.equal(
    table,
    [
      "name           bytes",
      "-----------  -------  --",
      "first visit  13.9 KB  ✅",
      "repeat       1,046 B  ❌",
    ].join("\n"),
  );
  assert.equal(displayWidth("ok ✅"), 5);
  assert.equal(displayWidth("→ p99"), 5);
});

Deno.test("[bench] formatBytes and formatMs keep figures short and say n/a for nothing", () => {
  assert.equal(formatBytes(183), "183 B");
  assert.equal(formatBytes(1046), "1,046 B");
  assert.equal(formatBytes(11_980), "11.7 KB");
  assert.equal(formatBytes(541_434_000), "516.4 MB");
  assert.equal(formatMs(5.6789), "5.7 ms");
  assert.equal(formatMs(NaN), "n/a");
});

Deno.test("[bench] ratio and formatRatio compare two figures and say n/a without a base", () => {
  assert.equal(ratio(50, 200), 0.25);
  assert.equal(ratio(1, 0), null);
  assert.equal(ratio(NaN, 3), null);
  assert.equal(formatRatio(0.634), "63 %");
  assert.equal(formatRatio(1.5), "150 %");
  assert.equal(formatRatio(null), "n/a");
});

Deno.test("[bench] clientAddress counts through 10/8 without network or broadcast addresses", () => {
  assert.equal(clientAddress(0), "10.0.0.1");
  assert.equal(clientAddress(253), "10.0.0.254");
  assert.equal(clientAddress(254), "10.0.1.1");
  assert.equal(clientAddress(254 * 256), "10.1.0.1");
  const many = new Set(Array.from({ length: 100_000 }, (_, n) => clientAddress(n)));
  assert.equal(many.size, 100_000, "distinct for every request of a run");
  assert.ok([...many].every((a) => /^10\.\d+\.\d+\.(\d+)$/.test(a) && !/\.(0|255)$/.test(a)));
  assert.throws(() => clientAddress(-1), RangeError);
  assert.throws(() => clientAddress(1.5), RangeError);
});

Deno.test("[bench] formatTimes shows a multiple with two decimals, or n/a", () => {
  assert.equal(formatTimes(2.314), "2.31×");
  assert.equal(formatTimes(1), "1.00×");
  assert.equal(formatTimes(null), "n/a");
});

Deno.test("[bench] kvKeyBytes counts Deno KV's encoding of each key part", () => {
  // A string: tag, UTF-8 bytes, terminator; a number: tag and 8 bytes; a boolean: one byte.
  assert.equal(kvKeyBytes(["d", "orders"]), 3 + 8);
  assert.equal(kvKeyBytes(["é", 1, true]), 4 + 9 + 1);
  assert.equal(kvKeyBytes([new Uint8Array(3)]), 5);
  assert.equal(kvKeyBytes([]), 0);
});

Deno.test("[bench] recordKv records each commit's checks, sets and deletes, and the keys read", async () => {
  await using kv = await Deno.openKv(":memory:");
  await kv.set(["old"], "gone soon");
  const before = (await kv.get(["old"])).versionstamp;
  const recorded = await recordKv(async () => {
    await kv.getMany([["old"], ["new"]]);
    await kv.atomic()
      .check({ key: ["old"], versionstamp: before }, { key: ["new"], versionstamp: null })
      .set(["new"], { price: "1.00" })
      .delete(["old"])
      .commit();
    // A commit that fails its check wrote nothing, so it is not recorded.
    await kv.atomic().check({ key: ["new"], versionstamp: null }).set(["new"], 1).commit();
    return "done";
  });
  assert.equal(recorded.result, "done");
  assert.equal(recorded.keysRead, 2);
  assert.deepEqual(recorded.commits, [{
    checks: [{ key: ["old"], versionstamp: before }, { key: ["new"], versionstamp: null }],
    mutations: [
      { type: "set", key: ["new"], value: { price: "1.00" } },
      { type: "delete", key: ["old"] },
    ],
  }]);
  const size = kvCommitSize(recorded.commits[0]);
  assert.deepEqual(
    { ...size, valueBytes: undefined },
    { checks: 2, sets: 1, deletes: 1, keyBytes: 5 + 5 + 5 + 5, valueBytes: undefined },
  );
  assert.ok(size.valueBytes > "price1.00".length, "the value's serialised bytes");
  // Afterwards Deno KV is itself again: nothing more is recorded.
  await kv.atomic().set(["later"], 1).commit();
  assert.equal(recorded.commits.length, 1);
});

Deno.test("[bench] kvReplayer creates afresh what the recording created and rewrites the rest", async () => {
  await using kv = await Deno.openKv(":memory:");
  // As the store port records a unit: a new document (checked absent) with an index entry that
  // names it, and an existing account rewritten at the version read.
  await kv.set(["d", "accounts", "a1"], { seq: 1 });
  const account = (await kv.get(["d", "accounts", "a1"])).versionstamp;
  const { commits } = await recordKv(() =>
    kv.atomic()
      .check(
        { key: ["d", "orders", "o1"], versionstamp: null },
        { key: ["d", "accounts", "a1"], versionstamp: account },
      )
      .set(["d", "orders", "o1"], { qty: "1" })
      .set(["i", "orders", "symbol_1", "KO", "o1"], "o1")
      .set(["d", "accounts", "a1"], { seq: 2 })
      .commit()
  );
  await using replayKv = await Deno.openKv(":memory:");
  const replay = kvReplayer(replayKv, commits);
  await replay();
  await replay();
  await replay();
  const keys = [];
  for await (const entry of replayKv.list({ prefix: [] })) keys.push(entry.key);
  assert.deepEqual(keys, [
    ["d", "accounts", "a1"],
    ["d", "orders", "o1~0"],
    ["d", "orders", "o1~1"],
    ["d", "orders", "o1~2"],
    ["i", "orders", "symbol_1", "KO", "o1~0"],
    ["i", "orders", "symbol_1", "KO", "o1~1"],
    ["i", "orders", "symbol_1", "KO", "o1~2"],
  ]);
  assert.deepEqual((await replayKv.get(["d", "orders", "o1~2"])).value, { qty: "1" });
  // The rewritten key is checked at the versionstamp the previous replay left: a writer
  // elsewhere makes the next replay fail, as it would fail the unit it stands for.
  await replayKv.set(["d", "accounts", "a1"], { seq: 99 });
  await assert.rejects(replay, /failed its checks/);
  assert.throws(() => kvReplayer(replayKv, []), RangeError);
});
