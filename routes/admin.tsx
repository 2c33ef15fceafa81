/**
 * /admin: the admin console, for role ADMIN only (others get the 403 page, signed-out visitors go
 * to sign in). The overview with the read-only switch, orders across users and metrics live
 * here; users and the audit log have their own files.
 */
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import {
  ADMIN_PAGE_SIZE,
  adminCounts,
  emailsOf,
  recentOrders,
  switchReadOnly,
} from "../lib/admin.ts";
import { businessMetrics } from "../lib/analytics.ts";
import { orderJson } from "../lib/trading/orders.ts";
import {
  AdminMetricsPage,
  AdminOrdersPage,
  AdminOverviewPage,
  listHref,
  ReadOnlyForm,
} from "../views/admin.tsx";
import type { FormState } from "../views/form.tsx";
import { adminAuditRoutes } from "./admin_audit.tsx";
import { ordersQuery, readOnlyInput } from "./admin_schemas.ts";
import { adminUserRoutes } from "./admin_users.tsx";
import type { AppDeps, AppEnv } from "./env.ts";
import { setFlash } from "./middleware/flash.ts";
import { requireRole } from "./middleware/session.ts";
import { formFailure, renderView } from "./render.ts";
import { formBody, parseInput, redirectAfterPost, requestOrigin } from "./request.ts";
import { noStore } from "./middleware/no_store.ts";
import { withoutBlanks } from "./trading_context.ts";

export function adminRoutes(deps: AppDeps) {
  const { store } = deps;

  async function overview(
    c: Context<AppEnv>,
    failed?: { state: FormState; status: ContentfulStatusCode },
  ) {
    const [counts, readOnly] = await Promise.all([adminCounts(store), deps.readOnly.state()]);
    return renderView(c, {
      page: (
        <AdminOverviewPage
          counts={counts}
          readOnly={readOnly}
          readOnlyForm={failed?.state}
          analytics={deps.config.enableAnalytics}
        />
      ),
      partial: failed && <ReadOnlyForm on={readOnly.on} state={failed.state} />,
      title: "Admin",
      status: failed?.status,
    });
  }

  return new Hono<AppEnv>()
    .use(requireRole("ADMIN"), noStore)
    .get("/", (c) => overview(c))
    .post("/read-only", async (c) => {
      const values = await formBody(c);
      try {
        const input = parseInput(readOnlyInput, values);
        await switchReadOnly(
          store,
          await deps.readOnly.state(),
          input.on,
          input.reason,
          c.get("user")!,
          requestOrigin(c, deps.config.trustProxy),
        );
        // This instance applies the change from its next request; others within the cache time.
        deps.readOnly.invalidate();
        await setFlash(c, {
          kind: "success",
          text: input.on
            ? "Read-only mode is on: writes are paused for everyone but admins."
            : "Read-only mode is off: writes are back.",
        });
      } catch (err) {
        const failure = formFailure(c, err, values);
        if (failure.status === 422) return overview(c, failure);
        await setFlash(c, { kind: "error", text: failure.state.error ?? "That did not work." });
      }
      return redirectAfterPost(c, "/admin");
    })
    .route("/users", adminUserRoutes(deps))
    .route("/audit", adminAuditRoutes(deps))
    .get("/orders", async (c) => {
      const query = parseInput(ordersQuery, withoutBlanks(c.req.query()));
      const page = await recentOrders(store, query.status, ADMIN_PAGE_SIZE, query.cursor);
      const emails = await emailsOf(store, page.items.map((o) => o.userId));
      const filter = { status: query.status === "open" ? "open" : undefined };
      return renderView(c, {
        page: (
          <AdminOrdersPage
            status={query.status}
            rows={page.items.map((o) => ({
              order: orderJson(o),
              userId: o.userId,
              email: emails.get(o.userId) ?? null,
            }))}
            first={query.cursor ? listHref("/admin/orders", filter) : undefined}
            next={page.nextCursor
              ? listHref("/admin/orders", { ...filter, cursor: page.nextCursor })
              : undefined}
          />
        ),
        title: "Orders · Admin",
      });
    })
    .get("/metrics", async (c) => {
      const metrics = deps.config.enableAnalytics ? await businessMetrics(store) : null;
      return renderView(c, {
        page: <AdminMetricsPage metrics={metrics} />,
        title: "Metrics · Admin",
      });
    });
}
