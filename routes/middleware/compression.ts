/** Compresses HTML and JSON responses with Brotli or gzip, the way the runtime does not. */
import type { MiddlewareHandler } from "hono";
import zlib from "node:zlib";

/** Below this size compression costs more time than it saves bytes. */
const MIN_BYTES = 1024;
const COMPRESSIBLE = /^(text\/html|application\/json)/;

/**
 * Buffers a page or JSON body once it is complete and sends it compressed when the client accepts
 * it and it is large enough. Streams (server-sent events) and bodies already encoded pass as they are.
 */
export const compression = (): MiddlewareHandler => {
  return async function compression(c, next) {
    await next();
    const accepts = c.req.header("Accept-Encoding") ?? "";
    const type = c.res.headers.get("Content-Type") ?? "";
    if (!c.res.body || !COMPRESSIBLE.test(type) || c.res.headers.has("Content-Encoding")) return;
    // Whether we compress or not, the answer depends on Accept-Encoding.
    c.header("Vary", "Accept-Encoding", { append: true });
    const encoding = /\bbr\b/.test(accepts) ? "br" : /\bgzip\b/.test(accepts) ? "gzip" : undefined;
    if (!encoding) return;
    const body = new Uint8Array(await c.res.arrayBuffer());
    const headers = new Headers(c.res.headers);
    let out: Uint8Array = body;
    if (body.byteLength >= MIN_BYTES) {
      out = encoding === "br"
        ? zlib.brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } })
        : zlib.gzipSync(body, { level: 6 });
      headers.set("Content-Encoding", encoding);
    }
    headers.set("Content-Length", String(out.byteLength));
    c.res = new Response(out as Uint8Array<ArrayBuffer>, { status: c.res.status, headers });
  };
};
