/** Watchlists on a real store: the cap, and lists made before it held. */
import assert from "node:assert/strict";
import { testApp } from "../../routes/testing.ts";
import { AppError } from "../errors.ts";
import {
  createWatchlist,
  deleteWatchlist,
  listWatchlists,
  MAX_WATCHLISTS,
  type Watchlist,
} from "./watchlists.ts";

const tooMany = (err: unknown) => err instanceof AppError && err.code === "too_many_watchlists";

Deno.test("[watchlists] lists beyond the cap (made before it held) are all listed; none is added", async () => {
  await using t = await testApp();
  const { store } = t.deps;
  const start = Date.now();
  for (let n = 0; n < MAX_WATCHLISTS + 10; n++) {
    const at = new Date(start + n);
    await store.insert<Watchlist>("watchlist", {
      userId: "u1",
      name: `old ${n}`,
      symbols: [],
      createdAt: at,
      updatedAt: at,
    });
  }
  const lists = await listWatchlists(store, "u1");
  assert.deepEqual(
    lists.map((l) => l.name),
    Array.from({ length: MAX_WATCHLISTS + 10 }, (_, n) => `old ${n}`),
    "every list, oldest first",
  );
  await assert.rejects(createWatchlist(store, "u1", "one more"), tooMany);
});

Deno.test("[watchlists] concurrent creates stop at the cap; a delete makes room for one", async () => {
  await using t = await testApp();
  const { store } = t.deps;
  const results = await Promise.allSettled(
    Array.from({ length: MAX_WATCHLISTS + 5 }, (_, n) => createWatchlist(store, "u1", `l${n}`)),
  );
  const made = results.filter((r) => r.status === "fulfilled");
  // The default list is made by the first listing, so it takes one of the places.
  assert.equal(made.length, MAX_WATCHLISTS - 1);
  for (const r of results) if (r.status === "rejected") assert.ok(tooMany(r.reason), r.reason);
  assert.equal((await listWatchlists(store, "u1")).length, MAX_WATCHLISTS);

  await deleteWatchlist(store, "u1", made[0].value._id);
  const again = await Promise.allSettled([
    createWatchlist(store, "u1", "a"),
    createWatchlist(store, "u1", "b"),
  ]);
  assert.equal(again.filter((r) => r.status === "fulfilled").length, 1);
  assert.equal((await listWatchlists(store, "u1")).length, MAX_WATCHLISTS);
});
