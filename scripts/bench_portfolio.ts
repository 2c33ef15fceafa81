/**
 * `deno task bench`, portfolio memory (issue 12): the latency of GET /api/portfolio/history and
 * GET /api/portfolio/performance for an account with 10,000 fills over a year and a year of
 * recorded equity (a daily point per session, 5-minute points for the last 30 days), against a
 * goal of 50 ms at p50 (docs/design.md, Performance budgets).
 *
 * The fills are real units (order, trade, position, ledger, account, audit), committed one after
 * the other through the store as placing writes them (scripts/seed_orders.ts marketFillUnit); the
 * equity points are written as the recorder writes them (lib/trading/equity_history.ts).
 */
import { createMarketClock } from "../lib/market/clock.ts";
import { SecurityCatalog, seedSecurities } from "../lib/market/securities.ts";
import { formatFixed, parseFixed } from "../lib/money.ts";
import { openKvStore } from "../lib/store/kv.ts";
import type { Account } from "../lib/trading/accounts.ts";
import { lotsToSell } from "../lib/trading/lots.ts";
import { type EquityPoint, pointId } from "../lib/trading/equity_history.ts";
import type { Position } from "../lib/trading/positions.ts";
import { runLoad } from "./bench_lib.ts";
import { apiClient, figures, type LoadFigures, type StartApp } from "./bench_trading.ts";
import { type Book, createTrader, marketFillUnit } from "./seed_orders.ts";

export const PORTFOLIO = {
  fills: 10_000,
  days: 365,
  intradayDays: 30,
  requests: 200,
  warmupMs: 500,
  goalP50Ms: 50,
} as const;
const DAY_MS = 86_400_000;
const EMAIL = "bench-portfolio@example.com";
const PASSWORD = "bench-otter-planet-42";
const CLOCK = createMarketClock("always");

export type PortfolioFigures = typeof PORTFOLIO & {
  seed: { fills: number; points: number; elapsedMs: number };
  history1D: LoadFigures;
  history1Y: LoadFigures;
  performance1Y: LoadFigures;
};

export async function measurePortfolio(start: StartApp, dir: string): Promise<PortfolioFigures> {
  const file = `${dir}/portfolio.kv`;
  const seeded = await seed(file);
  const app = await start({ KV_PATH: file });
  try {
    const api = apiClient(app.origin, 1);
    try {
      const cookie = await api.signIn(EMAIL);
      const time = async (path: string) => {
        const run = await runLoad(async () => {
          const res = await api.request("GET", path, { cookie });
          if (res.status !== 200) throw new Error(`HTTP ${res.status} from GET ${path}`);
        }, {
          concurrency: 1,
          warmupMs: PORTFOLIO.warmupMs,
          durationMs: 60_000,
          maxRequests: PORTFOLIO.requests,
        });
        return figures(`GET ${path}`, run);
      };
      return {
        ...PORTFOLIO,
        seed: seeded,
        history1D: await time("/api/portfolio/history?period=1D"),
        history1Y: await time("/api/portfolio/history?period=1Y"),
        performance1Y: await time("/api/portfolio/performance?period=1Y&benchmark=SPY"),
      };
    } finally {
      api.close();
    }
  } finally {
    await app.stop();
  }
}

/** A trader opened a year ago with 10,000 fills spread over the year and a year of points. */
async function seed(file: string) {
  const started = performance.now();
  const store = await openKvStore(file);
  try {
    await store.ensureSchema();
    await seedSecurities(store);
    const catalog = await SecurityCatalog.load(store);
    const now = Date.now();
    const opened = new Date(now - PORTFOLIO.days * DAY_MS);
    const trader = await createTrader(store, {
      email: EMAIL,
      password: PASSWORD,
      name: "Portfolio",
      startingCash: "1000000",
    }, opened);
    const security = catalog.get("AAPL")!;
    const book: Book = {
      account: (await store.get<Account>("accounts", trader.accountId))!,
      cash: parseFixed("1000000", 2),
      position: null,
      security,
      price: parseFixed(security.referencePrice, 2),
    };
    // Ten shares bought, one sold, alternately, so the position lives all year.
    const step = (PORTFOLIO.days * DAY_MS - DAY_MS) / PORTFOLIO.fills;
    for (let n = 0; n < PORTFOLIO.fills; n++) {
      const at = new Date(opened.getTime() + n * step);
      const side = n % 2 === 0 ? "buy" : "sell";
      // A sell closes the open lots placing would read (lots.ts), oldest first.
      if (side === "sell") {
        book.lots = (await lotsToSell(store, book.account, "sell", book.position))!.lots;
      }
      const unit = marketFillUnit(
        book,
        side,
        CLOCK,
        at,
        parseFixed(side === "buy" ? "10" : "1", 0),
      );
      const written = await store.commit(unit.ops);
      book.account = written[unit.accountAt] as Account;
      book.position = written[unit.positionAt] as Position;
      book.cash = unit.cashAfter;
    }
    let points = 0;
    const write = async (timeframe: EquityPoint["timeframe"], at: Date, equity: number) => {
      await store.insert<EquityPoint>("equity_points", {
        _id: pointId(trader.accountId, timeframe, at),
        accountId: trader.accountId,
        userId: trader.userId,
        timeframe,
        at,
        equity: formatFixed(parseFixed(equity.toFixed(2), 2)),
        cash: "0.00",
        positionsValue: formatFixed(parseFixed(equity.toFixed(2), 2)),
      });
      points++;
    };
    for (let d = 1; d <= PORTFOLIO.days; d++) {
      await write("1Day", new Date(opened.getTime() + d * DAY_MS), 1_000_000 * (1 + d / 3650));
    }
    for (let t = now - PORTFOLIO.intradayDays * DAY_MS; t < now; t += 5 * 60_000) {
      // A session's worth of points a day (6.5 hours of 5-minute points).
      if ((t % DAY_MS) / 60_000 < 13.5 * 60 || (t % DAY_MS) / 60_000 >= 20 * 60) continue;
      await write("5Min", new Date(t), 1_000_000 * (1 + Math.sin(t / 3.6e6) / 100));
    }
    return { fills: PORTFOLIO.fills, points, elapsedMs: performance.now() - started };
  } finally {
    await store.close();
  }
}

/** The bench report's section. */
export function portfolioReport(p: PortfolioFigures): string {
  const row = (name: string, f: LoadFigures) => {
    const ok = f.errors === 0 && f.latency.p50Ms < p.goalP50Ms;
    return `| ${name} | ${f.requests} | ${f.latency.p50Ms.toFixed(1)} | ${
      f.latency.p99Ms.toFixed(1)
    } | ${ok ? "✅" : "❌"} |`;
  };
  return [
    "## Portfolio history and performance",
    "",
    `An account with ${p.seed.fills.toLocaleString("en-US")} fills over ${p.days} days and ${
      p.seed.points.toLocaleString("en-US")
    } recorded equity points (seeded in ${
      (p.seed.elapsedMs / 1000).toFixed(1)
    } s); ${p.requests} sequential requests each. Goal: p50 under ${p.goalP50Ms} ms.`,
    "",
    "| request | requests | p50 ms | p99 ms | goal |",
    "| --- | --: | --: | --: | :-: |",
    row("`GET /api/portfolio/history?period=1D` (5-minute points)", p.history1D),
    row("`GET /api/portfolio/history?period=1Y` (daily points)", p.history1Y),
    row("`GET /api/portfolio/performance?period=1Y&benchmark=SPY`", p.performance1Y),
    "",
  ].join("\n");
}
