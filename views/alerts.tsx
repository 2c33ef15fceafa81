/** The alerts page: a form for a new price alert, the active alerts and the ones that fired. */
import type { Alert } from "../lib/trading/alerts.ts";
import { ALERT_NOTE_MAX } from "../lib/trading/alerts.ts";
import { Field, FormError, type FormState, HxForm } from "./form.tsx";
import { ActionsHeader, PostButton, price, Scroll, Time, tradeHref } from "./trading.tsx";

const CONDITIONS = [["above", "rises to or above"], ["below", "falls to or below"]] as const;

export function AlertsPage(
  props: {
    active: Alert[];
    triggered: Alert[];
    /** What the form starts with, e.g. the symbol "Alert me" on the trade page passed. */
    initial: Record<string, string>;
    /** The pre-filled symbol's last price, as a hint beside the price. */
    lastHint?: string;
    failed?: FormState;
  },
) {
  return (
    <div class="page">
      <h1>Price alerts</h1>
      <section class="card" aria-labelledby="new-alert-h">
        <h2 id="new-alert-h">New alert</h2>
        <AlertForm initial={props.initial} lastHint={props.lastHint} state={props.failed} />
      </section>
      <section class="card" aria-labelledby="active-alerts-h">
        <h2 id="active-alerts-h">Active ({props.active.length})</h2>
        {props.active.length > 0
          ? <AlertsTable label="Active alerts" alerts={props.active} />
          : <p class="muted">No active alerts.</p>}
      </section>
      <section class="card" aria-labelledby="triggered-alerts-h">
        <h2 id="triggered-alerts-h">Triggered</h2>
        {props.triggered.length > 0
          ? <AlertsTable label="Triggered alerts" alerts={props.triggered} />
          : <p class="muted">None has fired yet.</p>}
      </section>
    </div>
  );
}

export function AlertForm(
  props: { initial: Record<string, string>; lastHint?: string; state?: FormState },
) {
  const state = { ...props.state, values: { ...props.initial, ...props.state?.values } };
  return (
    <HxForm id="new-alert" action="/alerts">
      <FormError state={props.state} />
      <div class="row wrap">
        <Field
          autocomplete="off"
          label="Symbol"
          name="symbol"
          placeholder="e.g. AAPL"
          maxlength={20}
          state={state}
        />
        <Field label="When the price" name="condition" options={CONDITIONS} state={state} />
        <Field
          autocomplete="off"
          label="Price"
          name="price"
          inputmode="decimal"
          maxlength={40}
          hint={props.lastHint}
          state={state}
        />
      </div>
      <Field
        autocomplete="off"
        label="Note (optional)"
        name="note"
        maxlength={ALERT_NOTE_MAX}
        required={false}
        state={state}
      />
      <button type="submit">Create alert</button>
    </HxForm>
  );
}

function AlertsTable(props: { label: string; alerts: Alert[] }) {
  const fired = props.alerts[0]?.status === "triggered";
  return (
    <Scroll label={props.label}>
      <table class="data cards">
        <thead>
          <tr>
            <th>Symbol</th>
            <th>When</th>
            <th>{fired ? "Fired" : "Created"}</th>
            {fired && <th class="num">At</th>}
            <th>Note</th>
            <ActionsHeader />
          </tr>
        </thead>
        <tbody>
          {props.alerts.map((alert) => (
            <tr>
              <th scope="row">
                <a href={tradeHref(alert.symbol)}>{alert.symbol}</a>
              </th>
              <td data-label="When">
                {alert.condition === "above" ? "≥ " : "≤ "}
                {price(alert.price)}
              </td>
              <td data-label={fired ? "Fired" : "Created"}>
                <Time at={alert.triggeredAt ?? alert.createdAt} />
              </td>
              {fired && (
                <td class="num" data-label="At">
                  {alert.triggeredPrice && price(alert.triggeredPrice)}
                </td>
              )}
              <td data-label="Note">{alert.note ?? ""}</td>
              <td class="act">
                <PostButton
                  action={`/alerts/${encodeURIComponent(alert._id)}/delete`}
                  label={
                    <>
                      Delete<span class="sr">{` the ${alert.symbol} alert at ${alert.price}`}</span>
                    </>
                  }
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Scroll>
  );
}
