/**
 * `GET /api/stream`: the account's life as server-sent events, for programs (docs/design.md,
 * HTTP contract). Events, each a JSON object in `data`:
 *
 * - `order`: `{event, order, at}` for every order event of the account's log (events.ts), with
 *   `price`, `qty` and `positionQty` on fills;
 * - `account`: `{accountId, cash, equity, buyingPower}` on connecting, after each change to the
 *   account, and when its equity moves with prices (at most every 5 s);
 * - `quote`: `{symbol, bid, ask, last, ts}` for the symbols named in `?symbols=`, when they change
 *   and only while their market is open;
 * - `session_ended`, last, when the session that opened the stream ends.
 *
 * Every event has an id `<accountId>:<seq>` (order events) or `<accountId>:<seq>.<n>` (others),
 * where `seq` is the account's latest order event then. A client reconnecting with
 * `Last-Event-ID` gets the order events after that `seq` that are still kept (an hour; at least
 * the 10 minutes promised), then the account as it is now: a connected program never silently
 * misses a fill. When the events it asks for are no longer kept, a `resync` event says so
 * before the rest.
 */
import { Hono } from "hono";
import { AppError } from "../../lib/errors.ts";
import { requestedAccount } from "../../lib/trading/accounts.ts";
import type { Account } from "../../lib/trading/accounts.ts";
import { type AccountEvent, eventsAfter, eventSeqOf } from "../../lib/trading/events.ts";
import { marketOpen, securityFor } from "../../lib/trading/market.ts";
import { accountSnapshot } from "../../lib/trading/portfolio.ts";
import type { AppDeps, AppEnv } from "../env.ts";
import { quotesFor } from "../market_json.ts";
import { requireUser, sessionCheck } from "../middleware/session.ts";
import type { LiveMessage } from "./streams.ts";

/** At most this many quote symbols per stream, as for GET /api/quotes. */
const MAX_SYMBOLS = 50;
/** Equity moves with every price; an unchanged account is re-valued at most this often. */
const REVALUE_MS = 5_000;

export function apiStreamRoutes(deps: AppDeps) {
  const ctx = deps.trading;
  const { store } = deps;

  return new Hono<AppEnv>().get("/", requireUser, async (c) => {
    const userId = c.get("user")!._id;
    const symbols = [
      ...new Set((c.req.query("symbols") ?? "").split(",").map((s) => s.trim()).filter(Boolean)),
    ];
    if (symbols.length > MAX_SYMBOLS) {
      throw new AppError(
        422,
        "validation_failed",
        `Ask for at most ${MAX_SYMBOLS} symbols at once.`,
      );
    }
    // Unknown symbols are refused before the stream opens (422 unknown_symbol).
    const securities = symbols.map((s) => securityFor(ctx.market, s));
    const accountId = c.req.query("accountId");
    const account = await requestedAccount(store, userId, accountId, ctx.settings.startingCash);

    let seq = replayFrom(c.req.header("Last-Event-ID"), account);
    let counter = 0;
    let accountVersion = -1;
    let revaluedAt = 0;
    let lastAccount = "";
    const lastQuotes = new Map<string, string>();
    const id = () => `${account._id}:${seq}.${++counter}`;

    /**
     * One tick's messages. The stream's memory (sequence, last figures sent) moves only when the
     * whole tick succeeded: a tick that fails writes nothing, and the next one starts over.
     */
    async function tick(now: Date): Promise<LiveMessage[]> {
      const messages: LiveMessage[] = [];
      const current = await store.get<Account>("accounts", account._id);
      if (!current) return messages;
      // Order events first, in sequence; a long backlog drains over a few ticks.
      let nextSeq = seq;
      if (eventSeqOf(current) > seq) {
        const events = await eventsAfter(store, account._id, seq);
        if (events.length > 0 && events[0].seq > seq + 1) {
          // Asked to replay from further back than events are kept: say so rather than skip.
          messages.push({
            event: "resync",
            id: `${account._id}:${seq}.${counter + 1}`,
            data: JSON.stringify({
              message: "Some order events are no longer kept; read GET /api/orders to catch up.",
              missedAfter: seq,
              resumesAt: events[0].seq,
            }),
          });
        }
        for (const event of events) {
          messages.push(orderMessage(event));
          nextSeq = event.seq;
        }
      }
      let nextAccount = lastAccount;
      const revalue = current._v !== accountVersion || now.getTime() - revaluedAt >= REVALUE_MS;
      if (revalue) {
        const { account: figures } = await accountSnapshot(ctx, current, now);
        nextAccount = JSON.stringify({
          accountId: figures.id,
          status: figures.status,
          cash: figures.cash,
          equity: figures.equity,
          buyingPower: figures.buyingPower,
        });
      }
      // Prices move in pre-market and after-hours too.
      const open = securities.filter((s) => marketOpen(ctx.market, s, now, true));
      const quotes = open.length > 0
        ? await quotesFor(ctx.market, open.map((s) => s.symbol), now)
        : [];

      // Everything is read: from here on nothing can fail, so the stream's memory moves on.
      seq = nextSeq;
      if (revalue) {
        accountVersion = current._v;
        revaluedAt = now.getTime();
      }
      if (nextAccount !== lastAccount) {
        lastAccount = nextAccount;
        messages.push({ event: "account", id: id(), data: nextAccount });
      }
      for (const q of quotes) {
        const key = `${q.bid} ${q.ask} ${q.last}`;
        if (lastQuotes.get(q.symbol) === key) continue;
        lastQuotes.set(q.symbol, key);
        messages.push({
          event: "quote",
          id: id(),
          data: JSON.stringify({
            symbol: q.symbol,
            bid: q.bid,
            ask: q.ask,
            last: q.last,
            ts: q.time,
          }),
        });
      }
      return messages;
    }

    return deps.live.open(c, {
      userId,
      signedIn: sessionCheck(c, deps),
      tick,
      ended: () => ({
        event: "session_ended",
        id: id(),
        data: JSON.stringify({ message: "The session ended; sign in again to go on." }),
      }),
    });
  });
}

/**
 * Where a stream starts: after the event a reconnecting client last saw, when its id names this
 * account; otherwise at the account's latest event (nothing replayed).
 */
function replayFrom(lastEventId: string | undefined, account: Account): number {
  const latest = eventSeqOf(account);
  const match = /^(.{1,100}):(\d{1,15})(?:\.\d+)?$/.exec(lastEventId ?? "");
  if (!match || match[1] !== account._id) return latest;
  return Math.min(Number(match[2]), latest);
}

function orderMessage(event: AccountEvent): LiveMessage {
  return {
    event: "order",
    id: `${event.accountId}:${event.seq}`,
    data: JSON.stringify({
      event: event.event,
      order: event.order,
      ...(event.fill ?? {}),
      at: event.at.toISOString(),
    }),
  };
}
