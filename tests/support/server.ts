/** Starts the real app (`main.ts`) as a child process on a free loopback port, for end-to-end tests. */
import { fileURLToPath } from "node:url";
import { TIMED_OUT, withTimeout } from "../../lib/timeout.ts";

const ROOT = new URL("../../", import.meta.url);
// A cold start type-checks nothing but still loads every module; on a loaded 2-core machine that
// has taken over 20 s.
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const KEPT_LOG_LINES = 200;

/** Settings for a hermetic server: loopback only, any free port, a store that dies with the process. */
const TEST_ENV: Record<string, string> = {
  NODE_ENV: "test",
  HOST: "127.0.0.1",
  PORT: "0",
  KV_PATH: ":memory:",
  MARKET_HOURS: "always",
  // The server announces its address in an info line, so the level cannot be quieter than info.
  LOG_LEVEL: "info",
};

/**
 * Spawns `deno run -A main.ts` with test settings plus `env` overrides and resolves once the
 * app logs `listening`. The working directory is an empty temporary one, so a developer's
 * `.env` or `.env.local` cannot point the tests at real services.
 */
export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  const merged = { ...TEST_ENV, ...env };
  if (merged.LOG_LEVEL === "error" || merged.LOG_LEVEL === "warn") {
    throw new Error(
      `startServer: LOG_LEVEL=${merged.LOG_LEVEL} hides the "listening" line; use info or debug`,
    );
  }
  const cwd = await Deno.makeTempDir({ prefix: "orion-server-" });
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      fileURLToPath(new URL("deno.json", ROOT)),
      fileURLToPath(new URL("main.ts", ROOT)),
    ],
    cwd,
    env: merged,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let exit: Deno.CommandStatus | undefined;
  const exited = process.status.then((status) => exit = status);

  const lines: string[] = [];
  const keep = (stream: string) => (line: string) => {
    lines.push(`[${stream}] ${line}`);
    if (lines.length > KEPT_LOG_LINES) lines.shift();
  };
  const logs = () => lines.join("\n");
  const listening = Promise.withResolvers<string>();
  const keepStdout = keep("stdout");
  // Both pipes are read to the end for the life of the child, so it never blocks on a full pipe.
  const drained = Promise.all([
    readLines(process.stdout, (line) => {
      keepStdout(line);
      const url = listeningUrl(line);
      if (url) listening.resolve(url);
    }),
    readLines(process.stderr, keep("stderr")),
  ]);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      try {
        if (exit) throw new Error(`the app had already exited with code ${exit.code}:\n${logs()}`);
        process.kill("SIGTERM");
        const status = await withTimeout(exited, STOP_TIMEOUT_MS);
        if (status === TIMED_OUT) {
          process.kill("SIGKILL");
          await exited;
          throw new Error(
            `the app did not exit within ${
              STOP_TIMEOUT_MS / 1000
            } s of SIGTERM and was killed:\n${logs()}`,
          );
        }
        if (!status.success) {
          throw new Error(`the app exited with code ${status.code} after SIGTERM:\n${logs()}`);
        }
      } finally {
        await drained;
        await Deno.remove(cwd, { recursive: true });
      }
    })();
    return stopping;
  };

  try {
    const url = await withTimeout(
      Promise.race([
        listening.promise,
        exited.then((status) => {
          throw new Error(
            `startServer: the app exited with code ${status.code} before listening:\n${logs()}`,
          );
        }),
      ]),
      READY_TIMEOUT_MS,
    );
    if (url === TIMED_OUT) {
      throw new Error(
        `startServer: the app did not log "listening" within ${
          READY_TIMEOUT_MS / 1000
        } s:\n${logs()}`,
      );
    }
    return { url, process, logs, stop, [Symbol.asyncDispose]: stop };
  } catch (error) {
    // The start failed already; a second error from stopping would only hide the first.
    await stop().catch(() => {});
    throw error;
  }
}

function listeningUrl(line: string): string | undefined {
  try {
    const entry = JSON.parse(line);
    return entry?.msg === "listening" && typeof entry.url === "string" ? entry.url : undefined;
  } catch {
    return undefined;
  }
}

async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (pending + chunk).split("\n");
    pending = parts.pop()!;
    parts.forEach(onLine);
  }
  if (pending) onLine(pending);
}

/** A running app; `stop()` (or leaving an `await using` block) ends it with SIGTERM. */
export type TestServer = {
  /** Origin the server listens on, e.g. `http://127.0.0.1:41234`. */
  url: string;
  process: Deno.ChildProcess;
  /** The server's most recent stdout and stderr lines, for failure messages. */
  logs(): string;
  /** Sends SIGTERM and waits for the exit; throws when the app does not exit cleanly. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};
