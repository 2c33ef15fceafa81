/**
 * The trading JSON API (docs/design.md, HTTP contract): accounts, clock, securities, quotes,
 * orders, positions, history, watchlists, price alerts.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { AppError, notFound } from "../lib/errors.ts";
import { clockJson } from "../lib/market/clock.ts";
import { normalizeSymbol } from "../lib/market/securities.ts";
import {
  closeAccount,
  confirmReset,
  ensureActiveAccount,
  openAccount,
  ownAccount,
  parseStartingCash,
  requestedAccount,
  resetDemoAccount,
  userAccounts,
} from "../lib/trading/accounts.ts";
import {
  alertJson,
  createAlert,
  deleteAlert,
  listAlerts,
  ownAlert,
} from "../lib/trading/alerts.ts";
import { closeAllPositions, closePosition } from "../lib/trading/close_positions.ts";
import { listAccountTrades, tradeJson } from "../lib/trading/history.ts";
import { ledgerEntryJson, listLedger } from "../lib/trading/ledger.ts";
import { corporateActionJson, declaredActions } from "../lib/trading/corporate_actions.ts";
import {
  lotMethodOf,
  realizedGainJson,
  realizedGains,
  setLotMethod,
  totalsJson,
} from "../lib/trading/lots.ts";
import { securityFor } from "../lib/trading/market.ts";
import {
  cancelAllOrders,
  cancelOrder,
  listOrders,
  ordersJson,
  ownOrder,
  placeOrder,
  replaceOrder,
} from "../lib/trading/orders.ts";
import { accountSnapshot } from "../lib/trading/portfolio.ts";
import {
  addSymbol,
  createWatchlist,
  deleteWatchlist,
  listWatchlists,
  ownWatchlist,
  removeSymbol,
  renameWatchlist,
  watchlistJson,
} from "../lib/trading/watchlists.ts";
import type { AppDeps, AppEnv } from "./env.ts";
import { requireUser } from "./middleware/session.ts";
import { jsonBody, parseInput, requestOrigin } from "./request.ts";
import { quotesFor, securityJson } from "./market_json.ts";
import { accountPatch, realizedGainsQuery } from "./lots_schemas.ts";
import {
  accountsQuery,
  alertInput,
  alertsQuery,
  barsQuery,
  closeAccountInput,
  closeAllQuery,
  closeQuery,
  corporateActionsQuery,
  idempotencyHeader,
  listQuery,
  newAccountInput,
  orderInput,
  ordersQuery,
  replaceInput,
  resetInput,
  symbolInput,
  watchlistName,
} from "./trading_schemas.ts";

/** {"confirm": "<account number>"}; an empty body is a missing confirmation, not bad JSON. */
async function confirmationBody(c: Context<AppEnv>): Promise<unknown> {
  return (await c.req.text()).trim() === "" ? {} : await jsonBody(c);
}

export function tradingApi(deps: AppDeps) {
  const ctx = deps.trading;
  const { store } = deps;
  const userId = (c: Context<AppEnv>) => c.get("user")!._id;
  const origin = (c: Context<AppEnv>) => requestOrigin(c, deps.config.trustProxy);
  const account = (c: Context<AppEnv>) =>
    ensureActiveAccount(store, userId(c), ctx.settings.startingCash);
  /** The account `?accountId=` names (404 when not the user's), else the active one. */
  const named = (c: Context<AppEnv>, accountId: string | undefined) =>
    requestedAccount(store, userId(c), accountId, ctx.settings.startingCash);

  return new Hono<AppEnv>()
    .get("/clock", (c) => c.json(clockJson(ctx.market.clock, new Date())))
    .get("/securities", (c) => {
      const q = c.req.query("q") ?? "";
      const results = q ? ctx.market.catalog.search(q, 20) : ctx.market.catalog.all();
      return c.json({ securities: results.map(securityJson) });
    })
    .get("/securities/:symbol{.+}", (c) => {
      // The path names a resource: unknown is a 404 like any missing id (unknown_symbol is for
      // input), and a halted one is still shown, with `tradable: false`.
      const security = ctx.market.catalog.get(c.req.param("symbol"));
      if (!security) throw notFound("No such security.");
      return c.json(securityJson(security));
    })
    .get("/quotes", async (c) => {
      const symbols = (c.req.query("symbols") ?? "").split(",").map((s) => s.trim()).filter(
        Boolean,
      );
      if (symbols.length === 0) {
        throw new AppError(
          422,
          "validation_failed",
          "Name at least one symbol: ?symbols=AAPL,MSFT.",
        );
      }
      if (symbols.length > 50) {
        throw new AppError(422, "validation_failed", "Ask for at most 50 symbols at once.");
      }
      return c.json({ quotes: await quotesFor(ctx.market, symbols, new Date()) });
    })
    .get("/corporate-actions", (c) => {
      // Public market data like /bars: the dividends and splits declared for a symbol.
      const query = parseInput(corporateActionsQuery, c.req.query());
      const security = ctx.market.catalog.get(query.symbol);
      if (!security) throw notFound("No such security.");
      const actions = declaredActions(security, query.start, query.end, new Date());
      return c.json({ symbol: security.symbol, actions: actions.map(corporateActionJson) });
    })
    .get("/bars/:symbol{.+}", async (c) => {
      // Public market data like /quotes; the path names a resource, so unknown is a 404.
      const security = ctx.market.catalog.get(c.req.param("symbol"));
      if (!security) throw notFound("No such security.");
      const query = parseInput(barsQuery, c.req.query());
      const now = new Date();
      const bars = await ctx.market.provider.bars(security, {
        timeframe: query.timeframe,
        start: query.start,
        end: query.end ?? now,
        limit: query.limit,
      }, now);
      return c.json({ symbol: security.symbol, timeframe: query.timeframe, bars });
    })
    .use("/accounts/*", requireUser)
    .use("/accounts", requireUser)
    .get("/accounts", async (c) => {
      const { status } = parseInput(accountsQuery, c.req.query());
      await account(c);
      const accounts = (await userAccounts(store, userId(c))).filter((a) =>
        status === "all" || (a.status === "active") === (status === "open")
      );
      const snapshots = await Promise.all(accounts.map((a) => accountSnapshot(ctx, a)));
      return c.json({ accounts: snapshots.map((s) => s.account) });
    })
    .post("/accounts", async (c) => {
      const input = parseInput(newAccountInput, await jsonBody(c));
      const opened = await openAccount(store, userId(c), {
        name: input.name,
        startingCash: parseStartingCash(input.startingCash, ctx.settings.startingCash),
      }, origin(c));
      return c.json({ account: (await accountSnapshot(ctx, opened)).account }, 201);
    })
    .patch("/accounts/:id", async (c) => {
      const current = await ownAccount(store, userId(c), c.req.param("id"));
      const { lotMethod } = parseInput(accountPatch, await jsonBody(c));
      const changed = await setLotMethod(store, current._id, lotMethod, origin(c));
      return c.json({ account: (await accountSnapshot(ctx, changed)).account });
    })
    .post("/accounts/:id/reset", async (c) => {
      const current = await ownAccount(store, userId(c), c.req.param("id"));
      const input = parseInput(resetInput, await confirmationBody(c));
      const startingCash = parseStartingCash(input.startingCash, current.startingCash);
      await confirmReset(store, current, input.confirm, origin(c));
      const fresh = await resetDemoAccount(store, current, startingCash, origin(c));
      return c.json({ account: (await accountSnapshot(ctx, fresh)).account }, 201);
    })
    .post("/accounts/:id/close", async (c) => {
      const current = await ownAccount(store, userId(c), c.req.param("id"));
      const { confirm } = parseInput(closeAccountInput, await confirmationBody(c));
      const closed = await closeAccount(store, current, confirm, origin(c));
      return c.json({ account: (await accountSnapshot(ctx, closed)).account });
    })
    .use("/orders/*", requireUser)
    .use("/orders", requireUser)
    .post("/orders", async (c) => {
      const { "Idempotency-Key": key } = parseInput(idempotencyHeader, {
        "Idempotency-Key": c.req.header("Idempotency-Key"),
      });
      const input = parseInput(orderInput, await jsonBody(c));
      const { order, replayed } = await placeOrder(ctx, userId(c), {
        ...input,
        symbol: normalizeSymbol(input.symbol),
      }, {
        idempotencyKey: key,
        origin: origin(c),
      });
      if (replayed) c.header("Idempotent-Replayed", "true");
      return c.json(order, replayed ? 200 : 201);
    })
    .get("/orders", async (c) => {
      const query = parseInput(ordersQuery, c.req.query());
      const target = await named(c, query.accountId);
      const owner = { accountId: target._id };
      const page = await listOrders(store, owner, query.status, query.limit, query.cursor);
      return c.json({ orders: await ordersJson(store, page.items), nextCursor: page.nextCursor });
    })
    .delete("/orders", async (c) => {
      const target = await named(c, c.req.query("accountId")?.slice(0, 100));
      const cancelled = await cancelAllOrders(ctx, target, origin(c));
      return c.json({ cancelled });
    })
    .get(
      "/orders/:id",
      async (c) =>
        c.json((await ordersJson(store, [await ownOrder(store, userId(c), c.req.param("id"))]))[0]),
    )
    .delete(
      "/orders/:id",
      async (c) => c.json(await cancelOrder(ctx, userId(c), c.req.param("id"), origin(c))),
    )
    .patch("/orders/:id", async (c) => {
      const changes = parseInput(replaceInput, await jsonBody(c));
      return c.json(await replaceOrder(ctx, userId(c), c.req.param("id"), changes, origin(c)));
    })
    .delete("/positions/:symbol{.+}", requireUser, async (c) => {
      const query = parseInput(closeQuery, c.req.query());
      return c.json(
        await closePosition(ctx, userId(c), c.req.param("symbol"), query, origin(c)),
      );
    })
    .delete("/positions", requireUser, async (c) => {
      const query = parseInput(closeAllQuery, c.req.query());
      return c.json({ results: await closeAllPositions(ctx, userId(c), query, origin(c)) });
    })
    .get("/positions", requireUser, async (c) => {
      const target = await named(c, c.req.query("accountId"));
      return c.json({ positions: (await accountSnapshot(ctx, target)).positions });
    })
    .get("/trades", requireUser, async (c) => {
      const query = parseInput(listQuery, c.req.query());
      const target = await named(c, c.req.query("accountId")?.slice(0, 100));
      const page = await listAccountTrades(store, target._id, {}, query.limit, query.cursor);
      return c.json({ trades: page.items.map(tradeJson), nextCursor: page.nextCursor });
    })
    .get("/realized-gains", requireUser, async (c) => {
      const query = parseInput(realizedGainsQuery, c.req.query());
      const target = await named(c, query.accountId);
      const { page, totals } = await realizedGains(
        store,
        target._id,
        query.year,
        query.limit,
        query.cursor,
      );
      return c.json({
        year: query.year,
        accountId: target._id,
        method: lotMethodOf(target),
        shortTerm: totalsJson(totals.short),
        longTerm: totalsJson(totals.long),
        items: page.items.map(realizedGainJson),
        nextCursor: page.nextCursor,
      });
    })
    .get("/activities", requireUser, async (c) => {
      const query = parseInput(listQuery, c.req.query());
      const target = await named(c, c.req.query("accountId"));
      const page = await listLedger(store, target._id, query.limit, query.cursor);
      return c.json({ activities: page.items.map(ledgerEntryJson), nextCursor: page.nextCursor });
    })
    .use("/watchlists/*", requireUser)
    .use("/watchlists", requireUser)
    .get(
      "/watchlists",
      async (c) =>
        c.json({ watchlists: (await listWatchlists(store, userId(c))).map(watchlistJson) }),
    )
    .post("/watchlists", async (c) => {
      const { name } = parseInput(watchlistName, await jsonBody(c));
      return c.json(watchlistJson(await createWatchlist(store, userId(c), name)), 201);
    })
    .get("/watchlists/:id", async (c) => {
      const list = await ownWatchlist(store, userId(c), c.req.param("id"));
      return c.json({
        ...watchlistJson(list),
        quotes: await quotesFor(ctx.market, list.symbols, new Date()),
      });
    })
    .patch("/watchlists/:id", async (c) => {
      const { name } = parseInput(watchlistName, await jsonBody(c));
      return c.json(
        watchlistJson(await renameWatchlist(store, userId(c), c.req.param("id"), name)),
      );
    })
    .delete("/watchlists/:id", async (c) => {
      await deleteWatchlist(store, userId(c), c.req.param("id"));
      return c.body(null, 204);
    })
    .post("/watchlists/:id/symbols", async (c) => {
      const { symbol } = parseInput(symbolInput, await jsonBody(c));
      const security = securityFor(ctx.market, symbol);
      return c.json(
        watchlistJson(await addSymbol(store, userId(c), c.req.param("id"), security.symbol)),
        201,
      );
    })
    .delete("/watchlists/:id/symbols/:symbol{.+}", async (c) => {
      const symbol = normalizeSymbol(c.req.param("symbol"));
      return c.json(watchlistJson(await removeSymbol(store, userId(c), c.req.param("id"), symbol)));
    })
    .use("/alerts/*", requireUser)
    .use("/alerts", requireUser)
    .get("/alerts", async (c) => {
      const query = parseInput(alertsQuery, c.req.query());
      const page = await listAlerts(store, userId(c), query);
      return c.json({ alerts: page.items.map(alertJson), nextCursor: page.nextCursor });
    })
    .post("/alerts", async (c) => {
      const input = parseInput(alertInput, await jsonBody(c));
      return c.json(alertJson(await createAlert(ctx, userId(c), input)), 201);
    })
    .get(
      "/alerts/:id",
      async (c) => c.json(alertJson(await ownAlert(store, userId(c), c.req.param("id")))),
    )
    .delete("/alerts/:id", async (c) => {
      await deleteAlert(store, userId(c), c.req.param("id"));
      return c.body(null, 204);
    });
}
