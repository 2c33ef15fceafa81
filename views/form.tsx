/** Form building blocks: a labelled field with its error, and a form-level error message. */
import type { Child } from "hono/jsx";
import { PASSWORD_MIN_LENGTH } from "../lib/auth/password.ts";

/** Field errors by name, and an optional message for the form as a whole. */
export type FormState = {
  values?: Record<string, string>;
  fields?: Record<string, string>;
  error?: string;
};

export function Field(props: {
  label: string;
  name: string;
  type?: string;
  state?: FormState;
  autocomplete?: string;
  hint?: string;
  required?: boolean;
  inputmode?: "numeric" | "email" | "text";
  maxlength?: number;
  minlength?: number;
  /** Passwords and codes are never echoed back into the page. */
  keepValue?: boolean;
}) {
  const error = props.state?.fields?.[props.name];
  const id = `f-${props.name}`;
  const describedBy = [props.hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(
    " ",
  );
  return (
    <div class={error ? "field invalid" : "field"}>
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? "text"}
        value={props.keepValue === false ? undefined : props.state?.values?.[props.name]}
        autocomplete={props.autocomplete}
        required={props.required ?? true}
        inputmode={props.inputmode}
        maxlength={props.maxlength}
        minlength={props.minlength}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={describedBy || undefined}
      />
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
 * (the same form with errors on a 4xx, or a redirect on success).
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
    >
      {props.children}
    </form>
  );
}
