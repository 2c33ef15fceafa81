/**
 * /settings/keys: the user's API keys for trading scripts. Plain forms, no JavaScript needed; a
 * new key's secret is shown on the page that answers its creation, and never again.
 */
import {
  type ApiKey,
  isExpired,
  MAX_API_KEY_DAYS,
  MAX_API_KEYS_PER_USER,
} from "../lib/auth/api_keys.ts";
import type { User } from "../lib/auth/users.ts";
import { Field, FormError, type FormState } from "./form.tsx";
import { ReauthForm } from "./settings.tsx";
import { Time } from "./trading.tsx";

export type ApiKeysProps = {
  user: User;
  keys: ApiKey[];
  /** Whether the session signed in or re-authenticated recently enough to create a key. */
  sudo: boolean;
  /** The key just created and its secret, shown once. */
  created?: { key: ApiKey; secret: string };
  /** The create or confirm form that failed, with what was typed and the errors. */
  failed?: { form: "create" | "reauth"; state: FormState };
};

const EXPIRY_CHOICES = [
  ["30", "30 days"],
  ["90", "90 days"],
  [String(MAX_API_KEY_DAYS), "1 year"],
  ["", "Never"],
] as const;

export function ApiKeysPage(props: ApiKeysProps) {
  const stateOf = (form: "create" | "reauth") =>
    props.failed?.form === form ? props.failed.state : undefined;
  const now = new Date();
  return (
    <div class="settings">
      <h1>API keys</h1>
      <p>
        <a href="/settings">← Settings</a>
      </p>
      <p>
        Keys let scripts use the JSON API. The <a href="/docs/api">API reference</a>{" "}
        lists every endpoint with a curl example.
      </p>
      {props.created && (
        <section class="card notice" aria-labelledby="new-key-h">
          <h2 id="new-key-h">Your new key “{props.created.key.name}”</h2>
          <p>Copy it now: it is shown only this once. Scripts send it as a Bearer token.</p>
          <p>
            <code class="secret">{props.created.secret}</code>
          </p>
        </section>
      )}
      <section class="card" aria-labelledby="keys-h">
        <h2 id="keys-h">Your keys</h2>
        {props.keys.length === 0 ? <p class="muted">No keys yet.</p> : (
          <ul class="sessions">
            {props.keys.map((k) => (
              <li>
                <strong>{k.name}</strong> <code>{k.displayPrefix}…</code>{" "}
                <span class="badge">{k.scopes.includes("trade") ? "read, trade" : "read"}</span>
                {isExpired(k, now) && <span class="badge warn">expired</span>}
                <br />
                <small class="muted">
                  made <Time at={k.createdAt} /> · last used{" "}
                  {k.lastUsedAt ? <Time at={k.lastUsedAt} /> : "never"} · expires{" "}
                  {k.expiresAt ? <Time at={k.expiresAt} /> : "never"}
                </small>
                <form
                  method="post"
                  action={`/settings/keys/${encodeURIComponent(k._id)}/revoke`}
                  class="inline"
                >
                  <button type="submit" class="link">Revoke</button>
                </form>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section class="card" aria-labelledby="create-h">
        <h2 id="create-h">New key</h2>
        {props.sudo
          ? (
            <CreateKeyForm
              state={stateOf("create")}
              full={props.keys.length >= MAX_API_KEYS_PER_USER}
            />
          )
          : (
            <>
              <p>Creating a key needs your password again (it stays confirmed for 10 minutes).</p>
              <ReauthForm
                user={props.user}
                state={stateOf("reauth")}
                action="/settings/keys/reauth"
              />
            </>
          )}
      </section>
    </div>
  );
}

function CreateKeyForm(props: { state?: FormState; full: boolean }) {
  if (props.full) {
    return <p class="muted">You have {MAX_API_KEYS_PER_USER} keys; revoke one to make another.</p>;
  }
  return (
    <form method="post" action="/settings/keys">
      <FormError state={props.state} />
      <Field label="Name" name="name" state={props.state} maxlength={60} autocomplete="off" />
      <Field
        label="Access"
        name="scopes"
        state={props.state}
        value="read"
        options={[["read", "Read only"], ["read,trade", "Read and trade"]]}
      />
      <Field
        label="Expires after"
        name="expiresInDays"
        state={props.state}
        value="90"
        options={EXPIRY_CHOICES}
        required={false}
      />
      <button type="submit">Create key</button>
    </form>
  );
}
