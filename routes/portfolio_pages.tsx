/** /positions and /history: what the account holds, and every fill and cash movement, paged. */
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { notFound } from "../lib/errors.ts";
import { normalizeSymbol } from "../lib/market/securities.ts";
import { closePosition } from "../lib/trading/close_positions.ts";
import { reservedOf } from "../lib/trading/open_orders.ts";
import { type Position, positionId } from "../lib/trading/positions.ts";
import type { FormState } from "../views/form.tsx";
import { setFlash } from "./middleware/flash.ts";
import { formatFixed, mulFixed, parseFixed, SCALE, sumFixed } from "../lib/money.ts";
import {
  holdingTerm,
  lotMethodOf,
  openingLot,
  positionLots,
  realizedGains,
  taxYearOf,
  totalsJson,
} from "../lib/trading/lots.ts";
import { PositionLotsPage, RealizedGainsPage } from "../views/lots.tsx";
import { realizedGainsQuery } from "./lots_schemas.ts";
import { listAccountTrades, listCashActivity, type TimeRange } from "../lib/trading/history.ts";
import { dayRange, parseDay } from "../lib/trading/exports.ts";
import { accountSnapshot } from "../lib/trading/portfolio.ts";
import {
  ClosePositionForm,
  ClosePositionPage,
  type HistoryFilter,
  HistoryPage,
  PositionsPage,
} from "../views/portfolio.tsx";
import type { AppDeps, AppEnv } from "./env.ts";
import { requireUser } from "./middleware/session.ts";
import { formFailure, renderView } from "./render.ts";
import { formBody, parseInput, redirectAfterPost } from "./request.ts";
import { historyPageQuery } from "./trading_schemas.ts";
import { noStore } from "./middleware/no_store.ts";
import { sparksOf, tradingPageContext, withoutBlanks } from "./trading_context.ts";
import { provideSparks } from "../views/chart.tsx";
import { liveAddress } from "./live/page_stream.tsx";

const PAGE_SIZE = 25;
/** A position page lists at most this many open lots, oldest first. */
const LOTS_SHOWN = 100;

export function positionRoutes(deps: AppDeps) {
  const pages = tradingPageContext(deps);
  return new Hono<AppEnv>()
    .use(requireUser, noStore)
    .get("/", async (c) => {
      const now = new Date();
      const account = await pages.account(c);
      const snapshot = await accountSnapshot(deps.trading, account, now);
      const unrealized = sumFixed(snapshot.positions.map((p) => parseFixed(p.unrealizedPnl, 2)));
      const symbols = snapshot.positions.map((p) => p.symbol);
      const sparks = await sparksOf(deps.trading.market, symbols, now);
      provideSparks(c, sparks);
      return renderView(c, {
        page: (
          <PositionsPage
            snapshot={snapshot}
            unrealized={formatFixed(unrealized)}
            live={liveAddress("positions", account, now)}
          />
        ),
        title: "Positions",
      });
    })
    .get("/close", (c) => closePage(c, c.req.query("symbol") ?? ""))
    .post("/close", async (c) => {
      const values = await formBody(c);
      try {
        const order = await closePosition(deps.trading, pages.userId(c), values.symbol ?? "", {
          accountId: (await pages.account(c))._id,
          qty: values.qty?.trim() || undefined,
          cancelOrders: values.cancelOrders === "on",
        }, pages.origin(c));
        await setFlash(c, {
          kind: "success",
          text: `Market sell of ${order.qty} ${order.symbol} placed: ${
            order.status.replace("_", " ")
          }.`,
        });
        return redirectAfterPost(c, "/positions");
      } catch (err) {
        return closePage(c, values.symbol ?? "", formFailure(c, err, values));
      }
    })
    .get("/:symbol{.+}", async (c) => {
      // A position and its open tax lots, each valued as if sold now (lib/trading/lots.ts).
      const now = new Date();
      const account = await pages.account(c);
      const snapshot = await accountSnapshot(deps.trading, account, now);
      const wanted = normalizeSymbol(c.req.param("symbol"));
      const position = snapshot.positions.find((p) => p.symbol === wanted);
      if (!position) throw notFound(`You hold no ${wanted.slice(0, 12) || "such position"}.`);
      const stored = await deps.store.get<Position>("positions", positionId(account._id, wanted));
      const opening = openingLot(stored);
      const lots = opening
        ? [opening]
        : await positionLots(deps.store, account._id, wanted, LOTS_SHOWN + 1);
      const last = parseFixed(position.lastPrice, SCALE);
      const rows = lots.slice(0, LOTS_SHOWN).map((lot) => {
        const qty = parseFixed(lot.remainingQty, SCALE);
        const cost = parseFixed(lot.remainingCost, SCALE);
        return {
          openedAt: lot.openedAt,
          qty: lot.remainingQty,
          unitCost: lot.unitCost,
          cost: formatFixed(cost),
          gain: formatFixed(mulFixed(qty, last, 2, "floor") - cost),
          term: holdingTerm(lot.openedAt, now),
        };
      });
      return renderView(c, {
        page: (
          <PositionLotsPage
            position={position}
            lots={rows}
            method={lotMethodOf(account)}
            more={lots.length > LOTS_SHOWN}
          />
        ),
        title: `${position.symbol} position`,
      });
    });

  /** The confirmation page, or with htmx just its form, with the errors of a refused close. */
  async function closePage(
    c: Context<AppEnv>,
    symbol: string,
    failed?: { state: FormState; status: ContentfulStatusCode },
  ) {
    const account = await pages.account(c);
    const snapshot = await accountSnapshot(deps.trading, account);
    const wanted = normalizeSymbol(symbol);
    const position = snapshot.positions.find((p) => p.symbol === wanted);
    if (!position) throw notFound(`You hold no ${wanted.slice(0, 12) || "such position"}.`);
    const stored = await deps.store.get<Position>("positions", positionId(account._id, wanted));
    const reserved = formatFixed(reservedOf(stored), 0);
    return renderView(c, {
      page: <ClosePositionPage position={position} reserved={reserved} state={failed?.state} />,
      partial: failed && (
        <ClosePositionForm position={position} reserved={reserved} state={failed.state} />
      ),
      title: `Close ${position.symbol}`,
      status: failed?.status,
    });
  }
}

export function historyRoutes(deps: AppDeps) {
  const pages = tradingPageContext(deps);
  return new Hono<AppEnv>()
    .use(requireUser, noStore)
    .get("/", async (c) => {
      const values = withoutBlanks(c.req.query());
      // The filters as typed, carried by every link of the page (pages, downloads).
      const filter: HistoryFilter = {
        symbol: values.symbol && normalizeSymbol(values.symbol),
        type: values.type,
        from: values.from,
        to: values.to,
      };
      const account = await pages.account(c);
      try {
        const query = parseInput(historyPageQuery, values);
        const range = historyRange(query.from, query.to);
        const [trades, ledger] = await Promise.all([
          listAccountTrades(
            deps.store,
            account._id,
            { symbol: filter.symbol, range },
            PAGE_SIZE,
            query.tradesCursor,
          ),
          listCashActivity(
            deps.store,
            account._id,
            { type: query.type || undefined, range },
            PAGE_SIZE,
            query.cashCursor,
          ),
        ]);
        // Each list pages on its own; a link keeps the other list where it is.
        const href = (cursors: Record<string, string | null | undefined>) =>
          historyHref({ ...filter, ...cursors });
        return renderView(c, {
          page: (
            <HistoryPage
              accountId={account._id}
              filter={filter}
              trades={trades.items}
              ledger={ledger.items}
              tradesPages={{
                newer: query.tradesCursor ? href({ cashCursor: query.cashCursor }) : undefined,
                older: trades.nextCursor
                  ? href({ tradesCursor: trades.nextCursor, cashCursor: query.cashCursor })
                  : undefined,
              }}
              cashPages={{
                newer: query.cashCursor ? href({ tradesCursor: query.tradesCursor }) : undefined,
                older: ledger.nextCursor
                  ? href({ tradesCursor: query.tradesCursor, cashCursor: ledger.nextCursor })
                  : undefined,
              }}
            />
          ),
          title: "History",
        });
      } catch (err) {
        const { state, status } = formFailure(c, err, values);
        return renderView(c, {
          page: (
            <HistoryPage
              accountId={account._id}
              filter={filter}
              trades={[]}
              ledger={[]}
              state={state}
            />
          ),
          title: "History",
          status,
        });
      }
    })
    .get("/gains", async (c) => {
      const now = new Date();
      const account = await pages.account(c);
      const current = taxYearOf(now);
      const query = parseInput(realizedGainsQuery, {
        ...c.req.query(),
        year: c.req.query("year") ?? String(current),
      });
      const { page, totals } = await realizedGains(
        deps.store,
        account._id,
        query.year,
        PAGE_SIZE,
        query.cursor,
      );
      const base = `/history/gains?year=${query.year}`;
      const years = [];
      for (let y = current; y >= Math.max(taxYearOf(account.createdAt), current - 4); y--) {
        years.push(y);
      }
      return renderView(c, {
        page: (
          <RealizedGainsPage
            year={query.year}
            years={years.includes(query.year) ? years : [...years, query.year]}
            method={lotMethodOf(account)}
            shortTerm={totalsJson(totals.short)}
            longTerm={totalsJson(totals.long)}
            total={totalsJson({
              proceeds: totals.short.proceeds + totals.long.proceeds,
              cost: totals.short.cost + totals.long.cost,
              gain: totals.short.gain + totals.long.gain,
            })}
            items={page.items}
            pages={{
              newer: query.cursor ? base : undefined,
              older: page.nextCursor
                ? `${base}&${new URLSearchParams({ cursor: page.nextCursor })}`
                : undefined,
            }}
          />
        ),
        title: `Realized gains ${query.year}`,
      });
    });
}

/** The history page's address with these filters and cursors (empty ones left out). */
function historyHref(params: Record<string, string | null | undefined>): string {
  const search = new URLSearchParams(
    Object.entries(params).filter((e): e is [string, string] => !!e[1]),
  );
  return search.size ? `/history?${search}` : "/history";
}

/** The filter's days (UTC, both included) as a time range; either end may be open. */
function historyRange(from?: string, to?: string): TimeRange {
  if (from && to) {
    const { gte, lt } = dayRange(from, to);
    return { gte, lt };
  }
  return {
    gte: from ? parseDay(from)! : undefined,
    lt: to ? new Date(parseDay(to)!.getTime() + 86_400_000) : undefined,
  };
}
