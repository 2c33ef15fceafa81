/**
 * Reads every request body up front, within a size and a time limit. Deno's server has no header,
 * body or idle timeouts of its own, so without the deadline a client trickling its body keeps a
 * request (and whatever the route holds) waiting as long as it likes. Only the request is bounded:
 * Deno keeps draining the connection until the client stops sending, and headers and idle
 * connections never reach the app, so those limits are the proxy's (README, Timeouts).
 */
import type { MiddlewareHandler } from "hono";
import { AppError } from "../../lib/errors.ts";
import { TIMED_OUT, withTimeout } from "../../lib/timeout.ts";

export function bodyLimit(
  options: { maxBytes: number; timeoutMs: number },
): MiddlewareHandler {
  const { maxBytes, timeoutMs } = options;
  const tooLarge = () =>
    new AppError(413, "payload_too_large", `The request body is larger than ${maxBytes} bytes.`);
  return async function bodyLimit(c, next) {
    const body = c.req.raw.body;
    if (!body) return next();
    // A declared length over the limit is refused before a byte of the body is read.
    const declared = c.req.header("Content-Length");
    if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge();

    const reader = body.getReader();
    const read = readAll(reader, maxBytes);
    const bytes = await withTimeout(read, timeoutMs);
    if (bytes === TIMED_OUT) {
      // Cancelling ends the pending read; the connection is not reused once the answer is sent.
      reader.cancel().catch(() => {});
      read.catch(() => {});
      throw new AppError(
        408,
        "request_timeout",
        `The request body did not arrive within ${timeoutMs} ms. Please try again.`,
        undefined,
        { Connection: "close" },
      );
    }
    if (bytes === TOO_LARGE) {
      reader.cancel().catch(() => {});
      throw tooLarge();
    }
    if (bytes === UNREADABLE) {
      throw new AppError(400, "malformed_body", "The request body could not be read.");
    }
    // Copying the request would copy its abort signal too, which nothing here uses and whose
    // mere reading makes Deno print a deprecation notice; method, headers and body are enough.
    const { url, method, headers } = c.req.raw;
    c.req.raw = new Request(url, { method, headers, body: bytes });
    await next();
  };
}

const TOO_LARGE: unique symbol = Symbol("too large");
const UNREADABLE: unique symbol = Symbol("unreadable");

async function readAll(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  maxBytes: number,
): Promise<Uint8Array<ArrayBuffer> | typeof TOO_LARGE | typeof UNREADABLE> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let result: ReadableStreamReadResult<Uint8Array>;
    try {
      result = await reader.read();
    } catch {
      // The client went away mid-body: nothing to answer, but it is not our failure either.
      return UNREADABLE;
    }
    if (result.done) break;
    size += result.value.length;
    if (size > maxBytes) return TOO_LARGE;
    chunks.push(result.value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}
