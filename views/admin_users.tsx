/** The admin's user pages: search by email prefix, role and status; one user's profile, money, orders, sessions, API keys, signal URLs and actions. */
import { ADMIN_PAGE_SIZE, type AdminPage, ASSIGNABLE_ROLES } from "../lib/admin.ts";
import { type ApiKey, isExpired } from "../lib/auth/api_keys.ts";
import type { SignalUrl } from "../lib/trading/signals.ts";
import type { Session } from "../lib/auth/session.ts";
import { ROLES, type User } from "../lib/auth/users.ts";
import type { accountSnapshot } from "../lib/trading/portfolio.ts";
import {
  AdminFrame,
  type AdminOrderRow,
  AdminOrdersTable,
  AdminPager,
  ScanNote,
} from "./admin.tsx";
import { Field, FormError, type FormState } from "./form.tsx";
import { describeDevice } from "../lib/auth/devices.ts";
import { ActionsHeader, Pager, PostButton, Scroll, Time, usd } from "./trading.tsx";

export type UserFilterValues = { email?: string; role?: string; status?: string };

const ROLE_OPTIONS = [["", "Any role"], ...ROLES.map((r) => [r, r] as const)] as const;
const STATUS_OPTIONS = [
  ["", "Any status"],
  ["verified", "Email confirmed"],
  ["unverified", "Email not confirmed"],
] as const;

export function UsersPage(props: {
  filter: UserFilterValues;
  page: AdminPage<User> | null;
  first?: string;
  next?: string;
  state?: FormState;
}) {
  const state = { ...props.state, values: { ...props.filter, ...props.state?.values } };
  return (
    <AdminFrame section="users" title="Users">
      <form
        method="get"
        action="/admin/users"
        role="search"
        class="filters"
        hx-get="/admin/users"
        hx-trigger="submit, input delay:300ms"
        hx-target="#user-results"
        hx-swap="outerHTML"
        hx-push-url="true"
      >
        <FormError state={props.state} />
        <Field
          id="u-email"
          label="Email starts with"
          name="email"
          state={state}
          required={false}
          maxlength={254}
          autocomplete="off"
          placeholder="e.g. ada@"
        />
        <Field
          id="u-role"
          label="Role"
          name="role"
          state={state}
          required={false}
          options={ROLE_OPTIONS}
        />
        <Field
          id="u-status"
          label="Status"
          name="status"
          state={state}
          required={false}
          options={STATUS_OPTIONS}
        />
        <button type="submit">Search</button>
      </form>
      <UserResults page={props.page} first={props.first} next={props.next} />
    </AdminFrame>
  );
}

/** The matching users: part of the page, and the whole htmx answer to a search. */
export function UserResults(
  props: { page: AdminPage<User> | null; first?: string; next?: string; error?: string },
) {
  const { page } = props;
  return (
    <div id="user-results" aria-live="polite">
      {props.error && <p class="form-error" role="alert">{props.error}</p>}
      {page && <ScanNote page={page} what="users" />}
      {!page || page.items.length === 0
        ? !props.error && <p class="muted">No users match.</p>
        : (
          <Scroll label="Users">
            <table class="data">
              <thead>
                <tr>
                  <th>Email</th>
                  <th>Name</th>
                  <th>Role</th>
                  <th>Email confirmed</th>
                  <th>2FA</th>
                  <th>Created (UTC)</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((u) => (
                  <tr>
                    <th scope="row">
                      <a href={`/admin/users/${encodeURIComponent(u._id)}`}>{u.email}</a>
                    </th>
                    <td>{u.name}</td>
                    <td>
                      <RoleBadge role={u.role} />
                    </td>
                    <td>{u.emailVerifiedAt ? "yes" : "no"}</td>
                    <td>{u.totp ? "on" : "off"}</td>
                    <td>
                      <Time at={u.createdAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Scroll>
        )}
      <AdminPager first={props.first} next={props.next} label="User pages" />
      <p class="muted small">{ADMIN_PAGE_SIZE} per page.</p>
    </div>
  );
}

export function RoleBadge(props: { role: User["role"] }) {
  const tone = props.role === "SUSPENDED" ? "warn" : props.role === "ADMIN" ? "info" : "plain";
  return <span class={`badge ${tone}`}>{props.role}</span>;
}

export type AdminAccount = Awaited<ReturnType<typeof accountSnapshot>>["account"] & {
  openOrders: number;
};

export function UserPage(props: {
  user: User;
  /** The admin is looking at themself: the actions that could lock them out are not offered. */
  self: boolean;
  accounts: AdminAccount[];
  orders: AdminOrderRow[];
  newer?: string;
  older?: string;
  sessions: Session[];
  apiKeys: ApiKey[];
  signalUrls: SignalUrl[];
}) {
  const { user } = props;
  const base = `/admin/users/${encodeURIComponent(user._id)}`;
  return (
    <AdminFrame section="users" title={user.email}>
      <section class="card" aria-labelledby="profile-h">
        <h2 id="profile-h">Profile</h2>
        <dl class="facts">
          <dt>Email</dt>
          <dd>{user.email}</dd>
          <dt>Name</dt>
          <dd>{user.name}</dd>
          <dt>Role</dt>
          <dd>
            <RoleBadge role={user.role} />
          </dd>
          <dt>Email confirmed</dt>
          <dd>{user.emailVerifiedAt ? <Time at={user.emailVerifiedAt} /> : "no"}</dd>
          <dt>Two-factor</dt>
          <dd>{user.totp ? "on" : "off"}</dd>
          <dt>Created</dt>
          <dd>
            <Time at={user.createdAt} />
          </dd>
          <dt>Id</dt>
          <dd>
            <code>{user._id}</code>
          </dd>
        </dl>
        <a href={`/admin/audit?user=${encodeURIComponent(user._id)}`}>This user's audit log</a>
      </section>

      <section class="card" aria-labelledby="actions-h">
        <h2 id="actions-h">Actions</h2>
        {props.self
          ? (
            <p class="muted">
              This is you. Another admin must change your role or clear your sessions, so no admin
              can lock themself out.
            </p>
          )
          : <UserActions user={user} base={base} sessions={props.sessions.length} />}
      </section>

      <section aria-labelledby="accounts-h">
        <h2 id="accounts-h">Accounts</h2>
        <AccountsTable accounts={props.accounts} />
      </section>

      <section aria-labelledby="orders-h">
        <h2 id="orders-h">Orders</h2>
        <AdminOrdersTable rows={props.orders} empty="No orders yet." />
        <Pager newer={props.newer} older={props.older} label="Order pages" />
      </section>

      <section aria-labelledby="sessions-h">
        <h2 id="sessions-h">Sessions</h2>
        <SessionsTable sessions={props.sessions} />
      </section>

      <section aria-labelledby="keys-h">
        <h2 id="keys-h">API keys</h2>
        <ApiKeysTable keys={props.apiKeys} base={base} />
      </section>

      <section aria-labelledby="signal-urls-h">
        <h2 id="signal-urls-h">Signal URLs</h2>
        <SignalUrlsTable urls={props.signalUrls} accounts={props.accounts} base={base} />
      </section>
    </AdminFrame>
  );
}

function UserActions(props: { user: User; base: string; sessions: number }) {
  const { user, base } = props;
  const suspended = user.role === "SUSPENDED";
  return (
    <>
      {!suspended && (
        <form method="post" action={`${base}/role`} class="row">
          <Field
            id="a-role"
            label="Role"
            name="role"
            value={user.role}
            options={ASSIGNABLE_ROLES.map((r) => [r, r] as const)}
          />
          <button type="submit">Change role</button>
        </form>
      )}
      <p class="muted">
        Changing the role, suspending or reinstating signs the user out everywhere at once.
      </p>
      <div class="actions">
        {suspended
          ? <PostButton action={`${base}/reinstate`} label="Reinstate" class="" />
          : <PostButton action={`${base}/suspend`} label="Suspend" class="danger" />}
        <PostButton
          action={`${base}/sessions/clear`}
          label={`Sign out everywhere (${props.sessions} ${
            props.sessions === 1 ? "session" : "sessions"
          })`}
          class="secondary"
        />
      </div>
    </>
  );
}

function AccountsTable(props: { accounts: AdminAccount[] }) {
  if (props.accounts.length === 0) return <p class="muted">No accounts yet.</p>;
  return (
    <Scroll label="Accounts">
      <table class="data">
        <thead>
          <tr>
            <th>Account</th>
            <th>Status</th>
            <th class="num">Cash</th>
            <th class="num">Equity</th>
            <th class="num">Buying power</th>
            <th class="num">Open orders</th>
            <th>Opened (UTC)</th>
          </tr>
        </thead>
        <tbody>
          {props.accounts.map((a) => (
            <tr>
              <th scope="row">{a.number}</th>
              <td>{a.status}</td>
              <td class="num">{usd(a.cash)}</td>
              <td class="num">{usd(a.equity)}</td>
              <td class="num">{usd(a.buyingPower)}</td>
              <td class="num">{a.openOrders}</td>
              <td>
                <Time at={a.createdAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Scroll>
  );
}

function SessionsTable(props: { sessions: Session[] }) {
  if (props.sessions.length === 0) return <p class="muted">Not signed in anywhere.</p>;
  return (
    <Scroll label="Sessions">
      <table class="data">
        <thead>
          <tr>
            <th>Device</th>
            <th>IP</th>
            <th>Last seen (UTC)</th>
            <th>Signed in (UTC)</th>
          </tr>
        </thead>
        <tbody>
          {props.sessions.map((s) => (
            <tr>
              <th scope="row">{describeDevice(s.userAgent)}</th>
              <td>{s.ip}</td>
              <td>
                <Time at={s.lastSeenAt} />
              </td>
              <td>
                <Time at={s.createdAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Scroll>
  );
}

function SignalUrlsTable(props: { urls: SignalUrl[]; accounts: AdminAccount[]; base: string }) {
  // The account by its number, as the accounts table above names it.
  const numbers = new Map(props.accounts.map((a) => [a.id, a.number]));
  if (props.urls.length === 0) return <p class="muted">No signal URLs.</p>;
  return (
    <Scroll label="Signal URLs">
      <table class="data">
        <thead>
          <tr>
            <th>Name</th>
            <th>Token</th>
            <th>Account</th>
            <th>Signing</th>
            <th>Last used (UTC)</th>
            <th>Revoked (UTC)</th>
            <ActionsHeader />
          </tr>
        </thead>
        <tbody>
          {props.urls.map((u) => (
            <tr>
              <th scope="row">{u.name}</th>
              <td>
                <code>{u.tokenPrefix}…</code>
              </td>
              <td>{numbers.get(u.accountId) ?? u.accountId}</td>
              <td>{u.signing}</td>
              <td>{u.lastUsedAt ? <Time at={u.lastUsedAt} /> : "never"}</td>
              <td>{u.revokedAt ? <Time at={u.revokedAt} /> : ""}</td>
              <td>
                {u.revokedAt === null && (
                  <PostButton
                    action={`${props.base}/signal-urls/${encodeURIComponent(u._id)}/revoke`}
                    label="Revoke"
                  />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Scroll>
  );
}

function ApiKeysTable(props: { keys: ApiKey[]; base: string }) {
  if (props.keys.length === 0) return <p class="muted">No API keys.</p>;
  const now = new Date();
  return (
    <Scroll label="API keys">
      <table class="data">
        <thead>
          <tr>
            <th>Name</th>
            <th>Key</th>
            <th>Scopes</th>
            <th>Last used (UTC)</th>
            <th>Last IP</th>
            <th>Expires (UTC)</th>
            <ActionsHeader />
          </tr>
        </thead>
        <tbody>
          {props.keys.map((k) => (
            <tr>
              <th scope="row">{k.name}</th>
              <td>
                <code>{k.displayPrefix}…</code>
              </td>
              <td>{k.scopes.join(", ")}</td>
              <td>{k.lastUsedAt ? <Time at={k.lastUsedAt} /> : "never"}</td>
              <td>{k.lastIp ?? ""}</td>
              <td>
                {k.expiresAt ? <Time at={k.expiresAt} /> : "never"}
                {isExpired(k, now) ? " (expired)" : ""}
              </td>
              <td>
                <PostButton
                  action={`${props.base}/keys/${encodeURIComponent(k._id)}/revoke`}
                  label="Revoke"
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Scroll>
  );
}
