/**
 * /settings/webhooks: the webhook endpoints page and its forms (add, turn on or off, delete), and
 * each endpoint's deliveries with a re-send button; plain forms, as /settings/keys.
 */
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError } from "../lib/errors.ts";
import { listDeliveries, resendDelivery, sendTestDelivery } from "../lib/webhooks/deliveries.ts";
import {
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  listEndpoints,
  updateEndpoint,
  webhookDeps,
} from "../lib/webhooks/endpoints.ts";
import { WebhookDeliveriesPage, WebhooksPage, type WebhooksProps } from "../views/webhooks.tsx";
import type { AppDeps, AppEnv } from "./env.ts";
import { requireUser } from "./middleware/session.ts";
import { formFailure, renderView } from "./render.ts";
import { parseInput, requestOrigin } from "./request.ts";
import { buttonAction } from "./trading_context.ts";
import { deliveriesQuery, webhookInput } from "./webhooks_schemas.ts";

const PAGE_SIZE = 20;

/**
 * A form body as strings, with a field sent several times (the event checkboxes) joined by
 * commas, as the schema reads it.
 */
async function formWithLists(c: Context): Promise<Record<string, string>> {
  let body: Record<string, unknown>;
  try {
    body = await c.req.parseBody({ all: true });
  } catch {
    throw new AppError(400, "malformed_body", "The form could not be read. Please try again.");
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(body)) {
    const strings = (Array.isArray(value) ? value : [value]).filter((v) => typeof v === "string");
    if (strings.length > 0) out[key] = strings.join(",");
  }
  return out;
}

export function webhookPages(deps: AppDeps) {
  const wh = webhookDeps(deps.config, deps.store);
  const origin = (c: Context<AppEnv>) => requestOrigin(c, deps.config.trustProxy);
  const userId = (c: Context<AppEnv>) => c.get("user")!._id;
  const endpointPath = (c: Context<AppEnv>) =>
    `/settings/webhooks/${encodeURIComponent(c.req.param("id") ?? "")}`;

  async function page(
    c: Context<AppEnv>,
    extra: Pick<WebhooksProps, "created" | "failed"> & { status?: ContentfulStatusCode } = {},
  ) {
    // The page may show a secret (just created): no cache may keep it.
    c.header("Cache-Control", "no-store");
    return renderView(c, {
      page: (
        <WebhooksPage
          endpoints={await listEndpoints(deps.store, userId(c))}
          created={extra.created}
          failed={extra.failed}
        />
      ),
      title: "Webhooks",
      status: extra.status,
    });
  }

  return new Hono<AppEnv>()
    .use(requireUser, async (c, next) => {
      // The event checkboxes and a delivery's attempts are styled in static/extra.css.
      c.set("extraStyles", true);
      await next();
    })
    .get("/", (c) => page(c))
    .post("/", async (c) => {
      const values = await formWithLists(c);
      try {
        const input = parseInput(webhookInput, { events: "", ...values });
        const created = await createEndpoint(wh, userId(c), input, origin(c));
        // The secret goes out in this answer only: never in a redirect, a cookie or a flash.
        return await page(c, { created, status: 201 });
      } catch (err) {
        const { state, status } = formFailure(c, err, values);
        return page(c, { failed: state, status });
      }
    })
    .get("/:id", async (c) => {
      const query = parseInput(deliveriesQuery, {
        limit: PAGE_SIZE,
        cursor: c.req.query("cursor"),
      });
      const id = c.req.param("id");
      const endpoint = await getEndpoint(deps.store, userId(c), id);
      const { items, nextCursor } = await listDeliveries(
        deps.store,
        userId(c),
        id,
        query.limit,
        query.cursor,
      );
      return renderView(c, {
        page: (
          <WebhookDeliveriesPage endpoint={endpoint} deliveries={items} nextCursor={nextCursor} />
        ),
        title: "Webhook deliveries",
      });
    })
    .post("/:id/enable", (c) =>
      buttonAction(c, "/settings/webhooks", async () => {
        await updateEndpoint(wh, userId(c), c.req.param("id"), { enabled: true }, origin(c));
        return "The endpoint is on; new events will be sent to it.";
      }))
    .post("/:id/disable", (c) =>
      buttonAction(c, "/settings/webhooks", async () => {
        await updateEndpoint(wh, userId(c), c.req.param("id"), { enabled: false }, origin(c));
        return "The endpoint is off; nothing more is sent to it until you turn it on.";
      }))
    .post("/:id/delete", (c) =>
      buttonAction(c, "/settings/webhooks", async () => {
        await deleteEndpoint(deps.store, userId(c), c.req.param("id"), origin(c));
        return "The endpoint is deleted.";
      }))
    .post("/:id/test", (c) =>
      buttonAction(c, endpointPath(c), async () => {
        await sendTestDelivery(deps.store, userId(c), c.req.param("id"));
        return "A webhook.test event is on its way.";
      }))
    .post(
      "/:id/deliveries/:deliveryId/resend",
      (c) =>
        buttonAction(c, endpointPath(c), async () => {
          await resendDelivery(deps.store, userId(c), c.req.param("id"), c.req.param("deliveryId"));
          return "Re-sent: a new delivery of the same message is on its way.";
        }),
    );
}
