/** /notifications: the bell's page; opening a notification marks it read and follows its link. */
import { Hono } from "hono";
import { notFound } from "../lib/errors.ts";
import {
  listNotifications,
  markRead,
  type Notification,
  unreadCount,
} from "../lib/notify/notifications.ts";
import { NotificationsPage } from "../views/notifications.tsx";
import type { AppDeps, AppEnv } from "./env.ts";
import { noStore } from "./middleware/no_store.ts";
import { requireUser } from "./middleware/session.ts";
import { renderView } from "./render.ts";
import { parseInput, redirectAfterPost } from "./request.ts";
import { buttonAction } from "./trading_context.ts";
import { listQuery } from "./trading_schemas.ts";

export function notificationPages(deps: AppDeps) {
  const { store } = deps;
  return new Hono<AppEnv>()
    .use(requireUser, noStore)
    .get("/", async (c) => {
      const query = parseInput(listQuery, c.req.query());
      const userId = c.get("user")!._id;
      const [page, unread] = await Promise.all([
        listNotifications(store, userId, { cursor: query.cursor, limit: 50 }),
        unreadCount(store, userId),
      ]);
      c.set("unread", unread);
      c.set("extraStyles", true);
      return renderView(c, {
        page: (
          <NotificationsPage
            items={page.items}
            unread={unread}
            newer={query.cursor ? "/notifications" : undefined}
            older={page.nextCursor
              ? `/notifications?cursor=${encodeURIComponent(page.nextCursor)}`
              : undefined}
          />
        ),
        title: "Notifications",
      });
    })
    .post("/read", (c) =>
      buttonAction(c, "/notifications", async () => {
        const marked = await markRead(store, c.get("user")!._id, { all: true });
        return marked === 1
          ? "1 notification marked read."
          : `${marked} notifications marked read.`;
      }))
    .post("/:id/open", async (c) => {
      const userId = c.get("user")!._id;
      const id = c.req.param("id");
      const n = await store.get<Notification>("notifications", id);
      if (!n || n.userId !== userId) throw notFound("No such notification.");
      await markRead(store, userId, { ids: [id] });
      return redirectAfterPost(c, n.link ?? "/notifications");
    });
}
