/** The development mailbox page: every kept email's envelope, its links and its text part, newest first. */
import type { MailboxEntry } from "../lib/email.ts";

// Only http(s) links become anchors, so a crafted email cannot smuggle a javascript: URL into our page.
const LINK = /\bhttps?:\/\/[^\s<>"'`]+/g;
// Sentence punctuation after a URL in prose belongs to the sentence, not the link.
const TRAILING_PUNCTUATION = /[.,;:!?)\]]+$/;

/**
 * Lists `emails` with a recipient filter. `path` is where this page is served (the form and the
 * JSON link point at it). The HTML part is shown as escaped source only: injecting it would
 * break our CSP and let an email's markup run in the app's origin.
 */
export function DevMailboxPage(props: { emails: MailboxEntry[]; to?: string; path: string }) {
  return (
    <section class="dev-mailbox">
      <h1>Dev mailbox</h1>
      <p class="muted">
        Emails the app would have sent, newest first. They are kept in memory by the development
        mailer and never leave this machine. Follow a link below to verify an email address or reset
        a password.
      </p>
      <form method="get" action={props.path} role="search">
        <label for="dev-mailbox-to">Recipient</label>{" "}
        <input id="dev-mailbox-to" type="email" name="to" value={props.to ?? ""} />{" "}
        <button type="submit">Filter</button>
        {props.to && <a href={props.path}>Show all</a>}
      </form>
      <p>
        <a href={`${props.path}.json${props.to ? `?to=${encodeURIComponent(props.to)}` : ""}`}>
          As JSON
        </a>
      </p>
      {props.emails.length === 0
        ? <p>No emails{props.to ? ` to ${props.to}` : ""} yet.</p>
        : props.emails.map((email) => <MailboxEmail key={email.id} email={email} />)}
    </section>
  );
}

function MailboxEmail(props: { email: MailboxEntry }) {
  const { email } = props;
  const links = linksIn(email.text);
  return (
    <article class="dev-mailbox-email" id={`email-${email.id}`}>
      <h2>{email.subject}</h2>
      <dl>
        <dt>To</dt>
        <dd>{email.to}</dd>
        <dt>From</dt>
        <dd>{email.from}</dd>
        <dt>Sent</dt>
        <dd>
          <time datetime={email.sentAt.toISOString()}>
            {`${email.sentAt.toISOString().slice(0, 19).replace("T", " ")} UTC`}
          </time>
        </dd>
      </dl>
      {links.length > 0 && (
        <ul class="dev-mailbox-links">
          {links.map((link) => (
            <li>
              <a href={link}>{link}</a>
            </li>
          ))}
        </ul>
      )}
      <pre>{email.text}</pre>
      <details>
        <summary>HTML part (source)</summary>
        <pre>{email.html}</pre>
      </details>
    </article>
  );
}

function linksIn(text: string): string[] {
  const links = (text.match(LINK) ?? []).map((link) => link.replace(TRAILING_PUNCTUATION, ""));
  return [...new Set(links)];
}
