/** The orders page (open, closed, all) and the orders table the dashboard shares, with cancel and change. */
import type { OrderJson } from "../lib/trading/orders.ts";
import { Field, FormError, type FormState, HxForm } from "./form.tsx";
import type { Child } from "hono/jsx";
import { cellId, Live, LiveBlock, type LiveCell, LiveConnection } from "./live.tsx";
import {
  ActionsHeader,
  Pager,
  PostButton,
  price,
  quantity,
  Scroll,
  Time,
  tradeHref,
} from "./trading.tsx";

export type OrdersTab = "open" | "closed" | "all";

const TABS: readonly [OrdersTab, string][] = [
  ["open", "Open"],
  ["closed", "Closed"],
  ["all", "All"],
];

/** A trailing stop's trail as a person reads it: "5%" or "$2.50". */
export function trailText(order: Pick<OrderJson, "trailPercent" | "trailPrice">): string {
  return order.trailPercent !== null ? `${order.trailPercent}%` : price(order.trailPrice ?? "0");
}

/** "BUY 5 AAPL limit $1.00": an order in a few words, for tables and flash messages. */
export function describeOrder(order: OrderJson): string {
  const prices = [
    order.type === "trailing_stop" && `trailing ${trailText(order)}`,
    order.stopPrice !== null && `stop ${price(order.stopPrice)}`,
    order.limitPrice !== null && `limit ${price(order.limitPrice)}`,
  ].filter(Boolean).join(" ");
  return `${order.side.toUpperCase()} ${quantity(order.qty)} ${order.symbol}${
    prices ? ` ${prices}` : ""
  }`;
}

/** An order whose change failed, with what was typed and the errors. */
export type FailedReplace = { orderId: string; state: FormState };

export function OrdersPage(props: {
  tab: OrdersTab;
  orders: OrderJson[];
  newer?: string;
  older?: string;
  failed?: FailedReplace;
  /** The page's live stream (routes/live/page_stream.ts). */
  live: string;
  /** This page's own address, which its list reloads from when orders are placed elsewhere. */
  self: string;
}) {
  const anyOpen = props.orders.some((o) => isWorking(o));
  return (
    <div class="page">
      <h1>Orders</h1>
      <LiveConnection stream={props.live} />
      <nav class="tabs" aria-label="Order status">
        {TABS.map(([tab, label]) => (
          <a href={`/orders?status=${tab}`} aria-current={tab === props.tab ? "page" : undefined}>
            {label}
          </a>
        ))}
      </nav>
      <LiveBlock id="orders-live" name="orders" from={props.self}>
        <OrdersTable
          orders={props.orders}
          next={`/orders?status=${props.tab}`}
          failed={props.failed}
          empty={props.tab === "open" ? "No open orders." : "No orders here yet."}
        />
      </LiveBlock>
      <Pager newer={props.newer} older={props.older} label="Order pages" />
      {anyOpen && (
        <PostButton
          action="/orders/cancel-all"
          label="Cancel all open orders"
          class="danger"
          values={{ next: `/orders?status=${props.tab}` }}
        />
      )}
    </div>
  );
}

/**
 * An order's figures that change as it fills or ends, kept current by the live stream: a row
 * stays where it is and shows "filled" rather than vanishing from an open list.
 */
export function orderCells(o: OrderJson, next: string) {
  const cell = (name: string, content: Child, block?: boolean): LiveCell => ({
    id: cellId("ord", o.id, name),
    content,
    block,
  });
  return {
    // A trailing stop's stop moves with its best price since placing; shown as it stands.
    prices: cell(
      "prices",
      <>
        {[o.limitPrice, o.stopPrice].map((p) => p === null ? "—" : price(p)).join(" / ")}
        {o.type === "trailing_stop" && (
          <small class="trail">trail {trailText(o)} from {price(o.hwm ?? "0")}</small>
        )}
      </>,
    ),
    filled: cell("filled", quantity(o.filledQty)),
    avg: cell("avg", o.filledAvgPrice === null ? "—" : price(o.filledAvgPrice)),
    status: cell(
      "status",
      <span class={`status ${o.status}`}>
        {o.status === "held" ? "waits for entry" : o.status.replace("_", " ")}
      </span>,
    ),
    actions: cell("act", isWorking(o) && <OrderActions order={o} next={next} />, true),
  };
}

/** A working order still rests in the market and can be cancelled or changed. */
export function isWorking(order: OrderJson): boolean {
  return order.status === "new" || order.status === "partially_filled" ||
    order.status === "held";
}

/** What part an order plays in a bracket, OCO or OTO, in a few words; "" for a simple order. */
export function classRole(order: Pick<OrderJson, "orderClass" | "parentId" | "type">): string {
  if (order.orderClass === "simple") return "";
  const exit = order.type === "limit" ? "take profit" : "stop loss";
  if (order.parentId !== null) return `${exit} · ${order.orderClass.toUpperCase()}`;
  return order.orderClass === "oco" ? "take profit · OCO" : `${order.orderClass} entry`;
}

/** Orders, newest first; working ones carry Cancel and a change form. `next` is where actions return. */
export function OrdersTable(
  props: { orders: OrderJson[]; next: string; empty: string; failed?: FailedReplace },
) {
  if (props.orders.length === 0) return <p class="muted">{props.empty}</p>;
  const actions = props.orders.some(isWorking);
  return (
    <Scroll label="Orders">
      <table class="data cards">
        <thead>
          <tr>
            <th>Time</th>
            <th>Symbol</th>
            <th>Side</th>
            <th>Type</th>
            <th class="num">Qty</th>
            <th class="num">Filled</th>
            <th class="num">Avg price</th>
            <th class="num">Limit / stop</th>
            <th>Status</th>
            <th>TIF</th>
            {actions && <ActionsHeader />}
          </tr>
        </thead>
        <tbody>
          {props.orders.map((o) => {
            const cells = orderCells(o, props.next);
            const failed = props.failed?.orderId === o.id ? props.failed.state : undefined;
            return (
              <tr>
                <td class="wide" data-label="Placed">
                  <Time at={o.placedAt} />
                </td>
                <th scope="row">
                  <a href={tradeHref(o.symbol)}>{o.symbol}</a>
                </th>
                <td data-label="Side">{o.side.toUpperCase()}</td>
                <td data-label="Type">
                  <span>
                    {o.type.replaceAll("_", " ")}
                    {o.orderClass !== "simple" && <small class="role">{classRole(o)}</small>}
                  </span>
                </td>
                <td class="num" data-label="Qty">{quantity(o.qty)}</td>
                <td class="num" data-label="Filled">
                  <Live cell={cells.filled} />
                </td>
                <td class="num" data-label="Avg price">
                  <Live cell={cells.avg} />
                </td>
                <td class="num wide" data-label="Limit / stop">
                  <Live cell={cells.prices} />
                </td>
                <td data-label="Status">
                  <Live cell={cells.status} />
                </td>
                <td data-label="TIF">{o.timeInForce.toUpperCase()}</td>
                {actions && (
                  <td class="act">
                    {/* A failed change shows its form open with the errors; the stream never does. */}
                    <Live
                      cell={failed && isWorking(o)
                        ? {
                          ...cells.actions,
                          content: <OrderActions order={o} next={props.next} failed={failed} />,
                        }
                        : cells.actions}
                    />
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </Scroll>
  );
}

function OrderActions(props: { order: OrderJson; next: string; failed?: FormState }) {
  const { order } = props;
  return (
    <div class="order-actions">
      <PostButton
        action={`/orders/${encodeURIComponent(order.id)}/cancel`}
        label={
          <>
            Cancel<span class="sr">{` ${describeOrder(order)}`}</span>
          </>
        }
        values={{ next: props.next }}
      />
      {
        // Part of a partly filled order is done: it can be cancelled, not changed.
        (order.status === "new" || order.status === "held") && (
          <details open={props.failed !== undefined}>
            <summary>
              Change<span class="sr">{` ${describeOrder(order)}`}</span>
            </summary>
            <ReplaceForm order={order} next={props.next} state={props.failed} />
          </details>
        )
      }
    </div>
  );
}

/** New quantity or prices for a working order; fields it does not use are left out. */
export function ReplaceForm(props: { order: OrderJson; next: string; state?: FormState }) {
  const { order } = props;
  const state = {
    ...props.state,
    values: {
      qty: order.qty,
      limitPrice: order.limitPrice ?? "",
      stopPrice: order.stopPrice ?? "",
      trailPercent: order.trailPercent ?? "",
      trailPrice: order.trailPrice ?? "",
      ...props.state?.values,
    },
  };
  const id = (field: string) => `r-${order.id}-${field}`;
  return (
    <HxForm id={`replace-${order.id}`} action={`/orders/${encodeURIComponent(order.id)}/replace`}>
      <FormError state={props.state} />
      <input type="hidden" name="next" value={props.next} />
      <Field
        autocomplete="off"
        id={id("qty")}
        label="Quantity"
        name="qty"
        inputmode="decimal"
        state={state}
      />
      {order.limitPrice !== null && (
        <Field
          autocomplete="off"
          id={id("limit")}
          label="Limit price"
          name="limitPrice"
          inputmode="decimal"
          state={state}
        />
      )}
      {order.type === "trailing_stop" && (
        <>
          <Field
            autocomplete="off"
            id={id("trail-percent")}
            label="Trail (%)"
            name="trailPercent"
            inputmode="decimal"
            required={false}
            hint="Fill one trail; a change starts the trail again from the last price"
            state={state}
          />
          <Field
            autocomplete="off"
            id={id("trail-price")}
            label="Trail ($)"
            name="trailPrice"
            inputmode="decimal"
            required={false}
            state={state}
          />
        </>
      )}
      {order.stopPrice !== null && order.type !== "trailing_stop" && (
        <Field
          autocomplete="off"
          id={id("stop")}
          label="Stop price"
          name="stopPrice"
          inputmode="decimal"
          state={state}
        />
      )}
      <button type="submit">Save changes</button>
    </HxForm>
  );
}
