/** /dashboard: the account at a glance; /dashboard/reset: starting the demo account over, confirmed. */
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { confirmReset, resetDemoAccount } from "../lib/trading/accounts.ts";
import { listOrders, orderJson } from "../lib/trading/orders.ts";
import { accountSnapshot } from "../lib/trading/portfolio.ts";
import { listWatchlists } from "../lib/trading/watchlists.ts";
import { DashboardPage, ResetForm, ResetPage } from "../views/dashboard.tsx";
import type { FormState } from "../views/form.tsx";
import type { AppDeps, AppEnv } from "./env.ts";
import { setFlash } from "./middleware/flash.ts";
import { requireUser } from "./middleware/session.ts";
import { formFailure, renderView } from "./render.ts";
import { formBody, redirectAfterPost } from "./request.ts";
import { noStore } from "./middleware/no_store.ts";
import { quotesOf, sparksOf, tradingPageContext } from "./trading_context.ts";
import { provideSparks } from "../views/chart.tsx";
import { liveAddress } from "./live/page_stream.tsx";

/** The dashboard shows the newest few; /orders has them all. */
export const OPEN_ORDERS_SHOWN = 10;

export function dashboardRoutes(deps: AppDeps) {
  const ctx = deps.trading;
  const { store } = deps;
  const pages = tradingPageContext(deps);

  async function page(c: Context<AppEnv>) {
    const now = new Date();
    const userId = pages.userId(c);
    const account = await pages.account(c);
    const [snapshot, open, lists] = await Promise.all([
      accountSnapshot(ctx, account, now),
      listOrders(store, userId, "open", OPEN_ORDERS_SHOWN),
      listWatchlists(store, userId, now),
    ]);
    const first = lists[0];
    const watchlist = {
      name: first?.name ?? "Watchlist",
      quotes: first ? await quotesOf(ctx.market, first.symbols, now) : [],
    };
    const sparks = await sparksOf(
      ctx.market,
      [...snapshot.positions.map((p) => p.symbol), ...watchlist.quotes.map((q) => q.symbol)],
      now,
    );
    provideSparks(c, sparks);
    return renderView(c, {
      page: (
        <DashboardPage
          snapshot={snapshot}
          openOrders={open.items.map(orderJson)}
          watchlist={watchlist}
          marketPhase={ctx.market.clock.phase("us_equity", now)}
          live={liveAddress("dashboard", account, now)}
        />
      ),
      title: "Dashboard",
    });
  }

  /** The reset page, or with htmx just its form, optionally with the errors of a refused reset. */
  async function resetPage(
    c: Context<AppEnv>,
    failed?: { state: FormState; status: ContentfulStatusCode },
  ) {
    const account = await pages.account(c);
    const snapshot = await accountSnapshot(ctx, account);
    return renderView(c, {
      page: (
        <ResetPage
          account={snapshot.account}
          positions={snapshot.positions.length}
          state={failed?.state}
        />
      ),
      partial: failed && (
        <ResetForm
          accountNumber={account.number}
          startingCash={account.startingCash}
          state={failed.state}
        />
      ),
      title: "Reset demo account",
      status: failed?.status,
    });
  }

  return new Hono<AppEnv>()
    .use(requireUser, noStore)
    .get("/", (c) => page(c))
    .get("/reset", (c) => resetPage(c))
    .post("/reset", async (c) => {
      const values = await formBody(c);
      try {
        const account = await pages.account(c);
        await confirmReset(store, account, values.confirm, pages.origin(c));
        const fresh = await resetDemoAccount(
          store,
          account,
          ctx.settings.startingCash,
          pages.origin(c),
        );
        await setFlash(c, {
          kind: "success",
          text: `Your demo account was reset. Your new account number is ${fresh.number}.`,
        });
        return redirectAfterPost(c, "/dashboard");
      } catch (err) {
        return resetPage(c, formFailure(c, err, values));
      }
    });
}
