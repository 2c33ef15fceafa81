/**
 * Static assets under content-hashed URLs: `/static/app.3f9c1a2b.css`. A hashed URL never
 * changes meaning, so browsers may cache it for a year without asking again.
 */
import { encodeHexLowerCase } from "@oslojs/encoding";
import zlib from "node:zlib";

/** One asset: its public URL, type and bytes, and its compressed forms, made on first use. */
export type Asset = {
  name: string;
  url: string;
  type: string;
  body: Uint8Array;
  compressed(encoding: "br" | "gzip"): Uint8Array;
};

/** Assets by logical name (`app.css`, `htmx.js`) and by the file part of their URL. */
export type AssetMap = { byName: Map<string, Asset>; byFile: Map<string, Asset> };

const TYPES: Record<string, string> = {
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  svg: "image/svg+xml",
  webmanifest: "application/manifest+json",
};

const root = new URL("../", import.meta.url);

/**
 * Where each asset's bytes come from: our own files, and htmx from its pinned npm package. An
 * asset of several files is their concatenation.
 */
const SOURCES: Record<string, URL | URL[]> = {
  "app.css": new URL("static/app.css", root),
  "extra.css": new URL("static/extra.css", root),
  "icon.svg": new URL("static/icon.svg", root),
  "tz.js": new URL("static/tz.js", root),
  "chart.js": new URL("static/chart.js", root),
  // htmx with its server-sent-events extension (the live pages' stream), one file: an extension
  // in a second deferred script can arrive after htmx has already processed the page, and then
  // the page never connects.
  "htmx.js": [
    new URL("node_modules/htmx.org/dist/htmx.min.js", root),
    new URL("node_modules/htmx.org/dist/ext/hx-sse.min.js", root),
  ],
};

/** Reads and hashes every asset once, at start-up. */
export async function loadAssets(): Promise<AssetMap> {
  const byName = new Map<string, Asset>();
  const byFile = new Map<string, Asset>();
  for (const [name, source] of Object.entries(SOURCES)) {
    const parts = await Promise.all([source].flat().map((file) => Deno.readTextFile(file)));
    const body = new TextEncoder().encode(parts.join("\n"));
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
    const [base, ext] = [
      name.slice(0, name.lastIndexOf(".")),
      name.slice(name.lastIndexOf(".") + 1),
    ];
    const file = `${base}.${encodeHexLowerCase(digest).slice(0, 12)}.${ext}`;
    const cache = new Map<string, Uint8Array>();
    const asset: Asset = {
      name,
      url: `/static/${file}`,
      type: TYPES[ext] ?? "application/octet-stream",
      body,
      compressed(encoding) {
        let out = cache.get(encoding);
        if (!out) {
          out = encoding === "br"
            ? zlib.brotliCompressSync(body, {
              params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 },
            })
            : zlib.gzipSync(body, { level: 9 });
          cache.set(encoding, out);
        }
        return out;
      },
    };
    byName.set(name, asset);
    byFile.set(file, asset);
  }
  return { byName, byFile };
}
