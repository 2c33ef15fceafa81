/**
 * Where webhooks may be sent: a user names the URL, and the server makes the request, so a URL
 * that points inside our network (a database port on loopback, a private service, the cloud
 * metadata endpoint that hands out credentials) would let any user reach it. The rules, checked
 * at registration and again before every attempt (a name may resolve elsewhere by then):
 *
 * - `https` only; `http` only when `allowLoopback` is on (development and tests, never production).
 * - The host is resolved (A and AAAA, or taken as written when it is an address), and every
 *   address must be public: loopback, private, link-local (with the metadata addresses), shared
 *   (CGNAT), multicast, documentation and other reserved ranges are refused, and so are IPv4
 *   addresses written inside IPv6 (mapped, compatible, NAT64, 6to4), which reach the same hosts.
 * - The sender then connects to the very address it checked (sender.ts), so a name cannot
 *   resolve to a public address for the check and to a private one for the connection.
 */
import { isIP } from "node:net";

/** The answers of a DNS lookup of `host`: its addresses, empty when it has none. */
export type Resolver = (host: string) => Promise<string[]>;

export type UrlPolicy = {
  /** Loopback addresses and plain http are allowed (config WEBHOOK_ALLOW_LOOPBACK). */
  allowLoopback: boolean;
  /** DNS lookups; the system resolver unless a test names its own. */
  resolve?: Resolver;
};

/** A URL that passed: where to connect, and what to call the host in TLS and `Host`. */
export type CheckedTarget = {
  url: URL;
  /** The address to connect to (the first one the name resolved to; all of them passed). */
  address: string;
  port: number;
  tls: boolean;
};

/** Why a URL is refused, in a sentence for the person who typed it. */
export class UnsafeUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsafeUrlError";
  }
}

export const MAX_URL_LENGTH = 2000;

/** What kind of address this is; only `public` may be sent to. */
export type AddressClass =
  | "public"
  | "loopback"
  | "private"
  | "link-local"
  | "metadata"
  | "shared"
  | "multicast"
  | "reserved"
  | "ipv4-in-ipv6";

/**
 * Parses `raw` and checks its form (scheme, no credentials) without any lookup: what a form can
 * say at once. Throws UnsafeUrlError.
 */
export function parseWebhookUrl(raw: string, policy: Pick<UrlPolicy, "allowLoopback">): URL {
  if (raw.length > MAX_URL_LENGTH) {
    throw new UnsafeUrlError(`The URL is longer than ${MAX_URL_LENGTH} characters.`);
  }
  const url = URL.parse(raw.trim());
  if (url === null) throw new UnsafeUrlError("That is not a URL; it should look like https://…");
  if (url.protocol !== "https:" && !(url.protocol === "http:" && policy.allowLoopback)) {
    throw new UnsafeUrlError("The URL must start with https://.");
  }
  if (url.username || url.password) {
    throw new UnsafeUrlError("The URL may not hold a user name or password.");
  }
  url.hash = "";
  return url;
}

/**
 * Checks a URL fully: its form, then every address its host resolves to. Returns where to
 * connect; throws UnsafeUrlError with the reason.
 */
export async function checkWebhookUrl(raw: string, policy: UrlPolicy): Promise<CheckedTarget> {
  const url = parseWebhookUrl(raw, policy);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: string[];
  if (isIP(host)) {
    addresses = [host];
  } else {
    try {
      addresses = await (policy.resolve ?? resolveHost)(host.replace(/\.$/, ""));
    } catch {
      addresses = [];
    }
    if (addresses.length === 0) {
      throw new UnsafeUrlError(`The host ${host} does not resolve to any address.`);
    }
  }
  for (const address of addresses) {
    const kind = classifyAddress(address);
    if (kind === "public" || (kind === "loopback" && policy.allowLoopback)) continue;
    const named = address === host ? host : `${host} (${address})`;
    throw new UnsafeUrlError(
      `Webhooks cannot be sent to ${named}: it is ${DESCRIPTIONS[kind]} address.`,
    );
  }
  const tls = url.protocol === "https:";
  return {
    url,
    address: addresses[0],
    port: url.port ? Number(url.port) : tls ? 443 : 80,
    tls,
  };
}

const DESCRIPTIONS: Record<Exclude<AddressClass, "public">, string> = {
  loopback: "a loopback",
  private: "a private-network",
  "link-local": "a link-local",
  metadata: "a cloud metadata",
  shared: "a shared (carrier-grade NAT)",
  multicast: "a multicast",
  reserved: "a reserved",
  "ipv4-in-ipv6": "an IPv4-in-IPv6",
};

/** A's and AAAA's of `host` from the system resolver; a type with no records counts as none. */
export async function resolveHost(host: string): Promise<string[]> {
  const lookups = await Promise.allSettled([
    Deno.resolveDns(host, "A"),
    Deno.resolveDns(host, "AAAA"),
  ]);
  return lookups.flatMap((lookup) => lookup.status === "fulfilled" ? lookup.value : []);
}

/** IPv4 ranges that are not the public internet, most specific first. */
const IPV4_RANGES: [string, number, AddressClass][] = [
  ["169.254.169.254", 32, "metadata"],
  ["0.0.0.0", 8, "reserved"],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "shared"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"],
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "reserved"],
  ["192.0.2.0", 24, "reserved"],
  ["192.88.99.0", 24, "reserved"],
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "reserved"],
  ["198.51.100.0", 24, "reserved"],
  ["203.0.113.0", 24, "reserved"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"],
];

/** IPv6 ranges that are not the public internet, as 128-bit prefixes. */
const IPV6_RANGES: [string, number, AddressClass][] = [
  ["::1", 128, "loopback"],
  ["::", 128, "reserved"],
  // IPv4 written inside IPv6 reaches the IPv4 host; such an address is never a webhook receiver's.
  ["::ffff:0:0", 96, "ipv4-in-ipv6"],
  ["::", 96, "ipv4-in-ipv6"],
  ["64:ff9b::", 96, "ipv4-in-ipv6"],
  ["64:ff9b:1::", 48, "ipv4-in-ipv6"],
  ["2002::", 16, "ipv4-in-ipv6"],
  ["2001::", 32, "ipv4-in-ipv6"],
  ["100::", 64, "reserved"],
  ["2001:db8::", 32, "reserved"],
  // AWS's IPv6 metadata address sits inside the unique-local range below.
  ["fd00:ec2::254", 128, "metadata"],
  ["fc00::", 7, "private"],
  ["fe80::", 10, "link-local"],
  ["fec0::", 10, "private"],
  ["ff00::", 8, "multicast"],
];

/** What kind of address `address` (an IPv4 or IPv6 literal) is; anything unparsable is reserved. */
export function classifyAddress(address: string): AddressClass {
  const family = isIP(address);
  if (family === 4) {
    const value = ipv4Value(address);
    for (const [base, bits, kind] of IPV4_RANGES) {
      if (inPrefix(value, ipv4Value(base), bits, 32)) return kind;
    }
    return address === "255.255.255.255" ? "reserved" : "public";
  }
  if (family === 6) {
    const value = ipv6Value(address.replace(/%.*$/, ""));
    if (value === null) return "reserved";
    for (const [base, bits, kind] of IPV6_RANGES) {
      if (inPrefix(value, ipv6Value(base)!, bits, 128)) return kind;
    }
    return "public";
  }
  return "reserved";
}

function inPrefix(value: bigint, base: bigint, bits: number, width: number): boolean {
  const shift = BigInt(width - bits);
  return value >> shift === base >> shift;
}

function ipv4Value(address: string): bigint {
  return address.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

/** The 128-bit value of an IPv6 literal (`::` and a dotted IPv4 tail allowed), or null. */
function ipv6Value(address: string): bigint | null {
  let text = address.toLowerCase();
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const v4 = ipv4Value(tail[1]);
    text = text.slice(0, -tail[1].length) +
      `${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-f]{1,4}$/.test(group)) return null;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  return value;
}
