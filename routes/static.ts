/**
 * Serves hashed assets from memory, compressed, with a year of immutable caching.
 *
 * Mounted before the page middleware (routes/app.tsx): an asset needs no session, flash, origin
 * check or compression, and the document headers (a CSP with a nonce, framing, COOP, permissions)
 * mean nothing on a script or a stylesheet, yet cost about 450 bytes on each of the five a first
 * visit loads. An asset keeps what applies to it: `nosniff`, same-origin CORP, and for the one
 * type that can render as a document when opened on its own (SVG), a CSP that allows nothing.
 */
import { Hono } from "hono";
import type { AssetMap } from "../lib/assets.ts";
import type { AppEnv } from "./env.ts";

const ASSET_HEADERS = {
  "X-Content-Type-Options": "nosniff",
  "Cross-Origin-Resource-Policy": "same-origin",
};

export function staticRoutes(assets: AssetMap) {
  return new Hono<AppEnv>().get("/:file", (c) => {
    const asset = assets.byFile.get(c.req.param("file"));
    if (!asset) return c.text("Not found.", 404, ASSET_HEADERS);
    const accepts = c.req.header("Accept-Encoding") ?? "";
    const encoding = /\bbr\b/.test(accepts) ? "br" : /\bgzip\b/.test(accepts) ? "gzip" : undefined;
    const body = encoding ? asset.compressed(encoding) : asset.body;
    c.header("Content-Type", asset.type);
    c.header("Cache-Control", "public, max-age=31536000, immutable");
    c.header("Vary", "Accept-Encoding");
    for (const [name, value] of Object.entries(ASSET_HEADERS)) c.header(name, value);
    if (asset.type.startsWith("image/svg+xml")) {
      c.header("Content-Security-Policy", "default-src 'none'");
    }
    if (encoding) c.header("Content-Encoding", encoding);
    return c.body(body as Uint8Array<ArrayBuffer>);
  });
}
