/** /watchlist: the user's watchlists with quotes; adding and removing symbols, and managing the lists. */
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError } from "../lib/errors.ts";
import { normalizeSymbol } from "../lib/market/securities.ts";
import { securityFor } from "../lib/trading/market.ts";
import {
  addSymbol,
  createWatchlist,
  deleteWatchlist,
  listWatchlists,
  removeSymbol,
  renameWatchlist,
  type Watchlist,
} from "../lib/trading/watchlists.ts";
import type { FormState } from "../views/form.tsx";
import {
  AddSymbolForm,
  CreateForm,
  RenameForm,
  type WatchlistForm,
  WatchlistPage,
} from "../views/watchlist.tsx";
import { liveAddress } from "./live/page_stream.tsx";
import type { AppDeps, AppEnv } from "./env.ts";
import { setFlash } from "./middleware/flash.ts";
import { requireUser } from "./middleware/session.ts";
import { formFailure, renderView } from "./render.ts";
import { formBody, parseInput, redirectAfterPost } from "./request.ts";
import { noStore } from "./middleware/no_store.ts";
import { buttonAction, quotesOf, sparksOf, tradingPageContext } from "./trading_context.ts";
import { provideSparks } from "../views/chart.tsx";
import { symbolInput, watchlistName } from "./trading_schemas.ts";

export function watchlistRoutes(deps: AppDeps) {
  const { store } = deps;
  const { market } = deps.trading;
  const pages = tradingPageContext(deps);

  async function page(
    c: Context<AppEnv>,
    failed?: { form: WatchlistForm; state: FormState; status: ContentfulStatusCode },
  ) {
    const now = new Date();
    const lists = await listWatchlists(store, pages.userId(c), now);
    const symbols = [...new Set(lists.flatMap((l) => l.symbols))];
    const [quoted, sparks] = await Promise.all([
      quotesOf(market, symbols, now),
      sparksOf(market, symbols, now),
    ]);
    const quotes = new Map(quoted.map((q) => [q.symbol, q]));
    provideSparks(c, sparks);
    return renderView(c, {
      page: (
        <WatchlistPage
          lists={lists.map((list) => ({
            list,
            quotes: list.symbols.map((s) => quotes.get(s)).filter((q) => q !== undefined),
          }))}
          failed={failed}
          live={liveAddress("watchlist", null, now)}
        />
      ),
      partial: failed && failedForm(lists, failed.form, failed.state),
      title: "Watchlists",
      status: failed?.status,
    });
  }

  /**
   * A form's action: on success a flash and back to /watchlist; on a 4xx the form again with its
   * errors (just the form for htmx). Another user's list is a 404 page.
   */
  function formAction(
    form: (c: Context<AppEnv>) => WatchlistForm,
    action: (c: Context<AppEnv>, values: Record<string, string>) => Promise<string>,
  ) {
    return async (c: Context<AppEnv>) => {
      const values = await formBody(c);
      try {
        await setFlash(c, { kind: "success", text: await action(c, values) });
        return redirectAfterPost(c, "/watchlist");
      } catch (err) {
        if (err instanceof AppError && err.status === 404) throw err;
        return page(c, { form: form(c), ...formFailure(c, err, values) });
      }
    };
  }

  const listForm = (form: "add" | "rename") => (c: Context<AppEnv>): WatchlistForm => ({
    form,
    listId: c.req.param("id")!,
  });

  return new Hono<AppEnv>()
    .use(requireUser, noStore)
    .get("/", (c) => page(c))
    .post(
      "/",
      formAction(() => ({ form: "create" }), async (c, values) => {
        const { name } = parseInput(watchlistName, values);
        const list = await createWatchlist(store, pages.userId(c), name);
        return `Created the watchlist “${list.name}”.`;
      }),
    )
    .post(
      "/:id/rename",
      formAction(listForm("rename"), async (c, values) => {
        const { name } = parseInput(watchlistName, values);
        const list = await renameWatchlist(store, pages.userId(c), c.req.param("id")!, name);
        return `Renamed the watchlist to “${list.name}”.`;
      }),
    )
    .post(
      "/:id/symbols",
      formAction(listForm("add"), async (c, values) => {
        const { symbol } = parseInput(symbolInput, values);
        const security = securityFor(market, symbol);
        const list = await addSymbol(store, pages.userId(c), c.req.param("id")!, security.symbol);
        return `Added ${security.symbol} to “${list.name}”.`;
      }),
    )
    .post("/:id/symbols/remove", async (c) => {
      const values = await formBody(c);
      return buttonAction(c, "/watchlist", async () => {
        const { symbol } = parseInput(symbolInput, values);
        const list = await removeSymbol(
          store,
          pages.userId(c),
          c.req.param("id"),
          normalizeSymbol(symbol),
        );
        return `Removed ${normalizeSymbol(symbol)} from “${list.name}”.`;
      });
    })
    .post("/:id/delete", (c) =>
      buttonAction(c, "/watchlist", async () => {
        await deleteWatchlist(store, pages.userId(c), c.req.param("id"));
        return "The watchlist is deleted.";
      }));
}

/** The one form that failed, for htmx to swap in place. */
function failedForm(lists: Watchlist[], form: WatchlistForm, state: FormState) {
  if (form.form === "create") return <CreateForm state={state} />;
  const index = lists.findIndex((l) => l._id === form.listId);
  if (index < 0) return undefined;
  return form.form === "add"
    ? <AddSymbolForm list={lists[index]} index={index} state={state} />
    : <RenameForm list={lists[index]} index={index} state={state} />;
}
