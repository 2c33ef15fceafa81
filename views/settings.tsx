/**
 * The account settings page: profile, email, password, two-factor authentication, sessions, a link
 * to the API keys and webhooks, the weekly statement, and the way to the demo accounts.
 */
import { raw } from "hono/html";
import type { EmailBlock } from "../lib/email.ts";
import type { Session } from "../lib/auth/session.ts";
import type { TotpEnrolment } from "../lib/auth/two_factor.ts";
import type { NotificationEmailChoice, User } from "../lib/auth/users.ts";
import { describeDevice } from "../lib/auth/devices.ts";
import { canonicalTimeZone } from "../lib/time.ts";
import { type Account, accountName, MAX_OPEN_ACCOUNTS } from "../lib/trading/accounts.ts";
import { LOT_METHOD_LABELS, LOT_METHODS, lotMethodOf } from "../lib/trading/lots.ts";
import { CodeField, Field, FormError, type FormState, HxForm, PasswordField } from "./form.tsx";
import { Time } from "./trading.tsx";

/** Which form a failed POST re-renders with its errors. */
export type SettingsForm =
  | "profile"
  | "email"
  | "password"
  | "reauth"
  | "totp"
  | "lotMethod"
  | "statement"
  | "notificationEmail";

export type SettingsProps = {
  user: User;
  session: Session;
  sessions: Session[];
  sudo: boolean;
  enrolment: TotpEnrolment | null;
  /** The order in which the demo account's sells close tax lots. */
  /** The account the pages show: the lot method is its own. */
  account: Account;
  /** Shown once, right after they were made. */
  recoveryCodes?: string[];
  /** The form that failed, with what the user typed and the errors. */
  failed?: { form: SettingsForm; state: FormState };
};

export function SettingsPage(props: SettingsProps) {
  const stateOf = (form: SettingsForm) =>
    props.failed?.form === form ? props.failed.state : undefined;
  return (
    <div class="settings">
      <h1>Settings</h1>
      {props.recoveryCodes && <RecoveryCodes codes={props.recoveryCodes} />}
      <section aria-labelledby="profile-h" class="card">
        <h2 id="profile-h">Profile</h2>
        <ProfileForm user={props.user} state={stateOf("profile")} />
      </section>
      <section aria-labelledby="email-h" class="card">
        <h2 id="email-h">Email</h2>
        <p>
          {props.user.email} {props.user.emailVerifiedAt
            ? <span class="badge ok">confirmed</span>
            : (
              <span class="badge warn">
                not confirmed ·{" "}
                <a href={`/verify-email?email=${encodeURIComponent(props.user.email)}`}>confirm</a>
              </span>
            )}
        </p>
        {props.sudo
          ? <EmailForm state={stateOf("email")} />
          : <p class="muted">Confirm your password below to change your email.</p>}
      </section>
      <section aria-labelledby="notifications-h" class="card" id="notifications">
        <h2 id="notifications-h">Notifications</h2>
        <NotificationEmailForm
          choice={props.user.notificationEmail ?? "none"}
          state={stateOf("notificationEmail")}
        />
      </section>
      <section aria-labelledby="statement-h" class="card">
        <h2 id="statement-h">Weekly statement</h2>
        <StatementForm on={props.user.weeklyStatement ?? false} state={stateOf("statement")} />
      </section>
      <section aria-labelledby="password-h" class="card">
        <h2 id="password-h">Password</h2>
        <PasswordForm state={stateOf("password")} />
      </section>
      <section aria-labelledby="totp-h" class="card">
        <h2 id="totp-h">Two-factor authentication</h2>
        <TwoFactor {...props} state={stateOf("totp")} />
      </section>
      {!props.sudo && (
        <section aria-labelledby="reauth-h" class="card">
          <h2 id="reauth-h">Confirm it is you</h2>
          <p>
            Changing your email or two-factor settings needs your password again (it stays confirmed
            for 10 minutes).
          </p>
          <ReauthForm user={props.user} state={stateOf("reauth")} />
        </section>
      )}
      <section aria-labelledby="sessions-h" class="card">
        <h2 id="sessions-h">Where you are signed in</h2>
        <SessionList sessions={props.sessions} current={props.session} />
      </section>
      <section aria-labelledby="keys-h" class="card">
        <h2 id="keys-h">API keys</h2>
        <p>
          <a href="/settings/keys">Keys for trading scripts</a>
        </p>
        <p>
          <a href="/settings/signals">Signal URLs for TradingView alerts</a>
        </p>
      </section>
      <section aria-labelledby="webhooks-h" class="card">
        <h2 id="webhooks-h">Webhooks</h2>
        <p>
          <a href="/settings/webhooks">Send order, alert and account events to your URL</a>
        </p>
      </section>
      <section aria-labelledby="lots-h" class="card">
        <h2 id="lots-h">Tax lots</h2>
        <LotMethodForm account={props.account} state={stateOf("lotMethod")} />
      </section>
      <section aria-labelledby="demo-h" class="card">
        <h2 id="demo-h">Demo accounts</h2>
        <p>
          Hold up to {MAX_OPEN_ACCOUNTS}{" "}
          demo accounts to compare strategies: open one with its own starting cash, switch between
          them, reset or close one.
        </p>
        <p>
          <a href="/accounts">Manage accounts</a>
        </p>
      </section>
    </div>
  );
}

/**
 * The zones the list offers: where most traders live and markets trade. Every one of the runtime's
 * 400-odd zones can be typed in the field below it; listing them all would make the settings page
 * heavier than any other page (about 4 KB compressed of the 4 KB a repeat visit may take).
 */
const COMMON_ZONES = [
  "America/New_York",
  "America/Chicago",
  "America/Denver",
  "America/Phoenix",
  "America/Los_Angeles",
  "America/Anchorage",
  "Pacific/Honolulu",
  "America/Toronto",
  "America/Vancouver",
  "America/Mexico_City",
  "America/Bogota",
  "America/Sao_Paulo",
  "America/Argentina/Buenos_Aires",
  "Europe/London",
  "Europe/Dublin",
  "Europe/Lisbon",
  "Europe/Madrid",
  "Europe/Paris",
  "Europe/Amsterdam",
  "Europe/Berlin",
  "Europe/Zurich",
  "Europe/Rome",
  "Europe/Stockholm",
  "Europe/Warsaw",
  "Europe/Athens",
  "Europe/Istanbul",
  "Europe/Kiev",
  "Europe/Moscow",
  "Africa/Lagos",
  "Africa/Cairo",
  "Africa/Johannesburg",
  "Africa/Nairobi",
  "Asia/Dubai",
  "Asia/Karachi",
  "Asia/Kolkata",
  "Asia/Bangkok",
  "Asia/Jakarta",
  "Asia/Singapore",
  "Asia/Hong_Kong",
  "Asia/Shanghai",
  "Asia/Manila",
  "Asia/Seoul",
  "Asia/Tokyo",
  "Australia/Perth",
  "Australia/Sydney",
  "Pacific/Auckland",
  "UTC",
];

/** "None chosen" first, then the common zones the runtime knows, and the user's own if not one. */
function zoneOptions(current: string): (readonly [string, string])[] {
  const zones = COMMON_ZONES.map(canonicalTimeZone).filter((z) => z !== null);
  if (current && !zones.includes(current)) zones.unshift(current);
  return [
    ["", "This browser's zone (UTC when it does not say)"],
    ...zones.map((z) => [z, z.replaceAll("_", " ")] as const),
  ];
}

export function ProfileForm(props: { user: User; state?: FormState }) {
  const state = {
    ...props.state,
    values: { name: props.user.name, timeZone: props.user.timeZone ?? "", ...props.state?.values },
  };
  const current = canonicalTimeZone(state.values.timeZone) ?? "";
  return (
    <HxForm id="profile-form" action="/settings/profile">
      <FormError state={state} />
      <Field label="Name" name="name" autocomplete="name" state={state} maxlength={100} />
      <Field
        label="Time zone"
        name="timeZone"
        state={state}
        options={zoneOptions(current)}
        required={false}
        hint="Times on every page show in this zone, with its name."
      />
      <Field
        label="Or type any zone"
        name="otherTimeZone"
        state={state}
        required={false}
        autocomplete="off"
        maxlength={64}
        hint="An IANA name such as Asia/Kathmandu; it wins over the list."
      />
      <button type="submit">Save</button>
    </HxForm>
  );
}

/** Which lots a sell closes first; a change applies from the next sell (lib/trading/lots.ts). */
export function LotMethodForm(props: { account: Account; state?: FormState }) {
  return (
    <HxForm id="lot-method-form" action="/settings/lot-method">
      <FormError state={props.state} />
      <Field
        label="Sells close lots"
        name="lotMethod"
        value={lotMethodOf(props.account)}
        state={props.state}
        options={LOT_METHODS.map((m) => [m, LOT_METHOD_LABELS[m]] as const)}
        hint={`For ${
          accountName(props.account)
        } (${props.account.number}), from its next sell; sells already made keep their lots. See realized gains under History.`}
      />
      <button type="submit">Save</button>
    </HxForm>
  );
}

const EMAIL_CHOICES = [
  ["none", "None: the bell only"],
  ["fills_alerts", "Fills and alerts"],
  ["all", "Everything, security notices included"],
] as const;

/** Which notifications also come by email (lib/notify/email_digest.ts); none unless chosen. */
export function NotificationEmailForm(
  props: { choice: NotificationEmailChoice; state?: FormState },
) {
  return (
    <HxForm id="notification-email-form" action="/settings/notification-email">
      <FormError state={props.state} />
      <Field
        label="Email me"
        name="notificationEmail"
        options={EMAIL_CHOICES}
        state={props.state}
        value={props.choice}
        hint="At most one email a minute: a burst of fills comes as one."
      />
      <p class="muted">
        Every notification is in the <a href="/notifications">bell</a>.
      </p>
      <button type="submit">Save</button>
    </HxForm>
  );
}

/** The weekly statement email (lib/trading/weekly_statement.ts), off unless asked for. */
export function StatementForm(props: { on: boolean; state?: FormState }) {
  return (
    <HxForm id="statement-form" action="/settings/weekly-statement">
      <FormError state={props.state} />
      <div class="field check">
        <input
          type="checkbox"
          id="f-weeklyStatement"
          name="weeklyStatement"
          value="true"
          checked={props.on}
        />
        <label for="f-weeklyStatement">Email me a weekly statement</label>
        {props.state?.fields?.weeklyStatement && (
          <small class="error">{props.state.fields.weeklyStatement}</small>
        )}
      </div>
      <p class="muted">
        Saturdays, 09:00 UTC: your week against SPY.{" "}
        <a href="/settings/statement-preview">Preview</a>
      </p>
      <button type="submit">Save</button>
    </HxForm>
  );
}

export function EmailForm(props: { state?: FormState }) {
  return (
    <HxForm id="email-form" action="/settings/email">
      <FormError state={props.state} />
      <Field
        label="New email"
        name="email"
        type="email"
        autocomplete="email"
        state={props.state}
        hint="We send a code to the new address; the change happens when you confirm it."
      />
      <button type="submit">Send confirmation</button>
    </HxForm>
  );
}

export function PasswordForm(props: { state?: FormState }) {
  return (
    <HxForm id="password-form" action="/settings/password">
      <FormError state={props.state} />
      <PasswordField label="Current password" name="currentPassword" state={props.state} />
      <PasswordField
        label="New password"
        name="newPassword"
        state={props.state}
        isNew
        hint="Changing it signs out every other session."
      />
      <button type="submit">Change password</button>
    </HxForm>
  );
}

export function ReauthForm(props: { user: User; state?: FormState; action?: string }) {
  return (
    <HxForm id="reauth-form" action={props.action ?? "/settings/reauth"}>
      <FormError state={props.state} />
      <PasswordField label="Password" name="password" state={props.state} />
      {props.user.totp && (
        <CodeField label="Authentication code" name="totpCode" state={props.state} />
      )}
      <button type="submit">Confirm</button>
    </HxForm>
  );
}

function TwoFactor(props: SettingsProps & { state?: FormState }) {
  const { user } = props;
  if (user.totp) {
    return (
      <>
        <FormError state={props.state} />
        <p>
          <span class="badge ok">on</span> since {user.totp.enabledAt.toISOString().slice(0, 10)} ·
          {" "}
          {user.recoveryCodeHashes.length} recovery codes left
        </p>
        {props.sudo && (
          <div class="actions">
            <form method="post" action="/settings/2fa/recovery-codes">
              <button type="submit" class="secondary">New recovery codes</button>
            </form>
            <form method="post" action="/settings/2fa/disable">
              <button type="submit" class="danger">Turn off</button>
            </form>
          </div>
        )}
      </>
    );
  }
  if (props.enrolment) {
    return (
      <>
        <p>
          Scan this code with your authenticator app, or type the key, then enter the 6-digit code
          it shows.
        </p>
        <div class="qr">{raw(props.enrolment.qrSvg)}</div>
        <p>
          Key: <code class="secret">{props.enrolment.secret}</code>
        </p>
        <HxForm id="totp-form" action="/settings/2fa/confirm">
          <FormError state={props.state} />
          <CodeField label="Code from the app" name="code" state={props.state} maxlength={8} />
          <button type="submit">Turn on</button>
        </HxForm>
      </>
    );
  }
  return (
    <>
      <FormError state={props.state} />
      <p>
        Off. A code from your phone at each sign-in keeps your account safe even if your password
        leaks.
      </p>
      {props.sudo && (
        <form method="post" action="/settings/2fa/begin">
          <button type="submit">Set up two-factor authentication</button>
        </form>
      )}
    </>
  );
}

function RecoveryCodes(props: { codes: string[] }) {
  return (
    <section class="card notice" aria-labelledby="codes-h">
      <h2 id="codes-h">Your recovery codes</h2>
      <p>
        Keep these somewhere safe. Each one signs you in once if you lose your phone. They are shown
        only now.
      </p>
      <ul class="codes">
        {props.codes.map((code) => (
          <li>
            <code>{code}</code>
          </li>
        ))}
      </ul>
    </section>
  );
}

function SessionList(props: { sessions: Session[]; current: Session }) {
  return (
    <>
      <ul class="sessions">
        {props.sessions.map((s) => (
          <li>
            <strong>{describeDevice(s.userAgent)}</strong>
            {s._id === props.current._id && <span class="badge ok">this device</span>}
            <br />
            <small class="muted">
              {s.ip} · last seen <Time at={s.lastSeenAt} />
            </small>
            {s._id !== props.current._id && (
              <form method="post" action={`/settings/sessions/${s._id}/revoke`} class="inline">
                <button type="submit" class="link">Sign out</button>
              </form>
            )}
          </li>
        ))}
      </ul>
      {props.sessions.length > 1 && (
        <form method="post" action="/settings/sessions/revoke-others">
          <button type="submit" class="secondary">Sign out everywhere else</button>
        </form>
      )}
    </>
  );
}

/**
 * This week's statement inside the page, from the same blocks as the email's text and HTML parts
 * (weekly_statement.ts statementContent), drawn with the page's own styles.
 */
export function StatementPreview(props: { subject: string; blocks: EmailBlock[]; name: string }) {
  return (
    <div class="page narrow">
      <h1>Weekly statement preview</h1>
      <p>
        The email as it stands this week so far; it goes out on Saturday mornings.{" "}
        <a href="/settings">Back to settings</a>
      </p>
      <section class="card" aria-label={props.subject}>
        <p>Hello {props.name},</p>
        {props.blocks.map(statementBlock)}
      </section>
    </div>
  );
}

function statementBlock(block: EmailBlock) {
  if (typeof block === "string") return <p>{block}</p>;
  // The email's links are absolute (APP_URL); on the page the path is enough.
  if ("link" in block) {
    return (
      <p>
        <a href={new URL(block.link).pathname}>{block.label}</a>
      </p>
    );
  }
  if ("heading" in block) return <h2>{block.heading}</h2>;
  const [head, ...rows] = block.table;
  return (
    <table class="data">
      <thead>{tableRow("th", head)}</thead>
      <tbody>{rows.map((row) => tableRow("td", row))}</tbody>
    </table>
  );
}

function tableRow(tag: "th" | "td", cells: string[]) {
  return <tr>{cells.map(tag === "th" ? headCell : bodyCell)}</tr>;
}

function headCell(cell: string) {
  return <th>{cell}</th>;
}

function bodyCell(cell: string) {
  return <td>{cell}</td>;
}
