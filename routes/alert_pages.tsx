/** /alerts: the user's price alerts, a form to create one (pre-filled by ?symbol=), and deletes. */
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError } from "../lib/errors.ts";
import { normalizeSymbol } from "../lib/market/securities.ts";
import { formatFixed } from "../lib/money.ts";
import { createAlert, deleteAlert, listAlerts } from "../lib/trading/alerts.ts";
import { liveQuote } from "../lib/trading/market.ts";
import type { FormState } from "../views/form.tsx";
import { AlertForm, AlertsPage } from "../views/alerts.tsx";
import type { AppDeps, AppEnv } from "./env.ts";
import { setFlash } from "./middleware/flash.ts";
import { noStore } from "./middleware/no_store.ts";
import { requireUser } from "./middleware/session.ts";
import { formFailure, renderView } from "./render.ts";
import { formBody, parseInput, redirectAfterPost } from "./request.ts";
import { buttonAction, tradingPageContext } from "./trading_context.ts";
import { alertInput } from "./trading_schemas.ts";

/** How many triggered alerts the page shows, most recently fired first. */
const TRIGGERED_SHOWN = 50;

export function alertRoutes(deps: AppDeps) {
  const { store } = deps;
  const ctx = deps.trading;
  const pages = tradingPageContext(deps);

  /** "Last 187.25" for a known symbol, so the level can be chosen against the price. */
  async function lastHint(symbol: string | undefined): Promise<string | undefined> {
    const security = symbol ? ctx.market.catalog.get(normalizeSymbol(symbol)) : undefined;
    if (!security) return undefined;
    try {
      const quote = await liveQuote(ctx.market, security, new Date());
      return `${security.symbol} last ${formatFixed(quote.last, security.priceDecimals)}`;
    } catch {
      // Without market data the form still works; the server checks the level when it is sent.
      return undefined;
    }
  }

  async function page(
    c: Context<AppEnv>,
    failed?: { state: FormState; status: ContentfulStatusCode },
  ) {
    const userId = pages.userId(c);
    const symbol = failed?.state.values?.symbol ?? c.req.query("symbol")?.slice(0, 20);
    const [active, triggered, hint] = await Promise.all([
      listAlerts(store, userId, { status: "active", limit: 200 }),
      listAlerts(store, userId, { status: "triggered", limit: TRIGGERED_SHOWN }),
      lastHint(symbol),
    ]);
    const initial = { symbol: symbol ? normalizeSymbol(symbol) : "", condition: "above" };
    return renderView(c, {
      page: (
        <AlertsPage
          active={active.items}
          triggered={triggered.items}
          initial={initial}
          lastHint={hint}
          failed={failed?.state}
        />
      ),
      partial: failed && <AlertForm initial={initial} lastHint={hint} state={failed.state} />,
      title: "Price alerts",
      status: failed?.status,
    });
  }

  return new Hono<AppEnv>()
    .use(requireUser, noStore)
    .get("/", (c) => page(c))
    .post("/", async (c) => {
      const values = await formBody(c);
      try {
        const input = parseInput(alertInput, values);
        const alert = await createAlert(ctx, pages.userId(c), input);
        const when = alert.condition === "above" ? "rises to" : "falls to";
        await setFlash(c, {
          kind: "success",
          text: `Alert set: ${alert.symbol} ${when} ${alert.price}.`,
        });
        return redirectAfterPost(c, "/alerts");
      } catch (err) {
        if (err instanceof AppError && err.status === 404) throw err;
        return page(c, formFailure(c, err, values));
      }
    })
    .post("/:id/delete", (c) =>
      buttonAction(c, "/alerts", async () => {
        await deleteAlert(store, pages.userId(c), c.req.param("id"));
        return "The alert is deleted.";
      }));
}
