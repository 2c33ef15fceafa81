/**
 * /admin/users: search, one user's page, and the actions on a user (role, suspend, reinstate, sign
 * out everywhere, revoke an API key). Mounted by adminRoutes, which admits admins only.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import {
  ADMIN_PAGE_SIZE,
  clearUserSessions,
  reinstateUser,
  revokeUserApiKey,
  revokeUserSignalUrl,
  searchUsers,
  setUserRole,
  suspendUser,
  userDetail,
} from "../lib/admin.ts";
import { orderJson } from "../lib/trading/orders.ts";
import { listHref } from "../views/admin.tsx";
import { UserPage, UserResults, UsersPage } from "../views/admin_users.tsx";
import { roleFormInput, usersQuery } from "./admin_schemas.ts";
import type { AppDeps, AppEnv } from "./env.ts";
import { formFailure, renderView } from "./render.ts";
import { formBody, parseInput, requestOrigin } from "./request.ts";
import { buttonAction, withoutBlanks } from "./trading_context.ts";

const userPageQuery = z.object({ orders: z.string().max(500).optional() });

export function adminUserRoutes(deps: AppDeps) {
  const { store } = deps;
  const origin = (c: Context<AppEnv>) => requestOrigin(c, deps.config.trustProxy);
  const admin = (c: Context<AppEnv>) => c.get("user")!;
  const userHref = (id: string) => `/admin/users/${encodeURIComponent(id)}`;

  /** A button's action on the user in the path: flashed, then back to the user's page. */
  const userAction = (
    action: (c: Context<AppEnv>, id: string, values: Record<string, string>) => Promise<string>,
  ) =>
  async (c: Context<AppEnv>) => {
    const id = c.req.param("id")!;
    const values = await formBody(c);
    return buttonAction(c, userHref(id), () => action(c, id, values));
  };

  const signedOut = "and signed out everywhere";

  return new Hono<AppEnv>()
    .get("/", async (c) => {
      const values = withoutBlanks(c.req.query());
      let query;
      try {
        query = parseInput(usersQuery, values);
      } catch (err) {
        const { state, status } = formFailure(c, err, values);
        return renderView(c, {
          page: <UsersPage filter={values} page={null} state={state} />,
          partial: <UserResults page={null} error={state.error ?? "Check the filters."} />,
          title: "Users · Admin",
          status,
        });
      }
      const page = await searchUsers(store, query, ADMIN_PAGE_SIZE, query.cursor);
      const filter = { email: query.email, role: query.role, status: query.status };
      const first = query.cursor ? listHref("/admin/users", filter) : undefined;
      const next = page.nextCursor
        ? listHref("/admin/users", { ...filter, cursor: page.nextCursor })
        : undefined;
      return renderView(c, {
        page: <UsersPage filter={filter} page={page} first={first} next={next} />,
        partial: <UserResults page={page} first={first} next={next} />,
        title: "Users · Admin",
      });
    })
    .get("/:id", async (c) => {
      const { orders: cursor } = parseInput(userPageQuery, c.req.query());
      const detail = await userDetail(deps.trading, c.req.param("id"), cursor);
      const { user, orders } = detail;
      const base = userHref(user._id);
      return renderView(c, {
        page: (
          <UserPage
            user={user}
            self={user._id === admin(c)._id}
            accounts={detail.accounts}
            orders={orders.items.map((o) => ({
              order: orderJson(o),
              userId: o.userId,
              email: user.email,
            }))}
            newer={cursor ? base : undefined}
            older={orders.nextCursor
              ? `${base}?orders=${encodeURIComponent(orders.nextCursor)}`
              : undefined}
            sessions={detail.sessions}
            apiKeys={detail.apiKeys}
            signalUrls={detail.signalUrls}
          />
        ),
        title: `${user.email} · Admin`,
      });
    })
    .post(
      "/:id/role",
      userAction(async (c, id, values) => {
        const { role } = parseInput(roleFormInput, values);
        const user = await setUserRole(store, admin(c), id, role, origin(c));
        return `${user.email} is now ${role} ${signedOut}.`;
      }),
    )
    .post(
      "/:id/suspend",
      userAction(async (c, id) => {
        const user = await suspendUser(store, admin(c), id, origin(c));
        return `${user.email} is suspended ${signedOut}.`;
      }),
    )
    .post(
      "/:id/reinstate",
      userAction(async (c, id) => {
        const user = await reinstateUser(store, admin(c), id, origin(c));
        return `${user.email} is reinstated as ${user.role} and can sign in again.`;
      }),
    )
    .post(
      "/:id/sessions/clear",
      userAction(async (c, id) => {
        const ended = await clearUserSessions(store, admin(c), id, origin(c));
        return ended === 1 ? "Ended 1 session." : `Ended ${ended} sessions.`;
      }),
    )
    .post(
      "/:id/keys/:keyId/revoke",
      userAction(async (c, id) => {
        await revokeUserApiKey(store, admin(c), id, c.req.param("keyId")!, origin(c));
        return "The API key is revoked.";
      }),
    )
    .post(
      "/:id/signal-urls/:signalUrlId/revoke",
      userAction(async (c, id) => {
        await revokeUserSignalUrl(store, admin(c), id, c.req.param("signalUrlId")!, origin(c));
        return "The signal URL is revoked.";
      }),
    );
}
