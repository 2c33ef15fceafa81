/**
 * The "confirm it is you" form of a settings page whose action needs a recent sign-in (creating an
 * API key, making a signal URL): checks the password (and code), then sends the user back to the
 * page for SUDO_TTL; a wrong password shows the form again with the error, as a partial for htmx.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { reauthenticate } from "../lib/auth/sign_in.ts";
import type { FormState } from "../views/form.tsx";
import { ReauthForm } from "../views/settings.tsx";
import { authContext } from "./auth_context.ts";
import { reauthInput } from "./auth_schemas.ts";
import type { AppDeps, AppEnv } from "./env.ts";
import { setFlash } from "./middleware/flash.ts";
import { formFailure } from "./render.ts";
import { formBody, parseInput, redirectAfterPost, requestOrigin } from "./request.ts";

export function sudoReauth(
  deps: AppDeps,
  options: {
    /** The page, e.g. "/settings/keys"; the form posts to `<base>/reauth`. */
    base: string;
    /** The flash once confirmed, e.g. "Confirmed. You can create keys for 10 minutes." */
    confirmed: string;
    /** The whole page with the form's failure, for a request without htmx. */
    page: (
      c: Context<AppEnv>,
      failed: { failed: { form: "reauth"; state: FormState }; status: ContentfulStatusCode },
    ) => Promise<Response>;
  },
) {
  const ctx = authContext(deps);
  return async (c: Context<AppEnv>) => {
    const values = await formBody(c);
    try {
      const input = parseInput(reauthInput, values);
      const origin = requestOrigin(c, deps.config.trustProxy);
      await reauthenticate(ctx, c.get("user")!, c.get("session")!, input, origin);
    } catch (err) {
      const { state, status } = formFailure(c, err, values);
      if (c.req.header("HX-Request") === "true") {
        c.status(status);
        return c.html(
          <ReauthForm user={c.get("user")!} state={state} action={`${options.base}/reauth`} />,
        );
      }
      return options.page(c, { failed: { form: "reauth", state }, status });
    }
    await setFlash(c, { kind: "success", text: options.confirmed });
    return redirectAfterPost(c, options.base);
  };
}
