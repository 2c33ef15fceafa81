/**
 * The auth JSON API under /api/auth (docs/design.md, HTTP contract); field names match the HTML
 * forms.
 */
import { Hono } from "hono";
import {
  changePassword,
  confirmEmail,
  reauthenticationRequired,
  requestEmailChange,
  requestPasswordReset,
  resendVerification,
  revokeOtherSessions,
  revokeSession,
  signOut,
  updateProfile,
} from "../lib/auth/account.ts";
import { resetPassword } from "../lib/auth/password_reset.ts";
import { inSudoMode, listUserSessions, type Session } from "../lib/auth/session.ts";
import { reauthenticate, signIn } from "../lib/auth/sign_in.ts";
import { signUp } from "../lib/auth/sign_up.ts";
import {
  beginTotpEnrolment,
  confirmTotpEnrolment,
  disableTotp,
  regenerateRecoveryCodes,
} from "../lib/auth/two_factor.ts";
import { publicUser, setEmailChoice, type User } from "../lib/auth/users.ts";
import { AppError } from "../lib/errors.ts";
import { authContext } from "./auth_context.ts";
import { verificationError } from "./auth_pages.tsx";
import {
  changePasswordInput,
  codeInput,
  emailOnlyInput,
  profilePatch,
  reauthInput,
  resetPasswordInput,
  signInInput,
  signUpInput,
  verifyEmailInput,
} from "./auth_schemas.ts";
import type { AppDeps, AppEnv } from "./env.ts";
import {
  clearSessionCookie,
  rememberDevice,
  requireUser,
  setSessionCookie,
} from "./middleware/session.ts";
import { jsonBody, parseInput, requestOrigin } from "./request.ts";

export function authApi(deps: AppDeps) {
  const ctx = authContext(deps);
  const { config, store } = deps;
  const origin = (c: Parameters<typeof requestOrigin>[0]) => requestOrigin(c, config.trustProxy);

  return new Hono<AppEnv>()
    .post("/sign-up", async (c) => {
      const input = parseInput(signUpInput, await jsonBody(c));
      const user = await signUp(ctx, input, origin(c));
      return c.json({ user: publicUser(user) }, 201);
    })
    .post("/verify-email", async (c) => {
      const input = parseInput(verifyEmailInput, await jsonBody(c));
      const result = await confirmEmail(ctx, input, origin(c));
      if (!result.ok) throw verificationError(result.reason);
      return c.json({ user: publicUser(result.user) });
    })
    .post("/verify-email/resend", async (c) => {
      const { email } = parseInput(emailOnlyInput, await jsonBody(c));
      await resendVerification(ctx, email, origin(c));
      return c.json({ status: "accepted" }, 202);
    })
    .post("/sign-in", async (c) => {
      const input = parseInput(signInInput, await jsonBody(c));
      const { user, session, token } = await signIn(ctx, input, origin(c));
      setSessionCookie(c, config, token, session.expiresAt);
      await rememberDevice(c, deps, user._id);
      return c.json({ user: publicUser(user), session: sessionJson(session, session._id) });
    })
    .post("/sign-out", async (c) => {
      const session = c.get("session");
      if (session) await signOut(store, session, origin(c));
      clearSessionCookie(c, config);
      return c.body(null, 204);
    })
    .get("/session", requireUser, (c) => {
      const session = c.get("session")!;
      return c.json({
        user: publicUser(c.get("user")!),
        session: sessionJson(session, session._id),
      });
    })
    .post("/password/forgot", async (c) => {
      const { email } = parseInput(emailOnlyInput, await jsonBody(c));
      await requestPasswordReset(ctx, email, origin(c));
      return c.json({ status: "accepted" }, 202);
    })
    .post("/password/reset", async (c) => {
      const input = parseInput(resetPasswordInput, await jsonBody(c));
      const user = await resetPassword(
        store,
        config.authSecret,
        input.token,
        input.password,
        origin(c),
      );
      if (!user) {
        throw new AppError(
          422,
          "invalid_token",
          "This reset link is not valid: it may have expired or been used.",
        );
      }
      clearSessionCookie(c, config);
      return c.json({ user: publicUser(user) });
    })
    .post("/password/change", requireUser, async (c) => {
      const input = parseInput(changePasswordInput, await jsonBody(c));
      await changePassword(ctx, c.get("user")!, c.get("session")!, input, origin(c));
      return c.json({ status: "changed" });
    })
    .post("/reauth", requireUser, async (c) => {
      const input = parseInput(reauthInput, await jsonBody(c));
      await reauthenticate(ctx, c.get("user")!, c.get("session")!, input, origin(c));
      return c.json({ status: "ok" });
    })
    .patch("/profile", requireUser, async (c) => {
      const { weeklyStatement, notificationEmail, ...profile } = parseInput(
        profilePatch,
        await jsonBody(c),
      );
      let user = c.get("user")!;
      if (profile.name !== undefined || profile.timeZone !== undefined) {
        user = await updateProfile(ctx, user, profile);
      }
      if (weeklyStatement !== undefined) {
        await setEmailChoice(store, user._id, { weeklyStatement }, origin(c));
      }
      if (notificationEmail !== undefined) {
        await setEmailChoice(store, user._id, { notificationEmail }, origin(c));
      }
      return c.json({ user: publicUser((await store.get<User>("users", user._id))!) });
    })
    .post("/email/change", requireUser, async (c) => {
      const { email } = parseInput(emailOnlyInput, await jsonBody(c));
      await requestEmailChange(ctx, c.get("user")!, c.get("session")!, email, origin(c));
      return c.json({ status: "verification_sent" }, 202);
    })
    .get("/sessions", requireUser, async (c) => {
      const current = c.get("session")!;
      const sessions = await listUserSessions(store, c.get("user")!._id);
      return c.json({ sessions: sessions.map((s) => sessionJson(s, current._id)) });
    })
    .delete("/sessions/:id", requireUser, async (c) => {
      await revokeSession(ctx, c.get("user")!, c.req.param("id"), origin(c));
      if (c.req.param("id") === c.get("session")!._id) clearSessionCookie(c, config);
      return c.body(null, 204);
    })
    .post("/sessions/revoke-others", requireUser, async (c) => {
      const ended = await revokeOtherSessions(ctx, c.get("user")!, c.get("session")!, origin(c));
      return c.json({ revoked: ended });
    })
    .post("/2fa/setup", requireUser, async (c) => {
      requireSudo(c.get("session")!);
      const enrolment = await beginTotpEnrolment(ctx, c.get("user")!);
      return c.json(enrolment);
    })
    .post("/2fa/enable", requireUser, async (c) => {
      const { code } = parseInput(codeInput, await jsonBody(c));
      const recoveryCodes = await confirmTotpEnrolment(
        ctx,
        c.get("user")!,
        c.get("session")!,
        code,
        origin(c),
      );
      return c.json({ recoveryCodes });
    })
    .post("/2fa/disable", requireUser, async (c) => {
      requireSudo(c.get("session")!);
      await disableTotp(ctx, c.get("user")!, origin(c));
      return c.json({ status: "disabled" });
    })
    .post("/2fa/recovery-codes", requireUser, async (c) => {
      requireSudo(c.get("session")!);
      return c.json({
        recoveryCodes: await regenerateRecoveryCodes(ctx, c.get("user")!, origin(c)),
      });
    });
}

function requireSudo(session: Session): void {
  if (!inSudoMode(session)) throw reauthenticationRequired();
}

/** A session as its owner sees it. */
function sessionJson(session: Session, currentId: string) {
  return {
    id: session._id,
    current: session._id === currentId,
    createdAt: session.createdAt.toISOString(),
    expiresAt: session.expiresAt.toISOString(),
    lastSeenAt: session.lastSeenAt.toISOString(),
    ip: session.ip,
    userAgent: session.userAgent,
  };
}
