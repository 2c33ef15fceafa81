/** /orders: the user's orders by status, with cancel, cancel all, and changing a working order. */
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError } from "../lib/errors.ts";
import {
  cancelAllOrders,
  cancelOrder,
  listOrders,
  orderJson,
  ownOrder,
  replaceOrder,
} from "../lib/trading/orders.ts";
import {
  describeOrder,
  type FailedReplace,
  OrdersPage,
  type OrdersTab,
  ReplaceForm,
} from "../views/orders.tsx";
import type { AppDeps, AppEnv } from "./env.ts";
import { setFlash } from "./middleware/flash.ts";
import { noStore } from "./middleware/no_store.ts";
import { requireUser } from "./middleware/session.ts";
import { formFailure, renderView } from "./render.ts";
import { formBody, parseInput, redirectAfterPost } from "./request.ts";
import { backTo, buttonAction, tradingPageContext, withoutBlanks } from "./trading_context.ts";
import { ordersQuery, replaceInput } from "./trading_schemas.ts";
import { liveAddress } from "./live/page_stream.tsx";

/** Orders per page; the live stream follows the same list. */
export const ORDERS_PAGE_SIZE = 25;
const ordersPageQuery = ordersQuery.omit({ limit: true });

export function orderRoutes(deps: AppDeps) {
  const ctx = deps.trading;
  const pages = tradingPageContext(deps);

  async function ordersPage(
    c: Context<AppEnv>,
    query: { status: OrdersTab; cursor?: string },
    failed?: FailedReplace & { next: string },
    status?: ContentfulStatusCode,
  ) {
    // The account first: the version the stream compares with is never newer than the list.
    const now = new Date();
    const account = await pages.account(c);
    const page = await listOrders(
      deps.store,
      { accountId: account._id },
      query.status,
      ORDERS_PAGE_SIZE,
      query.cursor,
    );
    const base = `/orders?status=${query.status}`;
    const self = query.cursor ? `${base}&cursor=${encodeURIComponent(query.cursor)}` : base;
    const orders = page.items.map(orderJson);
    const failedOrder = failed && orders.find((o) => o.id === failed.orderId);
    return renderView(c, {
      page: (
        <OrdersPage
          tab={query.status}
          orders={orders}
          newer={query.cursor ? base : undefined}
          older={page.nextCursor
            ? `${base}&cursor=${encodeURIComponent(page.nextCursor)}`
            : undefined}
          failed={failed}
          live={liveAddress("orders", account, now, query)}
          self={self}
        />
      ),
      partial: failed && failedOrder && (
        <ReplaceForm order={failedOrder} next={failed.next} state={failed.state} />
      ),
      title: "Orders",
      status,
    });
  }

  return new Hono<AppEnv>()
    .use(requireUser, noStore)
    .get("/", (c) => ordersPage(c, parseInput(ordersPageQuery, c.req.query())))
    .post("/cancel-all", async (c) => {
      const values = await formBody(c);
      return buttonAction(c, backTo(values, "/orders"), async () => {
        const account = await pages.account(c);
        const cancelled = await cancelAllOrders(ctx, account, pages.origin(c));
        return cancelled.length === 0
          ? "There were no open orders to cancel."
          : cancelled.length === 1
          ? "Cancelled 1 open order."
          : `Cancelled ${cancelled.length} open orders.`;
      });
    })
    .post("/:id/cancel", async (c) => {
      const values = await formBody(c);
      return buttonAction(c, backTo(values, "/orders"), async () => {
        const order = await cancelOrder(ctx, pages.userId(c), c.req.param("id"), pages.origin(c));
        return `Order cancelled: ${describeOrder(order)}.`;
      });
    })
    .post("/:id/replace", async (c) => {
      const values = await formBody(c);
      const id = c.req.param("id");
      const next = backTo(values, "/orders");
      try {
        const changes = parseInput(replaceInput, withoutBlanks(values));
        const order = await replaceOrder(ctx, pages.userId(c), id, changes, pages.origin(c));
        await setFlash(c, { kind: "success", text: `Order changed: ${describeOrder(order)}.` });
        return redirectAfterPost(c, next);
      } catch (err) {
        if (err instanceof AppError && err.status === 404) throw err;
        const { state, status } = formFailure(c, err, values);
        const order = await ownOrder(deps.store, pages.userId(c), id);
        if (!order.open) {
          // Filled or cancelled meanwhile: there is no form to show the error on any more.
          await setFlash(c, {
            kind: "error",
            text: state.error ?? "This order can no longer be changed.",
          });
          return redirectAfterPost(c, next);
        }
        return ordersPage(c, { status: "open" }, { orderId: id, state, next }, status);
      }
    });
}
