/**
 * /settings/signals: the user's signal URLs (make, revoke) and what their signals did. Plain forms,
 * no JavaScript needed; a new URL's token and secret are shown on the page that answers its
 * creation, and never again.
 */
import type { User } from "../lib/auth/users.ts";
import { type Account, accountName } from "../lib/trading/accounts.ts";
import type { Order } from "../lib/trading/orders.ts";
import {
  MAX_SIGNAL_URLS_PER_USER,
  type Signal,
  type SignalUrl,
  type Signing,
} from "../lib/trading/signals.ts";
import { Field, FormError, type FormState } from "./form.tsx";
import { ReauthForm } from "./settings.tsx";
import { ActionsHeader, PostButton, Scroll, Time } from "./trading.tsx";

/**
 * The alert message to paste into TradingView for a strategy: its placeholders fill the side and
 * size, and the clientOrderId is the same when TradingView resends one alert, so it places once.
 */
export const TRADINGVIEW_MESSAGE =
  '{"symbol":"{{ticker}}","side":"{{strategy.order.action}}","qty":"{{strategy.order.contracts}}","clientOrderId":"{{ticker}}-{{timenow}}"}';

const SIGNING_LABELS: Record<Signing, string> = {
  none: "None: the URL alone (TradingView)",
  app: "Signed with the server's WEBHOOK_SECRET",
  url: "Signed with a secret of this URL's own",
};

const SIGNING_BADGES: Record<Signing, string> = {
  none: "unsigned",
  app: "signed (server secret)",
  url: "signed (own secret)",
};

export type SignalsProps = {
  user: User;
  urls: SignalUrl[];
  /** The open accounts a new URL may place on. */
  accounts: Account[];
  /** Every account a URL names, closed ones included, to name them in the list. */
  knownAccounts: Account[];
  /** The user's latest signals across their URLs, and the orders they placed. */
  recent: Signal[];
  orders: Map<string, Order>;
  sudo: boolean;
  /** Whether the server has a WEBHOOK_SECRET, so "app" signing can be offered. */
  appSigning: boolean;
  /** The URL just made, its address and secret, shown once. */
  created?: { url: SignalUrl; address: string; secret: string | null };
  failed?: { form: "create" | "reauth"; state: FormState };
};

export function SignalsPage(props: SignalsProps) {
  const stateOf = (form: "create" | "reauth") =>
    props.failed?.form === form ? props.failed.state : undefined;
  const inUse = props.urls.filter((u) => u.revokedAt === null);
  const revoked = props.urls.filter((u) => u.revokedAt !== null);
  const accounts = new Map(props.knownAccounts.map((a) => [a._id, a]));
  return (
    <div class="settings">
      <h1>Signal URLs</h1>
      <p>
        <a href="/settings">← Settings</a>
      </p>
      <p>
        A signal URL places an order on one of your accounts when an alert (TradingView, a script)
        posts to it. Anyone with the URL can trade on that account: keep it like a password.
      </p>
      {props.created && <CreatedNotice {...props.created} />}
      <section class="card" aria-labelledby="urls-h">
        <h2 id="urls-h">Your signal URLs</h2>
        {inUse.length === 0 ? <p class="muted">No signal URLs yet.</p> : (
          <ul class="sessions">
            {inUse.map((u) => (
              <li>
                <strong>{u.name}</strong> <code>…/api/signals/{u.tokenPrefix}…</code>{" "}
                <span class="badge">{SIGNING_BADGES[u.signing]}</span>
                <br />
                <small class="muted">
                  account {accountLabel(accounts.get(u.accountId))} · made <Time at={u.createdAt} />
                  {" "}
                  · last used {u.lastUsedAt ? <Time at={u.lastUsedAt} /> : "never"}
                </small>
                <br />
                <a href={`/settings/signals/${encodeURIComponent(u._id)}`}>
                  Signals<span class="sr">{` of ${u.name}`}</span>
                </a>{" "}
                <PostButton
                  action={`/settings/signals/${encodeURIComponent(u._id)}/revoke`}
                  label={
                    <>
                      Revoke<span class="sr">{` ${u.name}`}</span>
                    </>
                  }
                  class="link"
                />
              </li>
            ))}
          </ul>
        )}
        {revoked.length > 0 && (
          <details>
            <summary>Revoked ({revoked.length})</summary>
            <ul class="sessions">
              {revoked.map((u) => (
                <li>
                  <a href={`/settings/signals/${encodeURIComponent(u._id)}`}>{u.name}</a>{" "}
                  <small class="muted">
                    revoked <Time at={u.revokedAt!} />
                  </small>
                </li>
              ))}
            </ul>
          </details>
        )}
      </section>
      <section class="card" aria-labelledby="create-h">
        <h2 id="create-h">New signal URL</h2>
        {props.sudo
          ? (
            <CreateForm
              state={stateOf("create")}
              accounts={props.accounts}
              appSigning={props.appSigning}
              full={inUse.length >= MAX_SIGNAL_URLS_PER_USER}
            />
          )
          : (
            <>
              <p>
                Making a signal URL needs your password again (it stays confirmed for 10 minutes).
              </p>
              <ReauthForm
                user={props.user}
                state={stateOf("reauth")}
                action="/settings/signals/reauth"
              />
            </>
          )}
      </section>
      <section class="card" aria-labelledby="recent-h">
        <h2 id="recent-h">Latest signals</h2>
        <SignalsTable signals={props.recent} orders={props.orders} empty="No signals yet." />
      </section>
    </div>
  );
}

function CreatedNotice(props: { url: SignalUrl; address: string; secret: string | null }) {
  return (
    <section class="card notice" aria-labelledby="new-url-h">
      <h2 id="new-url-h">Your new signal URL “{props.url.name}”</h2>
      <p>Copy it now: it is shown only this once.</p>
      <p>
        <code class="secret">{props.address}</code>
      </p>
      {props.secret && (
        <>
          <p>Its signing secret (Standard Webhooks), also shown only once:</p>
          <p>
            <code class="secret">{props.secret}</code>
          </p>
        </>
      )}
      <p>
        In TradingView, paste the URL as the alert's webhook URL and this as its message (a strategy
        alert; for a plain alert write the side and quantity yourself):
      </p>
      <pre>{TRADINGVIEW_MESSAGE}</pre>
      {props.url.signing !== "none" && (
        <p class="muted">
          TradingView cannot sign its webhooks; this URL accepts only signed signals, from senders
          that can.
        </p>
      )}
    </section>
  );
}

function CreateForm(
  props: { state?: FormState; accounts: Account[]; appSigning: boolean; full: boolean },
) {
  if (props.full) {
    return (
      <p class="muted">
        You have {MAX_SIGNAL_URLS_PER_USER} signal URLs; revoke one to make another.
      </p>
    );
  }
  const signings = (["none", ...(props.appSigning ? ["app"] : []), "url"] as Signing[]).map((
    s,
  ) => [s, SIGNING_LABELS[s]] as const);
  return (
    <form method="post" action="/settings/signals">
      <FormError state={props.state} />
      <Field label="Name" name="name" state={props.state} maxlength={60} autocomplete="off" />
      <Field
        label="Account"
        name="accountId"
        state={props.state}
        options={props.accounts.map((a) => [a._id, accountLabel(a)] as const)}
      />
      <Field
        label="Signing"
        name="signing"
        state={props.state}
        value="none"
        options={signings}
      />
      <button type="submit">Make signal URL</button>
    </form>
  );
}

/** One URL's signals, newest first, with the pages before and after. */
export function SignalLogPage(props: {
  url: SignalUrl;
  account: Account | undefined;
  signals: Signal[];
  orders: Map<string, Order>;
  newer?: string;
  older?: string;
}) {
  const { url } = props;
  return (
    <div class="settings">
      <h1>Signals of “{url.name}”</h1>
      <p>
        <a href="/settings/signals">← Signal URLs</a>
      </p>
      <p class="muted">
        <code>…/api/signals/{url.tokenPrefix}…</code> · account {accountLabel(props.account)} ·{" "}
        {SIGNING_BADGES[url.signing]}
        {url.revokedAt && (
          <>
            {" "}· revoked <Time at={url.revokedAt} />
          </>
        )}
      </p>
      <SignalsTable signals={props.signals} orders={props.orders} empty="No signals yet." />
      <p>
        {props.newer && <a href={props.newer}>Newer</a>}{" "}
        {props.older && <a href={props.older}>Older</a>}
      </p>
    </div>
  );
}

/** Signals as a table that turns into cards on a phone: what was asked, and what came of it. */
function SignalsTable(props: { signals: Signal[]; orders: Map<string, Order>; empty: string }) {
  if (props.signals.length === 0) return <p class="muted">{props.empty}</p>;
  return (
    <Scroll label="Signals">
      <table class="data cards">
        <thead>
          <tr>
            <th>Received</th>
            <th>Symbol</th>
            <th>Side</th>
            <th class="num">Qty</th>
            <th>Outcome</th>
            <ActionsHeader />
          </tr>
        </thead>
        <tbody>
          {props.signals.map((s) => {
            const order = s.orderId ? props.orders.get(s.orderId) : undefined;
            return (
              <tr>
                <td class="wide" data-label="Received">
                  <Time at={s.receivedAt} precise />
                </td>
                <th scope="row">{s.symbol ?? "—"}</th>
                <td data-label="Side">{s.side?.toUpperCase() ?? "—"}</td>
                <td class="num" data-label="Qty">
                  {s.qty ?? (s.notional !== null ? `$${s.notional}` : "—")}
                </td>
                <td class="details" data-label="Outcome">
                  <Outcome signal={s} order={order} />
                </td>
                <td class="act">
                  {s.orderId && (
                    <a href="/orders?status=all">
                      Orders<span class="sr">{` (order ${s.orderId})`}</span>
                    </a>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </Scroll>
  );
}

function Outcome(props: { signal: Signal; order: Order | undefined }) {
  const { signal, order } = props;
  if (signal.outcome === "rejected") {
    return (
      <span>
        <span class="badge warn">refused {signal.status}</span> <small>{signal.message}</small>
      </span>
    );
  }
  return (
    <span>
      <span class="badge ok">{signal.outcome === "placed" ? "placed" : "replayed"}</span>{" "}
      <small>
        order <code>{signal.orderId}</code>
        {order && ` · ${order.status.replaceAll("_", " ")}`}
      </small>
    </span>
  );
}

function accountLabel(account: Account | undefined): string {
  if (!account) return "—";
  return `${accountName(account)} ${account.number}${
    account.status === "active" ? "" : " (closed)"
  }`;
}
