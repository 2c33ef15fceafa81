/** /settings: the signed-in user's profile, email, password, two-factor and sessions. */
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import {
  changePassword,
  reauthenticationRequired,
  requestEmailChange,
  revokeOtherSessions,
  revokeSession,
  updateProfile,
} from "../lib/auth/account.ts";
import { inSudoMode, listUserSessions } from "../lib/auth/session.ts";
import { reauthenticate } from "../lib/auth/sign_in.ts";
import {
  beginTotpEnrolment,
  confirmTotpEnrolment,
  disableTotp,
  pendingTotpEnrolment,
  regenerateRecoveryCodes,
} from "../lib/auth/two_factor.ts";
import { setEmailChoice, type User } from "../lib/auth/users.ts";
import {
  benchmarkWeek,
  statementContentFor,
  statementWeek,
} from "../lib/trading/weekly_statement.ts";
import { setLotMethod } from "../lib/trading/lots.ts";
import { chosenAccount } from "./trading_context.ts";
import { accountPatch } from "./lots_schemas.ts";
import type { FormState } from "../views/form.tsx";
import {
  EmailForm,
  LotMethodForm,
  NotificationEmailForm,
  PasswordForm,
  ProfileForm,
  ReauthForm,
  type SettingsForm,
  SettingsPage,
  StatementForm,
  StatementPreview,
} from "../views/settings.tsx";
import { authContext } from "./auth_context.ts";
import { notificationEmailInput } from "./notifications_schemas.ts";
import {
  changePasswordInput,
  codeInput,
  emailOnlyInput,
  profileInput,
  reauthInput,
  weeklyStatementInput,
} from "./auth_schemas.ts";
import type { AppDeps, AppEnv } from "./env.ts";
import { setFlash } from "./middleware/flash.ts";
import { requireUser } from "./middleware/session.ts";
import { formFailure, renderView } from "./render.ts";
import { formBody, parseInput, redirectAfterPost, requestOrigin } from "./request.ts";

export function settingsRoutes(deps: AppDeps) {
  const ctx = authContext(deps);
  const origin = (c: Context<AppEnv>) => requestOrigin(c, deps.config.trustProxy);
  /** The account the lot method applies to: the one the pages show. */
  const shownAccount = (c: Context<AppEnv>) =>
    chosenAccount(c, deps.store, deps.trading.settings.startingCash);

  /** The whole page, optionally with one form's errors or the recovery codes just made. */
  async function page(
    c: Context<AppEnv>,
    extra: {
      failed?: { form: SettingsForm; state: FormState };
      recoveryCodes?: string[];
      status?: ContentfulStatusCode;
    } = {},
  ) {
    // Re-read: the handler may have just changed the user.
    const user = (await deps.store.get<User>("users", c.get("user")!._id))!;
    const session = c.get("session")!;
    return renderView(c, {
      page: (
        <SettingsPage
          user={user}
          session={session}
          sessions={await listUserSessions(deps.store, user._id)}
          sudo={inSudoMode(session)}
          enrolment={await pendingTotpEnrolment(ctx, user)}
          account={await shownAccount(c)}
          recoveryCodes={extra.recoveryCodes}
          failed={extra.failed}
        />
      ),
      title: "Settings",
      status: extra.status,
    });
  }

  /**
   * Runs a form's action; on success flashes `done` and goes back to /settings, on a 4xx shows
   * the form again with its errors (just the form for htmx, the whole page otherwise).
   */
  function formAction(
    form: SettingsForm,
    partial:
      | ((state: FormState, user: User, c: Context<AppEnv>) => string | Promise<string>)
      | null,
    action: (c: Context<AppEnv>, values: Record<string, string>) => Promise<string>,
  ) {
    return async (c: Context<AppEnv>) => {
      const values = await formBody(c);
      try {
        const done = await action(c, values);
        await setFlash(c, { kind: "success", text: done });
        return redirectAfterPost(c, "/settings");
      } catch (err) {
        const failure = formFailure(c, err, values);
        if (partial && c.req.header("HX-Request") === "true") {
          c.status(failure.status);
          return c.html(partial(failure.state, c.get("user")!, c));
        }
        return page(c, { failed: { form, state: failure.state }, status: failure.status });
      }
    };
  }

  const sudoOnly = (c: Context<AppEnv>) => {
    if (!inSudoMode(c.get("session")!)) throw reauthenticationRequired();
  };

  return new Hono<AppEnv>()
    .use(requireUser)
    .get("/", (c) => {
      c.header("Cache-Control", "no-store");
      return page(c);
    })
    .post(
      "/profile",
      formAction(
        "profile",
        (state, user) => <ProfileForm user={user} state={state} />,
        async (c, values) => {
          // A zone typed in "Or type any zone" wins over the list (views/settings.tsx).
          const { otherTimeZone, ...fields } = values;
          if (otherTimeZone?.trim()) fields.timeZone = otherTimeZone;
          const input = parseInput(profileInput, fields);
          await updateProfile(ctx, c.get("user")!, input);
          return "Your profile is saved.";
        },
      ),
    )
    .post(
      "/lot-method",
      formAction(
        "lotMethod",
        async (state, _user, c) => <LotMethodForm account={await shownAccount(c)} state={state} />,
        async (c, values) => {
          const { lotMethod } = parseInput(accountPatch, { lotMethod: values.lotMethod });
          const account = await shownAccount(c);
          await setLotMethod(deps.store, account._id, lotMethod, origin(c));
          return "Your sells close lots by the new method from the next sell on.";
        },
      ),
    )
    .post(
      "/weekly-statement",
      formAction(
        "statement",
        (state, user) => <StatementForm on={user.weeklyStatement ?? false} state={state} />,
        async (c, values) => {
          const { weeklyStatement } = parseInput(weeklyStatementInput, values);
          const on = weeklyStatement === "true";
          await setEmailChoice(deps.store, c.get("user")!._id, { weeklyStatement: on }, origin(c));
          return on
            ? "The weekly statement is on: it comes on Saturday mornings."
            : "The weekly statement is off.";
        },
      ),
    )
    .post(
      "/notification-email",
      formAction(
        "notificationEmail",
        (state, user) => (
          <NotificationEmailForm choice={user.notificationEmail ?? "none"} state={state} />
        ),
        async (c, values) => {
          const { notificationEmail } = parseInput(notificationEmailInput, values);
          await setEmailChoice(deps.store, c.get("user")!._id, { notificationEmail }, origin(c));
          return notificationEmail === "none"
            ? "Notifications stay in the bell; none come by email."
            : `Notification emails are on for ${
              notificationEmail === "all" ? "everything" : "fills and alerts"
            }, at most one a minute.`;
        },
      ),
    )
    .get("/statement-preview", async (c) => {
      // Only the signed-in user's own accounts: the statement is built from their user id alone.
      c.header("Cache-Control", "no-store");
      const user = c.get("user")!;
      await shownAccount(c);
      const now = new Date();
      const week = statementWeek(deps.trading.market.clock, now);
      const benchmark = await benchmarkWeek(deps.trading, week, now);
      const content = await statementContentFor(
        deps.trading,
        user,
        week,
        benchmark,
        deps.config.appUrl,
        now,
      );
      return renderView(c, {
        page: <StatementPreview {...content!} name={user.name} />,
        title: "Weekly statement preview",
      });
    })
    .post(
      "/email",
      formAction("email", (state) => <EmailForm state={state} />, async (c, values) => {
        const { email } = parseInput(emailOnlyInput, values);
        await requestEmailChange(ctx, c.get("user")!, c.get("session")!, email, origin(c));
        return `We sent a code to ${email}. Your email changes when you confirm it.`;
      }),
    )
    .post(
      "/password",
      formAction("password", (state) => <PasswordForm state={state} />, async (c, values) => {
        const input = parseInput(changePasswordInput, values);
        await changePassword(ctx, c.get("user")!, c.get("session")!, input, origin(c));
        return "Your password is changed. Every other session was signed out.";
      }),
    )
    .post(
      "/reauth",
      formAction(
        "reauth",
        (state, user) => <ReauthForm user={user} state={state} />,
        async (c, values) => {
          const input = parseInput(reauthInput, values);
          await reauthenticate(ctx, c.get("user")!, c.get("session")!, input, origin(c));
          return "Confirmed. You can change sensitive settings for the next 10 minutes.";
        },
      ),
    )
    .post(
      "/2fa/begin",
      formAction("totp", null, async (c) => {
        sudoOnly(c);
        await beginTotpEnrolment(ctx, c.get("user")!);
        return "Scan the code with your authenticator app to finish.";
      }),
    )
    .post("/2fa/confirm", async (c) => {
      const values = await formBody(c);
      try {
        const { code } = parseInput(codeInput, values);
        const codes = await confirmTotpEnrolment(
          ctx,
          c.get("user")!,
          c.get("session")!,
          code,
          origin(c),
        );
        // The codes are shown in this response only, never carried in a cookie or a URL.
        c.header("Cache-Control", "no-store");
        return page(c, { recoveryCodes: codes });
      } catch (err) {
        const failure = formFailure(c, err, values);
        return page(c, { failed: { form: "totp", state: failure.state }, status: failure.status });
      }
    })
    .post("/2fa/recovery-codes", async (c) => {
      sudoOnly(c);
      const codes = await regenerateRecoveryCodes(ctx, c.get("user")!, origin(c));
      c.header("Cache-Control", "no-store");
      return page(c, { recoveryCodes: codes });
    })
    .post(
      "/2fa/disable",
      formAction("totp", null, async (c) => {
        sudoOnly(c);
        await disableTotp(ctx, c.get("user")!, origin(c));
        return "Two-factor authentication is off.";
      }),
    )
    .post(
      "/sessions/revoke-others",
      formAction("profile", null, async (c) => {
        const ended = await revokeOtherSessions(ctx, c.get("user")!, c.get("session")!, origin(c));
        return ended === 1
          ? "One other session was signed out."
          : `${ended} other sessions were signed out.`;
      }),
    )
    .post(
      "/sessions/:id/revoke",
      formAction("profile", null, async (c) => {
        await revokeSession(ctx, c.get("user")!, c.req.param("id")!, origin(c));
        return "That session is signed out.";
      }),
    );
}
