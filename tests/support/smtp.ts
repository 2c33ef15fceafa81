/** A real SMTP server (the `smtp-server` package) on a free loopback port that keeps every message it accepts. */
import { Buffer } from "node:buffer";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

/**
 * Starts the server; with `auth`, only that user and password may send, otherwise anyone may.
 * Dispose it (`await using`) or call `close()` when done.
 */
export async function startSmtpServer(
  options: { auth?: { user: string; password: string } } = {},
): Promise<TestSmtpServer> {
  const messages: ReceivedMessage[] = [];
  const server = new SMTPServer({
    // Silences the warning about the built-in test certificate, which these tests never use.
    logger: false,
    // No certificate here, so no STARTTLS; smtp-server then accepts AUTH in clear text.
    disabledCommands: ["STARTTLS"],
    authOptional: options.auth === undefined,
    // A client still connected must not hold a test open for the default 30 seconds.
    closeTimeout: 1_000,
    onAuth(auth, _session, callback) {
      const expected = options.auth;
      if (expected && auth.username === expected.user && auth.password === expected.password) {
        callback(null, { user: auth.username });
      } else {
        callback(new Error("Invalid username or password"));
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", callback);
      stream.on("end", () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((recipient) => recipient.address),
          raw: Buffer.concat(chunks).toString("utf8"),
        });
        callback(null);
      });
    },
  });
  const listening = Promise.withResolvers<void>();
  server.once("error", listening.reject);
  server.listen(0, "127.0.0.1", () => listening.resolve());
  await listening.promise;
  const { port } = server.server.address() as AddressInfo;
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return { port, messages, close, [Symbol.asyncDispose]: close };
}

/** One accepted message: the envelope sender and recipients, and the message as sent (headers and MIME body). */
export type ReceivedMessage = { from: string; to: string[]; raw: string };

/** A running test SMTP server. */
export type TestSmtpServer = {
  port: number;
  /** Every accepted message, oldest first. */
  messages: ReceivedMessage[];
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};
