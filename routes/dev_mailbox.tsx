/** The development mailbox over HTTP: the emails the dev mailer kept, as a page and as JSON. */
import { Hono } from "hono";
import type { DevMailbox, MailboxEntry } from "../lib/email.ts";
import { DevMailboxPage } from "../views/dev_mailbox.tsx";
import type { AppEnv } from "./env.ts";

/**
 * `GET /mailbox` (page) and `GET /mailbox.json`, each with an optional `?to=<address>` filter.
 * Mount with `app.route("/dev", devMailboxRoutes(mailbox))`, and only outside production with
 * the dev mailer: the routes check neither.
 */
export function devMailboxRoutes(mailbox: DevMailbox): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/mailbox", (c) => {
      const to = recipient(c.req.query("to"));
      // The emails carry live verification and reset tokens; no cache may keep a copy.
      c.header("Cache-Control", "no-store");
      return c.render(
        <DevMailboxPage emails={emailsTo(mailbox, to)} to={to} path={c.req.path} />,
        { title: "Dev mailbox" },
      );
    })
    .get("/mailbox.json", (c) => {
      const emails = emailsTo(mailbox, recipient(c.req.query("to"))).map((email) => ({
        id: email.id,
        from: email.from,
        to: email.to,
        subject: email.subject,
        text: email.text,
        html: email.html,
        sentAt: email.sentAt.toISOString(),
      }));
      c.header("Cache-Control", "no-store");
      return c.json({ emails });
    });
}

/** An empty `?to=` (the filter form submitted blank) means no filter. */
function recipient(to: string | undefined): string | undefined {
  return to?.trim() || undefined;
}

// Addresses are compared without case, as people type them and as mail providers treat them.
function emailsTo(mailbox: DevMailbox, to: string | undefined): MailboxEntry[] {
  const emails = mailbox.list();
  if (to === undefined) return emails;
  const wanted = to.toLowerCase();
  return emails.filter((email) => email.to.toLowerCase() === wanted);
}
