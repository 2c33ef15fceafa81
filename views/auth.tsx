/** The sign-up, sign-in, email verification and password reset pages; each form is also its own partial. */
import { PASSWORD_MIN_LENGTH } from "../lib/auth/password.ts";
import { CodeField, Field, FormError, type FormState, HxForm, PasswordField } from "./form.tsx";

const PASSWORD_HINT =
  `At least ${PASSWORD_MIN_LENGTH} characters; 12 or more is better. A few unrelated words make a strong, memorable password.`;

export function SignUpForm(props: { state?: FormState }) {
  return (
    <HxForm id="sign-up-form" action="/sign-up" class="card">
      <FormError state={props.state} />
      <Field label="Name" name="name" autocomplete="name" state={props.state} maxlength={100} />
      <Field label="Email" name="email" type="email" autocomplete="email" state={props.state} />
      <PasswordField
        label="Password"
        name="password"
        state={props.state}
        isNew
        hint={PASSWORD_HINT}
      />
      <button type="submit">Create my account</button>
    </HxForm>
  );
}

export function SignUpPage(props: { state?: FormState }) {
  return (
    <section class="narrow">
      <h1>Open a demo account</h1>
      <p>Free paper trading with simulated prices. No card, no real money.</p>
      <SignUpForm state={props.state} />
      <p>
        Already have an account? <a href="/sign-in">Sign in</a>
      </p>
    </section>
  );
}

export function SignInForm(props: { state?: FormState; next?: string; email?: string }) {
  const values = { ...(props.email ? { email: props.email } : {}), ...props.state?.values };
  return (
    <HxForm id="sign-in-form" action="/sign-in" class="card">
      <FormError state={props.state} />
      {props.next && <input type="hidden" name="next" value={props.next} />}
      <Field
        label="Email"
        name="email"
        type="email"
        autocomplete="username"
        state={{ ...props.state, values }}
      />
      <PasswordField label="Password" name="password" state={props.state} />
      <button type="submit">Sign in</button>
      <p>
        <a href="/forgot-password">Forgot your password?</a>
      </p>
    </HxForm>
  );
}

export function SignInPage(props: { state?: FormState; next?: string; email?: string }) {
  return (
    <section class="narrow">
      <h1>Sign in</h1>
      <SignInForm {...props} />
      <p>
        New to Orion? <a href="/sign-up">Open a demo account</a>
      </p>
    </section>
  );
}

/**
 * The second step of signing in with two-factor on: only the code. The password was checked and
 * is held on the server as a short-lived pending sign-in (a cookie names it), never in this form.
 * Asking is not an error, so the prompt is plain text; only a wrong code shows as one.
 */
export function SignInCodeForm(props: { state?: FormState; next?: string }) {
  return (
    <HxForm id="sign-in-code-form" action="/sign-in/code" class="card">
      <FormError state={props.state} />
      <p>Your password is right. Enter the code from your authenticator app to finish.</p>
      {props.next && <input type="hidden" name="next" value={props.next} />}
      <CodeField
        label="Authentication code"
        name="totpCode"
        state={props.state}
        hint="The 6-digit code, or one of your recovery codes. This step expires after 5 minutes."
      />
      <button type="submit">Sign in</button>
      <p>
        <a href="/sign-in">Start again</a>
      </p>
    </HxForm>
  );
}

export function SignInCodePage(props: { state?: FormState; next?: string }) {
  return (
    <section class="narrow">
      <h1>Two-step sign-in</h1>
      <SignInCodeForm {...props} />
    </section>
  );
}

/** Verification by link (a button, so mail scanners that fetch links cannot use it up) or by code. */
export function VerifyEmailPage(
  props: { token?: string; email?: string; state?: FormState; sent?: boolean },
) {
  if (props.token) {
    return (
      <section class="narrow">
        <h1>Confirm your email</h1>
        <VerifyEmailForm {...props} />
      </section>
    );
  }
  const email = props.state?.values?.email ?? props.email ?? "";
  return (
    <section class="narrow">
      <h1>Confirm your email</h1>
      {props.sent && (
        <p>
          We sent a link and an 8-digit code to{" "}
          <strong>{props.email}</strong>. Open the link, or enter the code here.
        </p>
      )}
      <VerifyEmailForm {...props} />
      <form method="post" action="/verify-email/resend" class="inline">
        <input type="hidden" name="email" value={email} />
        <p>
          No email? <button type="submit" class="link">Send a new code</button>
        </p>
      </form>
    </section>
  );
}

/** The confirmation form: one button for a link's token, else email and code (the htmx partial). */
export function VerifyEmailForm(props: { token?: string; email?: string; state?: FormState }) {
  if (props.token) {
    return (
      <HxForm id="verify-token-form" action="/verify-email" class="card">
        <FormError state={props.state} />
        <input type="hidden" name="token" value={props.token} />
        <button type="submit">Confirm my email</button>
      </HxForm>
    );
  }
  const values = { email: props.email ?? "", ...props.state?.values };
  return (
    <HxForm id="verify-code-form" action="/verify-email" class="card">
      <FormError state={props.state} />
      <Field
        label="Email"
        name="email"
        type="email"
        autocomplete="email"
        state={{ ...props.state, values }}
      />
      <CodeField label="Code" name="code" state={props.state} maxlength={12} />
      <button type="submit">Confirm</button>
    </HxForm>
  );
}

export function ForgotPasswordPage(props: { state?: FormState; sent?: boolean }) {
  return (
    <section class="narrow">
      <h1>Reset your password</h1>
      {props.sent
        ? (
          <p class="flash flash-info" role="status">
            If an account uses that email, a reset link is on its way. It works for one hour.
          </p>
        )
        : <p>Enter your email and we will send you a link to choose a new password.</p>}
      <HxForm id="forgot-form" action="/forgot-password" class="card">
        <FormError state={props.state} />
        <Field label="Email" name="email" type="email" autocomplete="email" state={props.state} />
        <button type="submit">Send the link</button>
      </HxForm>
    </section>
  );
}

export function ResetPasswordPage(props: { token: string; valid: boolean; state?: FormState }) {
  if (!props.valid) {
    return (
      <section class="narrow">
        <h1>This link does not work</h1>
        <p>It may have expired (links work for one hour) or been used already.</p>
        <p>
          <a class="button" href="/forgot-password">Send a new link</a>
        </p>
      </section>
    );
  }
  return (
    <section class="narrow">
      <h1>Choose a new password</h1>
      <ResetPasswordForm token={props.token} state={props.state} />
    </section>
  );
}

/** The new-password form (the htmx partial). */
export function ResetPasswordForm(props: { token: string; state?: FormState }) {
  return (
    <HxForm id="reset-form" action="/reset-password" class="card">
      <FormError state={props.state} />
      <input type="hidden" name="token" value={props.token} />
      <PasswordField
        label="New password"
        name="password"
        state={props.state}
        isNew
        hint={PASSWORD_HINT}
      />
      <button type="submit">Set the new password</button>
    </HxForm>
  );
}
