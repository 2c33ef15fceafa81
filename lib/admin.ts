/**
 * The admin console's domain: finding users, changing their role or ending their sessions, the
 * read-only switch, the audit log and orders across every user. Every change is audited with the
 * admin as actor, refusals included, so the log shows who tried what.
 */
import { listApiKeys, revokeApiKey } from "./auth/api_keys.ts";
import {
  audit,
  type AuditAction,
  type AuditEntry,
  type AuditEvent,
  type RequestOrigin,
} from "./audit.ts";
import { changeRole } from "./auth/roles.ts";
import { invalidateUserSessions, listUserSessions } from "./auth/session.ts";
import { findUserByEmail, normalizeEmail, type Role, type User } from "./auth/users.ts";
import { activeSessionCount, type Count, countUpTo } from "./analytics.ts";
import { AppError, notFound } from "./errors.ts";
import { type ReadOnlyState, setReadOnly } from "./read_only.ts";
import { planIndex } from "./store/plan.ts";
import type { CollectionName, Doc, Query, Store, Where } from "./store/port.ts";
import { userAccounts } from "./trading/accounts.ts";
import { listOrders, type Order, type TradingContext } from "./trading/orders.ts";
import { accountSnapshot } from "./trading/portfolio.ts";
import { listSignalUrls, revokeSignalUrl } from "./trading/signals.ts";

/** Rows per page on every admin list. */
export const ADMIN_PAGE_SIZE = 25;
/**
 * Rows one page may read when a filter has no index and is applied to what was read. A page that
 * spends it shows what it found and a link to read on, instead of scanning the whole collection.
 */
export const SCAN_BUDGET = 500;

/** Roles the console offers in its role picker; suspending has its own action. */
export const ASSIGNABLE_ROLES = ["USER", "DEMO", "ADMIN"] as const satisfies readonly Role[];

/** A keyed object, so a new action fails to compile until it is listed here for the filter. */
const ACTIONS: Record<AuditAction, true> = {
  "auth.sign_up": true,
  "auth.email_verification_sent": true,
  "auth.email_verified": true,
  "auth.email_changed": true,
  "auth.sign_in": true,
  "auth.lockout": true,
  "auth.sign_out": true,
  "auth.session_revoked": true,
  "auth.reauthenticated": true,
  "auth.password_changed": true,
  "auth.password_reset_requested": true,
  "auth.password_reset": true,
  "auth.totp_enabled": true,
  "auth.totp_disabled": true,
  "auth.totp_locked": true,
  "auth.recovery_code_used": true,
  "auth.recovery_codes_regenerated": true,
  "admin.role_changed": true,
  "admin.read_only": true,
  "admin.sessions_cleared": true,
  "account.opened": true,
  "account.reset": true,
  "account.closed": true,
  "account.lot_method_changed": true,
  "user.weekly_statement_changed": true,
  "user.notification_email_changed": true,
  "order.placed": true,
  "order.rejected": true,
  "order.filled": true,
  "order.cancelled": true,
  "order.replaced": true,
  "order.expired": true,
  "export.downloaded": true,
  "api_key.created": true,
  "api_key.revoked": true,
  "api_key.new_address": true,
  "webhook.created": true,
  "webhook.updated": true,
  "webhook.deleted": true,
  "webhook.disabled": true,
  "signal_url.created": true,
  "signal_url.revoked": true,
};

/** Every audit action, for the audit log's filter. */
export const AUDIT_ACTIONS = Object.keys(ACTIONS) as [AuditAction, ...AuditAction[]];

/**
 * A page of a list, possibly filtered after reading: `filtered` names the filters no index
 * served, `scanned` how many rows were read for this page, and `budgetSpent` says the page stopped
 * at SCAN_BUDGET with more rows left to read (follow `nextCursor`).
 */
export type AdminPage<T> = {
  items: T[];
  nextCursor: string | null;
  /** The declared index that answered (`_id` for the primary key), for the page to say how. */
  index: string;
  filtered: string[];
  scanned: number;
  budgetSpent: boolean;
};

/**
 * One page of `query`, keeping only the documents `keep` accepts. Each store page asks for no more
 * rows than are still wanted, so it cannot hold more matches than fit: the store's own cursor
 * then resumes exactly after the last row shown.
 */
async function filteredPage<T extends Doc>(
  store: Store,
  collection: CollectionName,
  query: Omit<Query, "limit" | "cursor">,
  keep: Record<string, (doc: T) => boolean>,
  limit: number,
  cursor: string | undefined,
): Promise<AdminPage<T>> {
  const filters = Object.values(keep);
  const accept = (doc: T) => filters.every((f) => f(doc));
  const items: T[] = [];
  let scanned = 0;
  let next: string | null = cursor ?? null;
  do {
    const want = filters.length === 0
      ? limit
      : Math.min(limit - items.length, SCAN_BUDGET - scanned);
    const page = await store.find<T>(collection, {
      ...query,
      limit: want,
      cursor: next ?? undefined,
    });
    // Counted as asked, not as returned, so the loop ends even if documents vanish meanwhile.
    scanned += want;
    items.push(...page.items.filter(accept));
    next = page.nextCursor;
  } while (filters.length > 0 && next && items.length < limit && scanned < SCAN_BUDGET);
  return {
    items,
    nextCursor: next,
    index: planIndex(collection, query.where ?? {}, query.sort?.field)?.name ?? "_id",
    filtered: Object.keys(keep),
    scanned,
    budgetSpent: filters.length > 0 && next !== null && items.length < limit,
  };
}

// ---------------------------------------------------------------------------------------------
// Overview

export type AdminCounts = {
  users: Count;
  admins: Count;
  suspended: Count;
  activeSessions: Count;
  openOrders: Count;
};

/**
 * The overview's figures. No store keeps counters, so each is counted through an index, up to
 * COUNT_CAP rows (then shown as "≥"): users by id, roles by `{role}`, live sessions by
 * `{expiresAt}`, working orders by `{open, placedAt}`.
 */
export async function adminCounts(store: Store, now = new Date()): Promise<AdminCounts> {
  const [users, admins, suspended, activeSessions, openOrders] = await Promise.all([
    countUpTo(store, "users", {}),
    countUpTo(store, "users", { where: { role: "ADMIN" } }),
    countUpTo(store, "users", { where: { role: "SUSPENDED" } }),
    activeSessionCount(store, now),
    countUpTo(store, "orders", {
      where: { open: true },
      sort: { field: "placedAt", direction: 1 },
    }),
  ]);
  return { users, admins, suspended, activeSessions, openOrders };
}

// ---------------------------------------------------------------------------------------------
// Users

export type UserFilter = {
  /** A prefix of the email address. */
  email?: string;
  role?: Role;
  status?: "verified" | "unverified";
};

/**
 * A page of users. An email prefix is a range on the unique `{email}` index (ordered by email);
 * else a role uses `{role}`; else every user by id, which is creation order (ULIDs), newest
 * first. Whatever the chosen index does not serve (role beside an email, verified or not) is
 * filtered after reading, within SCAN_BUDGET rows per page.
 */
export async function searchUsers(
  store: Store,
  filter: UserFilter,
  limit = ADMIN_PAGE_SIZE,
  cursor?: string,
): Promise<AdminPage<User>> {
  const prefix = filter.email ? normalizeEmail(filter.email) : "";
  const keep: Record<string, (user: User) => boolean> = {};
  let query: Omit<Query, "limit" | "cursor">;
  if (prefix) {
    query = {
      sort: { field: "email", direction: 1 },
      range: { gte: prefix, lt: `${prefix}\uffff` },
    };
    if (filter.role) keep.role = (user) => user.role === filter.role;
  } else if (filter.role) {
    query = { where: { role: filter.role }, sort: { field: "_id", direction: -1 } };
  } else {
    query = { sort: { field: "_id", direction: -1 } };
  }
  if (filter.status) {
    const verified = filter.status === "verified";
    keep.status = (user) => (user.emailVerifiedAt !== null) === verified;
  }
  return await filteredPage(store, "users", query, keep, limit, cursor);
}

/** The user, or 404. */
export async function getUser(store: Store, userId: string): Promise<User> {
  const user = await store.get<User>("users", userId);
  if (!user) throw notFound("No such user.");
  return user;
}

/** A user typed as an id or an email address, or null when there is none. */
export async function resolveUser(store: Store, idOrEmail: string): Promise<User | null> {
  const text = idOrEmail.trim();
  if (!text) return null;
  return text.includes("@")
    ? await findUserByEmail(store, text)
    : await store.get<User>("users", text);
}

/** Everything the user page shows: the user, accounts with their numbers, orders and sessions. */
export async function userDetail(
  ctx: TradingContext,
  userId: string,
  ordersCursor?: string,
  now = new Date(),
) {
  const { store } = ctx;
  const user = await getUser(store, userId);
  const [accounts, orders, sessions, apiKeys, signalUrls] = await Promise.all([
    userAccounts(store, user._id),
    listOrders(store, { userId: user._id }, "all", ADMIN_PAGE_SIZE, ordersCursor),
    listUserSessions(store, user._id),
    listApiKeys(store, user._id),
    listSignalUrls(store, user._id),
  ]);
  const snapshots = await Promise.all(accounts.map((a) => accountSnapshot(ctx, a, now)));
  return {
    user,
    accounts: snapshots.map((s) => ({ ...s.account, openOrders: s.openOrders })),
    orders,
    // Expired sessions wait for the sweep; they no longer sign anyone in.
    sessions: sessions.filter((s) => s.expiresAt > now && s.absoluteExpiresAt > now),
    apiKeys,
    signalUrls,
  };
}

/**
 * Revokes one of the user's API keys as `admin` (a key the user may have leaked, say); audited as
 * `api_key.revoked` with the admin as actor. A key of another user is a 404.
 */
export async function revokeUserApiKey(
  store: Store,
  admin: User,
  userId: string,
  keyId: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<void> {
  const user = await getUser(store, userId);
  await revokeApiKey(store, user._id, keyId, origin, admin._id, now);
}

/**
 * Revokes one of the user's signal URLs as `admin` (one the user may have leaked, say); audited as
 * `signal_url.revoked` with the admin as actor. Another user's URL is a 404.
 */
export async function revokeUserSignalUrl(
  store: Store,
  admin: User,
  userId: string,
  signalUrlId: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<void> {
  const user = await getUser(store, userId);
  await revokeSignalUrl(store, user._id, signalUrlId, origin, admin._id, now);
}

/** The refusal when an admin aims an action at their own account, which could lock them out. */
function selfRefusal(): AppError {
  return new AppError(
    422,
    "self_change_refused",
    "You cannot change your own role, suspend yourself or clear your own sessions here. Ask another admin.",
  );
}

/** Records a refused admin action as a failure, with the refusal's code, and returns the error. */
async function refused(
  store: Store,
  error: AppError,
  event: Omit<AuditEvent, "outcome">,
  now: Date,
): Promise<AppError> {
  await audit(store, {
    ...event,
    outcome: "failure",
    details: { ...event.details, reason: error.code },
  }, now);
  return error;
}

/**
 * Gives the user `role` through changeRole (audited, and their sessions end at once). An admin
 * cannot change their own role, and giving a user the role they have is a 409; both refusals are
 * audited as failures.
 */
export async function setUserRole(
  store: Store,
  admin: User,
  userId: string,
  role: Role,
  origin: RequestOrigin,
  now = new Date(),
): Promise<User> {
  const user = await getUser(store, userId);
  const refuse = (error: AppError) =>
    refused(store, error, {
      action: "admin.role_changed",
      userId: user._id,
      actorId: admin._id,
      origin,
      details: { from: user.role, to: role },
    }, now);
  if (user._id === admin._id) throw await refuse(selfRefusal());
  try {
    return await changeRole(store, user, role, admin._id, origin, now);
  } catch (err) {
    if (err instanceof AppError) throw await refuse(err);
    throw err;
  }
}

/** Suspends the user: role SUSPENDED, every session ends, and sign-in is refused. */
export function suspendUser(
  store: Store,
  admin: User,
  userId: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<User> {
  return setUserRole(store, admin, userId, "SUSPENDED", origin, now);
}

/** Lifts a suspension: the user becomes a USER again and may sign in. */
export async function reinstateUser(
  store: Store,
  admin: User,
  userId: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<User> {
  const user = await getUser(store, userId);
  if (user.role !== "SUSPENDED") {
    throw await refused(
      store,
      new AppError(409, "not_suspended", `${user.email} is not suspended.`),
      {
        action: "admin.role_changed",
        userId: user._id,
        actorId: admin._id,
        origin,
        details: { from: user.role, to: "USER" },
      },
      now,
    );
  }
  return await setUserRole(store, admin, userId, "USER", origin, now);
}

/** Signs the user out everywhere; audited as `admin.sessions_cleared`. Returns how many ended. */
export async function clearUserSessions(
  store: Store,
  admin: User,
  userId: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<number> {
  const user = await getUser(store, userId);
  const event = {
    action: "admin.sessions_cleared",
    userId: user._id,
    actorId: admin._id,
    origin,
  } satisfies Omit<AuditEvent, "outcome">;
  if (user._id === admin._id) throw await refused(store, selfRefusal(), event, now);
  const ended = await invalidateUserSessions(store, user._id);
  await audit(store, { ...event, outcome: "success", details: { sessions: ended } }, now);
  return ended;
}

/**
 * Turns read-only mode on (with a reason) or off as `admin`; audited by setReadOnly. READ_ONLY in
 * the environment wins over the console, so that state is refused here, and so is turning off
 * what is already off; refusals are audited too. The caller forgets its cached switch state.
 */
export async function switchReadOnly(
  store: Store,
  current: ReadOnlyState,
  on: boolean,
  reason: string,
  admin: User,
  origin: RequestOrigin,
  now = new Date(),
): Promise<void> {
  const refusal = current.source === "env"
    ? new AppError(
      409,
      "read_only_forced",
      "READ_ONLY is set in the environment, so read-only mode cannot be changed here. Unset READ_ONLY and restart to end it.",
    )
    : !on && !current.on
    ? new AppError(409, "read_only_unchanged", "Read-only mode is already off.")
    : null;
  if (refusal) {
    throw await refused(store, refusal, {
      action: "admin.read_only",
      actorId: admin._id,
      origin,
      details: { on },
    }, now);
  }
  await setReadOnly(store, on, reason, admin._id, origin, now);
}

// ---------------------------------------------------------------------------------------------
// Audit log

export type AuditFilter = {
  userId?: string;
  action?: AuditAction;
  outcome?: AuditEntry["outcome"];
  /** Entries at or after this instant... */
  from?: Date;
  /** ...and before this one. */
  to?: Date;
};

/**
 * A page of the audit log, newest first. The index follows the filters: a user → `{userId, at}`
 * (a user's log is short, so action and outcome are filtered after reading); an action and an
 * outcome → `{action, outcome, at}`; an action → `{action, at}`; otherwise `{at}` (an outcome
 * alone is filtered after reading). A time range is a range on `at` in every case.
 */
export async function listAuditLog(
  store: Store,
  filter: AuditFilter,
  limit = ADMIN_PAGE_SIZE,
  cursor?: string,
): Promise<AdminPage<AuditEntry>> {
  const keep: Record<string, (entry: AuditEntry) => boolean> = {};
  const byAction = (entry: AuditEntry) => entry.action === filter.action;
  const byOutcome = (entry: AuditEntry) => entry.outcome === filter.outcome;
  let where: Where;
  if (filter.userId) {
    where = { userId: filter.userId };
    if (filter.action) keep.action = byAction;
    if (filter.outcome) keep.outcome = byOutcome;
  } else if (filter.action) {
    where = filter.outcome
      ? { action: filter.action, outcome: filter.outcome }
      : { action: filter.action };
  } else {
    where = {};
    if (filter.outcome) keep.outcome = byOutcome;
  }
  return await filteredPage(
    store,
    "audit_logs",
    {
      where,
      sort: { field: "at", direction: -1 },
      range: filter.from || filter.to ? { gte: filter.from, lt: filter.to } : undefined,
    },
    keep,
    limit,
    cursor,
  );
}

/** An audit entry as the API shows it. */
export function auditEntryJson(entry: AuditEntry) {
  return {
    id: entry._id,
    at: entry.at.toISOString(),
    action: entry.action,
    outcome: entry.outcome,
    userId: entry.userId,
    actorId: entry.actorId,
    ip: entry.ip,
    userAgent: entry.userAgent,
    details: entry.details,
  };
}

/**
 * The email of each user id (null, `cli` and unknown ids are left out), in one bounded read: a
 * page's worth of ids.
 */
export async function emailsOf(
  store: Store,
  ids: readonly (string | null)[],
): Promise<Map<string, string>> {
  const unique = [...new Set(ids.filter((id): id is string => id !== null && id !== "cli"))];
  const users = await store.getMany<User>("users", unique);
  return new Map(users.filter((u) => u !== null).map((u) => [u._id, u.email]));
}

// ---------------------------------------------------------------------------------------------
// Orders across users

/**
 * The newest orders of every user: all from `{placedAt:-1}`, working ones from
 * `{open:1, placedAt:1}` read backwards.
 */
export async function recentOrders(
  store: Store,
  status: "open" | "all",
  limit = ADMIN_PAGE_SIZE,
  cursor?: string,
): Promise<{ items: Order[]; nextCursor: string | null }> {
  return await store.find<Order>("orders", {
    where: status === "open" ? { open: true } : {},
    sort: { field: "placedAt", direction: -1 },
    limit,
    cursor,
  });
}
