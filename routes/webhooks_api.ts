/**
 * /api/webhooks: a user's outbound webhook endpoints and their deliveries (lib/webhooks). Open to
 * API keys: reading needs the `read` scope, every change `trade` (middleware/api_key.ts).
 */
import { type Context, Hono } from "hono";
import {
  deliveryJson,
  listDeliveries,
  resendDelivery,
  sendTestDelivery,
} from "../lib/webhooks/deliveries.ts";
import {
  createEndpoint,
  deleteEndpoint,
  endpointJson,
  getEndpoint,
  listEndpoints,
  updateEndpoint,
  webhookDeps,
} from "../lib/webhooks/endpoints.ts";
import type { AppDeps, AppEnv } from "./env.ts";
import { requireUser } from "./middleware/session.ts";
import { jsonBody, parseInput, requestOrigin } from "./request.ts";
import { deliveriesQuery, webhookInput, webhookUpdate } from "./webhooks_schemas.ts";

export function webhooksApi(deps: AppDeps) {
  const wh = webhookDeps(deps.config, deps.store);
  const { store } = deps;
  const origin = (c: Context<AppEnv>) => requestOrigin(c, deps.config.trustProxy);
  const userId = (c: Context<AppEnv>) => c.get("user")!._id;

  return new Hono<AppEnv>()
    .use(requireUser)
    .get("/", async (c) => {
      const endpoints = await listEndpoints(store, userId(c));
      return c.json({ endpoints: endpoints.map(endpointJson) });
    })
    .post("/", async (c) => {
      const input = parseInput(webhookInput, await jsonBody(c));
      const { endpoint, secret } = await createEndpoint(wh, userId(c), input, origin(c));
      // The only answer that ever holds the secret.
      return c.json({ endpoint: endpointJson(endpoint), secret }, 201);
    })
    .get("/:id", async (c) => {
      const endpoint = await getEndpoint(store, userId(c), c.req.param("id"));
      return c.json({ endpoint: endpointJson(endpoint) });
    })
    .patch("/:id", async (c) => {
      const input = parseInput(webhookUpdate, await jsonBody(c));
      const endpoint = await updateEndpoint(wh, userId(c), c.req.param("id"), input, origin(c));
      return c.json({ endpoint: endpointJson(endpoint) });
    })
    .delete("/:id", async (c) => {
      await deleteEndpoint(store, userId(c), c.req.param("id"), origin(c));
      return c.body(null, 204);
    })
    .get("/:id/deliveries", async (c) => {
      const query = parseInput(deliveriesQuery, c.req.query());
      const page = await listDeliveries(
        store,
        userId(c),
        c.req.param("id"),
        query.limit,
        query.cursor,
      );
      return c.json({ deliveries: page.items.map(deliveryJson), nextCursor: page.nextCursor });
    })
    .post("/:id/deliveries/:deliveryId/resend", async (c) => {
      const delivery = await resendDelivery(
        store,
        userId(c),
        c.req.param("id"),
        c.req.param("deliveryId"),
      );
      return c.json({ delivery: deliveryJson(delivery) }, 202);
    })
    .post("/:id/test", async (c) => {
      const delivery = await sendTestDelivery(store, userId(c), c.req.param("id"));
      return c.json({ delivery: deliveryJson(delivery) }, 202);
    });
}
