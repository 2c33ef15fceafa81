/** What the bell says of each event: the system's doings are news, the trader's own are not. */
import assert from "node:assert/strict";
import { notificationFor } from "./dispatch.ts";
import type { EventType, UserEvent } from "./outbox.ts";

const order = {
  id: "o1",
  symbol: "AAPL",
  side: "sell",
  qty: "10",
  filledQty: "4",
  filledAvgPrice: "190.125",
  timeInForce: "day",
  rejectReason: null as string | null,
};

function event(type: EventType, changes: Partial<typeof order> = {}, fill = null as unknown) {
  return {
    _id: "e",
    _v: 1,
    userId: "u",
    type,
    at: new Date(),
    data: { order: { ...order, ...changes }, fill },
  } as UserEvent;
}

Deno.test("[notifications] the wording of order events", () => {
  assert.equal(notificationFor(event("order.new")), null);
  assert.equal(notificationFor(event("order.replaced")), null);
  assert.equal(notificationFor(event("order.canceled")), null, "the trader's own cancel");
  assert.deepEqual(
    notificationFor(event("order.partial_fill", {}, { price: "1234.5", qty: "4" })),
    {
      kind: "fill",
      title: "Sold 4 AAPL at $1,234.50",
      body: "Your order to sell 10 AAPL is 4 filled; the rest keeps working.",
      link: "/history",
    },
  );
  const oco = notificationFor(event("order.canceled", { rejectReason: "oco_filled" }))!;
  assert.equal(oco.kind, "order");
  assert.equal(oco.title, "Order cancelled: sell 10 AAPL");
  assert.match(oco.body, /paired order filled/);
  const liquidity = notificationFor(
    event("order.canceled", { rejectReason: "insufficient_liquidity" }),
  )!;
  assert.match(liquidity.body, /not enough shares/);
  const expired = notificationFor(event("order.expired"))!;
  assert.equal(expired.title, "Order expired: sell 10 AAPL");
  assert.match(expired.body, /\(day\)/);
  const rejected = notificationFor(
    event("order.rejected", { rejectReason: "insufficient_position" }),
  )!;
  assert.equal(rejected.title, "Order rejected: sell 10 AAPL");
  assert.match(rejected.body, /not enough shares to sell/);
  assert.equal(notificationFor({ ...event("account.opened"), data: {} }), null);
});
