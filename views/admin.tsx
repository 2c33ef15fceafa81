/** The admin console's frame and its smaller pages: the overview with the read-only switch, orders across users, metrics. */
import type { Child } from "hono/jsx";
import type { AdminCounts, AdminPage } from "../lib/admin.ts";
import type { BusinessMetrics, Count } from "../lib/analytics.ts";
import { DAY_ROW_CAP, METRIC_DAYS } from "../lib/analytics.ts";
import { parseFixed } from "../lib/money.ts";
import type { ReadOnlyState } from "../lib/read_only.ts";
import type { OrderJson } from "../lib/trading/orders.ts";
import { BarChart, type ChartPoint, LineChart } from "./chart.tsx";
import { Field, FormError, type FormState, HxForm } from "./form.tsx";
import { describeOrder } from "./orders.tsx";
import { price, quantity, Scroll, Time, usd } from "./trading.tsx";

export type AdminSection = "overview" | "users" | "audit" | "orders" | "metrics";

const SECTIONS: readonly [AdminSection, string, string][] = [
  ["overview", "/admin", "Overview"],
  ["users", "/admin/users", "Users"],
  ["audit", "/admin/audit", "Audit log"],
  ["orders", "/admin/orders", "Orders"],
  ["metrics", "/admin/metrics", "Metrics"],
];

const NUMBER = new Intl.NumberFormat("en-US");

/** "1,204", or "≥10,000" when counting stopped at its cap. */
export function countText(count: Count): string {
  return `${count.capped ? "≥" : ""}${NUMBER.format(count.value)}`;
}

/** Every admin page: its heading, then the console's sections as tabs. */
export function AdminFrame(props: { section: AdminSection; title: Child; children?: Child }) {
  return (
    <div class="page admin">
      <h1>{props.title}</h1>
      <nav class="tabs sections" aria-label="Admin sections">
        {SECTIONS.map(([section, href, label]) => (
          <a href={href} aria-current={section === props.section ? "page" : undefined}>{label}</a>
        ))}
      </nav>
      {props.children}
    </div>
  );
}

/** "First page" and "Next page" links of a cursor-paged admin list. */
export function AdminPager(props: { first?: string; next?: string; label: string }) {
  if (!props.first && !props.next) return null;
  return (
    <nav class="pager" aria-label={props.label}>
      {props.first && <a href={props.first}>First page</a>}
      {props.next && <a href={props.next}>Next page</a>}
    </nav>
  );
}

/** Says when a filter was applied after reading, and when the page stopped at its read budget. */
export function ScanNote(props: { page: AdminPage<unknown>; what: string }) {
  const { page } = props;
  if (page.filtered.length === 0) return null;
  return (
    <p class="muted small">
      {`Filtered by ${page.filtered.join(" and ")} while reading the ${page.index} index`}
      {page.budgetSpent
        ? `: this page read ${page.scanned} ${props.what} and stopped; there may be more matches on the next page.`
        : "."}
    </p>
  );
}

/** The query string of a list's filters, blanks left out, with extra parameters (a cursor). */
export function listHref(path: string, values: Record<string, string | undefined>): string {
  const query = new URLSearchParams(
    Object.entries(values).filter((e): e is [string, string] => Boolean(e[1])),
  ).toString();
  return query ? `${path}?${query}` : path;
}

// ---------------------------------------------------------------------------------------------
// Overview

export function AdminOverviewPage(props: {
  counts: AdminCounts;
  readOnly: ReadOnlyState;
  readOnlyForm?: FormState;
  analytics: boolean;
}) {
  const { counts } = props;
  const stats: [string, Count][] = [
    ["Users", counts.users],
    ["Admins", counts.admins],
    ["Suspended", counts.suspended],
    ["Active sessions", counts.activeSessions],
    ["Open orders", counts.openOrders],
  ];
  return (
    <AdminFrame section="overview" title="Admin">
      <dl class="stats">
        {stats.map(([label, count]) => (
          <div>
            <dt>{label}</dt>
            <dd>{countText(count)}</dd>
          </div>
        ))}
      </dl>
      <ReadOnlyCard state={props.readOnly} form={props.readOnlyForm} />
      <section aria-labelledby="sections-h">
        <h2 id="sections-h">Sections</h2>
        <ul class="links">
          <li>
            <a href="/admin/users">Users</a>{" "}
            — find a user, change their role, suspend or reinstate them, sign them out everywhere.
          </li>
          <li>
            <a href="/admin/audit">Audit log</a> — who did what, when and from where.
          </li>
          <li>
            <a href="/admin/orders">Orders</a> — the newest orders of every user.
          </li>
          <li>
            <a href="/admin/metrics">Metrics</a> — sign-ups, sign-ins, orders and traded value over
            {` ${METRIC_DAYS} days`}
            {props.analytics ? "." : " (off: ENABLE_ANALYTICS is not set)."}
          </li>
        </ul>
      </section>
    </AdminFrame>
  );
}

/** The read-only switch: its position, who set it, and the form that flips it. */
export function ReadOnlyCard(props: { state: ReadOnlyState; form?: FormState }) {
  const { state } = props;
  return (
    <section class="card" id="read-only" aria-labelledby="read-only-h">
      <h2 id="read-only-h">
        Read-only mode{" "}
        {state.on ? <span class="badge warn">on</span> : <span class="badge ok">off</span>}
      </h2>
      {state.on && (
        <p>
          {state.source === "env" ? "Set by READ_ONLY in the environment" : "Turned on by an admin"}
          {state.since && (
            <>
              {" "}since <Time at={state.since} />
            </>
          )}
          {state.reason && `: ${state.reason}`}
        </p>
      )}
      {state.source === "env"
        ? (
          <p class="muted">
            It cannot be turned off here: unset READ_ONLY and restart the app to end it.
          </p>
        )
        : <ReadOnlyForm on={state.on} state={props.form} />}
    </section>
  );
}

/** Turns read-only mode on with a reason, or off. */
export function ReadOnlyForm(props: { on: boolean; state?: FormState }) {
  return (
    <HxForm id="read-only-form" action="/admin/read-only">
      <FormError state={props.state} />
      {props.on
        ? (
          <>
            <p class="muted">
              Writes are paused for everyone but admins: users can look around and sign in and out.
            </p>
            <input type="hidden" name="on" value="false" />
            <button type="submit">Turn read-only off</button>
          </>
        )
        : (
          <>
            <p class="muted">
              Pauses every write except signing in and out and admin work, on every instance within
              a few seconds.
            </p>
            <input type="hidden" name="on" value="true" />
            <Field
              label="Reason"
              name="reason"
              state={props.state}
              maxlength={200}
              hint="Recorded in the audit log and shown here to other admins."
            />
            <button type="submit" class="danger">Turn read-only on</button>
          </>
        )}
    </HxForm>
  );
}

// ---------------------------------------------------------------------------------------------
// Orders across users

/** An order with the user who placed it (the email is missing if the user is gone). */
export type AdminOrderRow = { order: OrderJson; userId: string; email: string | null };

export function AdminOrdersPage(props: {
  status: "all" | "open";
  rows: AdminOrderRow[];
  first?: string;
  next?: string;
}) {
  return (
    <AdminFrame section="orders" title="Orders">
      <nav class="tabs" aria-label="Order status">
        <a href="/admin/orders" aria-current={props.status === "all" ? "page" : undefined}>
          All
        </a>
        <a
          href="/admin/orders?status=open"
          aria-current={props.status === "open" ? "page" : undefined}
        >
          Open only
        </a>
      </nav>
      <AdminOrdersTable
        rows={props.rows}
        showUser
        empty={props.status === "open" ? "No open orders." : "No orders yet."}
      />
      <AdminPager first={props.first} next={props.next} label="Order pages" />
    </AdminFrame>
  );
}

/** Orders newest first, read-only; with `showUser`, the user's email links to their page. */
export function AdminOrdersTable(
  props: { rows: AdminOrderRow[]; showUser?: boolean; empty: string },
) {
  if (props.rows.length === 0) return <p class="muted">{props.empty}</p>;
  return (
    <Scroll label="Orders">
      <table class="data">
        <thead>
          <tr>
            <th>Placed (UTC)</th>
            {props.showUser && <th>User</th>}
            <th>Order</th>
            <th>Type</th>
            <th class="num">Qty</th>
            <th class="num">Filled</th>
            <th class="num">Avg price</th>
            <th>Status</th>
            <th>TIF</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map(({ order: o, userId, email }) => (
            <tr>
              <td>
                <Time at={o.placedAt} />
              </td>
              {props.showUser && (
                <td>
                  <a href={`/admin/users/${encodeURIComponent(userId)}`}>{email ?? userId}</a>
                </td>
              )}
              <th scope="row">{describeOrder(o)}</th>
              <td>{o.type.replace("_", " ")}</td>
              <td class="num">{quantity(o.qty)}</td>
              <td class="num">{quantity(o.filledQty)}</td>
              <td class="num">{o.filledAvgPrice === null ? "—" : price(o.filledAvgPrice)}</td>
              <td>
                <span class={`status ${o.status}`}>{o.status.replace("_", " ")}</span>
              </td>
              <td>{o.timeInForce.toUpperCase()}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Scroll>
  );
}

// ---------------------------------------------------------------------------------------------
// Metrics

export function AdminMetricsPage(props: { metrics: BusinessMetrics | null }) {
  const m = props.metrics;
  return (
    <AdminFrame section="metrics" title="Metrics">
      {m ? <Metrics metrics={m} /> : (
        <section class="card">
          <h2>Analytics are off</h2>
          <p>
            These charts read the audit log and the fills on every visit, so they are opt-in. Set
            {" "}
            <code>ENABLE_ANALYTICS=true</code> in the environment (or{" "}
            <code>.env</code>) and restart the app to turn them on.
          </p>
        </section>
      )}
    </AdminFrame>
  );
}

function Metrics(props: { metrics: BusinessMetrics }) {
  const m = props.metrics;
  const rate = (value: number | null) => value === null ? "no sign-ins" : `${value.toFixed(1)}%`;
  const stats: [string, string][] = [
    ["Active sessions now", countText(m.activeSessions)],
    ["Sign-ups", countText(m.totals.registrations)],
    ["Sign-ins", countText(m.totals.signInSuccesses)],
    ["Failed sign-ins", countText(m.totals.signInFailures)],
    ["Failure rate", rate(m.totals.failureRate)],
    ["Orders placed", countText(m.totals.ordersPlaced)],
    [
      "Traded value",
      `${m.totals.tradedValue.capped ? "≥" : ""}${usd(m.totals.tradedValue.amount)}`,
    ],
  ];
  return (
    <>
      <p class="muted">
        The last {METRIC_DAYS} days in UTC, today so far included. Each day reads at most{" "}
        {NUMBER.format(DAY_ROW_CAP)} rows per chart; a day that reaches it shows “≥”.
      </p>
      <dl class="stats">
        {stats.map(([label, value]) => (
          <div>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      <div class="charts">
        <CountChart
          id="chart-signups"
          title="Sign-ups per day"
          valueLabel="Sign-ups"
          total={m.totals.registrations}
          days={m.registrations}
        />
        <CountChart
          id="chart-signins"
          title="Sign-ins per day"
          valueLabel="Successful sign-ins"
          total={m.totals.signInSuccesses}
          days={m.signIns.map((d) => ({ ...d, count: d.successes }))}
        />
        <CountChart
          id="chart-signin-failures"
          title="Failed sign-ins per day"
          valueLabel="Failed sign-ins"
          tone="bad"
          total={m.totals.signInFailures}
          days={m.signIns.map((d) => ({ ...d, count: d.failures }))}
        />
        <LineChart
          id="chart-failure-rate"
          title="Sign-in failure rate"
          valueLabel="Failed share of sign-ins"
          tone="bad"
          summary={`${rate(m.totals.failureRate)} of ${
            NUMBER.format(m.totals.signInSuccesses.value + m.totals.signInFailures.value)
          } sign-ins failed over ${METRIC_DAYS} days.`}
          max={{ value: 1000n, text: "100%" }}
          points={m.signIns.map((d) => ({
            label: d.day,
            // Tenths of a percent, so the scale stays in integers.
            value: d.failureRate === null ? null : BigInt(Math.round(d.failureRate * 10)),
            text: rate(d.failureRate),
          }))}
        />
        <CountChart
          id="chart-orders"
          title="Orders placed per day"
          valueLabel="Orders placed"
          total={m.totals.ordersPlaced}
          days={m.ordersPlaced}
        />
        <BarChart
          id="chart-traded"
          title="Traded value per day"
          valueLabel="Traded value (USD)"
          summary={`${m.totals.tradedValue.capped ? "at least " : ""}${
            usd(m.totals.tradedValue.amount)
          } traded over ${METRIC_DAYS} days.`}
          points={m.tradedValue.map((d) => ({
            label: d.day,
            value: parseFixed(d.amount, 8),
            text: `${d.capped ? "≥" : ""}${usd(d.amount)}`,
            capped: d.capped,
          }))}
        />
      </div>
    </>
  );
}

/** A bar chart of a count per day, its summary computed from the same points. */
function CountChart(props: {
  id: string;
  title: string;
  valueLabel: string;
  tone?: "bad";
  total: Count;
  days: { day: string; count: number; capped: boolean }[];
}) {
  const points = props.days.map((r): ChartPoint => ({
    label: r.day,
    value: BigInt(r.count),
    text: countText({ value: r.count, capped: r.capped }),
    capped: r.capped,
  }));
  const { total, days: _, ...chart } = props;
  return <BarChart {...chart} summary={summary(total, points)} points={points} />;
}

/** "12 over 14 days; most on 2025-01-31 (5)." */
function summary(total: Count, points: ChartPoint[]): string {
  const top = points.reduce<ChartPoint | null>(
    (best, p) => (p.value !== null && (best === null || p.value > best.value!) ? p : best),
    null,
  );
  const most = top && top.value! > 0n ? `; most on ${top.label} (${top.text})` : "";
  return `${countText(total)} over ${METRIC_DAYS} days${most}.`;
}
