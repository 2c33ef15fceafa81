/** The auth pages: sign-up, sign-in, sign-out, email verification, forgotten and reset passwords. */
import { Hono } from "hono";
import {
  confirmEmail,
  requestPasswordReset,
  resendVerification,
  signOut,
} from "../lib/auth/account.ts";
import { findPasswordReset, resetPassword } from "../lib/auth/password_reset.ts";
import { signIn } from "../lib/auth/sign_in.ts";
import { signUp } from "../lib/auth/sign_up.ts";
import { AppError } from "../lib/errors.ts";
import {
  ForgotPasswordPage,
  ResetPasswordForm,
  ResetPasswordPage,
  SignInForm,
  SignInPage,
  SignUpForm,
  SignUpPage,
  VerifyEmailForm,
  VerifyEmailPage,
} from "../views/auth.tsx";
import { authContext } from "./auth_context.ts";
import {
  emailOnlyInput,
  resetPasswordInput,
  signInInput,
  signUpInput,
  verifyEmailInput,
} from "./auth_schemas.ts";
import type { AppDeps, AppEnv } from "./env.ts";
import { setFlash } from "./middleware/flash.ts";
import { clearSessionCookie, setSessionCookie } from "./middleware/session.ts";
import { formFailure, renderView } from "./render.ts";
import { formBody, parseInput, redirectAfterPost, requestOrigin, safeNext } from "./request.ts";

/** Where a user lands after signing in, unless a `next` path says otherwise. */
export const HOME_AFTER_SIGN_IN = "/dashboard";

export function authPages(deps: AppDeps) {
  const ctx = authContext(deps);
  const { config, store } = deps;
  const origin = (c: Parameters<typeof requestOrigin>[0]) => requestOrigin(c, config.trustProxy);

  return new Hono<AppEnv>()
    .get("/sign-up", (c) => renderView(c, { page: <SignUpPage />, title: "Sign up" }))
    .post("/sign-up", async (c) => {
      const values = await formBody(c);
      try {
        const input = parseInput(signUpInput, values);
        const user = await signUp(ctx, input, origin(c));
        await setFlash(c, {
          kind: "success",
          text: "Your account is ready. Confirm your email to continue.",
        });
        return redirectAfterPost(c, `/verify-email?sent=1&email=${encodeURIComponent(user.email)}`);
      } catch (err) {
        const { state, status } = formFailure(c, err, values);
        return renderView(c, {
          page: <SignUpPage state={state} />,
          partial: <SignUpForm state={state} />,
          title: "Sign up",
          status,
        });
      }
    })
    .get("/sign-in", (c) => {
      if (c.get("user")) return c.redirect(HOME_AFTER_SIGN_IN, 303);
      const next = safeNext(c.req.query("next"), "");
      return renderView(c, { page: <SignInPage next={next || undefined} />, title: "Sign in" });
    })
    .post("/sign-in", async (c) => {
      const values = await formBody(c);
      const next = safeNext(values.next, HOME_AFTER_SIGN_IN);
      try {
        const input = parseInput(signInInput, values);
        const { session, token } = await signIn(ctx, input, origin(c));
        setSessionCookie(c, config, token, session.expiresAt);
        return redirectAfterPost(c, next);
      } catch (err) {
        const { state, status } = formFailure(c, err, values);
        const askTotp = err instanceof AppError &&
          ["totp_required", "invalid_totp"].includes(err.code);
        // The form carries the checked path, never what was posted, back into the page.
        const props = { state, askTotp, next: safeNext(values.next, "") || undefined };
        return renderView(c, {
          page: <SignInPage {...props} />,
          partial: <SignInForm {...props} />,
          title: "Sign in",
          status,
        });
      }
    })
    .post("/sign-out", async (c) => {
      const session = c.get("session");
      if (session) await signOut(store, session, origin(c));
      clearSessionCookie(c, config);
      await setFlash(c, { kind: "info", text: "You are signed out." });
      return redirectAfterPost(c, "/");
    })
    .get("/verify-email", (c) => {
      const token = c.req.query("token");
      return renderView(c, {
        page: (
          <VerifyEmailPage
            token={token}
            email={c.req.query("email")}
            sent={c.req.query("sent") === "1"}
          />
        ),
        title: "Confirm your email",
      });
    })
    .post("/verify-email", async (c) => {
      const values = await formBody(c);
      try {
        const input = parseInput(verifyEmailInput, values);
        const result = await confirmEmail(ctx, input, origin(c));
        if (!result.ok) throw verificationError(result.reason);
        await setFlash(c, { kind: "success", text: "Your email is confirmed." });
        return redirectAfterPost(c, c.get("user") ? "/settings" : "/sign-in");
      } catch (err) {
        const { state, status } = formFailure(c, err, values);
        const props = { token: values.token, email: values.email, state };
        return renderView(c, {
          page: <VerifyEmailPage {...props} />,
          partial: <VerifyEmailForm {...props} />,
          title: "Confirm your email",
          status,
        });
      }
    })
    .post("/verify-email/resend", async (c) => {
      const values = await formBody(c);
      const { email } = parseInput(emailOnlyInput, values);
      await resendVerification(ctx, email, origin(c));
      await setFlash(c, {
        kind: "info",
        text: "If that email needs confirming, a new code is on its way.",
      });
      return redirectAfterPost(c, `/verify-email?email=${encodeURIComponent(email)}`);
    })
    .get(
      "/forgot-password",
      (c) => renderView(c, { page: <ForgotPasswordPage />, title: "Reset your password" }),
    )
    .post("/forgot-password", async (c) => {
      const values = await formBody(c);
      try {
        const { email } = parseInput(emailOnlyInput, values);
        await requestPasswordReset(ctx, email, origin(c));
        return renderView(c, { page: <ForgotPasswordPage sent />, title: "Reset your password" });
      } catch (err) {
        const { state, status } = formFailure(c, err, values);
        return renderView(c, {
          page: <ForgotPasswordPage state={state} />,
          title: "Reset your password",
          status,
        });
      }
    })
    .get("/reset-password", async (c) => {
      const token = c.req.query("token") ?? "";
      const valid = (await findPasswordReset(store, token)) !== null;
      return renderView(c, {
        page: <ResetPasswordPage token={token} valid={valid} />,
        title: "Choose a new password",
        status: valid ? 200 : 400,
      });
    })
    .post("/reset-password", async (c) => {
      const values = await formBody(c);
      try {
        const input = parseInput(resetPasswordInput, values);
        const updated = await resetPassword(
          store,
          config.authSecret,
          input.token,
          input.password,
          origin(c),
        );
        if (!updated) {
          return renderView(c, {
            page: <ResetPasswordPage token="" valid={false} />,
            title: "Choose a new password",
            status: 400,
          });
        }
        clearSessionCookie(c, config);
        await setFlash(c, {
          kind: "success",
          text: "Your password is changed. Sign in with the new one.",
        });
        return redirectAfterPost(c, "/sign-in");
      } catch (err) {
        const { state, status } = formFailure(c, err, values);
        const token = values.token ?? "";
        return renderView(c, {
          page: <ResetPasswordPage token={token} valid state={state} />,
          partial: <ResetPasswordForm token={token} state={state} />,
          title: "Choose a new password",
          status,
        });
      }
    });
}

/** The 4xx a failed verification answers with. */
export function verificationError(
  reason: "invalid" | "expired" | "email_taken",
): AppError {
  switch (reason) {
    case "expired":
      return new AppError(
        422,
        "verification_expired",
        "This code or link has expired. Ask for a new one.",
      );
    case "email_taken":
      return new AppError(409, "email_taken", "Another account now uses this email.");
    default:
      return new AppError(
        422,
        "invalid_verification",
        "This code or link is not valid. Check it, or ask for a new one.",
      );
  }
}
