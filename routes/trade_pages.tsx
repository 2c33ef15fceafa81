/** /trade: symbol search, a live quote, and the order ticket (preview, then place once). */
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { AppError } from "../lib/errors.ts";
import { CHART_RANGES, chartWindow, thinBars } from "../lib/market/bars.ts";
import type { Security } from "../lib/market/securities.ts";
import type { Quote } from "../lib/market/simulator.ts";
import { formatFixed, maxFixed, minFixed, parseFixed } from "../lib/money.ts";
import { liveQuote, securityFor } from "../lib/trading/market.ts";
import {
  anchorTrail,
  fillCash,
  notionalQty,
  parseNotional,
  parseOrderRequest,
} from "../lib/trading/order_rules.ts";
import { type OrderJson, placeOrder } from "../lib/trading/orders.ts";
import { checkExitPrices, ocoEntryInput, parseClassRequest } from "../lib/trading/order_classes.ts";
import { accountSnapshot } from "../lib/trading/portfolio.ts";
import type { FormState } from "../views/form.tsx";
import { describeOrder } from "../views/orders.tsx";
import {
  type Estimate,
  EstimateText,
  OrderReview,
  OrderTicket,
  relevantTicketValues,
  type ReviewProps,
  SearchResults,
  TICKET_FIELDS,
  ticketClass,
  ticketDefaults,
  TradePage,
} from "../views/trade.tsx";
import { PriceChart, type PriceChartProps } from "../views/chart.tsx";
import { price, quantity, tradeHref } from "../views/trading.tsx";
import type { AppDeps, AppEnv } from "./env.ts";
import type { Flash } from "./middleware/flash.ts";
import { setFlash } from "./middleware/flash.ts";
import { requireUser } from "./middleware/session.ts";
import { formFailure, renderView } from "./render.ts";
import { formBody, parseInput, redirectAfterPost, wantsPartial } from "./request.ts";
import { noStore } from "./middleware/no_store.ts";
import { tradingPageContext } from "./trading_context.ts";
import { requestTimeZone } from "./middleware/time_zone.ts";
import { liveAddress } from "./live/page_stream.tsx";
import { idempotencyKey, orderInput } from "./trading_schemas.ts";

const SEARCH_LIMIT = 10;
/** Points a chart draws: 1D stays within its 4 KB budget; candles need room to be seen. */
const LINE_POINTS = { "1D": 48, other: 180 };
const CANDLES = 60;

/** The chart's range and view, from links the page itself makes. */
const chartInput = z.object({
  range: z.enum(CHART_RANGES, { error: `Use one of ${CHART_RANGES.join(", ")}.` }).default("1D"),
  view: z.enum(["line", "candle"], { error: "Use line or candle." }).default("line"),
});

const searchQuery = z.object({ q: z.string().max(40, "Use at most 40 characters.").default("") });

/**
 * The ticket: the API's order fields, plus the form's one-time key and which button was pressed:
 * "review" (the ticket's button, and Enter in a field) shows what would be placed, "place" (the
 * review's button) places it, "edit" goes back to the ticket. "preview" is the old name of review.
 */
const ticketInput = orderInput.extend({
  /** Exits, flat as a form sends them (ticketClass makes them the API's order class). */
  takeProfitPrice: z.string().max(40, "Too long.").optional(),
  stopLossPrice: z.string().max(40, "Too long.").optional(),
  idempotencyKey,
  intent: z.enum(["place", "review", "preview", "edit"]).default("place"),
});

export function tradeRoutes(deps: AppDeps) {
  const ctx = deps.trading;
  const { market } = ctx;
  const pages = tradingPageContext(deps);

  /** What the order would cost or bring; the order rules' 422s say what is missing or wrong. */
  async function estimate(
    c: Context<AppEnv>,
    security: Security,
    values: Record<string, string>,
  ): Promise<Estimate> {
    const input = {
      side: values.side ?? "",
      type: values.type ?? "",
      timeInForce: values.timeInForce ?? "",
      qty: values.qty,
      notional: values.notional,
      limitPrice: values.limitPrice,
      stopPrice: values.stopPrice,
      trailPercent: values.trailPercent,
      trailPrice: values.trailPrice,
      extendedHours: values.extendedHours === "true",
    };
    // A dollar amount is judged as placing does (lib/trading/orders.ts): its quantity follows
    // from the price it would fill at now.
    const notional = parseNotional(input, security);
    const exits = ticketClass(values);
    const entry = ocoEntryInput({ ...input, ...exits });
    const parsed = parseOrderRequest(notional === null ? entry : { ...entry, qty: "1" }, security);
    const classRequest = parseClassRequest(exits, parsed, security, notional !== null);
    const now = new Date();
    const [snapshot, quote] = await Promise.all([
      accountSnapshot(ctx, await pages.account(c), now),
      liveQuote(market, security, now),
    ]);
    // A trailing stop is judged at the stop its trail gives from the last price now.
    const anchored = anchorTrail(parsed, quote.last, security.priceDecimals).request;
    checkExitPrices(
      classRequest,
      classRequest.orderClass !== "oco" && anchored.limitPrice !== null
        ? anchored.limitPrice
        : quote.last,
      security.priceDecimals,
    );
    const request = notional === null ? anchored : {
      ...anchored,
      qty: notionalQty(notional, anchored.side === "buy" ? quote.ask : quote.bid, security),
    };
    const buy = request.side === "buy";
    const buyingPower = parseFixed(snapshot.account.buyingPower, 2);
    const touch = buy ? quote.ask : quote.bid;
    // A limit through the market fills at the market now; a stop is judged at its trigger.
    const unit = request.limitPrice !== null
      ? (buy ? minFixed : maxFixed)(request.limitPrice, touch)
      : request.stopPrice ?? touch;
    const commission = ctx.settings.commission;
    // What the fill would book: a buy's cost rounded up to the cent, a sell's proceeds down.
    const value = fillCash(request.side, request.qty, unit);
    const total = buy ? value + commission : value - commission;
    const held = snapshot.positions.find((p) => p.symbol === security.symbol)?.qty ?? "0";
    return {
      side: request.side,
      qty: formatFixed(request.qty, 0),
      price: formatFixed(unit),
      value: formatFixed(value),
      commission: formatFixed(commission),
      total: formatFixed(total),
      buyingPower: snapshot.account.buyingPower,
      buyingPowerAfter: formatFixed(buy ? buyingPower - total : buyingPower + total),
      held,
      exceeds: buy ? total > buyingPower : request.qty > parseFixed(held, 8),
    };
  }

  /** The estimate, or a line saying why there is none yet: a preview never fails. */
  async function estimateOrNote(
    c: Context<AppEnv>,
    values: Record<string, string>,
  ): Promise<Estimate> {
    if (!values.qty?.trim() && !(values.type === "market" && values.notional?.trim())) {
      return {
        note: values.type === "market"
          ? "Enter a quantity or an amount to see the estimated cost."
          : "Enter a quantity to see the estimated cost.",
      };
    }
    try {
      const relevant = relevantTicketValues(values);
      const input = parseInput(orderInput, relevant);
      return await estimate(c, securityFor(market, input.symbol), relevant);
    } catch (err) {
      if (err instanceof AppError && err.status < 500) return { note: err.message };
      throw err;
    }
  }

  /** The chart of a symbol over a range: bars from the provider, thinned to what it draws. */
  async function chart(
    security: Security,
    quote: Quote,
    input: z.output<typeof chartInput>,
    now: Date,
  ): Promise<PriceChartProps> {
    const { range, view } = input;
    const window = chartWindow(range, security, market.clock, now);
    const bars = await market.provider.bars(security, window.query, now);
    const max = view === "candle"
      ? CANDLES
      : range === "1D"
      ? LINE_POINTS["1D"]
      : LINE_POINTS.other;
    return {
      symbol: security.symbol,
      range,
      view,
      bars: thinBars(bars, max),
      prevClose: range === "1D" ? quote.prevClose : undefined,
      axis: range === "1D" ? { from: window.from, to: window.to } : undefined,
      href: (q) => tradeHref(security.symbol, q),
      // The axis and readout in the trader's zone (settings, else the browser's), named.
      timeZone: requestTimeZone(),
    };
  }

  /** The page of one symbol with its ticket, or just the ticket for htmx. */
  async function symbolPage(
    c: Context<AppEnv>,
    security: Security,
    ticket: { state: FormState; idempotencyKey: string; estimate: Estimate },
    status?: ContentfulStatusCode,
    review?: ReviewProps["estimate"],
    chartOf: z.output<typeof chartInput> = { range: "1D", view: "line" },
  ) {
    const now = new Date();
    const account = await pages.account(c);
    const [[quote], snapshot] = await Promise.all([
      market.provider.quotes([security], now),
      accountSnapshot(ctx, account, now),
    ]);
    const chartProps = await chart(security, quote, chartOf, now);
    const position = snapshot.positions.find((p) => p.symbol === security.symbol);
    const ticketProps = {
      security,
      ...ticket,
      holding: position ? { qty: position.qty, value: position.marketValue } : null,
      buyingPower: snapshot.account.buyingPower,
      last: quote.last,
    };
    // The review takes the ticket's place: a page of its own without JavaScript, the form with htmx.
    const form = review
      ? (
        <OrderReview
          security={security}
          idempotencyKey={ticket.idempotencyKey}
          values={relevantTicketValues(ticket.state.values ?? {})}
          estimate={review}
        />
      )
      : <OrderTicket {...ticketProps} />;
    return renderView(c, {
      page: (
        <TradePage
          q=""
          results={[]}
          chosen={{
            quote,
            chart: chartProps,
            phase: market.clock.phase(security.assetClass, now),
            ticket: ticketProps,
            live: liveAddress("trade", account, now, { symbol: security.symbol }),
          }}
          form={form}
        />
      ),
      partial: form,
      title: `${review ? "Review order · " : ""}${security.symbol} · Trade`,
      status,
    });
  }

  return new Hono<AppEnv>()
    .use(requireUser, noStore)
    .get("/", (c) => {
      const { q } = parseInput(searchQuery, c.req.query());
      const results = market.catalog.search(q, SEARCH_LIMIT);
      return renderView(c, {
        page: <TradePage q={q} results={results} />,
        partial: <SearchResults q={q} results={results} />,
        title: "Trade",
      });
    })
    .post("/preview", async (c) => {
      const values = await formBody(c);
      return c.html(<EstimateText estimate={await estimateOrNote(c, values)} />);
    })
    .post("/", async (c) => {
      const values = await formBody(c);
      let security: Security | undefined;
      try {
        // Prices the order type does not use are ignored: every field shows without JavaScript.
        const relevant = relevantTicketValues(values);
        const { intent, idempotencyKey: key, ...input } = parseInput(ticketInput, relevant);
        security = securityFor(market, input.symbol);
        if (intent === "edit") {
          return await symbolPage(c, security, {
            state: { values },
            idempotencyKey: key,
            estimate: await estimateOrNote(c, values),
          });
        }
        if (intent === "review" || intent === "preview") {
          // The estimate parses the order with the order rules: a bad field comes back on the ticket.
          const reviewed = await estimate(c, security, relevant);
          if ("note" in reviewed) throw new Error("an estimate of a valid order has numbers");
          return await symbolPage(
            c,
            security,
            {
              state: { values: relevant },
              idempotencyKey: key,
              estimate: reviewed,
            },
            undefined,
            reviewed,
          );
        }
        const { takeProfitPrice: _tp, stopLossPrice: _sl, ...order_ } = input;
        // The account the page shows (the header's choice), read again now.
        const accountId = (await pages.account(c))._id;
        const { order } = await placeOrder(
          ctx,
          pages.userId(c),
          { ...order_, ...ticketClass(input), symbol: security.symbol, accountId },
          { idempotencyKey: key, origin: pages.origin(c) },
        );
        await setFlash(c, placedFlash(order));
        return redirectAfterPost(c, "/orders");
      } catch (err) {
        const { state, status } = formFailure(c, err, values);
        // The API names an exit's field `takeProfit.limitPrice`; the ticket's field is flat.
        for (
          const [api, form] of [["takeProfit", "takeProfitPrice"], ["stopLoss", "stopLossPrice"]]
        ) {
          const key = Object.keys(state.fields ?? {}).find((k) => k.startsWith(api));
          if (key) state.fields = { ...state.fields, [form]: state.fields![key] };
        }
        security ??= market.catalog.get(values.symbol ?? "");
        // With no security there is no ticket to show the error on (the symbol is a hidden field).
        if (!security) throw err;
        const reused = err instanceof AppError && err.code === "idempotency_key_reused";
        if (reused) {
          state.error =
            "This ticket already placed an order. Check the values and submit again to place another.";
        }
        const keyOk = idempotencyKey.safeParse(values.idempotencyKey).success;
        return symbolPage(c, security, {
          state,
          idempotencyKey: keyOk && !reused ? values.idempotencyKey : crypto.randomUUID(),
          estimate: await estimateOrNote(c, values),
        }, status);
      }
    })
    .get("/:symbol{.+}", async (c) => {
      const symbol = c.req.param("symbol");
      const security = market.catalog.get(symbol);
      if (!security) {
        const results = market.catalog.search(symbol.slice(0, 40), SEARCH_LIMIT);
        return renderView(c, {
          page: <TradePage q={symbol} results={results} unknown={symbol} />,
          title: "Trade",
          status: 404,
        });
      }
      const query = c.req.query();
      const chartOf = parseInput(chartInput, query);
      if (wantsPartial(c) && (query.range || query.view)) {
        // A range tab or the view toggle: only the chart section.
        const now = new Date();
        const [quote] = await market.provider.quotes([security], now);
        return c.html(<PriceChart {...await chart(security, quote, chartOf, now)} />);
      }
      const values: Record<string, string> = {
        ...ticketDefaults(security),
        symbol: security.symbol,
      };
      // A link may prefill the ticket (the positions page's Sell link sends side and qty).
      for (const field of TICKET_FIELDS) {
        const value = query[field];
        if (typeof value === "string" && value.length <= 40) values[field] = value;
      }
      return symbolPage(
        c,
        security,
        {
          state: { values },
          idempotencyKey: crypto.randomUUID(),
          estimate: await estimateOrNote(c, values),
        },
        undefined,
        undefined,
        chartOf,
      );
    });
}

/** The flash after placing: what was ordered and what happened to it at once. */
function placedFlash(order: OrderJson): Flash {
  const what = describeOrder(order);
  switch (order.status) {
    case "filled":
      return {
        kind: "success",
        text: `Order placed: ${what} (filled at ${price(order.filledAvgPrice!)})`,
      };
    case "partially_filled":
      return {
        kind: "success",
        text: `Order placed: ${what} (${quantity(order.filledQty)} filled at ${
          price(order.filledAvgPrice!)
        }; the quote showed no more, so the rest is working)`,
      };
    case "new":
      return { kind: "success", text: `Order placed: ${what} (accepted, working)` };
    default:
      if (order.filledQty !== "0") {
        return {
          kind: "info",
          text: `Order placed: ${what} (${quantity(order.filledQty)} filled at ${
            price(order.filledAvgPrice!)
          }; the quote showed no more, so immediate-or-cancel ended the rest)`,
        };
      }
      if (order.rejectReason === "insufficient_liquidity") {
        return {
          kind: "info",
          text:
            `Order cancelled: ${what} — the quote did not show the whole quantity, so fill-or-kill filled nothing.`,
        };
      }
      // An immediate-or-cancel or fill-or-kill order that could not fill at once.
      return { kind: "info", text: `Order ${order.status}: ${what} could not fill at once.` };
  }
}
