/** The per-account queue: writers of one account take turns; waiting is bounded. */
import assert from "node:assert/strict";
import { AppError } from "../errors.ts";
import { inAccountTurn } from "./account_queue.ts";

Deno.test("[account queue] writers of one account run one at a time, in arrival order; other accounts do not wait", async () => {
  let running = 0;
  let most = 0;
  const order: number[] = [];
  const work = (n: number) => async () => {
    running++;
    most = Math.max(most, running);
    // Yield a few times, as a store round trip would, so overlapping writers would show.
    for (let i = 0; i < 5; i++) await Promise.resolve();
    order.push(n);
    running--;
    return n;
  };
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, n) => inAccountTurn("acct-a", work(n))),
  );
  assert.deepEqual(results, Array.from({ length: 20 }, (_, n) => n));
  assert.deepEqual(order, results, "in arrival order");
  assert.equal(most, 1, "never two at once");

  // A held turn on one account does not hold up another.
  const { promise: held, resolve: release } = Promise.withResolvers<void>();
  const holder = inAccountTurn("acct-b", () => held);
  assert.equal(await inAccountTurn("acct-c", () => Promise.resolve("free")), "free");
  release();
  await holder;
});

Deno.test("[account queue] a writer that cannot get its turn in time gets 429 with Retry-After, and the line moves on", async () => {
  const { promise: held, resolve: release } = Promise.withResolvers<void>();
  const holder = inAccountTurn("acct-d", () => held);
  const waiter = inAccountTurn("acct-d", () => Promise.resolve("late"), 20);
  const error = await waiter.then(() => null, (err) => err);
  assert.ok(error instanceof AppError);
  assert.equal(error.status, 429);
  assert.equal(error.code, "account_busy");
  assert.equal(error.headers?.["Retry-After"], "1");
  // The one behind the writer that gave up still waits for the holder, then runs.
  let ran = false;
  const next = inAccountTurn("acct-d", () => Promise.resolve(ran = true));
  await Promise.resolve();
  assert.equal(ran, false, "still the holder's turn");
  release();
  await holder;
  await next;
  assert.equal(ran, true);
  // Work that throws passes its turn on too.
  await assert.rejects(inAccountTurn("acct-d", () => Promise.reject(new Error("boom"))), /boom/);
  assert.equal(await inAccountTurn("acct-d", () => Promise.resolve(1)), 1);
});
