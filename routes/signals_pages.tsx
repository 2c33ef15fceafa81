/**
 * /settings/signals: the signal URLs page and its forms (make, revoke), and each URL's log, for a
 * signed-in session; making one needs a recent sign-in, as in /api/signal-urls.
 */
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { reauthenticationRequired } from "../lib/auth/account.ts";
import { inSudoMode } from "../lib/auth/session.ts";
import type { Store } from "../lib/store/port.ts";
import { type Account, ensureOpenAccounts, userAccounts } from "../lib/trading/accounts.ts";
import type { Order } from "../lib/trading/orders.ts";
import {
  createSignalUrl,
  listSignals,
  listSignalUrls,
  ownSignalUrl,
  recentSignals,
  revokeSignalUrl,
  type Signal,
  signalAddress,
  type SignalUrl,
} from "../lib/trading/signals.ts";
import { SignalLogPage, SignalsPage, type SignalsProps } from "../views/signals.tsx";
import type { AppDeps, AppEnv } from "./env.ts";
import { requireUser } from "./middleware/session.ts";
import { formFailure, renderView } from "./render.ts";
import { formBody, parseInput, requestOrigin } from "./request.ts";
import { signalsQuery, signalUrlInput } from "./signals_schemas.ts";
import { buttonAction } from "./trading_context.ts";
import { sudoReauth } from "./sudo_reauth.tsx";

/** Signals a log page shows at once, and how many of the latest the main page shows. */
const LOG_PAGE_SIZE = 25;
const RECENT_COUNT = 10;

/** The orders the signals placed, to show how each one stands now. */
async function ordersOf(store: Store, signals: Signal[]): Promise<Map<string, Order>> {
  const ids = [...new Set(signals.flatMap((s) => s.orderId ? [s.orderId] : []))];
  const orders = ids.length ? await store.getMany<Order>("orders", ids) : [];
  return new Map(orders.flatMap((o) => o ? [[o._id, o]] : []));
}

export function signalPages(deps: AppDeps) {
  const { store, config } = deps;
  const origin = (c: Context<AppEnv>) => requestOrigin(c, config.trustProxy);

  async function page(
    c: Context<AppEnv>,
    extra: Pick<SignalsProps, "created" | "failed"> & { status?: ContentfulStatusCode } = {},
  ) {
    // The page may show a token and a secret (just made): no cache may keep it.
    c.header("Cache-Control", "no-store");
    const user = c.get("user")!;
    const [urls, recent] = await Promise.all([
      listSignalUrls(store, user._id),
      recentSignals(store, user._id, RECENT_COUNT),
    ]);
    const open = await ensureOpenAccounts(store, user._id, deps.trading.settings.startingCash);
    // URLs may point at accounts closed since; those are named too.
    const closed = urls.some((u) => !open.some((a) => a._id === u.accountId))
      ? (await userAccounts(store, user._id)).filter((a) => a.status !== "active")
      : [];
    return renderView(c, {
      page: (
        <SignalsPage
          user={user}
          urls={urls}
          accounts={open}
          knownAccounts={[...open, ...closed]}
          recent={recent}
          orders={await ordersOf(store, recent)}
          sudo={inSudoMode(c.get("session")!)}
          appSigning={config.webhookSecret !== undefined}
          created={extra.created}
          failed={extra.failed}
        />
      ),
      title: "Signal URLs",
      status: extra.status,
    });
  }

  return new Hono<AppEnv>()
    .use(requireUser)
    .get("/", (c) => page(c))
    .post("/", async (c) => {
      const values = await formBody(c);
      let created: { url: SignalUrl; token: string; secret: string | null };
      try {
        if (!inSudoMode(c.get("session")!)) throw reauthenticationRequired();
        const input = parseInput(signalUrlInput, values);
        created = await createSignalUrl(
          store,
          { ...config, startingCash: deps.trading.settings.startingCash },
          c.get("user")!,
          input,
          origin(c),
        );
      } catch (err) {
        const { state, status } = formFailure(c, err, values);
        const form = inSudoMode(c.get("session")!) ? "create" : "reauth";
        return page(c, { failed: { form, state }, status });
      }
      // The token and secret go out in this answer only: never in a redirect, a cookie or a flash.
      return page(c, {
        created: {
          url: created.url,
          address: signalAddress(config.appUrl, created.token),
          secret: created.secret,
        },
        status: 201,
      });
    })
    .post(
      "/reauth",
      sudoReauth(deps, {
        base: "/settings/signals",
        confirmed: "Confirmed. You can make signal URLs for 10 minutes.",
        page: (c, failed) => page(c, failed),
      }),
    )
    .post("/:id/revoke", (c) =>
      buttonAction(c, "/settings/signals", async () => {
        const url = await revokeSignalUrl(store, c.get("user")!._id, c.req.param("id"), origin(c));
        return `“${url.name}” is revoked; signals sent to it are refused from now on.`;
      }))
    .get("/:id", async (c) => {
      const user = c.get("user")!;
      const url = await ownSignalUrl(store, user._id, c.req.param("id"));
      const query = parseInput(signalsQuery.omit({ limit: true }), c.req.query());
      const signals = await listSignals(store, url, LOG_PAGE_SIZE, query.cursor);
      const base = `/settings/signals/${encodeURIComponent(url._id)}`;
      const account = await store.get<Account>("accounts", url.accountId);
      return renderView(c, {
        page: (
          <SignalLogPage
            url={url}
            account={account ?? undefined}
            signals={signals.items}
            orders={await ordersOf(store, signals.items)}
            newer={query.cursor ? base : undefined}
            older={signals.nextCursor
              ? `${base}?cursor=${encodeURIComponent(signals.nextCursor)}`
              : undefined}
          />
        ),
        title: `Signals of ${url.name}`,
      });
    });
}
