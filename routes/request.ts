/** Facts about the current request that several areas need: who sent it, and how to answer it. */
import { BlockList, isIP } from "node:net";
import type { Context } from "hono";
import type { TrustProxy } from "../lib/config.ts";
import type { RequestOrigin } from "../lib/audit.ts";
import { AppError } from "../lib/errors.ts";
import type { z } from "zod";

/**
 * The client's address and user agent. The address is the TCP peer unless TRUST_PROXY says
 * proxies stand in front of the app; then it is read from X-Forwarded-For (see clientAddress).
 */
export function requestOrigin(c: Context, trustProxy: TrustProxy): RequestOrigin {
  const peer = (c.env as Deno.ServeHandlerInfo<Deno.NetAddr> | undefined)?.remoteAddr?.hostname;
  return {
    ip: clientAddress(peer ?? "unknown", c.req.header("X-Forwarded-For"), trustProxy),
    userAgent: c.req.header("User-Agent") ?? "",
  };
}

/**
 * The client's address given the TCP peer and the X-Forwarded-For header. Each proxy appends the
 * address it was connected from, so only the rightmost `hops` entries were written by proxies we
 * run; anything left of them is whatever the client sent and is never used. The address is the
 * entry `hops` from the right. With a proxy list, walking from the peer leftwards stops at the
 * first hop that is not a listed proxy: a request that reached the app (or an inner proxy)
 * directly is known by that hop's address, whatever header it carried. A header with fewer
 * entries than hops, or a malformed entry where the address should be, gives the peer.
 */
export function clientAddress(
  peer: string,
  forwardedFor: string | undefined,
  trust: TrustProxy,
): string {
  if (trust.hops === 0 || forwardedFor === undefined) return peer;
  const entries = forwardedFor.split(",").map((entry) => entry.trim());
  // chain[0] is the peer, chain[i] the address hop i reported, nearest first.
  const chain = [peer, ...entries.reverse()];
  if (chain.length <= trust.hops) return peer;
  const proxies = trust.proxies && proxyList(trust.proxies);
  for (let hop = 0; hop < trust.hops; hop++) {
    if (proxies && !isListed(proxies, chain[hop])) return hop === 0 ? peer : chain[hop];
  }
  return plainAddress(chain[trust.hops]) ?? peer;
}

const proxyLists = new Map<string, BlockList>();

/** The matcher for a TRUSTED_PROXIES list, built once per distinct list. */
function proxyList(ranges: readonly string[]): BlockList {
  const key = ranges.join(",");
  let list = proxyLists.get(key);
  if (!list) {
    list = new BlockList();
    for (const range of ranges) {
      const [address, prefix] = range.split("/");
      list.addSubnet(address, Number(prefix), isIP(address) === 4 ? "ipv4" : "ipv6");
    }
    proxyLists.set(key, list);
  }
  return list;
}

function isListed(list: BlockList, entry: string): boolean {
  const address = plainAddress(entry);
  if (address === undefined) return false;
  return list.check(address, isIP(address) === 4 ? "ipv4" : "ipv6");
}

/** The address in an entry: proxies may add a port (`1.2.3.4:80`, `[::1]:80`); junk is undefined. */
function plainAddress(entry: string): string | undefined {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry);
  const withPort = /^([\d.]+):\d+$/.exec(entry);
  const address = bracketed?.[1] ?? withPort?.[1] ?? entry;
  return isIP(address) === 0 ? undefined : address.toLowerCase();
}

/**
 * Whether to answer with a partial: an htmx request that is not a boosted navigation or a
 * history restore, which need the whole page.
 */
export function wantsPartial(c: Context): boolean {
  return c.req.header("HX-Request") === "true" && c.req.header("HX-Boosted") !== "true" &&
    c.req.header("HX-History-Restore-Request") !== "true";
}

/** After a successful POST: 303 to `location`, or for htmx a full-page navigation there. */
export function redirectAfterPost(c: Context, location: string): Response {
  if (c.req.header("HX-Request") === "true") {
    c.header("HX-Redirect", location);
    return c.body(null, 200);
  }
  return c.redirect(location, 303);
}

/** Parses `data` with `schema`, or throws 422 with one message per field. */
export function parseInput<T extends z.ZodType>(schema: T, data: unknown): z.output<T> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const fields: Record<string, string> = {};
  for (const issue of result.error.issues) {
    const field = issue.path.join(".") || "body";
    fields[field] ??= issue.message;
  }
  const first = Object.entries(fields)[0];
  throw new AppError(422, "validation_failed", `${first[0]}: ${first[1]}`, { fields });
}

/** The JSON body of an API request; malformed JSON is a 400, not a 500. */
export async function jsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw new AppError(400, "malformed_json", "The request body is not valid JSON.");
  }
}

/** A form body as a plain object of strings (files are not accepted anywhere). */
export async function formBody(c: Context): Promise<Record<string, string>> {
  let body: Awaited<ReturnType<typeof c.req.parseBody>>;
  try {
    body = await c.req.parseBody();
  } catch {
    // A multipart body without its boundary, or cut short: the client's fault, not ours.
    throw new AppError(400, "malformed_body", "The form could not be read. Please try again.");
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(body)) {
    if (typeof value === "string") out[key] = value;
  }
  return out;
}

/** The dummy origin relative `next` values are resolved against; it never leaves this module. */
const NEXT_BASE = "http://orion.invalid";

/**
 * A `next` parameter is followed only to a path on this site, never to another origin. The value
 * is normalised first and the normalised value is both what is checked and what is returned:
 * "/.//evil.example" becomes "//evil.example" once its dot segment is resolved, which a browser
 * reads as another host, so it must be refused after normalising, not before.
 */
export function safeNext(next: string | undefined, fallback: string): string {
  // Browsers drop tabs and newlines from URLs and read "\" as "/", so "/\t/evil.example" would
  // leave the site: only a plain path of printable characters is considered at all.
  if (!next || !next.startsWith("/") || next.includes("\\") || hasControlOrSpace(next)) {
    return fallback;
  }
  let url: URL;
  try {
    url = new URL(next, NEXT_BASE);
  } catch {
    // "///evil.example" parses as an authority, "//[" or "//:1" not at all: none is a path here.
    return fallback;
  }
  // The serialised form is percent-encoded, so it is always a valid Location header.
  const path = url.pathname + url.search + url.hash;
  return url.origin === NEXT_BASE && isLocalPath(path) ? path : fallback;
}

/** One leading "/" and not two: "//host" and "/\\host" are read by browsers as another origin. */
function isLocalPath(path: string): boolean {
  return path.startsWith("/") && !path.startsWith("//") && !path.startsWith("/\\");
}

function hasControlOrSpace(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return true;
  }
  return false;
}
