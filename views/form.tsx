/** Form building blocks: a labelled field with its error, and a form-level error message. */
import type { Child } from "hono/jsx";
import { PASSWORD_MIN_LENGTH } from "../lib/auth/password.ts";

/** Field errors by name, and an optional message for the form as a whole. */
export type FormState = {
  values?: Record<string, string>;
  fields?: Record<string, string>;
  error?: string;
};

/**
 * A labelled input (or a select, given `options`) with its hint and error. `id` defaults to
 * `f-<name>`; pages with several forms that share field names pass their own.
 */
export function Field(props: {
  label: string;
  name: string;
  id?: string;
  type?: string;
  state?: FormState;
  /** The value when the state has none (a form shown for the first time). */
  value?: string;
  options?: readonly (readonly [value: string, label: string])[];
  autocomplete?: string;
  hint?: string;
  required?: boolean;
  inputmode?: "numeric" | "decimal" | "email" | "text";
  maxlength?: number;
  minlength?: number;
  placeholder?: string;
  class?: string;
  /** Passwords and codes are never echoed back into the page. */
  keepValue?: boolean;
}) {
  const error = props.state?.fields?.[props.name];
  const id = props.id ?? `f-${props.name}`;
  const value = props.keepValue === false
    ? undefined
    : props.state?.values?.[props.name] ?? props.value;
  const common = {
    id,
    name: props.name,
    required: props.required ?? true,
    "aria-invalid": error ? "true" : undefined,
    "aria-describedby":
      [props.hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(" ") ||
      undefined,
  };
  return (
    <div class={[error ? "field invalid" : "field", props.class].filter(Boolean).join(" ")}>
      <label for={id}>{props.label}</label>
      {props.options
        ? (
          <select {...common}>
            {props.options.map(([v, label]) => (
              <option value={v} selected={v === value}>{label}</option>
            ))}
          </select>
        )
        : (
          <input
            {...common}
            type={props.type ?? "text"}
            value={value}
            autocomplete={props.autocomplete}
            inputmode={props.inputmode}
            maxlength={props.maxlength}
            minlength={props.minlength}
            placeholder={props.placeholder}
          />
        )}
      {props.hint && <small id={`${id}-hint`} class="hint">{props.hint}</small>}
      {error && <small id={`${id}-error`} class="error">{error}</small>}
    </div>
  );
}

/**
 * A password input that is never echoed back. `isNew` asks password managers to suggest a new
 * one and states the length rule.
 */
export function PasswordField(
  props: { label: string; name: string; state?: FormState; isNew?: boolean; hint?: string },
) {
  return (
    <Field
      label={props.label}
      name={props.name}
      type="password"
      autocomplete={props.isNew ? "new-password" : "current-password"}
      state={props.state}
      hint={props.hint}
      minlength={props.isNew ? PASSWORD_MIN_LENGTH : undefined}
      keepValue={false}
    />
  );
}

/** A one-time code input (email code, authenticator code), never echoed back. */
export function CodeField(
  props: { label: string; name: string; state?: FormState; hint?: string; maxlength?: number },
) {
  return (
    <Field
      label={props.label}
      name={props.name}
      inputmode="numeric"
      autocomplete="one-time-code"
      state={props.state}
      hint={props.hint}
      maxlength={props.maxlength}
      keepValue={false}
    />
  );
}

/** The message for the whole form, announced to screen readers when it appears. */
export function FormError(props: { state?: FormState }) {
  return props.state?.error ? <p class="form-error" role="alert">{props.state.error}</p> : null;
}

/**
 * A form that works without JavaScript and, with htmx, swaps itself for the server's answer
 * (the same form with errors on a 4xx, or a redirect on success). While its request is in flight
 * htmx disables its buttons (hx-disable, htmx 4's name for htmx 2's hx-disabled-elt) and gives the
 * form the htmx-request class, which app.css turns into a busy button: no double submit.
 */
export function HxForm(props: { action: string; id: string; children?: Child; class?: string }) {
  return (
    <form
      id={props.id}
      class={props.class}
      method="post"
      action={props.action}
      hx-post={props.action}
      hx-target="this"
      hx-swap="outerHTML"
      hx-disable="findAll button"
    >
      {props.children}
    </form>
  );
}
