/**
 * The hourly pruning of records that only grow: old notifications, finished webhook deliveries,
 * the signal log and fired alerts go; recent ones, deliveries still due and active alerts stay.
 */
import assert from "node:assert/strict";
import { testApp } from "../../routes/testing.ts";
import { newId } from "../ids.ts";
import { pruneRecords } from "./worker.ts";

const DAY = 86_400_000;

Deno.test("[pruning] old records go, recent ones and those still in use stay", async () => {
  await using t = await testApp();
  const { store } = t.deps;
  const now = new Date("2026-12-07T12:00:00Z");
  const at = (days: number) => new Date(now.getTime() - days * DAY);
  const insert = (
    collection: "notifications" | "webhook_deliveries" | "signals" | "alerts",
    days: number,
    fields: Record<string, unknown> = {},
  ) =>
    store.insert<{ _id: string; _v: number; userId: string }>(collection, {
      _id: newId(at(days).getTime()),
      userId: "u1",
      ...fields,
    });
  const kept: string[] = [];
  const gone: string[] = [];
  const track = async (list: string[], doc: Promise<{ _id: string }>) => list.push((await doc)._id);

  await track(gone, insert("notifications", 91));
  await track(kept, insert("notifications", 89));
  await track(gone, insert("webhook_deliveries", 31, { status: "delivered" }));
  await track(gone, insert("webhook_deliveries", 40, { status: "failed" }));
  await track(kept, insert("webhook_deliveries", 31, { status: "pending" }));
  await track(kept, insert("webhook_deliveries", 2, { status: "failed" }));
  await track(gone, insert("signals", 95));
  await track(kept, insert("signals", 10));
  await track(kept, insert("alerts", 400, { status: "active", triggeredAt: null }));
  await track(gone, insert("alerts", 200, { status: "triggered", triggeredAt: at(100) }));
  await track(kept, insert("alerts", 200, { status: "triggered", triggeredAt: at(30) }));
  // More than a page of old notifications: every page is pruned.
  for (let n = 0; n < 150; n++) await track(gone, insert("notifications", 120));

  await pruneRecords(store, now);
  for (const collection of ["notifications", "webhook_deliveries", "signals", "alerts"] as const) {
    const left = (await store.find(collection, { limit: 1000 })).items.map((d) => d._id);
    for (const id of left) assert.ok(kept.includes(id), `${collection} ${id} should be gone`);
  }
  const all = await Promise.all(
    (["notifications", "webhook_deliveries", "signals", "alerts"] as const).map((c) =>
      store.find(c, { limit: 1000 })
    ),
  );
  assert.deepEqual(all.flatMap((p) => p.items.map((d) => d._id)).sort(), kept.sort());
  assert.equal(gone.length, 155);
});
