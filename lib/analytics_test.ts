/** Business metrics: capped counts, UTC days, and the per-day series from the audit log and fills. */
import assert from "node:assert/strict";
import { audit } from "./audit.ts";
import {
  businessMetrics,
  countUpTo,
  DAY_ROW_CAP,
  METRIC_DAYS,
  metricDays,
  SERIES_ROW_CAP,
} from "./analytics.ts";
import { openKvStore } from "./store/kv.ts";
import type { Store } from "./store/port.ts";
import type { Trade } from "./trading/history.ts";

const NOW = new Date("2025-03-14T15:30:00Z");
const ORIGIN = { ip: "203.0.113.1", userAgent: "test" };

async function withStore(fn: (store: Store) => Promise<void>) {
  const store = await openKvStore(":memory:");
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

function trade(gross: string, executedAt: Date): Omit<Trade, "_id" | "_v"> {
  return {
    userId: "u1",
    accountId: "u1:1",
    orderId: crypto.randomUUID(),
    symbol: "AAPL",
    side: "buy",
    qty: "1",
    price: gross,
    gross,
    commission: "0.00",
    realizedPnl: null,
    executedAt,
  };
}

Deno.test("[analytics] a count stops at its cap and says so; one that fits is exact", async () => {
  await withStore(async (store) => {
    for (let n = 0; n < 5; n++) {
      await audit(
        store,
        { action: "auth.sign_up", outcome: "success" },
        new Date(NOW.getTime() + n),
      );
    }
    const query = {
      where: { action: "auth.sign_up" },
      sort: { field: "at", direction: 1 as const },
    };
    assert.deepEqual(await countUpTo(store, "audit_logs", query, 3), { value: 3, capped: true });
    assert.deepEqual(await countUpTo(store, "audit_logs", query, 5), { value: 5, capped: false });
    assert.deepEqual(await countUpTo(store, "audit_logs", query), { value: 5, capped: false });
  });
});

Deno.test("[analytics] the days are whole UTC days, oldest first, today included", () => {
  const days = metricDays(NOW);
  assert.equal(days.length, METRIC_DAYS);
  assert.equal(days[0].day, "2025-03-01");
  assert.equal(days.at(-1)!.day, "2025-03-14");
  assert.equal(days.at(-1)!.from.toISOString(), "2025-03-14T00:00:00.000Z");
  assert.equal(days.at(-1)!.to.toISOString(), "2025-03-15T00:00:00.000Z");
  assert.ok(DAY_ROW_CAP * METRIC_DAYS <= SERIES_ROW_CAP, "a series reads at most its cap");
});

Deno.test("[analytics] per-day series from the audit log and the fills, within the window only", async () => {
  await withStore(async (store) => {
    const at = (day: number, hour = 12) => new Date(Date.UTC(2025, 2, day, hour));
    await audit(store, { action: "auth.sign_up", outcome: "success" }, at(14, 1));
    await audit(store, { action: "auth.sign_up", outcome: "success" }, at(13));
    // Before the window (the 1st is its first day): not counted.
    await audit(
      store,
      { action: "auth.sign_up", outcome: "success" },
      new Date(Date.UTC(2025, 1, 28, 23)),
    );
    for (
      const [day, outcome] of [[14, "failure"], [14, "failure"], [14, "success"], [
        12,
        "success",
      ]] as const
    ) {
      await audit(store, { action: "auth.sign_in", outcome, origin: ORIGIN }, at(day));
    }
    await audit(store, { action: "order.placed", outcome: "success" }, at(1, 0));
    await store.insert<Trade>("trades", trade("100.25", at(14)));
    await store.insert<Trade>("trades", trade("0.75", at(14, 23)));
    await store.insert<Trade>("trades", trade("50.00", at(2)));
    // Tomorrow is outside the window too.
    await store.insert<Trade>("trades", trade("999.00", at(15, 0)));

    const m = await businessMetrics(store, NOW);
    assert.deepEqual(m.days.slice(-3), ["2025-03-12", "2025-03-13", "2025-03-14"]);
    const last = <T>(series: T[]) => series.slice(-3);
    assert.deepEqual(last(m.registrations).map((d) => d.count), [0, 1, 1]);
    assert.deepEqual(m.totals.registrations, { value: 2, capped: false });
    assert.deepEqual(
      last(m.signIns).map((d) => [d.successes, d.failures, d.failureRate]),
      [[1, 0, 0], [0, 0, null], [1, 2, 66.7]],
    );
    assert.equal(m.totals.failureRate, 50);
    assert.deepEqual(m.ordersPlaced[0], { day: "2025-03-01", count: 1, capped: false });
    assert.equal(m.tradedValue.at(-1)!.amount, "101.00");
    assert.equal(m.tradedValue.at(-1)!.trades, 2);
    assert.equal(m.tradedValue[1].amount, "50.00");
    assert.deepEqual(m.totals.tradedValue, { amount: "151.00", capped: false });
    assert.deepEqual(m.activeSessions, { value: 0, capped: false });
  });
});

Deno.test("[analytics] a day past its row cap is a lower bound", async () => {
  await withStore(async (store) => {
    const day = Date.UTC(2025, 2, 13);
    for (let n = 0; n <= DAY_ROW_CAP; n++) {
      await audit(store, { action: "order.placed", outcome: "success" }, new Date(day + n * 1000));
    }
    const m = await businessMetrics(store, NOW);
    assert.deepEqual(m.ordersPlaced.at(-2), {
      day: "2025-03-13",
      count: DAY_ROW_CAP,
      capped: true,
    });
    assert.deepEqual(m.totals.ordersPlaced, { value: DAY_ROW_CAP, capped: true });
  });
});
