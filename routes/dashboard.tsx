/** /dashboard: the account at a glance, and starting the demo account over. */
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { resetDemoAccount } from "../lib/trading/accounts.ts";
import { listOrders, orderJson } from "../lib/trading/orders.ts";
import { accountSnapshot } from "../lib/trading/portfolio.ts";
import { listWatchlists } from "../lib/trading/watchlists.ts";
import { DashboardPage, ResetForm } from "../views/dashboard.tsx";
import type { FormState } from "../views/form.tsx";
import type { AppDeps, AppEnv } from "./env.ts";
import { setFlash } from "./middleware/flash.ts";
import { requireUser } from "./middleware/session.ts";
import { formFailure, renderView } from "./render.ts";
import { formBody, parseInput, redirectAfterPost } from "./request.ts";
import { noStore } from "./middleware/no_store.ts";
import { quotesOf, tradingPageContext } from "./trading_context.ts";

/** The dashboard shows the newest few; /orders has them all. */
const OPEN_ORDERS_SHOWN = 10;

const resetInput = z.object({
  confirm: z.literal("yes", { error: "Tick the box to confirm that the account closes." }),
});

export function dashboardRoutes(deps: AppDeps) {
  const ctx = deps.trading;
  const { store } = deps;
  const pages = tradingPageContext(deps);

  async function page(
    c: Context<AppEnv>,
    reset?: { state: FormState; status: ContentfulStatusCode },
  ) {
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
    return renderView(c, {
      page: (
        <DashboardPage
          snapshot={snapshot}
          openOrders={open.items.map(orderJson)}
          watchlist={watchlist}
          marketOpen={ctx.market.clock.isOpen("us_equity", now)}
          reset={reset?.state}
        />
      ),
      partial: reset && (
        <ResetForm
          accountNumber={account.number}
          startingCash={account.startingCash}
          state={reset.state}
        />
      ),
      title: "Dashboard",
      status: reset?.status,
    });
  }

  return new Hono<AppEnv>()
    .use(requireUser, noStore)
    .get("/", (c) => page(c))
    .post("/reset", async (c) => {
      const values = await formBody(c);
      try {
        parseInput(resetInput, values);
        const fresh = await resetDemoAccount(
          store,
          await pages.account(c),
          ctx.settings.startingCash,
          pages.origin(c),
        );
        await setFlash(c, {
          kind: "success",
          text: `Your demo account was reset. Your new account number is ${fresh.number}.`,
        });
        return redirectAfterPost(c, "/dashboard");
      } catch (err) {
        return page(c, formFailure(c, err, values));
      }
    });
}
