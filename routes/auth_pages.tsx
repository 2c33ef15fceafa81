/** The auth pages: sign-up, sign-in, sign-out, email verification, forgotten and reset passwords. */
import { type Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import {
  confirmEmail,
  requestPasswordReset,
  resendVerification,
  signOut,
} from "../lib/auth/account.ts";
import { findPasswordReset, resetPassword } from "../lib/auth/password_reset.ts";
import { PENDING_SIGN_IN_TTL_MS } from "../lib/auth/pending_sign_in.ts";
import { completeSignIn, SecondFactorNeeded, signIn } from "../lib/auth/sign_in.ts";
import { signUp } from "../lib/auth/sign_up.ts";
import { AppError } from "../lib/errors.ts";
import {
  ForgotPasswordPage,
  ResetPasswordForm,
  ResetPasswordPage,
  SignInCodeForm,
  SignInCodePage,
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
import { clearSessionCookie, rememberDevice, setSessionCookie } from "./middleware/session.ts";
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
      // Set by a confirmed email (below), so the address just confirmed is already filled in.
      const email = c.req.query("email")?.slice(0, 254);
      return renderView(c, {
        page: <SignInPage next={next || undefined} email={email} />,
        title: "Sign in",
      });
    })
    .post("/sign-in", async (c) => {
      const values = await formBody(c);
      const next = safeNext(values.next, HOME_AFTER_SIGN_IN);
      // The form carries the checked path, never what was posted, back into the page.
      const formNext = safeNext(values.next, "") || undefined;
      try {
        const input = parseInput(signInInput, values);
        const { session, token } = await signIn(ctx, input, origin(c), undefined, {
          holdFirstFactor: true,
        });
        setSessionCookie(c, config, token, session.expiresAt);
        await rememberDevice(c, deps, session.userId);
        return redirectAfterPost(c, next);
      } catch (err) {
        if (err instanceof SecondFactorNeeded) {
          setPendingCookie(c, config.isProduction, err.pending);
          return renderView(c, {
            page: <SignInCodePage next={formNext} />,
            partial: <SignInCodeForm next={formNext} />,
            title: "Sign in",
          });
        }
        const { state, status } = formFailure(c, err, values);
        const props = { state, next: formNext };
        return renderView(c, {
          page: <SignInPage {...props} />,
          partial: <SignInForm {...props} />,
          title: "Sign in",
          status,
        });
      }
    })
    .get("/sign-in/code", (c) => {
      // A reload of the code step: it stays while its pending sign-in may still be there.
      if (!getCookie(c, PENDING_COOKIE)) return c.redirect("/sign-in", 303);
      const next = safeNext(c.req.query("next"), "") || undefined;
      return renderView(c, { page: <SignInCodePage next={next} />, title: "Sign in" });
    })
    .post("/sign-in/code", async (c) => {
      const values = await formBody(c);
      const next = safeNext(values.next, HOME_AFTER_SIGN_IN);
      const formNext = safeNext(values.next, "") || undefined;
      try {
        const { session, token } = await completeSignIn(
          ctx,
          getCookie(c, PENDING_COOKIE) ?? "",
          values.totpCode,
          origin(c),
        );
        deleteCookie(c, PENDING_COOKIE, { path: "/sign-in" });
        setSessionCookie(c, config, token, session.expiresAt);
        await rememberDevice(c, deps, session.userId);
        return redirectAfterPost(c, next);
      } catch (err) {
        const { state, status } = formFailure(c, err, values);
        if (err instanceof SecondFactorNeeded) {
          setPendingCookie(c, config.isProduction, err.pending);
          return renderView(c, {
            page: <SignInCodePage state={state} next={formNext} />,
            partial: <SignInCodeForm state={state} next={formNext} />,
            title: "Sign in",
            status,
          });
        }
        // Expired, used, voided or locked: back to the password, in the whole page (the form
        // being replaced is the code form, so htmx gets the sign-in form as the partial).
        deleteCookie(c, PENDING_COOKIE, { path: "/sign-in" });
        return renderView(c, {
          page: <SignInPage state={state} next={formNext} />,
          partial: <SignInForm state={state} next={formNext} />,
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
        if (c.get("user")) return redirectAfterPost(c, "/settings");
        return redirectAfterPost(c, `/sign-in?email=${encodeURIComponent(result.user.email)}`);
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

/**
 * The cookie naming a pending two-step sign-in (lib/auth/pending_sign_in.ts): HttpOnly, sent only
 * to the sign-in pages, and gone from the browser when the pending step expires on the server.
 */
const PENDING_COOKIE = "orion_pending_sign_in";

function setPendingCookie(
  c: Context,
  isProduction: boolean,
  pending: { token: string; expiresAt: Date },
): void {
  const maxAge = Math.max(1, Math.ceil((pending.expiresAt.getTime() - Date.now()) / 1000));
  setCookie(c, PENDING_COOKIE, pending.token, {
    path: "/sign-in",
    httpOnly: true,
    sameSite: "Lax",
    secure: isProduction,
    maxAge: Math.min(maxAge, PENDING_SIGN_IN_TTL_MS / 1000),
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
