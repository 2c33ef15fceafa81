/**
 * /accounts: the user's demo accounts — the list, opening another, switching the one the pages
 * show, and resetting or closing one (each confirmed by the account number typed back).
 */
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError } from "../lib/errors.ts";
import { formatFixed, parseFixed } from "../lib/money.ts";
import {
  type Account,
  accountName,
  closeAccount,
  confirmReset,
  openAccount,
  ownAccount,
  parseStartingCash,
  resetDemoAccount,
  userAccounts,
} from "../lib/trading/accounts.ts";
import { accountSnapshot } from "../lib/trading/portfolio.ts";
import {
  AccountActionForm,
  AccountActionPage,
  type AccountRow,
  AccountsPage,
  NewAccountForm,
} from "../views/accounts.tsx";
import type { FormState } from "../views/form.tsx";
import { usd } from "../views/trading.tsx";
import type { AppDeps, AppEnv } from "./env.ts";
import { setFlash } from "./middleware/flash.ts";
import { noStore } from "./middleware/no_store.ts";
import { requireUser } from "./middleware/session.ts";
import { formFailure, renderView } from "./render.ts";
import { formBody, parseInput, redirectAfterPost, safeNext } from "./request.ts";
import { chooseAccount, tradingPageContext } from "./trading_context.ts";
import { newAccountInput } from "./trading_schemas.ts";

type Failed = { state: FormState; status: ContentfulStatusCode };

export function accountRoutes(deps: AppDeps) {
  const ctx = deps.trading;
  const { store } = deps;
  const pages = tradingPageContext(deps);
  const secure = deps.config.isProduction;

  async function listPage(c: Context<AppEnv>, failed?: Failed) {
    const chosen = await pages.account(c);
    const accounts = await userAccounts(store, pages.userId(c));
    const open = accounts.filter((a) => a.status === "active");
    const rows = await Promise.all(open.map(async (a): Promise<AccountRow> => {
      const { account } = await accountSnapshot(ctx, a);
      const start = parseFixed(account.startingCash, 2);
      const gain = parseFixed(account.equity, 2) - start;
      return {
        account,
        // Hundredths of a percent, rounded toward zero: the list is a glance, not a statement.
        sinceOpened: { amount: formatFixed(gain), percent: formatFixed(gain * 100n / start) },
        shown: a._id === chosen._id,
      };
    }));
    return renderView(c, {
      page: (
        <AccountsPage
          open={rows}
          closed={accounts.filter((a) => a.status !== "active").slice(0, 20)}
          state={failed?.state}
        />
      ),
      partial: failed && <NewAccountForm state={failed.state} />,
      title: "Accounts",
      status: failed?.status,
    });
  }

  /** An open account of the user's, for a reset or a close; a closed one is over (404 for others'). */
  async function openAccountOf(c: Context<AppEnv>): Promise<Account> {
    const account = await ownAccount(store, pages.userId(c), c.req.param("id")!);
    if (account.status !== "active") {
      throw new AppError(404, "not_found", "This account is closed; its history stays readable.");
    }
    return account;
  }

  async function actionPage(
    c: Context<AppEnv>,
    action: "reset" | "close",
    account: Account,
    failed?: Failed,
  ) {
    const snapshot = await accountSnapshot(ctx, account);
    return renderView(c, {
      page: (
        <AccountActionPage
          action={action}
          account={snapshot.account}
          positions={snapshot.positions.length}
          state={failed?.state}
        />
      ),
      partial: failed && (
        <AccountActionForm action={action} account={snapshot.account} state={failed.state} />
      ),
      title: action === "reset" ? "Reset demo account" : "Close demo account",
      status: failed?.status,
    });
  }

  return new Hono<AppEnv>()
    .use(requireUser, noStore)
    .get("/", (c) => listPage(c))
    .post("/", async (c) => {
      const values = await formBody(c);
      try {
        const input = parseInput(newAccountInput, values);
        const opened = await openAccount(store, pages.userId(c), {
          name: input.name,
          startingCash: parseStartingCash(input.startingCash, ctx.settings.startingCash),
        }, pages.origin(c));
        chooseAccount(c, opened, secure);
        await setFlash(c, {
          kind: "success",
          text: `${accountName(opened)} (${opened.number}) is open with ${
            usd(opened.startingCash)
          }. The pages show it now.`,
        });
        return redirectAfterPost(c, "/dashboard");
      } catch (err) {
        return listPage(c, formFailure(c, err, values));
      }
    })
    .post("/switch", async (c) => {
      const values = await formBody(c);
      const account = await ownAccount(store, pages.userId(c), values.accountId ?? "");
      if (account.status !== "active") {
        await setFlash(c, { kind: "error", text: "That account is closed." });
        return redirectAfterPost(c, "/accounts");
      }
      chooseAccount(c, account, secure);
      await setFlash(c, {
        kind: "success",
        text: `Showing ${accountName(account)} (${account.number}).`,
      });
      return redirectAfterPost(c, safeNext(values.next, "/dashboard"));
    })
    .get("/:id/reset", async (c) => actionPage(c, "reset", await openAccountOf(c)))
    .post("/:id/reset", async (c) => {
      const account = await openAccountOf(c);
      const values = await formBody(c);
      try {
        await confirmReset(store, account, values.confirm, pages.origin(c));
        const fresh = await resetDemoAccount(
          store,
          account,
          account.startingCash,
          pages.origin(c),
        );
        // The new account takes the old one's place, in the list and on the pages.
        chooseAccount(c, fresh, secure);
        await setFlash(c, {
          kind: "success",
          text: `Your demo account was reset. Your new account number is ${fresh.number}.`,
        });
        return redirectAfterPost(c, "/dashboard");
      } catch (err) {
        return actionPage(c, "reset", account, formFailure(c, err, values));
      }
    })
    .get("/:id/close", async (c) => actionPage(c, "close", await openAccountOf(c)))
    .post("/:id/close", async (c) => {
      const account = await openAccountOf(c);
      const values = await formBody(c);
      try {
        const closed = await closeAccount(store, account, values.confirm, pages.origin(c));
        await setFlash(c, {
          kind: "success",
          text: `Account ${closed.number} is closed; its history stays readable.`,
        });
        return redirectAfterPost(c, "/accounts");
      } catch (err) {
        return actionPage(c, "close", account, formFailure(c, err, values));
      }
    });
}
