/**
 * A webhook receiver for tests: a real HTTP server on 127.0.0.1 that answers with the status
 * codes it is told, records every request, and checks each signature twice: with the Standard
 * Webhooks library, and with `verifySignature` below, written from the specification alone.
 */
import { Webhook } from "standardwebhooks";

export type ReceivedWebhook = {
  headers: Record<string, string>;
  body: string;
  /** What the standardwebhooks library said of the signature. */
  libraryVerified: boolean;
  /** What the hand-written verifier said. */
  specVerified: boolean;
};

export type Receiver = {
  url: string;
  port: number;
  received: ReceivedWebhook[];
  /** The signing secret to check against; set once the endpoint is registered. */
  secret: string | null;
  [Symbol.asyncDispose](): Promise<void>;
};

/**
 * Starts a receiver at `path`. `statuses` are the answers to the first requests, in order; after
 * them it answers `otherwise`.
 */
export function startReceiver(
  options: {
    statuses?: number[];
    otherwise?: number;
    path?: string;
    /** Serve https with this certificate and key (PEM); `url` then still names 127.0.0.1. */
    tls?: { cert: string; key: string };
  } = {},
): Receiver {
  const statuses = [...(options.statuses ?? [])];
  const path = options.path ?? "/hooks/orion";
  const received: ReceivedWebhook[] = [];
  const receiver: Receiver = {
    url: "",
    port: 0,
    received,
    secret: null,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
  const listen = { hostname: "127.0.0.1", port: 0, onListen() {}, ...options.tls };
  const server = Deno.serve(listen, async (req) => {
    const body = await req.text();
    const headers = Object.fromEntries(req.headers);
    let libraryVerified = false;
    let specVerified = false;
    if (receiver.secret) {
      try {
        new Webhook(receiver.secret).verify(body, headers);
        libraryVerified = true;
      } catch {
        libraryVerified = false;
      }
      specVerified = await verifySignature(
        receiver.secret,
        headers["webhook-id"] ?? "",
        headers["webhook-timestamp"] ?? "",
        body,
        headers["webhook-signature"] ?? "",
      );
    }
    if (new URL(req.url).pathname !== path) return new Response("no such path", { status: 404 });
    received.push({ headers, body, libraryVerified, specVerified });
    return new Response("ok", { status: statuses.shift() ?? options.otherwise ?? 200 });
  });
  receiver.port = server.addr.port;
  receiver.url = `${options.tls ? "https" : "http"}://127.0.0.1:${server.addr.port}${path}`;
  return receiver;
}

/**
 * The Standard Webhooks check, from the specification: the secret is `whsec_` and the base64 of
 * the key; the signed content is `<id>.<timestamp>.<body>`; the header holds space-separated
 * `v1,<base64 HMAC-SHA256>` signatures, any of which may match.
 */
export async function verifySignature(
  secret: string,
  id: string,
  timestamp: string,
  body: string,
  header: string,
): Promise<boolean> {
  if (!/^\d+$/.test(timestamp) || id === "") return false;
  const key = await crypto.subtle.importKey(
    "raw",
    Uint8Array.fromBase64(secret.replace(/^whsec_/, "")),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestamp}.${body}`)),
  );
  const expected = new TextEncoder().encode(`v1,${mac.toBase64()}`);
  return header.split(" ").some((candidate) =>
    sameBytes(new TextEncoder().encode(candidate), expected)
  );
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}
