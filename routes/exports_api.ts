/**
 * CSV downloads of one of the user's accounts (README, Exports):
 * `GET /api/exports/{orders,fills,activities,realized-gains}.csv?from=&to=&accountId=`.
 */
import { Hono } from "hono";
import { audit } from "../lib/audit.ts";
import { csvStream } from "../lib/csv.ts";
import { notFound } from "../lib/errors.ts";
import { requestedAccount } from "../lib/trading/accounts.ts";
import {
  dayRange,
  EXPORT_HEADERS,
  EXPORT_KINDS,
  exportFileName,
  type ExportKind,
  exportRows,
  isoDay,
} from "../lib/trading/exports.ts";
import type { AppDeps, AppEnv } from "./env.ts";
import { requireUser } from "./middleware/session.ts";
import { parseInput, requestOrigin } from "./request.ts";
import { exportQuery } from "./trading_schemas.ts";

export function exportsApi(deps: AppDeps) {
  const { store } = deps;
  return new Hono<AppEnv>()
    .use(requireUser)
    .get("/:file", async (c) => {
      const kind = c.req.param("file").replace(/\.csv$/, "") as ExportKind;
      if (!c.req.param("file").endsWith(".csv") || !EXPORT_KINDS.includes(kind)) {
        throw notFound("No such export.");
      }
      const query = parseInput(exportQuery, c.req.query());
      const userId = c.get("user")!._id;
      const account = await requestedAccount(
        store,
        userId,
        query.accountId,
        deps.trading.settings.startingCash,
      );
      // Without a range: everything from the day the account opened up to today.
      const to = query.to ?? isoDay(new Date());
      const opened = isoDay(account.createdAt);
      const range = dayRange(query.from ?? (opened < to ? opened : to), to);
      await audit(store, {
        action: "export.downloaded",
        outcome: "success",
        userId,
        origin: requestOrigin(c, deps.config.trustProxy),
        details: { export: kind, account: account.number, from: range.from, to: range.to },
      });
      c.header("Content-Type", "text/csv; charset=utf-8");
      c.header("Content-Disposition", `attachment; filename="${exportFileName(kind, range)}"`);
      return c.body(csvStream(EXPORT_HEADERS[kind], exportRows(store, kind, account._id, range)));
    });
}
