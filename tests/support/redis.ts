/** Starts a throwaway `redis-server` on a free loopback port, for tests that need a real Redis. */
import { TIMED_OUT, withTimeout } from "../../lib/timeout.ts";
import { reportSkip } from "./skip_report.ts";

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const POLL_MS = 20;
const PORT_ATTEMPTS = 3;
const INSTALL_HINT = "install it with `apt-get install redis-server`";

/**
 * Why the Redis-backed tests are skipped, or undefined when they run: SKIP_REDIS_TESTS=1 anywhere,
 * or a missing `redis-server` outside CI, so a machine with only Deno passes `deno task test`.
 * Under CI a missing binary is not a skip: the tests run and fail, naming the package.
 */
const skipReason: string | undefined = Deno.env.get("SKIP_REDIS_TESTS") === "1"
  ? "SKIP_REDIS_TESTS=1 is set"
  : !isCi() && !onPath("redis-server")
  ? `redis-server is not on PATH; ${INSTALL_HINT} (with CI set, its absence fails the run)`
  : undefined;

/**
 * `Deno.test` for a test that starts `redis-server`; `module` is the test file's
 * `import.meta.url`. A skipped test is reported with its reason, for the summary of the run.
 */
export function redisTest(module: string, test: Deno.TestDefinition): void {
  if (skipReason) reportSkip(module, skipReason);
  Deno.test({ ...test, ignore: skipReason !== undefined });
}

/** CI=true (or any value but false/0), as GitHub Actions and .ci/run set it. */
function isCi(): boolean {
  const value = Deno.env.get("CI")?.trim().toLowerCase();
  return !!value && value !== "false" && value !== "0";
}

/** Whether `command` is an executable file in a PATH directory, the lookup spawning it does. */
function onPath(command: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      const info = Deno.statSync(`${dir}/${command}`);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return true;
    } catch {
      // Not in this directory (or not readable there): the next one may have it.
    }
  }
  return false;
}

/**
 * Spawns `redis-server` without persistence on 127.0.0.1 and resolves once it answers PING.
 * Throws, naming the Debian package, when `redis-server` is not installed (under CI, where
 * `redisTest` does not skip).
 */
export async function startRedis(): Promise<TestRedis> {
  let lastError: unknown;
  // A free port can be taken between probing and binding; another port then does.
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    try {
      return await startOnPort(freePort());
    } catch (error) {
      if (!(error instanceof PortTakenError)) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

async function startOnPort(port: number): Promise<TestRedis> {
  const dir = await Deno.makeTempDir({ prefix: "orion-redis-" });
  let process: Deno.ChildProcess;
  try {
    process = new Deno.Command("redis-server", {
      args: [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        `startRedis: redis-server is not on PATH; ${INSTALL_HINT} ` +
          "(outside CI the Redis-backed tests are skipped instead; SKIP_REDIS_TESTS=1 skips them anywhere)",
      );
    }
    throw error;
  }
  // Both pipes are read to the end, so the server never blocks on a full pipe.
  const output = Promise.all([
    new Response(process.stdout).text(),
    new Response(process.stderr).text(),
  ]).then((parts) => parts.join(""));
  let exit: Deno.CommandStatus | undefined;
  const exited = process.status.then((status) => exit = status);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      try {
        if (!exit) {
          process.kill("SIGTERM");
          if (await withTimeout(exited, STOP_TIMEOUT_MS) === TIMED_OUT) {
            process.kill("SIGKILL");
            await exited;
          }
        }
      } finally {
        await output;
        await Deno.remove(dir, { recursive: true });
      }
    })();
    return stopping;
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!await answersPing(port)) {
    if (exit || Date.now() > deadline) {
      const why = exit
        ? `exited with code ${exit.code}`
        : `did not answer PING within ${READY_TIMEOUT_MS / 1000} s`;
      await stop();
      const log = await output;
      if (log.includes("Address already in use")) throw new PortTakenError(port);
      throw new Error(`startRedis: redis-server on port ${port} ${why}:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return { url: `redis://127.0.0.1:${port}`, port, stop, [Symbol.asyncDispose]: stop };
}

function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}

/** A raw RESP PING, so readiness does not depend on the client library under test. */
async function answersPing(port: number): Promise<boolean> {
  try {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("PING\r\n"));
    const buffer = new Uint8Array(64);
    const read = await conn.read(buffer);
    return read !== null && new TextDecoder().decode(buffer.subarray(0, read)) === "+PONG\r\n";
  } catch {
    return false;
  }
}

class PortTakenError extends Error {
  constructor(port: number) {
    super(`startRedis: port ${port} was taken before redis-server could bind it`);
  }
}

/** A running Redis; `stop()` (or leaving an `await using` block) ends it and removes its files. */
export type TestRedis = {
  /** e.g. `redis://127.0.0.1:41234` */
  url: string;
  port: number;
  /** Stops the server (SIGTERM, then SIGKILL); safe to call more than once. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};
