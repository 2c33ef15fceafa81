/** /api/admin: the console's lists and user actions as JSON, for role ADMIN only, from the same lib functions. */
import { type Context, Hono } from "hono";
import {
  auditEntryJson,
  clearUserSessions,
  emailsOf,
  listAuditLog,
  recentOrders,
  revokeUserApiKey,
  revokeUserSignalUrl,
  searchUsers,
  setUserRole,
  userDetail,
} from "../lib/admin.ts";
import { apiKeyJson } from "../lib/auth/api_keys.ts";
import { signalUrlJson } from "../lib/trading/signals.ts";
import { publicUser } from "../lib/auth/users.ts";
import { orderJson } from "../lib/trading/orders.ts";
import { auditFilterOf } from "./admin_audit.tsx";
import { auditQuery, ordersQuery, roleApiInput, usersQuery } from "./admin_schemas.ts";
import type { AppDeps, AppEnv } from "./env.ts";
import { requireRole } from "./middleware/session.ts";
import { jsonBody, parseInput, requestOrigin } from "./request.ts";

export function adminApi(deps: AppDeps) {
  const { store } = deps;
  const origin = (c: Context<AppEnv>) => requestOrigin(c, deps.config.trustProxy);

  return new Hono<AppEnv>()
    .use(requireRole("ADMIN"))
    .get("/users", async (c) => {
      const query = parseInput(usersQuery, c.req.query());
      const page = await searchUsers(store, query, query.limit, query.cursor);
      return c.json({
        users: page.items.map(publicUser),
        nextCursor: page.nextCursor,
        // Said when a filter no index serves stopped the page at its read budget.
        partial: page.budgetSpent,
      });
    })
    .get("/users/:id", async (c) => {
      const detail = await userDetail(deps.trading, c.req.param("id"));
      return c.json({
        user: publicUser(detail.user),
        accounts: detail.accounts,
        orders: detail.orders.items.map(orderJson),
        ordersNextCursor: detail.orders.nextCursor,
        sessions: detail.sessions.map((s) => ({
          createdAt: s.createdAt.toISOString(),
          lastSeenAt: s.lastSeenAt.toISOString(),
          expiresAt: s.expiresAt.toISOString(),
          ip: s.ip,
          userAgent: s.userAgent,
        })),
        apiKeys: detail.apiKeys.map((k) => ({ ...apiKeyJson(k), lastIp: k.lastIp })),
        signalUrls: detail.signalUrls.map(signalUrlJson),
      });
    })
    .delete("/users/:id/signal-urls/:signalUrlId", async (c) => {
      await revokeUserSignalUrl(
        store,
        c.get("user")!,
        c.req.param("id"),
        c.req.param("signalUrlId"),
        origin(c),
      );
      return c.body(null, 204);
    })
    .delete("/users/:id/keys/:keyId", async (c) => {
      await revokeUserApiKey(
        store,
        c.get("user")!,
        c.req.param("id"),
        c.req.param("keyId"),
        origin(c),
      );
      return c.body(null, 204);
    })
    .post("/users/:id/role", async (c) => {
      const { role } = parseInput(roleApiInput, await jsonBody(c));
      const user = await setUserRole(store, c.get("user")!, c.req.param("id"), role, origin(c));
      return c.json({ user: publicUser(user) });
    })
    .delete("/users/:id/sessions", async (c) => {
      const ended = await clearUserSessions(store, c.get("user")!, c.req.param("id"), origin(c));
      return c.json({ ended });
    })
    .get("/audit", async (c) => {
      const query = parseInput(auditQuery, c.req.query());
      const page = await listAuditLog(
        store,
        await auditFilterOf(store, query),
        query.limit,
        query.cursor,
      );
      return c.json({
        entries: page.items.map(auditEntryJson),
        nextCursor: page.nextCursor,
        partial: page.budgetSpent,
      });
    })
    .get("/orders", async (c) => {
      const query = parseInput(ordersQuery, c.req.query());
      const page = await recentOrders(store, query.status, query.limit, query.cursor);
      const emails = await emailsOf(store, page.items.map((o) => o.userId));
      return c.json({
        orders: page.items.map((o) => ({
          ...orderJson(o),
          userId: o.userId,
          email: emails.get(o.userId) ?? null,
        })),
        nextCursor: page.nextCursor,
      });
    });
}
