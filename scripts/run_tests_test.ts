/** `deno task test` (scripts/run_tests.ts) on a machine without redis-server, outside and inside CI. */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = new URL("../", import.meta.url);
// Its Redis-free test runs everywhere and its Redis test needs redis-server: one of each.
const TEST_FILE = "lib/auth/readiness_test.ts";

/** Runs the task's script on TEST_FILE with PATH emptied, so no redis-server can be found. */
async function runWithoutRedis(env: Record<string, string>) {
  const emptyPath = await Deno.makeTempDir({ prefix: "orion-no-redis-" });
  try {
    const child = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "scripts/run_tests.ts", TEST_FILE],
      cwd: fileURLToPath(ROOT),
      env: { PATH: emptyPath, NO_COLOR: "1", SKIP_REDIS_TESTS: "", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      code: child.code,
      stdout: decoder.decode(child.stdout),
      stderr: decoder.decode(child.stderr),
    };
  } finally {
    await Deno.remove(emptyPath, { recursive: true });
  }
}

Deno.test("[test task] without redis-server and outside CI, the Redis test is skipped and summarised", async () => {
  const run = await runWithoutRedis({ CI: "" });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const summary = run.stdout.slice(run.stdout.indexOf("==> summary of deno task test"));
  assert.match(
    summary,
    /^SKIPPED 1 test: redis-server is not on PATH; install it with `apt-get install redis-server`/m,
  );
  assert.match(summary, new RegExp(`^  in ${TEST_FILE} \\(1\\)$`, "m"));
  // deno test's own closing line stays, and the plain count line closes the output.
  assert.match(run.stdout, /^ok \| 1 passed \| 0 failed \| 1 ignored/m);
  assert.equal(run.stdout.trimEnd().split("\n").at(-1), "tests: 1 passed, 0 failed, 1 skipped");
});

Deno.test("[test task] without redis-server under CI, the Redis test fails the run", async () => {
  const run = await runWithoutRedis({ CI: "true" });
  assert.notEqual(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout + run.stderr, /redis-server is not on PATH; install it with/);
  assert.equal(run.stdout.trimEnd().split("\n").at(-1), "tests: 1 passed, 1 failed, 0 skipped");
});
