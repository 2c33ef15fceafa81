/**
 * Portfolio history, performance and allocation: the JSON API under /api/portfolio and the
 * performance page. Both read the recorded equity (lib/trading/equity_history.ts).
 */
import { type Context, Hono } from "hono";
import { AppError } from "../lib/errors.ts";
import { formatFixed } from "../lib/money.ts";
import { normalizeSymbol } from "../lib/market/securities.ts";
import { allocationOf } from "../lib/trading/allocation.ts";
import { type Account, requestedAccount } from "../lib/trading/accounts.ts";
import { chosenAccount } from "./trading_context.ts";
import { defaultTimeframe, equitySeries, historyJson } from "../lib/trading/equity_history.ts";
import { accountPerformance } from "../lib/trading/performance.ts";
import { accountSnapshot } from "../lib/trading/portfolio.ts";
import { PerformancePage } from "../views/performance.tsx";
import type { AppDeps, AppEnv } from "./env.ts";
import { requireUser } from "./middleware/session.ts";
import { noStore } from "./middleware/no_store.ts";
import { requestTimeZone } from "./middleware/time_zone.ts";
import { renderView } from "./render.ts";
import { parseInput } from "./request.ts";
import { historyQuery, performanceQuery } from "./trading_schemas.ts";

/**
 * The account a request names (404 when it is not the user's, closed ones included: their history
 * stays readable), else the default one for the API and the chosen one for the page.
 */
function requestAccount(
  deps: AppDeps,
  c: Context<AppEnv>,
  accountId?: string,
  page = false,
): Promise<Account> {
  const { startingCash } = deps.trading.settings;
  if (page && !accountId) return chosenAccount(c, deps.store, startingCash);
  return requestedAccount(deps.store, c.get("user")!._id, accountId, startingCash);
}

function benchmarkOf(deps: AppDeps, symbol: string) {
  // Any listed symbol, tradable or halted: a benchmark is only read.
  const security = deps.trading.market.catalog.get(normalizeSymbol(symbol));
  if (!security) {
    const message = "There is no security with that symbol to compare with.";
    throw new AppError(422, "unknown_symbol", message, { fields: { benchmark: message } });
  }
  return security;
}

async function performanceView(
  deps: AppDeps,
  c: Context<AppEnv>,
  query: Record<string, string>,
  page = false,
) {
  const input = parseInput(performanceQuery, query);
  const account = await requestAccount(deps, c, input.accountId, page);
  const now = new Date();
  const [result, snapshot] = await Promise.all([
    accountPerformance(
      deps.trading,
      account,
      input.period,
      benchmarkOf(deps, input.benchmark),
      now,
    ),
    accountSnapshot(deps.trading, account, now),
  ]);
  return {
    input,
    account,
    ...result,
    allocation: allocationOf(snapshot, deps.trading.market.catalog),
  };
}

export function portfolioApi(deps: AppDeps) {
  return new Hono<AppEnv>()
    .use(requireUser)
    .get("/history", async (c) => {
      const input = parseInput(historyQuery, c.req.query());
      const account = await requestAccount(deps, c, input.accountId);
      const timeframe = input.timeframe ?? defaultTimeframe(input.period);
      const series = await equitySeries(deps.trading, account, input.period, timeframe, new Date());
      return c.json(historyJson(series, timeframe));
    })
    .get("/performance", async (c) => {
      const { input, performance, benchmarkSeries } = await performanceView(deps, c, c.req.query());
      return c.json({
        period: input.period,
        ...performance,
        benchmarkSeries: benchmarkSeries.map((p) => ({
          t: p.at.toISOString(),
          value: formatFixed(p.value),
        })),
      });
    })
    .get("/allocation", async (c) => {
      const accountId = c.req.query("accountId");
      const account = await requestAccount(deps, c, accountId?.slice(0, 100));
      const snapshot = await accountSnapshot(deps.trading, account, new Date());
      return c.json(allocationOf(snapshot, deps.trading.market.catalog));
    });
}

export function performanceRoutes(deps: AppDeps) {
  return new Hono<AppEnv>()
    .use(requireUser, noStore)
    .get("/", async (c) => {
      const view = await performanceView(deps, c, c.req.query(), true);
      return renderView(c, {
        page: (
          <PerformancePage
            account={view.account}
            namedAccount={view.input.accountId !== undefined}
            period={view.input.period}
            performance={view.performance}
            series={view.series}
            benchmarkSeries={view.benchmarkSeries}
            allocation={view.allocation}
            timeZone={requestTimeZone()}
          />
        ),
        title: "Performance",
      });
    });
}
