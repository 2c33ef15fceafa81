/**
 * Price alerts in the worker: an alert fires once, when a pass sees the last price reach its level,
 * and never before; two passes at once fire it once; a pass reads only the alerts the price has
 * crossed, however many wait elsewhere; concurrent creates never pass the cap.
 */
import assert from "node:assert/strict";
import { countingStore } from "../../tests/support/counting_store.ts";
import { testApp } from "../../routes/testing.ts";
import { AppError } from "../errors.ts";
import { type Fixed, formatFixed } from "../money.ts";
import {
  type Alert,
  alertSlotId,
  createAlert,
  deleteAlert,
  listAlerts,
  MAX_ACTIVE_ALERTS,
  runAlertPass,
} from "./alerts.ts";
import { liveQuote, type Market } from "./market.ts";

const NOW = new Date("2026-06-02T15:00:00.250Z");
const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

/** A price as dollars and cents, cut down to the cent. */
const cents = (amount: Fixed) => formatFixed(amount / 1_000_000n * 1_000_000n);

async function last(market: Market, symbol: string, seconds: number): Promise<Fixed> {
  return (await liveQuote(market, market.catalog.get(symbol)!, at(seconds))).last;
}

/**
 * A level one cent above the price now that the price reaches within the next ten minutes, and
 * the first second it does.
 */
async function levelReachedLater(market: Market, symbol: string) {
  const start = await last(market, symbol, 0);
  const level = start + 1_000_000n;
  for (let s = 1; s <= 600; s++) {
    if (await last(market, symbol, s) >= level) return { level: cents(level), second: s };
  }
  throw new Error(`${symbol} never rose a cent in ten minutes`);
}

Deno.test("[alerts] an alert fires once, on the pass that sees the price cross its level", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const { level, second } = await levelReachedLater(ctx.market, "XOM");
  const alert = await createAlert(
    ctx,
    "u1",
    { symbol: "XOM", condition: "above", price: level, note: "breakout" },
    NOW,
  );
  assert.equal(alert.watchKey, "XOM|above");
  assert.ok(await t.deps.store.get("alert_slots", alertSlotId("u1", alert.slot!)));

  // Every second before the crossing: the price is below the level, nothing fires.
  for (let s = 1; s < second; s++) {
    assert.deepEqual(await runAlertPass(ctx, at(s)), { fired: 0, conflicts: 0 }, `second ${s}`);
  }
  assert.equal((await t.deps.store.get<Alert>("alerts", alert._id))!.status, "active");

  assert.deepEqual(await runAlertPass(ctx, at(second)), { fired: 1, conflicts: 0 });
  const fired = (await t.deps.store.get<Alert>("alerts", alert._id))!;
  assert.equal(fired.status, "triggered");
  assert.deepEqual(fired.triggeredAt, at(second));
  assert.equal(fired.triggeredPrice, formatFixed(await last(ctx.market, "XOM", second)));
  assert.ok(+fired.triggeredPrice! >= +level);
  assert.deepEqual([fired.watchKey, fired.watchPrice, fired.slot], [null, null, null]);
  assert.equal(await t.deps.store.get("alert_slots", alertSlotId("u1", alert.slot!)), null);

  // It stays triggered: later passes, wherever the price goes, never fire it again.
  for (const s of [second, second + 1, second + 60]) {
    assert.equal((await runAlertPass(ctx, at(s))).fired, 0);
  }
  const triggered = await listAlerts(t.deps.store, "u1", { status: "triggered", limit: 10 });
  assert.deepEqual(triggered.items.map((a) => a._id), [alert._id]);
});

Deno.test("[alerts] two passes at once fire an alert once", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const { level, second } = await levelReachedLater(ctx.market, "KO");
  const alert = await createAlert(
    ctx,
    "u1",
    { symbol: "KO", condition: "above", price: level },
    NOW,
  );
  const results = await Promise.all([
    runAlertPass(ctx, at(second)),
    runAlertPass(ctx, at(second)),
    runAlertPass(ctx, at(second)),
  ]);
  assert.equal(results.reduce((n, r) => n + r.fired, 0), 1);
  const stored = (await t.deps.store.get<Alert>("alerts", alert._id))!;
  assert.equal(stored.status, "triggered");
  assert.equal(stored._v, 2, "written once after its insert");
});

Deno.test("[alerts] a below alert fires when the price falls to it, not while it stays above", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const start = await last(ctx.market, "PEP", 0);
  const level = start - 1_000_000n;
  let second = 0;
  for (let s = 1; s <= 600 && !second; s++) {
    if (await last(ctx.market, "PEP", s) <= level) second = s;
  }
  assert.ok(second > 0, "PEP fell a cent within ten minutes");
  const alert = await createAlert(
    ctx,
    "u1",
    { symbol: "PEP", condition: "below", price: cents(level) },
    NOW,
  );
  if (second > 1) assert.equal((await runAlertPass(ctx, at(second - 1))).fired, 0);
  assert.equal((await runAlertPass(ctx, at(second))).fired, 1);
  assert.equal((await t.deps.store.get<Alert>("alerts", alert._id))!.status, "triggered");
});

Deno.test("[alerts] a pass reads only the alerts the price crossed, not 1,000 far from it", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const symbols = ["KO", "PEP", "XOM", "AAPL"];
  const prices = new Map<string, Fixed>();
  for (const s of symbols) prices.set(s, await last(ctx.market, s, 0));
  // 20 users × 50 alerts: half far above the price, half far below.
  for (let n = 0; n < 1000; n++) {
    const symbol = symbols[n % symbols.length];
    const price = prices.get(symbol)!;
    const above = n % 2 === 0;
    await createAlert(ctx, `u${Math.floor(n / MAX_ACTIVE_ALERTS)}`, {
      symbol,
      condition: above ? "above" : "below",
      price: cents(above ? price * 10n : price / 10n),
    }, NOW);
  }
  const { store, counter } = countingStore(t.deps.store);
  assert.deepEqual(await runAlertPass({ ...ctx, store }, at(1)), { fired: 0, conflicts: 0 });
  // One document per symbol from the loose index scan; none from the price ranges.
  assert.equal(counter.alerts, symbols.length);

  // A crossed alert among them is read and fired; the 1,000 still are not.
  const { level, second } = await levelReachedLater(ctx.market, "XOM");
  await createAlert(ctx, "other", { symbol: "XOM", condition: "above", price: level }, NOW);
  counter.alerts = 0;
  assert.deepEqual(await runAlertPass({ ...ctx, store }, at(second)), { fired: 1, conflicts: 0 });
  assert.equal(counter.alerts, symbols.length + 1);
});

Deno.test("[alerts] 60 creates at once leave exactly 50 active; deleting one makes room", async () => {
  await using t = await testApp();
  const ctx = t.deps.trading;
  const price = await last(ctx.market, "AAPL", 0);
  const outcomes = await Promise.allSettled(
    Array.from({ length: 60 }, (_, n) =>
      createAlert(ctx, "u1", {
        symbol: "AAPL",
        condition: "above",
        price: cents(price * 2n + BigInt(n) * 1_000_000n),
      }, NOW)),
  );
  const created = outcomes.filter((o) => o.status === "fulfilled");
  const refused = outcomes.flatMap((o) => o.status === "rejected" ? [o.reason] : []);
  assert.equal(created.length, MAX_ACTIVE_ALERTS);
  assert.equal(refused.length, 10);
  for (const err of refused) {
    assert.ok(err instanceof AppError && err.code === "too_many_alerts", String(err));
  }
  const active = await listAlerts(t.deps.store, "u1", { status: "active", limit: 200 });
  assert.equal(active.items.length, MAX_ACTIVE_ALERTS);
  assert.equal(new Set(active.items.map((a) => a.slot)).size, MAX_ACTIVE_ALERTS);

  await deleteAlert(t.deps.store, "u1", active.items[0]._id);
  const again = () =>
    createAlert(ctx, "u1", { symbol: "AAPL", condition: "below", price: "1.00" }, NOW);
  await again();
  await assert.rejects(again, (err) => err instanceof AppError && err.code === "too_many_alerts");
});
