/** /dashboard: the account at a glance; /dashboard/reset: starting the demo account over, confirmed. */
import { type Context, Hono } from "hono";
import { listOrders, orderJson } from "../lib/trading/orders.ts";
import { accountSnapshot } from "../lib/trading/portfolio.ts";
import { listWatchlists } from "../lib/trading/watchlists.ts";
import { DashboardPage } from "../views/dashboard.tsx";
import type { AppDeps, AppEnv } from "./env.ts";
import { requireUser } from "./middleware/session.ts";
import { renderView } from "./render.ts";
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
      listOrders(store, { accountId: account._id }, "open", OPEN_ORDERS_SHOWN),
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

  return new Hono<AppEnv>()
    .use(requireUser, noStore)
    .get("/", (c) => page(c))
    // The reset lives with the other account actions now; an old link still finds it.
    .get(
      "/reset",
      async (c) =>
        c.redirect(`/accounts/${encodeURIComponent((await pages.account(c))._id)}/reset`, 303),
    );
}
