/** The admin domain: filtered pages within a read budget, the index each filter uses, and the guards on actions. */
import assert from "node:assert/strict";
import {
  emailsOf,
  listAuditLog,
  SCAN_BUDGET,
  searchUsers,
  setUserRole,
  switchReadOnly,
} from "./admin.ts";
import { audit } from "./audit.ts";
import type { Role, User } from "./auth/users.ts";
import { AppError } from "./errors.ts";
import { openKvStore } from "./store/kv.ts";
import type { Store } from "./store/port.ts";

const ORIGIN = { ip: "203.0.113.1", userAgent: "test" };

async function withStore(fn: (store: Store) => Promise<void>) {
  const store = await openKvStore(":memory:");
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

function insertUser(store: Store, email: string, role: Role = "USER", verified = false) {
  const now = new Date();
  return store.insert<User>("users", {
    email,
    name: "",
    passwordHash: "x",
    role,
    emailVerifiedAt: verified ? now : null,
    createdAt: now,
    passwordChangedAt: now,
    totp: null,
    totpPendingKey: null,
    recoveryCodeHashes: [],
  });
}

Deno.test("[admin] a filter no index serves fills pages exactly and resumes where the page ended", async () => {
  await withStore(async (store) => {
    for (let n = 0; n < 30; n++) {
      await insertUser(store, `b-${String(n).padStart(2, "0")}@x.io`, n % 2 ? "USER" : "DEMO");
    }
    const first = await searchUsers(store, { email: "b-", role: "DEMO" }, 10);
    assert.equal(first.index, "email_1");
    assert.deepEqual(first.filtered, ["role"]);
    assert.deepEqual(first.items.map((u) => u.email.slice(2, 4)), [
      "00",
      "02",
      "04",
      "06",
      "08",
      "10",
      "12",
      "14",
      "16",
      "18",
    ]);
    assert.equal(first.budgetSpent, false);
    const second = await searchUsers(store, { email: "b-", role: "DEMO" }, 10, first.nextCursor!);
    assert.deepEqual(second.items.map((u) => u.email.slice(2, 4)), ["20", "22", "24", "26", "28"]);
    assert.equal(second.nextCursor, null);
  });
});

Deno.test("[admin] a sparse filter stops at the read budget and says so; the cursor reads on", async () => {
  await withStore(async (store) => {
    for (let n = 0; n < SCAN_BUDGET + 10; n++) {
      await insertUser(store, `a-${String(n).padStart(4, "0")}@x.io`);
    }
    await insertUser(store, "a-9999@x.io", "USER", true);
    const first = await searchUsers(store, { email: "a-", status: "verified" });
    assert.deepEqual(first.items, []);
    assert.equal(first.budgetSpent, true);
    assert.equal(first.scanned, SCAN_BUDGET);
    assert.ok(first.nextCursor);
    const second = await searchUsers(
      store,
      { email: "a-", status: "verified" },
      25,
      first.nextCursor,
    );
    assert.deepEqual(second.items.map((u) => u.email), ["a-9999@x.io"]);
    assert.equal(second.budgetSpent, false);
    assert.equal(second.nextCursor, null);
  });
});

Deno.test("[admin] users without an email prefix: by role through its index, else newest first", async () => {
  await withStore(async (store) => {
    await insertUser(store, "old@x.io", "DEMO");
    await new Promise((r) => setTimeout(r, 2));
    await insertUser(store, "new@x.io", "DEMO", true);
    const all = await searchUsers(store, {});
    assert.equal(all.index, "_id");
    assert.deepEqual(all.items.map((u) => u.email), ["new@x.io", "old@x.io"]);
    const demo = await searchUsers(store, { role: "DEMO", status: "unverified" });
    assert.equal(demo.index, "role_1");
    assert.deepEqual(demo.items.map((u) => u.email), ["old@x.io"]);
  });
});

Deno.test("[admin] each audit filter is answered by its declared index", async () => {
  await withStore(async (store) => {
    const at = (minute: number) => new Date(Date.UTC(2025, 0, 1, 0, minute));
    await audit(store, { action: "auth.sign_in", outcome: "failure", userId: "u1" }, at(1));
    await audit(store, { action: "auth.sign_in", outcome: "success", userId: "u1" }, at(2));
    await audit(store, { action: "order.placed", outcome: "success", userId: "u2" }, at(3));
    await audit(store, { action: "auth.sign_in", outcome: "failure" }, at(4));
    const cases: [Parameters<typeof listAuditLog>[1], string, string[], number][] = [
      [{}, "at_-1", [], 4],
      [{ userId: "u1", outcome: "failure" }, "userId_1_at_-1", ["outcome"], 1],
      [{ action: "auth.sign_in" }, "action_1_at_-1", [], 3],
      [{ action: "auth.sign_in", outcome: "failure" }, "action_1_outcome_1_at_-1", [], 2],
      [{ outcome: "success" }, "at_-1", ["outcome"], 2],
      [{ from: at(2), to: at(4) }, "at_-1", [], 2],
    ];
    for (const [filter, index, filtered, count] of cases) {
      const page = await listAuditLog(store, filter);
      assert.equal(page.index, index, JSON.stringify(filter));
      assert.deepEqual(page.filtered, filtered, JSON.stringify(filter));
      assert.equal(page.items.length, count, JSON.stringify(filter));
    }
    const newestFirst = await listAuditLog(store, {});
    assert.deepEqual(newestFirst.items.map((e) => e.at.getUTCMinutes()), [4, 3, 2, 1]);
  });
});

Deno.test("[admin] emails of a page's users, leaving out nobody, cli and unknown ids", async () => {
  await withStore(async (store) => {
    const user = await insertUser(store, "ann@x.io");
    const emails = await emailsOf(store, [user._id, null, "cli", "nope", user._id]);
    assert.deepEqual([...emails], [[user._id, "ann@x.io"]]);
  });
});

Deno.test("[admin] an admin cannot change their own role; an unchanged role is a 409; both are audited", async () => {
  await withStore(async (store) => {
    const admin = await insertUser(store, "admin@x.io", "ADMIN");
    const user = await insertUser(store, "user@x.io");
    await assert.rejects(
      setUserRole(store, admin, admin._id, "USER", ORIGIN),
      (err) => err instanceof AppError && err.status === 422 && err.code === "self_change_refused",
    );
    await assert.rejects(
      setUserRole(store, admin, user._id, "USER", ORIGIN),
      (err) => err instanceof AppError && err.status === 409 && err.code === "role_unchanged",
    );
    await assert.rejects(
      setUserRole(store, admin, "nobody", "USER", ORIGIN),
      (err) => err instanceof AppError && err.status === 404,
    );
    const log = await listAuditLog(store, { action: "admin.role_changed" });
    assert.deepEqual(
      log.items.map((e) => [e.outcome, e.actorId, e.details.reason]).sort(),
      [["failure", admin._id, "role_unchanged"], ["failure", admin._id, "self_change_refused"]],
    );
  });
});

Deno.test("[admin] READ_ONLY from the environment cannot be switched from the console", async () => {
  await withStore(async (store) => {
    const admin = await insertUser(store, "admin@x.io", "ADMIN");
    const forced = { on: true, source: "env" as const, since: null, reason: "READ_ONLY is set" };
    await assert.rejects(
      switchReadOnly(store, forced, false, "", admin, ORIGIN),
      (err) => err instanceof AppError && err.code === "read_only_forced",
    );
    const off = { on: false, source: null, since: null, reason: null };
    await assert.rejects(
      switchReadOnly(store, off, false, "", admin, ORIGIN),
      (err) => err instanceof AppError && err.code === "read_only_unchanged",
    );
    await switchReadOnly(store, off, true, "maintenance", admin, ORIGIN);
    const log = await listAuditLog(store, { action: "admin.read_only" });
    assert.deepEqual(
      log.items.map((e) => [e.outcome, e.actorId, e.details.reason]).sort(),
      [
        ["failure", admin._id, "read_only_forced"],
        ["failure", admin._id, "read_only_unchanged"],
        ["success", admin._id, "maintenance"],
      ],
      "refusals are on record beside the change",
    );
  });
});
