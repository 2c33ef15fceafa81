/** The trading pages (HTML): each area under its own path, so its sign-in guard covers it alone. */
import { accountRoutes } from "./account_pages.tsx";
import { alertRoutes } from "./alert_pages.tsx";
import { Hono } from "hono";
import { dashboardRoutes } from "./dashboard.tsx";
import type { AppDeps, AppEnv } from "./env.ts";
import { orderRoutes } from "./order_pages.tsx";
import { historyRoutes, positionRoutes } from "./portfolio_pages.tsx";
import { tradeRoutes } from "./trade_pages.tsx";
import { performanceRoutes } from "./performance.tsx";
import { watchlistRoutes } from "./watchlist_pages.tsx";

export function tradingPages(deps: AppDeps) {
  return new Hono<AppEnv>()
    .route("/dashboard", dashboardRoutes(deps))
    .route("/accounts", accountRoutes(deps))
    .route("/trade", tradeRoutes(deps))
    .route("/orders", orderRoutes(deps))
    .route("/positions", positionRoutes(deps))
    .route("/history", historyRoutes(deps))
    .route("/performance", performanceRoutes(deps))
    .route("/watchlist", watchlistRoutes(deps))
    .route("/alerts", alertRoutes(deps));
}
