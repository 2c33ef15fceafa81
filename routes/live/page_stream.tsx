/**
 * `GET /live?page=…`: the live pages' stream (issue 10). Each trading page opens one (views/live.tsx
 * `LiveConnection`) naming itself and what it shows; once a second the stream rebuilds that
 * page's live figures from the store and the market, and sends, as one message of out-of-band
 * swaps, only the figures whose markup changed since it last sent them. Parts whose shape
 * changes (a position opened or closed, an order placed elsewhere, the chart's next minute, the
 * ticket's estimate) are named in an event instead, and reload themselves (`LiveBlock`).
 *
 * The page passes the account version it showed (`v`) and when it was rendered (`at`): the
 * first tick rebuilds the figures as the page showed them and sends nothing for them, so a page
 * is not re-sent in full when its stream opens; a version that moved since sends every part.
 *
 * A tick with no market open among the page's symbols and no change to the account reads the
 * account only: nothing streams for symbols whose market is closed.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { LiveCell } from "../../views/live.tsx";
import { Live, SessionEndedNotice } from "../../views/live.tsx";
import type { Account } from "../../lib/trading/accounts.ts";
import { marketOpen, securityFor } from "../../lib/trading/market.ts";
import { listOrders, type Order, orderJson } from "../../lib/trading/orders.ts";
import { accountSnapshot } from "../../lib/trading/portfolio.ts";
import { listWatchlists } from "../../lib/trading/watchlists.ts";
import { listNotifications, unreadCount } from "../../lib/notify/notifications.ts";
import { bellCell } from "../../views/notifications.tsx";
import { formatFixed, parseFixed, sumFixed } from "../../lib/money.ts";
import {
  accountCells,
  DASHBOARD_FIGURES,
  DASHBOARD_WATCHLIST,
  POSITIONS_FIGURES,
} from "../../views/dashboard.tsx";
import { orderCells } from "../../views/orders.tsx";
import { ticketCells, tradeQuoteCells } from "../../views/trade.tsx";
import { positionCells, quoteCells } from "../../views/trading.tsx";
import { watchlistPrefix } from "../../views/watchlist.tsx";
import type { AppDeps, AppEnv } from "../env.ts";
import { noStore } from "../middleware/no_store.ts";
import { requireUser, sessionCheck } from "../middleware/session.ts";
import { parseInput } from "../request.ts";
import { chosenAccount, quotesOf } from "../trading_context.ts";
import type { LiveMessage } from "./streams.ts";
import { OPEN_ORDERS_SHOWN } from "../dashboard.tsx";
import { ORDERS_PAGE_SIZE } from "../order_pages.tsx";

export const LIVE_PAGES = ["dashboard", "positions", "orders", "watchlist", "trade"] as const;
export type LivePage = (typeof LIVE_PAGES)[number];

/** The trade page's 1D chart gains a point a minute; the ticket's estimate follows prices. */
const CHART_REFRESH_MS = 60_000;
const ESTIMATE_REFRESH_MS = 5_000;
/** Orders a page keeps following (its list, and those placed while it is open). */
const MAX_TRACKED_ORDERS = 100;
/** A page rendered longer ago than this gets every part on its first tick. */
const SEED_WINDOW_MS = 60_000;

const liveQuery = z.object({
  page: z.enum(LIVE_PAGES, { error: `Use one of ${LIVE_PAGES.join(", ")}.` }),
  symbol: z.string().max(20).optional(),
  status: z.enum(["open", "closed", "all"]).default("open"),
  cursor: z.string().max(500).optional(),
  v: z.coerce.number().int().nonnegative().optional(),
  at: z.coerce.number().int().nonnegative().optional(),
});

/**
 * The address of a page's stream, with the account version it showed (none for a page that shows
 * no account figures) and the time it was rendered at.
 */
export function liveAddress(
  page: LivePage,
  account: Account | null,
  renderedAt: Date,
  params: Record<string, string | undefined> = {},
): string {
  const query = new URLSearchParams({ page });
  for (const [k, v] of Object.entries(params)) if (v !== undefined) query.set(k, v);
  if (account) query.set("v", String(account._v));
  query.set("at", String(renderedAt.getTime()));
  return `/live?${query}`;
}

/** A page's live state at one instant: its figures, and a key per part that reloads itself. */
type LiveModel = {
  cells: LiveCell[];
  blocks: Record<string, string>;
  /** The symbols whose prices the page shows: while none trades, only the account is read. */
  symbols: string[];
};

export function pageStreamRoutes(deps: AppDeps) {
  const ctx = deps.trading;
  const { store } = deps;
  const { market } = ctx;

  return new Hono<AppEnv>().use(requireUser, noStore).get("/", (c) => {
    const query = parseInput(liveQuery, c.req.query());
    const userId = c.get("user")!._id;
    const security = query.page === "trade" ? securityFor(market, query.symbol ?? "") : undefined;
    // The account the page shows; the stream asks again each time, as the page would.
    const account = () => chosenAccount(c, store, ctx.settings.startingCash);

    // The orders a page lists stay on it as they fill or end; new ones reload the list, and stay.
    let shownOrders: string[] = [];
    // Watchlists change only from their own page, which reloads: read them once.
    let lists: { symbols: string[] }[] | undefined;

    async function orderRows(
      accountId: string,
      status: "open" | "closed" | "all",
      limit: number,
      cursor?: string,
    ) {
      const listed = (await listOrders(store, { accountId }, status, limit, cursor)).items;
      const ids = new Set([...shownOrders, ...listed.map((o) => o._id)]);
      shownOrders = [...ids].slice(-MAX_TRACKED_ORDERS);
      return (await store.getMany<Order>("orders", shownOrders)).filter((o) => o !== null);
    }

    /** The page's live state at `now`, for the account as it is. */
    async function model(current: Account, now: Date): Promise<LiveModel> {
      switch (query.page) {
        case "dashboard": {
          const [snapshot, open] = await Promise.all([
            accountSnapshot(ctx, current, now),
            listOrders(store, { accountId: current._id }, "open", OPEN_ORDERS_SHOWN),
          ]);
          lists ??= (await listWatchlists(store, userId, now)).slice(0, 1);
          const watched = await quotesOf(market, lists[0]?.symbols ?? [], now);
          const figures = accountCells(snapshot.account);
          return {
            cells: [
              ...DASHBOARD_FIGURES.map((f) => figures[f]),
              ...snapshot.positions.flatMap((p) => Object.values(positionCells(p))),
              ...watched.flatMap((q) => Object.values(quoteCells(DASHBOARD_WATCHLIST, q))),
            ],
            blocks: {
              positions: snapshot.positions.map((p) => `${p.symbol}:${p.qty}`).join(),
              orders: open.items.map((o) => `${o._id}:${o.status}:${o.filledQty}`).join(),
            },
            symbols: [...snapshot.positions.map((p) => p.symbol), ...watched.map((q) => q.symbol)],
          };
        }
        case "positions": {
          const snapshot = await accountSnapshot(ctx, current, now);
          const unrealized = sumFixed(
            snapshot.positions.map((p) => parseFixed(p.unrealizedPnl, 2)),
          );
          const figures = accountCells(snapshot.account, formatFixed(unrealized));
          return {
            cells: [
              ...POSITIONS_FIGURES.map((f) => figures[f]),
              ...snapshot.positions.flatMap((p) => Object.values(positionCells(p))),
            ],
            blocks: {
              positions: snapshot.positions.map((p) => `${p.symbol}:${p.qty}`).join(),
            },
            symbols: snapshot.positions.map((p) => p.symbol),
          };
        }
        case "orders": {
          const next = `/orders?status=${query.status}`;
          const shown = await orderRows(current._id, query.status, ORDERS_PAGE_SIZE, query.cursor);
          return {
            cells: shown.flatMap((o) => Object.values(orderCells(orderJson(o), next))),
            // Only orders new to the list reload it; one that filled stays, marked filled.
            blocks: { orders: shownOrders.join() },
            // A working trailing stop's stop moves with its symbol's price.
            symbols: shown.filter((o) => o.open && o.type === "trailing_stop").map((o) => o.symbol),
          };
        }
        case "watchlist": {
          lists ??= await listWatchlists(store, userId, now);
          const quoted = await Promise.all(lists.map((l) => quotesOf(market, l.symbols, now)));
          return {
            cells: quoted.flatMap((quotes, n) =>
              quotes.flatMap((q) => Object.values(quoteCells(watchlistPrefix(n), q)))
            ),
            blocks: {},
            symbols: quoted.flat().map((q) => q.symbol),
          };
        }
        case "trade": {
          const [[quote], snapshot] = await Promise.all([
            market.provider.quotes([security!], now),
            accountSnapshot(ctx, current, now),
          ]);
          const position = snapshot.positions.find((p) => p.symbol === security!.symbol);
          const holding = position ? { qty: position.qty, value: position.marketValue } : null;
          const buyingPower = snapshot.account.buyingPower;
          // The chart is the regular session's; the quote, and so the estimate, move in extended hours.
          const open = marketOpen(market, security!, now);
          const moving = marketOpen(market, security!, now, true);
          return {
            cells: [
              ...Object.values(tradeQuoteCells(quote)),
              ...Object.values(
                ticketCells({ symbol: security!.symbol, last: quote.last, holding, buyingPower }),
              ),
            ],
            blocks: {
              chart: open ? String(Math.floor(now.getTime() / CHART_REFRESH_MS)) : "closed",
              ticket: `${buyingPower}|${holding?.qty ?? 0}|${
                moving ? Math.floor(now.getTime() / ESTIMATE_REFRESH_MS) : ""
              }`,
            },
            symbols: [security!.symbol],
          };
        }
      }
    }

    // What the page shows now, as far as the stream knows: markup by cell id, key by part.
    let sent = new Map<string, string>();
    let keys = new Map<string, string>();
    let seenVersion: number | undefined;
    let symbols: string[] = [];
    let first = true;

    // The header's bell: the newest unread notification the stream has seen, so the count is
    // read again only when one arrives (or all are read).
    let newestUnread: string | undefined;
    async function bell(): Promise<LiveMessage[]> {
      const [newest] = (await listNotifications(store, userId, { unread: true, limit: 1 })).items;
      const id = newest?._id ?? "";
      const seen = newestUnread ??
        (newest && query.at !== undefined && newest.at.getTime() > query.at
          // Arrived after the page was rendered: the page's count is behind.
          ? ""
          : id);
      newestUnread = id;
      if (seen === id) return [];
      return [{ data: await html(bellCell(await unreadCount(store, userId))) }];
    }

    async function tick(now: Date): Promise<LiveMessage[]> {
      const bellMessages = await bell();
      return [...bellMessages, ...await pageTick(now)];
    }

    async function pageTick(now: Date): Promise<LiveMessage[]> {
      const current = await account();
      const anyOpen = symbols.some((s) => {
        const known = market.catalog.get(s);
        // Prices move in pre-market and after-hours too.
        return known !== undefined && marketOpen(market, known, now, true);
      });
      if (!first && current._v === seenVersion && !anyOpen) return [];
      const nextSent = new Map(sent);
      const nextKeys = new Map(keys);
      if (first && query.at !== undefined && Math.abs(now.getTime() - query.at) <= SEED_WINDOW_MS) {
        // The page as rendered: its prices at `at`; its parts only if the account has not moved.
        const shown = await model(current, new Date(Math.min(query.at, now.getTime())));
        for (const cell of shown.cells) nextSent.set(cell.id, await html(cell));
        if (current._v === query.v) {
          for (const [name, key] of Object.entries(shown.blocks)) nextKeys.set(name, key);
        }
      }
      const state = await model(current, now);
      const changed: string[] = [];
      for (const cell of state.cells) {
        const markup = await html(cell);
        if (nextSent.get(cell.id) !== markup) changed.push(markup);
        nextSent.set(cell.id, markup);
      }
      const reload = Object.entries(state.blocks).filter(([name, key]) =>
        nextKeys.get(name) !== key
      );
      for (const [name, key] of reload) nextKeys.set(name, key);

      // Everything is read: from here on nothing can fail, so the stream's memory moves on.
      first = false;
      seenVersion = current._v;
      symbols = state.symbols;
      sent = nextSent;
      keys = nextKeys;

      const messages: LiveMessage[] = [];
      if (changed.length > 0) messages.push({ data: changed.join("") });
      for (const [name] of reload) messages.push({ event: name, data: name });
      return messages;
    }

    // The page that opened the stream, where signing in again should lead back to.
    const referer = new URL(c.req.header("Referer") ?? "/dashboard", "http://localhost");
    const page = referer.pathname + referer.search;
    return deps.live.open(c, {
      userId,
      signedIn: sessionCheck(c, deps),
      tick,
      ended: async () => [
        { data: await (<SessionEndedNotice next={page} />).toString() },
        { event: "session_ended", data: "session_ended" },
      ],
    });
  });
}

/** A cell as its out-of-band swap. */
async function html(cell: LiveCell): Promise<string> {
  return await (<Live cell={cell} oob />).toString();
}
