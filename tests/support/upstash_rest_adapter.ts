/** A test-only Upstash REST endpoint on 127.0.0.1 that runs each command on a real Redis. */
import { createHash } from "node:crypto";
import { Redis as IoRedis, ReplyError } from "ioredis";

// Upstash accepts this script flag and upstream Redis refuses it, so the endpoint drops the line,
// as ../../lib/rate_limit.ts does for its TCP backend.
const UPSTASH_ONLY_SHEBANG = /^#!lua flags=allow-key-locking\n/;

/**
 * Serves the Upstash REST protocol as @upstash/redis speaks it: `POST /` with one command as a
 * JSON array, `POST /pipeline` and `POST /multi-exec` with an array of them, `Authorization:
 * Bearer <token>`, `{result}`/`{error}` bodies, and base64 strings when `Upstash-Encoding: base64`
 * is sent. The production client therefore runs here with its production settings.
 */
export async function startUpstashRestAdapter(
  redisUrl: string,
  token = "test-token",
): Promise<UpstashRestAdapter> {
  const redis = new IoRedis(redisUrl, { maxRetriesPerRequest: 1 });
  // Without a listener ioredis prints every failed reconnect; a failed command reports itself.
  redis.on("error", () => {});
  try {
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw new Error(`startUpstashRestAdapter: Redis at ${redisUrl} does not answer: ${error}`);
  }
  // Client-visible script hash → hash of the script as Redis stores it (shebang dropped).
  const storedHash = new Map<string, string>();

  const run = async (command: unknown): Promise<Outcome> => {
    if (!isCommand(command)) return { error: "ERR a command is a non-empty JSON array" };
    const [name, ...args] = command.map(String);
    const upper = name.toUpperCase();
    if ((upper === "EVAL" || upper === "EVAL_RO") && args.length > 0) {
      const runnable = args[0].replace(UPSTASH_ONLY_SHEBANG, "");
      storedHash.set(sha1(args[0]), sha1(runnable));
      args[0] = runnable;
    } else if ((upper === "EVALSHA" || upper === "EVALSHA_RO") && args.length > 0) {
      args[0] = storedHash.get(args[0].toLowerCase()) ?? args[0];
    }
    try {
      return { result: await redis.call(name, ...args) };
    } catch (error) {
      return { error: errorMessage(error), internal: !(error instanceof ReplyError) };
    }
  };

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      if (request.method !== "POST") return reply(405, { error: "ERR only POST is served here" });
      if (request.headers.get("authorization") !== `Bearer ${token}`) {
        return reply(401, { error: "Unauthorized" });
      }
      const base64 = request.headers.get("upstash-encoding")?.toLowerCase() === "base64";
      let body: unknown;
      try {
        body = await request.json();
      } catch {
        return reply(400, { error: "ERR the request body is not JSON" });
      }
      const { pathname } = new URL(request.url);
      if (pathname === "/") {
        const outcome = await run(body);
        const status = outcome.error === undefined ? 200 : outcome.internal ? 500 : 400;
        return reply(status, encodeOutcome(outcome, base64));
      }
      if (pathname !== "/pipeline" && pathname !== "/multi-exec") {
        return reply(404, { error: `ERR no endpoint ${pathname}` });
      }
      if (!Array.isArray(body) || body.length === 0 || !body.every(isCommand)) {
        return reply(400, { error: "ERR the body must be a non-empty array of commands" });
      }
      if (pathname === "/pipeline") {
        // In order, one at a time, not atomic: other clients may interleave, as on Upstash.
        const outcomes: Outcome[] = [];
        for (const command of body) outcomes.push(await run(command));
        return reply(200, outcomes.map((outcome) => encodeOutcome(outcome, base64)));
      }
      return await multiExec(redis, body, base64);
    },
  );

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await server.shutdown();
      if (redis.status === "ready") await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    })();
    return stopping;
  };
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    token,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** MULTI/EXEC: per-command outcomes, or one error when Redis discards the whole transaction. */
async function multiExec(redis: IoRedis, commands: Command[], base64: boolean): Promise<Response> {
  const transaction = redis.multi();
  for (const [name, ...args] of commands) transaction.call(String(name), ...args.map(String));
  try {
    const replies = await transaction.exec();
    if (replies === null) return reply(400, { error: "ERR transaction discarded" });
    return reply(
      200,
      replies.map(([error, result]) =>
        encodeOutcome(error ? { error: errorMessage(error) } : { result }, base64)
      ),
    );
  } catch (error) {
    return reply(400, { error: errorMessage(error) });
  }
}

/**
 * Upstash base64-encodes every string of a result except a bare "OK" status. Redis replies reach
 * us already decoded, so a bulk "OK" stays bare too, which @upstash/redis reads the same way.
 */
function encodeOutcome(outcome: Outcome, base64: boolean): { result?: unknown; error?: string } {
  if (outcome.error !== undefined) return { error: outcome.error };
  if (!base64) return { result: outcome.result };
  return { result: outcome.result === "OK" ? "OK" : encodeStrings(outcome.result) };
}

function encodeStrings(value: unknown): unknown {
  if (typeof value === "string") return new TextEncoder().encode(value).toBase64();
  if (Array.isArray(value)) return value.map(encodeStrings);
  return value;
}

function isCommand(value: unknown): value is Command {
  return Array.isArray(value) && value.length > 0 &&
    value.every((part) => ["string", "number", "boolean"].includes(typeof part));
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

function reply(status: number, body: unknown): Response {
  return Response.json(body, { status });
}

type Command = (string | number | boolean)[];
type Outcome = { result?: unknown; error?: string; internal?: boolean };

/** A running endpoint; pass `url` and `token` as the Upstash REST URL and token. */
export type UpstashRestAdapter = {
  /** e.g. `http://127.0.0.1:41234` */
  url: string;
  token: string;
  /** Stops serving and closes the Redis connection; safe to call more than once. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};
