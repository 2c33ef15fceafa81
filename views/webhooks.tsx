/**
 * /settings/webhooks: the user's webhook endpoints, a form for a new one, and each endpoint's
 * deliveries. Plain forms, no JavaScript needed; a new endpoint's signing secret is shown on the
 * page that answers its creation, and never again.
 */
import { EVENT_FILTERS } from "../lib/notify/outbox.ts";
import type { WebhookDelivery } from "../lib/webhooks/deliveries.ts";
import { MAX_WEBHOOK_ENDPOINTS_PER_USER, type WebhookEndpoint } from "../lib/webhooks/endpoints.ts";
import { Field, FormError, type FormState } from "./form.tsx";
import { ActionsHeader, PostButton, Scroll, Time } from "./trading.tsx";

const EVENT_LABELS: Record<(typeof EVENT_FILTERS)[number], string> = {
  "*": "Everything",
  "order.*": "Every order event",
  "alert.*": "Every alert event",
  "account.*": "Every account event",
  "order.new": "Order accepted",
  "order.partial_fill": "Order partly filled",
  "order.fill": "Order filled",
  "order.canceled": "Order canceled",
  "order.expired": "Order expired",
  "order.rejected": "Order rejected",
  "order.replaced": "Order replaced",
  "alert.triggered": "Price alert fired",
  "account.opened": "Account opened",
  "account.reset": "Account reset",
  "account.closed": "Account closed",
};

export type WebhooksProps = {
  endpoints: WebhookEndpoint[];
  /** The endpoint just registered and its secret, shown once. */
  created?: { endpoint: WebhookEndpoint; secret: string };
  failed?: FormState;
};

export function WebhooksPage(props: WebhooksProps) {
  return (
    <div class="settings">
      <h1>Webhooks</h1>
      <p>
        <a href="/settings">← Settings</a>
      </p>
      <p>
        Orion POSTs each event you choose to your URL as JSON, signed the{" "}
        <a href="https://www.standardwebhooks.com/">Standard Webhooks</a>{" "}
        way with the endpoint's secret, and retries a failed delivery for up to a day.
      </p>
      {props.created && (
        <section class="card notice" aria-labelledby="new-endpoint-h">
          <h2 id="new-endpoint-h">Signing secret for {props.created.endpoint.url}</h2>
          <p>Copy it now: it is shown only this once. Your receiver checks signatures with it.</p>
          <p>
            <code class="secret">{props.created.secret}</code>
          </p>
        </section>
      )}
      <section class="card" aria-labelledby="endpoints-h">
        <h2 id="endpoints-h">Your endpoints</h2>
        {props.endpoints.length === 0
          ? <p class="muted">No endpoints yet.</p>
          : (
            <ul class="sessions">
              {props.endpoints.map((endpoint) => (
                <EndpointItem key={endpoint._id} endpoint={endpoint} />
              ))}
            </ul>
          )}
      </section>
      <section class="card" aria-labelledby="new-webhook-h">
        <h2 id="new-webhook-h">New endpoint</h2>
        {props.endpoints.length >= MAX_WEBHOOK_ENDPOINTS_PER_USER
          ? (
            <p class="muted">
              You have {MAX_WEBHOOK_ENDPOINTS_PER_USER} endpoints; delete one to add another.
            </p>
          )
          : <EndpointForm state={props.failed} />}
      </section>
    </div>
  );
}

function EndpointItem(props: { endpoint: WebhookEndpoint }) {
  const { endpoint } = props;
  const base = `/settings/webhooks/${encodeURIComponent(endpoint._id)}`;
  return (
    <li>
      <a href={base}>
        <strong>{endpoint.url}</strong>
      </a>{" "}
      <EndpointBadge endpoint={endpoint} />
      {endpoint.description && (
        <>
          <br />
          {endpoint.description}
        </>
      )}
      <br />
      <small class="muted">
        {endpoint.events.join(", ")} · added <Time at={endpoint.createdAt} />
      </small>
      <br />
      <PostButton
        action={`${base}/${endpoint.enabled ? "disable" : "enable"}`}
        label={endpoint.enabled ? "Turn off" : "Turn on"}
      />{" "}
      <PostButton action={`${base}/delete`} label="Delete" />
    </li>
  );
}

function EndpointBadge(props: { endpoint: WebhookEndpoint }) {
  const { endpoint } = props;
  if (!endpoint.enabled) {
    return (
      <span class="badge warn">
        {endpoint.disabledReason === "failing" ? "off: failed for a day" : "off"}
      </span>
    );
  }
  if (endpoint.failingSince) return <span class="badge warn">failing</span>;
  return <span class="badge ok">on</span>;
}

function EndpointForm(props: { state?: FormState }) {
  const chosen = new Set((props.state?.values?.events ?? "order.*").split(","));
  const error = props.state?.fields?.events;
  return (
    <form method="post" action="/settings/webhooks">
      <FormError state={props.state} />
      <Field
        label="URL"
        name="url"
        type="url"
        state={props.state}
        placeholder="https://example.com/hooks/orion"
        maxlength={2000}
        autocomplete="off"
        hint="https only; private and local addresses are refused."
      />
      <Field
        label="Description (optional)"
        name="description"
        state={props.state}
        maxlength={200}
        required={false}
        autocomplete="off"
      />
      <fieldset
        class={error ? "events check invalid" : "events check"}
        aria-describedby={error ? "f-events-error" : undefined}
      >
        <legend>Events</legend>
        {EVENT_FILTERS.map((filter) => (
          <label class="check">
            <input type="checkbox" name="events" value={filter} checked={chosen.has(filter)} />{" "}
            {EVENT_LABELS[filter]} <code>{filter}</code>
          </label>
        ))}
        {error && <small id="f-events-error" class="error">{error}</small>}
      </fieldset>
      <button type="submit">Add endpoint</button>
    </form>
  );
}

export function WebhookDeliveriesPage(
  props: { endpoint: WebhookEndpoint; deliveries: WebhookDelivery[]; nextCursor: string | null },
) {
  const { endpoint } = props;
  const base = `/settings/webhooks/${encodeURIComponent(endpoint._id)}`;
  return (
    <div class="settings">
      <h1>Webhook deliveries</h1>
      <p>
        <a href="/settings/webhooks">← Webhooks</a>
      </p>
      <section class="card" aria-labelledby="endpoint-h">
        <h2 id="endpoint-h">
          {endpoint.url} <EndpointBadge endpoint={endpoint} />
        </h2>
        <p class="muted">{endpoint.events.join(", ")}</p>
        {endpoint.enabled && <PostButton action={`${base}/test`} label="Send a test event" />}
      </section>
      <section class="card" aria-labelledby="deliveries-h">
        <h2 id="deliveries-h">Recent deliveries</h2>
        {props.deliveries.length === 0
          ? <p class="muted">Nothing sent yet.</p>
          : (
            <Scroll label="Deliveries">
              <table class="data cards">
                <thead>
                  <tr>
                    <th>Event</th>
                    <th>Made</th>
                    <th>Status</th>
                    <th>Attempts</th>
                    <ActionsHeader />
                  </tr>
                </thead>
                <tbody>
                  {props.deliveries.map((delivery) => (
                    <DeliveryRow base={base} delivery={delivery} enabled={endpoint.enabled} />
                  ))}
                </tbody>
              </table>
            </Scroll>
          )}
        {props.nextCursor && (
          <p>
            <a href={`${base}?cursor=${encodeURIComponent(props.nextCursor)}`}>Older deliveries</a>
          </p>
        )}
      </section>
    </div>
  );
}

function DeliveryRow(props: { base: string; delivery: WebhookDelivery; enabled: boolean }) {
  const { delivery } = props;
  return (
    <tr>
      <th scope="row">
        <code>{delivery.type}</code>
        <br />
        <small class="muted">{delivery.messageId}</small>
      </th>
      <td class="wide" data-label="Made">
        <Time at={delivery.createdAt} precise />
      </td>
      <td class="wide" data-label="Status">
        <DeliveryStatus delivery={delivery} />
      </td>
      <td class="details" data-label="Attempts">
        {delivery.attempts.length === 0 ? <span class="muted">none</span> : (
          <ol class="attempts">
            {delivery.attempts.map((attempt) => (
              <li>
                <Time at={attempt.at} precise /> —{" "}
                {attempt.statusCode !== null ? <code>{attempt.statusCode}</code> : attempt.error}
                {" "}
                <small class="muted">({attempt.durationMs} ms)</small>
              </li>
            ))}
          </ol>
        )}
      </td>
      <td class="act">
        {props.enabled && delivery.status !== "pending" && delivery.status !== "sending" && (
          <PostButton
            action={`${props.base}/deliveries/${encodeURIComponent(delivery._id)}/resend`}
            label={
              <>
                Re-send<span class="sr">{` ${delivery.type} ${delivery.messageId}`}</span>
              </>
            }
          />
        )}
      </td>
    </tr>
  );
}

function DeliveryStatus(props: { delivery: WebhookDelivery }) {
  const { delivery } = props;
  switch (delivery.status) {
    case "delivered":
      return <span class="badge ok">delivered</span>;
    case "failed":
      return (
        <span class="badge warn">
          {delivery.attemptCount === 0 ? "not sent: endpoint off" : "failed"}
        </span>
      );
    case "sending":
      return <span class="badge">sending</span>;
    default:
      return (
        <>
          <span class="badge">pending</span>
          {delivery.dueAt && (
            <>
              {" "}
              <small class="muted">
                next try <Time at={delivery.dueAt} precise />
              </small>
            </>
          )}
        </>
      );
  }
}
