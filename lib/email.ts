/** Email behind one `Mailer`: Resend's API, an SMTP server (nodemailer), or an in-memory dev mailbox. */
import { escapeToBuffer, type StringBuffer } from "hono/utils/html";
import type { Config } from "./config.ts";
import { newId } from "./ids.ts";
import type { Logger } from "./log.ts";

/** How many emails the development mailbox keeps; older ones are dropped first. */
export const DEV_MAILBOX_CAPACITY = 200;

// A send that hangs would hold a sign-up request open; a healthy provider answers in seconds.
const CONNECT_TIMEOUT_MS = 5_000;
const SEND_TIMEOUT_MS = 10_000;
const LOOPBACK = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);
// One plain address only: a comma or angle brackets would let one `to` reach several mailboxes.
const SINGLE_ADDRESS = /^[^\s@,;:<>()[\]\\"]+@[^\s@,;:<>()[\]\\"]+$/;

/**
 * Thrown by `Mailer.send` when the provider refuses or cannot be reached. The message is safe to
 * log: it never holds the API key or the SMTP password.
 */
export class EmailError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EmailError";
  }
}

/** The emails the dev mailer "sent", newest first, kept in memory and bounded. */
export class DevMailbox {
  readonly #entries: MailboxEntry[] = [];
  readonly #capacity: number;

  constructor(capacity = DEV_MAILBOX_CAPACITY) {
    this.#capacity = capacity;
  }

  /** Keeps a copy of the email with a new id and the current time; returns the entry. */
  add(email: Email & { from: string }): MailboxEntry {
    const entry: MailboxEntry = Object.freeze({
      id: newId(),
      from: email.from,
      to: email.to,
      subject: email.subject,
      text: email.text,
      html: email.html,
      sentAt: new Date(),
    });
    this.#entries.unshift(entry);
    this.#entries.length = Math.min(this.#entries.length, this.#capacity);
    return entry;
  }

  /** Every kept email, newest first. */
  list(): MailboxEntry[] {
    return [...this.#entries];
  }
}

/**
 * The mailer the configuration asks for: Resend when RESEND_API_KEY is set, SMTP when
 * EMAIL_SERVER_HOST is, the dev mailbox otherwise. `options.resendBaseUrl` points the Resend SDK
 * at another API origin (tests use a local server). Throws for the dev mailer in production.
 */
export async function createMailer(
  config: Pick<Config, "email" | "resendApiKey" | "emailFrom" | "emailServer" | "isProduction">,
  log: Logger,
  options: { resendBaseUrl?: string } = {},
): Promise<Mailer> {
  const from = config.emailFrom;
  switch (config.email.kind) {
    case "resend": {
      if (config.resendApiKey === undefined) throw new Error("Resend needs RESEND_API_KEY.");
      // Each provider's client loads only when configured, keeping the others out of cold starts.
      const { Resend } = await import("resend");
      return resendMailer(
        new Resend(
          config.resendApiKey,
          options.resendBaseUrl === undefined ? undefined : { baseUrl: options.resendBaseUrl },
        ),
        config.resendApiKey,
        from,
        log,
      );
    }
    case "smtp": {
      if (config.emailServer === undefined) throw new Error("SMTP needs EMAIL_SERVER_HOST.");
      const { createTransport } = await import("nodemailer");
      return smtpMailer(createTransport, config.emailServer, from, log);
    }
    case "dev": {
      // Config validation already refuses this; checking again keeps a production app from silently
      // swallowing every verification and reset email if that rule ever changes.
      if (config.isProduction) {
        throw new Error(
          "The development mailbox is not available in production: set RESEND_API_KEY or EMAIL_SERVER_HOST.",
        );
      }
      return devMailer(from, log);
    }
  }
}

// The Resend SDK takes `baseUrl` as a constructor option (without it, it reads RESEND_BASE_URL),
// so tests point it at a local server without touching the process environment.
function resendMailer(
  resend: import("resend").Resend,
  apiKey: string,
  from: string,
  log: Logger,
): Mailer {
  return mailer("resend", log, [apiKey], async (email) => {
    // The SDK reports API and network failures as `error` rather than throwing.
    const { data, error } = await resend.emails.send(
      { from, to: email.to, subject: email.subject, text: email.text, html: email.html },
      { signal: AbortSignal.timeout(SEND_TIMEOUT_MS) },
    );
    if (error) {
      const status = error.statusCode === null ? "" : ` (HTTP ${error.statusCode})`;
      throw new EmailError(
        `Resend did not accept the email${status}: ${error.name}: ${error.message}`,
      );
    }
    return data.id;
  });
}

function smtpMailer(
  createTransport: typeof import("nodemailer").createTransport,
  server: NonNullable<Config["emailServer"]>,
  from: string,
  log: Logger,
): Mailer {
  const transport = createTransport({
    host: server.host,
    port: server.port,
    // 465 speaks TLS from the first byte; other ports upgrade with STARTTLS when the server offers it.
    secure: server.port === 465,
    auth: server.user === undefined ? undefined : { user: server.user, pass: server.password },
    // Without this, a man in the middle who strips STARTTLS would read the password; a relay on
    // this machine is exempt because the password never crosses a network.
    requireTLS: server.user !== undefined && server.port !== 465 && !LOOPBACK.has(server.host),
    connectionTimeout: CONNECT_TIMEOUT_MS,
    greetingTimeout: CONNECT_TIMEOUT_MS,
    socketTimeout: SEND_TIMEOUT_MS,
    // Our messages are plain strings; nodemailer must never read a file or fetch a URL for one.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return mailer("smtp", log, [server.password], async (email) => {
    const info = await transport.sendMail({
      from,
      to: email.to,
      subject: email.subject,
      text: email.text,
      html: email.html,
    });
    return info.messageId;
  }, { close: () => Promise.resolve(transport.close()) });
}

function devMailer(from: string, log: Logger): Mailer {
  const mailbox = new DevMailbox();
  return mailer("dev", log, [], (email) => Promise.resolve(mailbox.add({ ...email, from }).id), {
    mailbox,
  });
}

/**
 * The one `send` every kind shares: checks the recipient, delivers, logs one line without the body,
 * and turns any failure into an EmailError with `secrets` scrubbed from its message.
 */
function mailer(
  kind: Mailer["kind"],
  log: Logger,
  secrets: (string | undefined)[],
  deliver: (email: Email) => Promise<string | undefined>,
  extra: { mailbox?: DevMailbox; close?: () => Promise<void> } = {},
): Mailer {
  return {
    kind,
    mailbox: extra.mailbox,
    close: extra.close ?? (() => Promise.resolve()),
    async send(email) {
      const started = performance.now();
      // The body carries verification and reset tokens, so only the envelope is ever logged;
      // real providers log the domain alone, the dev mailbox the full address a developer looks for.
      const fields = {
        kind,
        ...(kind === "dev" ? { to: email.to } : { toDomain: domainOf(email.to) }),
        subject: email.subject,
      };
      try {
        if (!SINGLE_ADDRESS.test(email.to)) {
          throw new EmailError("The recipient must be exactly one email address.");
        }
        const id = await deliver(email);
        log.info("email sent", { ...fields, id, ms: Math.round(performance.now() - started) });
      } catch (error) {
        const failure = toEmailError(kind, error, secrets);
        log.warn("email failed", { ...fields, error: failure.message });
        throw failure;
      }
    },
  };
}

function toEmailError(kind: Mailer["kind"], error: unknown, secrets: (string | undefined)[]) {
  // A provider could echo a credential back in its error text; it is removed whatever the source.
  if (error instanceof EmailError) return new EmailError(scrub(error.message, secrets));
  // nodemailer tags its errors (ECONNECTION, ETIMEDOUT, EAUTH, ...); the tag tells ops where to look.
  const code = (error as { code?: unknown } | null)?.code;
  const tag = typeof code === "string" ? ` (${code})` : "";
  const reason = error instanceof Error ? error.message : String(error);
  return new EmailError(`Sending through ${kind} failed${tag}: ${scrub(reason, secrets)}`);
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf("@") + 1).toLowerCase();
}

function scrub(message: string, secrets: (string | undefined)[]): string {
  let safe = message;
  for (const secret of secrets) {
    if (secret) safe = safe.replaceAll(secret, "[redacted]");
  }
  return safe;
}

/** One email with both a plain-text and an HTML part. */
export type Email = { to: string; subject: string; text: string; html: string };

/** An email the development mailbox kept. */
export type MailboxEntry = Email & { id: string; from: string; sentAt: Date };

/** Sends email through whichever provider the configuration chose. */
export interface Mailer {
  readonly kind: "resend" | "smtp" | "dev";
  /** Sends (or, for dev, keeps) the email; throws EmailError when the provider refuses or is unreachable. */
  send(email: Email): Promise<void>;
  /** The development mailbox, newest first; only the dev mailer has one. */
  readonly mailbox?: DevMailbox;
  /** Releases connections; call once at shutdown. */
  close(): Promise<void>;
}

/**
 * One block of an email: a paragraph, a link, a heading, or a small table whose first row holds the
 * column headings.
 */
export type EmailBlock =
  | string
  | { link: string; label: string }
  | { heading: string }
  | { table: string[][] };

/**
 * Every email Orion sends, built once from its blocks into a plain-text part and a light HTML part,
 * so the two say the same. Every string is escaped in the HTML: names and other things users typed
 * are safe in any block.
 */
export function composeEmail(
  to: string,
  subject: string,
  name: string,
  blocks: EmailBlock[],
): Email {
  const greeting = `Hello ${name},`;
  const text = [greeting, ...blocks.map(textBlock)].join("\n\n") + "\n\nOrion Assets Broker\n";
  const body = [greeting, ...blocks].map(htmlBlock).join("\n");
  const html =
    `<!DOCTYPE html><html lang="en"><body style="font-family:system-ui,sans-serif;line-height:1.5">
${body}
<p style="color:#5b6270">Orion Assets Broker</p></body></html>`;
  return { to, subject, text, html };
}

function textBlock(block: EmailBlock): string {
  if (typeof block === "string") return block;
  if ("link" in block) return `${block.label}: ${block.link}`;
  if ("heading" in block) return `${block.heading}\n${"-".repeat(block.heading.length)}`;
  // Columns padded to their widest cell, so the table reads in a monospaced mail client too.
  const widths = block.table[0].map((_, n) => Math.max(...block.table.map((row) => row[n].length)));
  return block.table.map((row) => row.map((cell, n) => cell.padEnd(widths[n])).join("  ").trimEnd())
    .join("\n");
}

function htmlBlock(block: EmailBlock): string {
  if (typeof block === "string") return `<p>${escapeHtml(block)}</p>`;
  if ("link" in block) {
    return `<p><a href="${escapeHtml(block.link)}">${escapeHtml(block.label)}</a></p>`;
  }
  if ("heading" in block) {
    return `<h2 style="font-size:1.1em;margin:1.5em 0 0">${escapeHtml(block.heading)}</h2>`;
  }
  const [head, ...rows] = block.table;
  const row = (tag: "th" | "td", cells: string[]) =>
    `<tr>${cells.map((c) => `<${tag} align="left">${escapeHtml(c)}</${tag}>`).join("")}</tr>`;
  return `<table cellpadding="4" style="border-collapse:collapse">${row("th", head)}${
    rows.map((r) => row("td", r)).join("")
  }</table>`;
}

function escapeHtml(value: string): string {
  const buffer: StringBuffer = [""];
  escapeToBuffer(value, buffer);
  return buffer[0] as string;
}
