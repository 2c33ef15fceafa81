/**
 * /accounts: the user's demo accounts side by side, opening another, and the confirmations that
 * reset or close one. Every action is a plain form, so it all works with JavaScript off.
 */
import {
  type Account,
  accountName,
  MAX_OPEN_ACCOUNTS,
  STARTING_CASH_MAX,
  STARTING_CASH_MIN,
} from "../lib/trading/accounts.ts";
import type { Snapshot } from "./dashboard.tsx";
import { Field, FormError, type FormState, HxForm } from "./form.tsx";
import { Pnl, Scroll, Time, usd } from "./trading.tsx";

/** An open account as the list shows it: its figures and whether the pages show it now. */
export type AccountRow = {
  account: Snapshot["account"];
  /** Equity minus starting cash, and that as a percentage of the starting cash. */
  sinceOpened: { amount: string; percent: string };
  shown: boolean;
};

const dollars = (n: number) => `$${n.toLocaleString("en-US")}`;

export function AccountsPage(props: {
  open: AccountRow[];
  closed: Account[];
  state?: FormState;
}) {
  const full = props.open.length >= MAX_OPEN_ACCOUNTS;
  return (
    <div class="page">
      <h1>Accounts</h1>
      <p>
        Up to {MAX_OPEN_ACCOUNTS}{" "}
        demo accounts, each with its own cash, orders, history and performance. The pages show one
        at a time; the API's default is the first (or name one with <code>accountId</code>).
      </p>
      <section aria-labelledby="open-h">
        <h2 id="open-h">Open accounts</h2>
        <Scroll label="Open accounts">
          <table class="data cards">
            <thead>
              <tr>
                <th>Account</th>
                <th class="num">Equity</th>
                <th class="num">Since opened</th>
                <th class="num">Starting cash</th>
                <th>
                  <span class="sr">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {props.open.map(({ account, sinceOpened, shown }) => (
                <tr>
                  <th scope="row">
                    {account.name} <small class="muted">{account.number}</small>
                  </th>
                  <td class="num" data-label="Equity">{usd(account.equity)}</td>
                  <td class="num" data-label="Since opened">
                    <Pnl amount={sinceOpened.amount} percent={sinceOpened.percent} />
                  </td>
                  <td class="num" data-label="Starting cash">{usd(account.startingCash)}</td>
                  <td class="wide">
                    <div class="actions tight">
                      {shown
                        ? <span class="badge ok">Shown</span>
                        : (
                          <form method="post" action="/accounts/switch">
                            <input type="hidden" name="accountId" value={account.id} />
                            <button type="submit" class="link">
                              Switch<span class="sr">to {account.name}</span>
                            </button>
                          </form>
                        )}
                      <a href={`/performance?accountId=${encodeURIComponent(account.id)}`}>
                        Performance<span class="sr">of {account.name}</span>
                      </a>
                      <a href={`/accounts/${encodeURIComponent(account.id)}/reset`}>
                        Reset<span class="sr">{account.name}</span>
                      </a>
                      {props.open.length > 1 && (
                        <a href={`/accounts/${encodeURIComponent(account.id)}/close`}>
                          Close<span class="sr">{account.name}</span>
                        </a>
                      )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      </section>
      <section class="card narrow" aria-labelledby="new-h">
        <h2 id="new-h">Open another account</h2>
        {full
          ? (
            <p class="muted">
              You have {MAX_OPEN_ACCOUNTS}{" "}
              open accounts, the most at once. Close one to open another.
            </p>
          )
          : <NewAccountForm state={props.state} />}
      </section>
      {props.closed.length > 0 && (
        <section aria-labelledby="closed-h">
          <h2 id="closed-h">Closed accounts</h2>
          <p class="muted">Their history stays readable.</p>
          <ul>
            {props.closed.map((a) => (
              <li>
                <a href={`/performance?accountId=${encodeURIComponent(a._id)}`}>
                  {accountName(a)} {a.number}
                </a>{" "}
                <small class="muted">
                  closed <Time at={a.closedAt ?? a.createdAt} />
                </small>
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}

export function NewAccountForm(props: { state?: FormState }) {
  return (
    <HxForm id="new-account-form" action="/accounts">
      <FormError state={props.state} />
      <Field label="Name" name="name" state={props.state} maxlength={40} autocomplete="off" />
      <Field
        label="Starting cash (USD)"
        name="startingCash"
        state={props.state}
        value="100000"
        inputmode="decimal"
        maxlength={20}
        hint={`From ${dollars(STARTING_CASH_MIN)} to ${dollars(STARTING_CASH_MAX)}.`}
      />
      <div class="actions">
        <button type="submit">Open account</button>
      </div>
    </HxForm>
  );
}

/** What resetting or closing ends, and the account number typed back to confirm it. */
export function AccountActionPage(props: {
  action: "reset" | "close";
  account: Snapshot["account"];
  positions: number;
  state?: FormState;
}) {
  const { account } = props;
  return (
    <div class="page narrow">
      <h1>{props.action === "reset" ? "Reset" : "Close"} demo account</h1>
      <section class="card" aria-labelledby="action-h">
        <h2 id="action-h">
          {account.name} <span class="muted">{account.number}</span>
        </h2>
        <p>
          Equity {usd(account.equity)}, cash {usd(account.cash)},{" "}
          {props.positions === 1 ? "1 position" : `${props.positions} positions`}.
        </p>
        <AccountActionForm
          action={props.action}
          account={account}
          state={props.state}
        />
      </section>
    </div>
  );
}

export function AccountActionForm(props: {
  action: "reset" | "close";
  account: Pick<Snapshot["account"], "id" | "number" | "startingCash">;
  state?: FormState;
}) {
  const { account, action } = props;
  return (
    <HxForm
      id="account-action-form"
      action={`/accounts/${encodeURIComponent(account.id)}/${action}`}
    >
      <FormError state={props.state} />
      <p>
        {action === "reset"
          ? `A reset cancels the open orders of account ${account.number}, closes it with its positions and cash (its history stays readable) and opens a new demo account in its place with ${
            usd(account.startingCash)
          }. Your other accounts are not touched. It cannot be undone.`
          : `Closing cancels the open orders of account ${account.number} and keeps its positions and cash as they are, for its history; it can no longer trade. Your other accounts are not touched. It cannot be undone.`}
      </p>
      <Field
        label={`Type the account number, ${account.number}, to confirm`}
        name="confirm"
        state={props.state}
        autocomplete="off"
        maxlength={32}
      />
      <div class="actions">
        <button type="submit" class="danger">
          {action === "reset" ? "Reset demo account" : "Close demo account"}
        </button>
        <a href="/accounts">Keep this account</a>
      </div>
    </HxForm>
  );
}
