/**
 * The weekly statement email, for users who turn it on in Settings (`users.weeklyStatement`). One
 * section per active account: its value at the week's last close, the week's change in dollars and
 * its time-weighted return, SPY's return over the same sessions, the number of fills with the
 * largest few, and the dividends received; then links to /performance and to /settings to stop it.
 *
 * **The week.** Monday to Friday (UTC dates), measured from the close of the last session that
 * opened before Monday to the close of the week's last session, from the recorded daily equity
 * (equity_history.ts). Fills and cash entries count in the same span, so each one falls in exactly
 * one statement (a fill after Friday's close counts next week, as its effect on equity does).
 *
 * **When.** The worker runs the job every 15 minutes in every instance. It works only from
 * Saturday 09:00 UTC to the end of Sunday (UTC), for the week just ended; the rest of the week a run
 * reads nothing.
 *
 * **Exactly once.** Before sending, a run claims the user's week by inserting
 * `weekly_statements/<userId>:<Monday>`; an instance that loses the insert skips the user. After the
 * send the claim says `sent`, or `failed` with a time to try again (backing off from 15 minutes),
 * which a later run claims back with an update at the version it read, again once. Attempts stop
 * after MAX_ATTEMPTS or when the weekend ends. A claim left `sending` (the process died during the
 * send, which may have been delivered) is never retried: a statement is sent at most once.
 */
import type { User } from "../auth/users.ts";
import { composeEmail, type Email, type EmailBlock, type Mailer } from "../email.ts";
import type { MarketClock } from "../market/clock.ts";
import { type Fixed, formatUsd, parseFixed, SCALE, sumFixed } from "../money.ts";
import { ConflictError, type Doc, type Store } from "../store/port.ts";
import { findAll } from "../store/find_all.ts";
import { type Account, accountName, userAccounts } from "./accounts.ts";
import type { EquityPoint, EquitySample } from "./equity_history.ts";
import type { Trade } from "./history.ts";
import type { LedgerEntry, LedgerEntryType } from "./ledger.ts";
import type { TradingContext } from "./orders.ts";
import { percentText, performanceOf } from "./performance.ts";

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** The benchmark every statement compares with. */
export const STATEMENT_BENCHMARK = "SPY";
/** How many of the week's fills a section lists, the largest by amount. */
export const LARGEST_FILLS = 5;
/** Sends of one statement, the first included, before it is given up. */
export const MAX_ATTEMPTS = 6;
/** The first wait before trying a failed send again; it doubles with each failure, up to 4 hours. */
const RETRY_BASE_MS = 15 * MINUTE_MS;
const RETRY_MAX_MS = 4 * 60 * MINUTE_MS;
/** The ledger entry type a dividend is booked as (corporate_actions.ts). */
const DIVIDEND: LedgerEntryType = "dividend";
/** Users read per page by the job. */
const USER_PAGE = 200;

/** What the job needs besides the trading context: the app's one mailer, and where links point. */
export type StatementDeps = { mailer: Mailer; appUrl: () => string };

/** The record that claims one user's statement for one week; `_id` is `<userId>:<week>`. */
export type StatementClaim = Doc & {
  userId: string;
  /** The week's Monday, `YYYY-MM-DD`. */
  week: string;
  status: "sending" | "sent" | "failed";
  attempts: number;
  claimedAt: Date;
  sentAt: Date | null;
  /** When a failed send may be tried again. */
  retryAt: Date | null;
  /** Why the last send failed (the mailer's message, which holds no secret). */
  error: string | null;
};

/** The span a statement covers. */
export type StatementWeek = {
  /** The Monday that names the week, `YYYY-MM-DD` (UTC). */
  id: string;
  monday: Date;
  /** The close the week is measured from: the last session that opened before Monday. */
  from: Date;
  /** The close it is measured to: the week's last session closed so far; null before the first. */
  to: Date | null;
};

/** One account's week. */
export type AccountWeek = {
  account: Account;
  /** The equity at the week's last recorded close; null when none was recorded. */
  value: Fixed | null;
  /** The change in dollars since the previous week's close (or the opening deposit). */
  change: Fixed | null;
  /** The time-weighted return in percent, two decimals (performance.ts). */
  timeWeightedReturn: string | null;
  fills: number;
  /** The week's largest fills by amount, largest first. */
  largestFills: Trade[];
  dividends: Fixed;
  dividendCount: number;
};

/** The week `now` falls in (the one just ended on a weekend), with the closes it runs between. */
export function statementWeek(clock: MarketClock, now: Date): StatementWeek {
  const day = Math.floor(now.getTime() / DAY_MS);
  const monday = new Date((day - daysSinceMonday(now)) * DAY_MS);
  const saturday = new Date(monday.getTime() + 5 * DAY_MS);
  const from = clock.previousSession(monday).close;
  const last = clock.previousSession(now < saturday ? now : saturday).close;
  return { id: monday.toISOString().slice(0, 10), monday, from, to: last > from ? last : null };
}

/** Whether statements go out at `now`: Saturday from 09:00 UTC through Sunday. */
export function inSendingWindow(now: Date): boolean {
  const weekday = daysSinceMonday(now);
  return weekday === 6 || (weekday === 5 && now.getUTCHours() >= 9);
}

function daysSinceMonday(at: Date): number {
  // 1970-01-01, day 0, was a Thursday.
  return (Math.floor(at.getTime() / DAY_MS) + 3) % 7;
}

/** The figures of one account for `week`, from its recorded daily equity, trades and ledger. */
export async function accountWeek(
  ctx: TradingContext,
  account: Account,
  week: StatementWeek,
  now: Date,
): Promise<AccountWeek> {
  const { store } = ctx;
  const until = week.to ?? now;
  // Inclusive of the week's last close, exclusive of the previous week's.
  const span = { gte: new Date(week.from.getTime() + 1), lt: new Date(until.getTime() + 1) };
  const [before, inWeek, trades, dividends] = await Promise.all([
    store.find<EquityPoint>("equity_points", {
      where: { accountId: account._id, timeframe: "1Day" },
      sort: { field: "at", direction: -1 },
      range: { lt: span.gte },
      limit: 1,
    }),
    week.to === null ? { items: [] } : store.find<EquityPoint>("equity_points", {
      where: { accountId: account._id, timeframe: "1Day" },
      sort: { field: "at", direction: 1 },
      range: span,
      limit: 20,
    }),
    weekFills(store, account._id, span),
    weekDividends(store, account._id, span),
  ]);
  const sample = (p: EquityPoint): EquitySample => ({ at: p.at, equity: parseFixed(p.equity, 2) });
  // An account opened during the week starts from its opening deposit, as its history does.
  const base: EquitySample | null = account.createdAt >= span.gte
    ? { at: account.createdAt, equity: parseFixed(account.startingCash, 2) }
    : before.items[0]
    ? sample(before.items[0])
    : null;
  const closes = inWeek.items.map(sample);
  const end = closes.at(-1) ?? null;
  return {
    account,
    value: end?.equity ?? null,
    change: end && base ? end.equity - base.equity : null,
    timeWeightedReturn: end && base
      ? performanceOf([base, ...closes], [], { symbol: STATEMENT_BENCHMARK, closes: [] })
        .timeWeightedReturn
      : null,
    fills: trades.count,
    largestFills: trades.largest,
    dividends: sumFixed(dividends.map((entry) => parseFixed(entry.amount, SCALE))),
    dividendCount: dividends.length,
  };
}

/**
 * The benchmark's return over the week, in percent to two decimals: from its daily close of the
 * session the week is measured from to that of the week's last session. Daily bars are stamped at
 * their start, so each close is the last bar starting before the session's close. Null when the
 * benchmark is not listed or the provider has no bars.
 */
export async function benchmarkWeek(
  ctx: TradingContext,
  week: StatementWeek,
  now: Date,
): Promise<string | null> {
  const security = ctx.market.catalog.get(STATEMENT_BENCHMARK);
  if (!security || week.to === null) return null;
  const bars = await ctx.market.provider.bars(security, {
    timeframe: "1Day",
    start: new Date(week.from.getTime() - 7 * DAY_MS),
    end: week.to,
    limit: 20,
  }, now);
  const closeAt = (at: Date) => bars.findLast((bar) => new Date(bar.t) < at);
  const [first, last] = [closeAt(week.from), closeAt(week.to)];
  if (!first || !last || first === last) return null;
  // A statistic, like every return (performance.ts): computed in doubles, shown to two decimals.
  return percentText(Number(last.c) / Number(first.c) - 1);
}

/**
 * How many fills the account had in `span`, and the largest few by amount, largest first (ties in
 * id order). Read a page at a time and folded, so a busy week never sits in memory.
 */
async function weekFills(
  store: Store,
  accountId: string,
  span: { gte: Date; lt: Date },
): Promise<{ count: number; largest: Trade[] }> {
  let count = 0;
  let largest: { trade: Trade; gross: Fixed }[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.find<Trade>("trades", {
      where: { accountId },
      sort: { field: "executedAt", direction: -1 },
      range: span,
      limit: 1000,
      cursor,
    });
    count += page.items.length;
    largest = [
      ...largest,
      ...page.items.map((trade) => ({ trade, gross: parseFixed(trade.gross, SCALE) })),
    ]
      .sort((a, b) =>
        a.gross === b.gross ? a.trade._id.localeCompare(b.trade._id) : a.gross > b.gross ? -1 : 1
      )
      .slice(0, LARGEST_FILLS);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return { count, largest: largest.map((x) => x.trade) };
}

/**
 * The account's dividends in `span`. The ledger type is compared as a string, so this reads
 * nothing until dividends are booked as `dividend` entries.
 */
async function weekDividends(
  store: Store,
  accountId: string,
  span: { gte: Date; lt: Date },
): Promise<LedgerEntry[]> {
  return await findAll<LedgerEntry>(store, "cash_ledger", {
    where: { accountId, type: DIVIDEND },
    sort: { field: "at", direction: -1 },
    range: span,
  });
}

/** What a statement says, before it becomes an email (or the preview page). */
export type StatementContent = { subject: string; blocks: EmailBlock[] };

/** The user's statement for `week`: one section per active account; null when they have none. */
export async function statementContentFor(
  ctx: TradingContext,
  user: User,
  week: StatementWeek,
  benchmark: string | null,
  appUrl: string,
  now: Date,
): Promise<StatementContent | null> {
  const accounts = (await userAccounts(ctx.store, user._id)).filter((a) => a.status === "active");
  if (accounts.length === 0) return null;
  const weeks = await Promise.all(accounts.map((a) => accountWeek(ctx, a, week, now)));
  return statementContent(week, weeks, benchmark, appUrl);
}

/** The user's statement email for `week`; null when they have no active account. */
export async function statementFor(
  ctx: TradingContext,
  user: User,
  week: StatementWeek,
  benchmark: string | null,
  appUrl: string,
  now: Date,
): Promise<Email | null> {
  const content = await statementContentFor(ctx, user, week, benchmark, appUrl, now);
  return content && composeEmail(user.email, content.subject, user.name, content.blocks);
}

const DAY_LABEL = new Intl.DateTimeFormat("en-US", {
  timeZone: "UTC",
  weekday: "short",
  month: "short",
  day: "numeric",
});
const PRICE = new Intl.NumberFormat("en-US", {
  style: "currency",
  currency: "USD",
  maximumFractionDigits: SCALE,
});

/** The statement's blocks, from which composeEmail makes the text and HTML (lib/email.ts). */
export function statementContent(
  week: StatementWeek,
  accounts: AccountWeek[],
  benchmark: string | null,
  appUrl: string,
): StatementContent {
  const friday = new Date(week.monday.getTime() + 4 * DAY_MS);
  const span = `${DAY_LABEL.format(week.monday)} – ${
    DAY_LABEL.format(friday)
  }, ${friday.getUTCFullYear()}`;
  const blocks: EmailBlock[] = [`Your Orion statement for the week of ${span}.`];
  for (const a of accounts) {
    // The name is the user's own text: composeEmail escapes it in the HTML part.
    blocks.push({ heading: `Account ${a.account.number} · ${accountName(a.account)}` });
    if (a.value === null) {
      blocks.push("No close was recorded for this account this week.");
    } else {
      blocks.push(`Value at the week's last close: ${formatUsd(a.value)}`);
    }
    if (a.change !== null && a.timeWeightedReturn !== null) {
      blocks.push(
        `This week: ${signedUsd(a.change)}, a time-weighted return of ${
          signedPercent(a.timeWeightedReturn)
        }. ${STATEMENT_BENCHMARK}: ${
          benchmark === null ? "not available" : signedPercent(benchmark)
        }.`,
      );
    }
    if (a.fills === 0) blocks.push("Fills: none.");
    else {
      blocks.push(
        a.fills > a.largestFills.length
          ? `Fills: ${a.fills}. The ${a.largestFills.length} largest:`
          : `Fills: ${a.fills}.`,
      );
      blocks.push({
        table: [
          ["Symbol", "Side", "Qty", "Price"],
          ...a.largestFills.map((t) => [
            t.symbol,
            t.side,
            t.qty,
            PRICE.format(t.price as Intl.StringNumericLiteral),
          ]),
        ],
      });
    }
    blocks.push(
      a.dividendCount === 0
        ? "Dividends received: none."
        : `Dividends received: ${formatUsd(a.dividends)} (${a.dividendCount} ${
          a.dividendCount === 1 ? "payment" : "payments"
        }).`,
    );
  }
  blocks.push(
    { link: new URL("/performance", appUrl).href, label: "See your performance" },
    "You get this email because you turned on the weekly statement in Settings.",
    { link: new URL("/settings", appUrl).href, label: "Stop the weekly statement" },
  );
  return { subject: `Your Orion weekly statement: ${span}`, blocks };
}

function signedUsd(value: Fixed): string {
  const shown = formatUsd(value < 0n ? -value : value);
  return shown === "$0.00" ? shown : `${value < 0n ? "−" : "+"}${shown}`;
}

function signedPercent(percent: string): string {
  return percent === "0.00"
    ? "0.00 %"
    : percent.startsWith("-")
    ? `−${percent.slice(1)} %`
    : `+${percent} %`;
}

/** What one run of the job did. */
export type StatementRun = { sent: number; failed: number };

/**
 * One run of the job: outside the sending window it reads nothing; inside, it walks the users who
 * opted in (by index, a page at a time) and sends each one's statement that no instance has claimed,
 * or whose failed send is due again.
 */
export async function sendWeeklyStatements(
  ctx: TradingContext,
  deps: StatementDeps,
  now = new Date(),
): Promise<StatementRun> {
  const run: StatementRun = { sent: 0, failed: 0 };
  if (!inSendingWindow(now)) return run;
  const week = statementWeek(ctx.market.clock, now);
  // The same for every user: read once per run, and only when someone is due.
  let benchmark: Promise<string | null> | undefined;
  let cursor: string | undefined;
  do {
    const page = await ctx.store.find<User>("users", {
      where: { weeklyStatement: true },
      limit: USER_PAGE,
      cursor,
    });
    const claims = await ctx.store.getMany<StatementClaim>(
      "weekly_statements",
      page.items.map((user) => claimId(user._id, week.id)),
    );
    for (const [n, user] of page.items.entries()) {
      // Only to an address its owner confirmed, and never to a suspended user.
      if (user.emailVerifiedAt === null || user.role === "SUSPENDED") continue;
      const claim = claims[n];
      if (claim && !(claim.status === "failed" && claim.retryAt !== null && claim.retryAt <= now)) {
        continue;
      }
      benchmark ??= benchmarkWeek(ctx, week, now).catch((error) => {
        ctx.log.warn("weekly statement benchmark failed", { error });
        return null;
      });
      try {
        const outcome = await sendOne(ctx, deps, user, week, claim, await benchmark, now);
        if (outcome) run[outcome]++;
      } catch (error) {
        // One user's trouble (the store, say) must not hold back everyone after them.
        ctx.log.warn("weekly statement failed", { userId: user._id, error });
      }
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return run;
}

async function sendOne(
  ctx: TradingContext,
  deps: StatementDeps,
  user: User,
  week: StatementWeek,
  previous: StatementClaim | null,
  benchmark: string | null,
  now: Date,
): Promise<keyof StatementRun | null> {
  const claim = await claimWeek(ctx.store, user, week, previous, now);
  if (!claim) return null;
  const settle = (set: Partial<StatementClaim>) =>
    ctx.store.update<StatementClaim>("weekly_statements", claim._id, set, {
      ifVersion: claim._v,
    });
  try {
    const email = await statementFor(ctx, user, week, benchmark, deps.appUrl(), now);
    // No active account: nothing to tell, and nothing to try again.
    if (email) await deps.mailer.send(email);
  } catch (error) {
    const wait = Math.min(RETRY_BASE_MS * 2 ** (claim.attempts - 1), RETRY_MAX_MS);
    await settle({
      status: "failed",
      retryAt: claim.attempts < MAX_ATTEMPTS ? new Date(now.getTime() + wait) : null,
      error: error instanceof Error ? error.message : String(error),
    });
    ctx.log.warn("weekly statement not sent", { userId: user._id, week: week.id, error });
    return "failed";
  }
  await settle({ status: "sent", sentAt: now, retryAt: null, error: null });
  return "sent";
}

/**
 * Claims the user's statement for the week, or null when another run holds it: a first claim is
 * an insert of its fixed id, a retry an update of the failed claim at the version read.
 */
async function claimWeek(
  store: Store,
  user: User,
  week: StatementWeek,
  previous: StatementClaim | null,
  now: Date,
): Promise<StatementClaim | null> {
  const fields = { status: "sending" as const, claimedAt: now, retryAt: null };
  try {
    if (previous) {
      return await store.update<StatementClaim>("weekly_statements", previous._id, {
        ...fields,
        attempts: previous.attempts + 1,
      }, { ifVersion: previous._v });
    }
    return await store.insert<StatementClaim>("weekly_statements", {
      _id: claimId(user._id, week.id),
      userId: user._id,
      week: week.id,
      attempts: 1,
      sentAt: null,
      error: null,
      ...fields,
    });
  } catch (err) {
    if (err instanceof ConflictError) return null;
    throw err;
  }
}

function claimId(userId: string, week: string): string {
  return `${userId}:${week}`;
}
