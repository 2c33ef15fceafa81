/** Facts about the current request that several areas need: who sent it, and how to answer it. */
import type { Context } from "hono";
import type { RequestOrigin } from "../lib/audit.ts";
import { AppError } from "../lib/errors.ts";
import type { z } from "zod";

/**
 * The client's address and user agent. Behind a trusted proxy the address is the last
 * X-Forwarded-For entry (the one our proxy appended); otherwise the TCP peer.
 */
export function requestOrigin(c: Context, trustProxy: boolean): RequestOrigin {
  const forwarded = trustProxy
    ? c.req.header("X-Forwarded-For")?.split(",").map((s) => s.trim()).filter(Boolean).at(-1)
    : undefined;
  const peer = (c.env as Deno.ServeHandlerInfo<Deno.NetAddr> | undefined)?.remoteAddr?.hostname;
  return { ip: forwarded ?? peer ?? "unknown", userAgent: c.req.header("User-Agent") ?? "" };
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
