/** What every trading page needs from a request: the user, their chosen account, quotes, where to go back. */
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { AppError } from "../lib/errors.ts";
import { chartWindow, thinBars } from "../lib/market/bars.ts";
import { ProviderError } from "../lib/market/provider.ts";
import type { Quote } from "../lib/market/simulator.ts";
import { type Account, ensureOpenAccounts } from "../lib/trading/accounts.ts";
import type { Store } from "../lib/store/port.ts";
import type { Market } from "../lib/trading/market.ts";
import type { Spark } from "../views/chart.tsx";
import { changeOf, trend } from "../views/trading.tsx";
import type { AppDeps, AppEnv } from "./env.ts";
import { setFlash } from "./middleware/flash.ts";
import { redirectAfterPost, requestOrigin, safeNext } from "./request.ts";

export function tradingPageContext(deps: AppDeps) {
  return {
    userId: (c: Context<AppEnv>): string => c.get("user")!._id,
    /** The account the pages show: the one chosen in the header, else the user's default one. */
    account: (c: Context<AppEnv>): Promise<Account> =>
      chosenAccount(c, deps.store, deps.trading.settings.startingCash),
    origin: (c: Context<AppEnv>) => requestOrigin(c, deps.config.trustProxy),
  };
}

/**
 * Which of the user's accounts this browser shows. Only a hint: it is checked against the user's
 * open accounts on every request, so a stale or forged value shows the default account instead.
 * Kept per browser, not on the user, so switching on a laptop moves neither a phone nor a script
 * (the API's default stays the user's first account).
 */
export const ACCOUNT_COOKIE = "orion_account";

/**
 * The account the pages show (opening the user's first on first use), with the user's open
 * accounts kept on the context for the header's switcher.
 */
export async function chosenAccount(
  c: Context<AppEnv>,
  store: Store,
  startingCash: string,
): Promise<Account> {
  const open = await ensureOpenAccounts(store, c.get("user")!._id, startingCash);
  const chosen = open.find((a) => a._id === getCookie(c, ACCOUNT_COOKIE)) ?? open[0];
  c.set("accounts", { chosen, open });
  return chosen;
}

/** Remembers the browser's choice of account for a year (checked on every use; see above). */
export function chooseAccount(c: Context<AppEnv>, account: Account, secure: boolean): void {
  setCookie(c, ACCOUNT_COOKIE, account._id, {
    path: "/",
    httpOnly: true,
    sameSite: "Lax",
    secure,
    maxAge: 365 * 24 * 3600,
  });
}

/**
 * Quotes for symbols already known to be listed (a watchlist's, a position's). A symbol halted
 * since it was added still shows its quote; one no longer listed is left out.
 */
export async function quotesOf(market: Market, symbols: string[], at: Date): Promise<Quote[]> {
  const securities = symbols.map((s) => market.catalog.get(s)).filter((s) => s !== undefined);
  return securities.length ? await market.provider.quotes(securities, at) : [];
}

/** Points in a row's sparkline: enough for the day's shape, a couple of hundred bytes. */
const SPARK_POINTS = 24;

/**
 * The 1D sparklines of these symbols (charts, issue 10): the same bars as the trade page's 1D
 * chart, thinned, coloured by the quote's day change so a row agrees with its change column. A
 * symbol whose data is unavailable gets none; the page still renders.
 */
export async function sparksOf(
  market: Market,
  symbols: string[],
  at: Date,
): Promise<Map<string, Spark>> {
  const securities = [...new Set(symbols)].map((s) => market.catalog.get(s)).filter((s) =>
    s !== undefined
  );
  const sparks = await Promise.all(securities.map(async (security) => {
    try {
      const [[quote], bars] = await Promise.all([
        market.provider.quotes([security], at),
        market.provider.bars(security, chartWindow("1D", security, market.clock, at).query, at),
      ]);
      const tone = trend(changeOf(quote).amount);
      return [security.symbol, { bars: thinBars(bars, SPARK_POINTS), tone }] as const;
    } catch (error) {
      if (error instanceof ProviderError) return null;
      throw error;
    }
  }));
  return new Map(sparks.filter((s) => s !== null));
}

/** Where a POST from a list goes back to: the page it came from (a local path only). */
export function backTo(values: Record<string, string>, fallback: string): string {
  return safeNext(values.next, fallback);
}

/** A form sends "" for a field left empty; the domain reads a missing field as "unchanged". */
export function withoutBlanks(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v.trim() !== ""));
}

/**
 * Runs a button's action (a form with no fields to show again): its message or its 4xx error is
 * flashed and the user goes back. A 404 is not caught: another user's object shows the 404 page.
 */
export async function buttonAction(
  c: Context<AppEnv>,
  back: string,
  action: () => Promise<string>,
): Promise<Response> {
  try {
    await setFlash(c, { kind: "success", text: await action() });
  } catch (err) {
    if (!(err instanceof AppError) || err.status >= 500 || err.status === 404) throw err;
    await setFlash(c, { kind: "error", text: err.message });
  }
  return redirectAfterPost(c, back);
}
