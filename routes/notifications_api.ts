/**
 * The notification centre's JSON API: `GET /api/notifications` (newest first, with the unread
 * count) and `POST /api/notifications/read`.
 */
import { Hono } from "hono";
import {
  listNotifications,
  markRead,
  notificationJson,
  unreadCount,
} from "../lib/notify/notifications.ts";
import type { AppDeps, AppEnv } from "./env.ts";
import { noStore } from "./middleware/no_store.ts";
import { requireUser } from "./middleware/session.ts";
import { jsonBody, parseInput } from "./request.ts";
import { markReadInput, notificationsQuery } from "./notifications_schemas.ts";

export function notificationsApi(deps: AppDeps) {
  const { store } = deps;
  return new Hono<AppEnv>()
    .use(requireUser, noStore)
    .get("/", async (c) => {
      const query = parseInput(notificationsQuery, c.req.query());
      const userId = c.get("user")!._id;
      const [page, unread] = await Promise.all([
        listNotifications(store, userId, query),
        unreadCount(store, userId),
      ]);
      return c.json({
        notifications: page.items.map(notificationJson),
        unreadCount: unread,
        nextCursor: page.nextCursor,
      });
    })
    .post("/read", async (c) => {
      const input = parseInput(markReadInput, await jsonBody(c));
      const userId = c.get("user")!._id;
      const updated = await markRead(store, userId, "all" in input ? { all: true } : input);
      return c.json({ updated, unreadCount: await unreadCount(store, userId) });
    });
}
