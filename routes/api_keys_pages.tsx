/**
 * /settings/keys: the API keys page and its forms (list, create, revoke), for a signed-in session;
 * creating a key needs a recent sign-in, as in /api/keys.
 */
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { reauthenticationRequired } from "../lib/auth/account.ts";
import { type ApiKey, createApiKey, listApiKeys, revokeApiKey } from "../lib/auth/api_keys.ts";
import { inSudoMode } from "../lib/auth/session.ts";
import { ApiKeysPage, type ApiKeysProps } from "../views/api_keys.tsx";
import { apiKeyInput } from "./api_keys_schemas.ts";
import type { AppDeps, AppEnv } from "./env.ts";
import { requireUser } from "./middleware/session.ts";
import { formFailure, renderView } from "./render.ts";
import { formBody, parseInput, requestOrigin } from "./request.ts";
import { buttonAction } from "./trading_context.ts";
import { sudoReauth } from "./sudo_reauth.tsx";

export function apiKeyPages(deps: AppDeps) {
  const origin = (c: Context<AppEnv>) => requestOrigin(c, deps.config.trustProxy);

  async function page(
    c: Context<AppEnv>,
    extra: Pick<ApiKeysProps, "created" | "failed"> & { status?: ContentfulStatusCode } = {},
  ) {
    // The page may show a secret (just created): no cache may keep it.
    c.header("Cache-Control", "no-store");
    const user = c.get("user")!;
    return renderView(c, {
      page: (
        <ApiKeysPage
          user={user}
          keys={await listApiKeys(deps.store, user._id)}
          sudo={inSudoMode(c.get("session")!)}
          created={extra.created}
          failed={extra.failed}
        />
      ),
      title: "API keys",
      status: extra.status,
    });
  }

  return new Hono<AppEnv>()
    .use(requireUser)
    .get("/", (c) => page(c))
    .post("/", async (c) => {
      const values = await formBody(c);
      let created: { key: ApiKey; secret: string };
      try {
        if (!inSudoMode(c.get("session")!)) throw reauthenticationRequired();
        const input = parseInput(apiKeyInput, values);
        created = await createApiKey(deps.store, c.get("user")!, input, origin(c));
      } catch (err) {
        const { state, status } = formFailure(c, err, values);
        // Without a recent sign-in the page shows the password form, which carries the message.
        const form = inSudoMode(c.get("session")!) ? "create" : "reauth";
        return page(c, { failed: { form, state }, status });
      }
      // The secret goes out in this answer only: never in a redirect, a cookie or a flash.
      return page(c, { created, status: 201 });
    })
    .post(
      "/reauth",
      sudoReauth(deps, {
        base: "/settings/keys",
        confirmed: "Confirmed. You can create keys for 10 minutes.",
        page: (c, failed) => page(c, failed),
      }),
    )
    .post("/:id/revoke", (c) =>
      buttonAction(c, "/settings/keys", async () => {
        await revokeApiKey(deps.store, c.get("user")!._id, c.req.param("id"), origin(c));
        return "The key is revoked; requests made with it are refused from now on.";
      }));
}
