/** Serves hashed assets from memory, compressed, with a year of immutable caching. */
import { Hono } from "hono";
import type { AssetMap } from "../lib/assets.ts";
import type { AppEnv } from "./env.ts";

export function staticRoutes(assets: AssetMap) {
  return new Hono<AppEnv>().get("/:file", (c) => {
    const asset = assets.byFile.get(c.req.param("file"));
    if (!asset) return c.notFound();
    const accepts = c.req.header("Accept-Encoding") ?? "";
    const encoding = /\bbr\b/.test(accepts) ? "br" : /\bgzip\b/.test(accepts) ? "gzip" : undefined;
    const body = encoding ? asset.compressed(encoding) : asset.body;
    c.header("Content-Type", asset.type);
    c.header("Cache-Control", "public, max-age=31536000, immutable");
    c.header("Vary", "Accept-Encoding");
    if (encoding) c.header("Content-Encoding", encoding);
    return c.body(body as Uint8Array<ArrayBuffer>);
  });
}
