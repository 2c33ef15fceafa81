/**
 * /api/keys: a signed-in user's API keys. Managed with a session only, never with a key
 * (middleware/api_key.ts does not open this area to keys); creating one needs a recent sign-in,
 * as the sensitive settings do.
 */
import { type Context, Hono } from "hono";
import { apiKeyJson, createApiKey, listApiKeys, revokeApiKey } from "../lib/auth/api_keys.ts";
import { reauthenticationRequired } from "../lib/auth/account.ts";
import { inSudoMode } from "../lib/auth/session.ts";
import { AppError } from "../lib/errors.ts";
import { apiKeyInput } from "./api_keys_schemas.ts";
import type { AppDeps, AppEnv } from "./env.ts";
import { requireUser } from "./middleware/session.ts";
import { jsonBody, parseInput, requestOrigin } from "./request.ts";

export function apiKeysApi(deps: AppDeps) {
  const { store } = deps;
  const origin = (c: Context<AppEnv>) => requestOrigin(c, deps.config.trustProxy);
  const userId = (c: Context<AppEnv>) => c.get("user")!._id;

  return new Hono<AppEnv>()
    .use(requireUser)
    .use(async function sessionOnly(c, next) {
      // Keys never reach here (apiKeyAuth refuses them first); this keeps it so if that changes.
      if (!c.get("session")) {
        throw new AppError(403, "forbidden", "API keys are managed from a signed-in session.");
      }
      await next();
    })
    .get("/", async (c) => {
      const keys = await listApiKeys(store, userId(c));
      return c.json({ keys: keys.map((k) => apiKeyJson(k)) });
    })
    .post("/", async (c) => {
      if (!inSudoMode(c.get("session")!)) throw reauthenticationRequired();
      const input = parseInput(apiKeyInput, await jsonBody(c));
      const { key, secret } = await createApiKey(store, c.get("user")!, input, origin(c));
      // The only answer that ever holds the secret.
      return c.json({ key: apiKeyJson(key), secret }, 201);
    })
    .delete("/:id", async (c) => {
      await revokeApiKey(store, userId(c), c.req.param("id"), origin(c));
      return c.body(null, 204);
    });
}
