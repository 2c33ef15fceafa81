/** The audit log for admins: filters by user, action, outcome and UTC dates, newest first. */
import { ADMIN_PAGE_SIZE, type AdminPage, AUDIT_ACTIONS } from "../lib/admin.ts";
import type { AuditEntry } from "../lib/audit.ts";
import { AdminFrame, AdminPager, ScanNote } from "./admin.tsx";
import { Field, FormError, type FormState } from "./form.tsx";
import { Scroll, Time } from "./trading.tsx";

export type AuditFilterValues = {
  user?: string;
  action?: string;
  outcome?: string;
  from?: string;
  to?: string;
};

const ACTION_OPTIONS = [["", "Any action"], ...AUDIT_ACTIONS.map((a) => [a, a] as const)] as const;
const OUTCOME_OPTIONS = [
  ["", "Any outcome"],
  ["success", "success"],
  ["failure", "failure"],
] as const;
/** User agents are long and chosen by the client; the table shows the start, the title the rest. */
const AGENT_SHOWN = 40;

export function AuditPage(props: {
  filter: AuditFilterValues;
  page: AdminPage<AuditEntry> | null;
  emails: Map<string, string>;
  first?: string;
  next?: string;
  state?: FormState;
}) {
  const state = { ...props.state, values: { ...props.filter, ...props.state?.values } };
  return (
    <AdminFrame section="audit" title="Audit log">
      <form method="get" action="/admin/audit" class="filters" aria-label="Filter the audit log">
        <FormError state={props.state} />
        <Field
          id="a-user"
          label="User (id or email)"
          name="user"
          state={state}
          required={false}
          maxlength={254}
        />
        <Field
          id="a-action"
          label="Action"
          name="action"
          state={state}
          required={false}
          options={ACTION_OPTIONS}
        />
        <Field
          id="a-outcome"
          label="Outcome"
          name="outcome"
          state={state}
          required={false}
          options={OUTCOME_OPTIONS}
        />
        <Field
          id="a-from"
          label="From (UTC)"
          name="from"
          type="date"
          state={state}
          required={false}
          placeholder="YYYY-MM-DD"
        />
        <Field
          id="a-to"
          label="To (UTC, inclusive)"
          name="to"
          type="date"
          state={state}
          required={false}
          placeholder="YYYY-MM-DD"
        />
        <div class="actions">
          <button type="submit">Filter</button>
          <a href="/admin/audit">Clear</a>
        </div>
      </form>
      {props.page && <ScanNote page={props.page} what="entries" />}
      {!props.page || props.page.items.length === 0
        ? <p class="muted">No entries match.</p>
        : <AuditTable entries={props.page.items} emails={props.emails} />}
      <AdminPager first={props.first} next={props.next} label="Audit log pages" />
      <p class="muted small">{ADMIN_PAGE_SIZE} per page, newest first.</p>
    </AdminFrame>
  );
}

function AuditTable(props: { entries: AuditEntry[]; emails: Map<string, string> }) {
  return (
    <Scroll label="Audit log">
      <table class="data audit">
        <thead>
          <tr>
            <th>Time (UTC)</th>
            <th>Action</th>
            <th>Outcome</th>
            <th>User</th>
            <th>Actor</th>
            <th>IP</th>
            <th>User agent</th>
            <th>Details</th>
          </tr>
        </thead>
        <tbody>
          {props.entries.map((e) => (
            <tr>
              <td>
                <Time at={e.at} precise />
              </td>
              <th scope="row">{e.action}</th>
              <td>
                <span class={`badge ${e.outcome === "success" ? "ok" : "warn"}`}>{e.outcome}</span>
              </td>
              <td>
                <UserRef id={e.userId} emails={props.emails} />
              </td>
              <td>
                <UserRef id={e.actorId} emails={props.emails} />
              </td>
              <td>{e.ip ?? "—"}</td>
              <td title={e.userAgent ?? undefined}>{truncate(e.userAgent ?? "—", AGENT_SHOWN)}</td>
              <td class="details">{detailsText(e.details) || "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Scroll>
  );
}

/** A user id as their email, linked to their page; ids that name no user (and `cli`) stay as they are. */
function UserRef(props: { id: string | null; emails: Map<string, string> }) {
  if (props.id === null) return <>—</>;
  const email = props.emails.get(props.id);
  return email
    ? <a href={`/admin/users/${encodeURIComponent(props.id)}`}>{email}</a>
    : <code>{props.id}</code>;
}

/** "from=USER to=DEMO": the details as key=value pairs. */
export function detailsText(details: AuditEntry["details"]): string {
  return Object.entries(details).map(([key, value]) => `${key}=${value ?? "null"}`).join(" ");
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
