/** /admin/audit: the audit log with its filters, newest first. Mounted by adminRoutes, which admits admins only. */
import { Hono } from "hono";
import type { z } from "zod";
import {
  ADMIN_PAGE_SIZE,
  type AuditFilter,
  emailsOf,
  listAuditLog,
  resolveUser,
} from "../lib/admin.ts";
import { AppError } from "../lib/errors.ts";
import type { Store } from "../lib/store/port.ts";
import { listHref } from "../views/admin.tsx";
import { AuditPage } from "../views/admin_audit.tsx";
import { auditQuery } from "./admin_schemas.ts";
import type { AppDeps, AppEnv } from "./env.ts";
import { formFailure, renderView } from "./render.ts";
import { parseInput } from "./request.ts";
import { withoutBlanks } from "./trading_context.ts";

/**
 * The audit filter a query asks for; the user may be typed as an id or an email, and one that
 * names nobody is a 422 on the `user` field.
 */
export async function auditFilterOf(
  store: Store,
  query: z.output<typeof auditQuery>,
): Promise<AuditFilter> {
  let userId: string | undefined;
  if (query.user) {
    const user = await resolveUser(store, query.user);
    if (!user) {
      const message = "No user has this id or email.";
      throw new AppError(422, "validation_failed", `user: ${message}`, {
        fields: { user: message },
      });
    }
    userId = user._id;
  }
  return {
    userId,
    action: query.action,
    outcome: query.outcome,
    from: query.from,
    to: query.to,
  };
}

export function adminAuditRoutes(deps: AppDeps) {
  const { store } = deps;
  return new Hono<AppEnv>()
    .get("/", async (c) => {
      const values = withoutBlanks(c.req.query());
      // The links keep the filters as typed: dates as days, the user as id or email.
      const { cursor: _, ...filter } = values;
      try {
        const query = parseInput(auditQuery, values);
        const page = await listAuditLog(
          store,
          await auditFilterOf(store, query),
          ADMIN_PAGE_SIZE,
          query.cursor,
        );
        const emails = await emailsOf(store, page.items.flatMap((e) => [e.userId, e.actorId]));
        return renderView(c, {
          page: (
            <AuditPage
              filter={filter}
              page={page}
              emails={emails}
              first={query.cursor ? listHref("/admin/audit", filter) : undefined}
              next={page.nextCursor
                ? listHref("/admin/audit", { ...filter, cursor: page.nextCursor })
                : undefined}
            />
          ),
          title: "Audit log · Admin",
        });
      } catch (err) {
        const { state, status } = formFailure(c, err, values);
        return renderView(c, {
          page: <AuditPage filter={filter} page={null} emails={new Map()} state={state} />,
          title: "Audit log · Admin",
          status,
        });
      }
    });
}
