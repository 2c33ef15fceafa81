/** Ids sort by creation: across milliseconds by time, inside one millisecond by a counter. */
import assert from "node:assert/strict";
import { newId } from "./ids.ts";

Deno.test("[ids] ids made in the same millisecond still sort in creation order", () => {
  const now = Date.UTC(2026, 10, 30, 12);
  const ids = Array.from({ length: 1000 }, () => newId(now));
  assert.deepEqual([...ids].sort(), ids, "each id sorts after the one before");
  assert.equal(new Set(ids).size, ids.length, "no duplicates");
  assert.ok(
    ids.every((id) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(id)),
    "26 Crockford base32 characters",
  );
  assert.ok(newId(now + 1) > ids.at(-1)!, "a later millisecond sorts after every earlier id");
  assert.equal(newId(now + 1).slice(0, 10), newId(now + 1).slice(0, 10), "the time prefix");
});
