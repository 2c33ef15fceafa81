/**
 * Soak (issue 11, point 8): two app processes on one Deno KV file, with their execution workers,
 * while several traders send a random mix over the JSON API to both at once: market, limit, stop,
 * stop-limit and trailing-stop orders, whole and fractional quantities and dollar amounts, cancels,
 * replaces, closed positions, and the same idempotency key sent to both instances together. Then
 * the API's own figures must agree with each other, and after both have stopped the integrity
 * scan that `deno task check` runs must find nothing in the store.
 *
 * SOAK_SECONDS (default 120) bounds the time and SOAK_MAX_ACTIONS (default 4000) the number of
 * actions; SOAK_SEED fixes each trader's choices (the prices they meet follow the clock, so a
 * second run is alike, not identical). The minimums at the end, so that it cannot pass without
 * doing the work, assume at least 30 s.
 */
import assert from "node:assert/strict";
import { formatFixed, parseFixed } from "../lib/money.ts";
import { runChecks } from "../lib/readiness.ts";
import { openKvStore } from "../lib/store/kv.ts";
import { checkIntegrity } from "../lib/trading/integrity.ts";
import { tradingChecks } from "../lib/trading/readiness.ts";
import { startServer, type TestServer } from "./support/server.ts";

const SECONDS = Number(Deno.env.get("SOAK_SECONDS") ?? 120);
const MAX_ACTIONS = Number(Deno.env.get("SOAK_MAX_ACTIONS") ?? 4000);
const SEED = Number(Deno.env.get("SOAK_SEED") ?? 118);
const TRADERS = 6;
const PASSWORD = "correct horse battery staple 42";
/** Between one trader's actions: enough for both instances and the other test files to keep up. */
const PAUSE_MS = [100, 400] as const;

const WHOLE = ["F", "T"];
const FRACTIONABLE = ["AAPL", "INTC", "MSFT"];
const CRYPTO = ["BTC/USD", "ETH/USD"];
const SYMBOLS = [...WHOLE, ...FRACTIONABLE, ...CRYPTO];
const STOCKS = [...WHOLE, ...FRACTIONABLE];
const isCrypto = (symbol: string) => CRYPTO.includes(symbol);

type Json = Record<string, unknown> & { id?: string; error?: { code?: string } };
type Answer = { status: number; body: Json };

/** A small seeded generator (mulberry32): each trader's choices repeat from run to run. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const between = (low: number, high: number) => low + (high - low) * next();
  return {
    next,
    between,
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)],
  };
}
type Random = ReturnType<typeof generator>;

/** What one instance answered, by kind of action: the summary and the minimums read these. */
type Tally = {
  placed: number;
  filledAtPlacement: number;
  cancelled: number;
  replaced: number;
  closed: number;
  replayed: number;
  refused: number;
};
const emptyTally = (): Tally => ({
  placed: 0,
  filledAtPlacement: 0,
  cancelled: 0,
  replaced: 0,
  closed: 0,
  replayed: 0,
  refused: 0,
});

/** Answers no trader action may get: a server error, or a 4xx the API should never send here. */
const unexpected: string[] = [];
/** How often each refusal came, by status and error code, for the summary. */
const refusals = new Map<string, number>();
/** The 4xx a random trader meets: refused orders, gone orders, a busy account, the rate limit. */
const EXPECTED_4XX = new Set([404, 409, 422, 429]);

class Trader {
  readonly ip: string;
  cookie = "";
  quotes = new Map<string, { bid: number; ask: number; last: number }>();
  holdings = new Map<string, string>();
  open: Json[] = [];
  idempotentPairs: [string, string][] = [];

  constructor(readonly n: number, readonly servers: TestServer[], readonly tallies: Tally[]) {
    // Its own address, so the per-address API limit counts each trader on its own.
    this.ip = `198.51.100.${n + 10}`;
  }

  async call(
    at: number,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const origin = this.servers[at].url;
    const res = await fetch(`${origin}${path}`, {
      method,
      headers: {
        "Content-Type": "application/json",
        Origin: origin,
        Cookie: this.cookie,
        "X-Forwarded-For": this.ip,
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const answer = { status: res.status, body: text ? JSON.parse(text) : {} };
    if (res.status >= 500 || (res.status >= 400 && !EXPECTED_4XX.has(res.status))) {
      unexpected.push(
        `instance ${"AB"[at]} ${method} ${path} ${
          JSON.stringify(body ?? null)
        } → ${res.status} ${text}`,
      );
    }
    if (res.status >= 400) {
      this.tallies[at].refused++;
      const code = `${res.status} ${answer.body.error?.code}`;
      refusals.set(code, (refusals.get(code) ?? 0) + 1);
    }
    return answer;
  }

  /** A call that must succeed (set-up and the final reads). */
  async must(at: number, method: string, path: string, body?: unknown): Promise<Json> {
    const answer = await this.call(at, method, path, body);
    assert.ok(
      answer.status < 300,
      `${method} ${path} → ${answer.status} ${JSON.stringify(answer)}`,
    );
    return answer.body;
  }

  async signUp(): Promise<void> {
    const email = `soak${this.n}@example.com`;
    await this.must(0, "POST", "/api/auth/sign-up", {
      name: `Soak ${this.n}`,
      email,
      password: PASSWORD,
    });
    const mail = await (await fetch(`${this.servers[0].url}/dev/mailbox.json?to=${email}`)).json();
    const link = mail.emails[0].text.match(/https?:\/\/\S+verify-email\?token=\S+/)[0];
    await this.must(0, "POST", "/api/auth/verify-email", {
      token: new URL(link).searchParams.get("token"),
    });
    const res = await fetch(`${this.servers[1].url}/api/auth/sign-in`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Origin: this.servers[1].url,
        "X-Forwarded-For": this.ip,
      },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    this.cookie = res.headers.get("Set-Cookie")!.split(";")[0];
  }

  async refresh(at: number): Promise<void> {
    const [quotes, positions, open] = await Promise.all([
      this.call(at, "GET", `/api/quotes?symbols=${SYMBOLS.join(",")}`),
      this.call(at, "GET", "/api/positions"),
      this.call(at, "GET", "/api/orders?status=open&limit=200"),
    ]);
    if (quotes.status === 200) {
      for (const q of quotes.body.quotes as Record<string, string>[]) {
        this.quotes.set(q.symbol, { bid: +q.bid, ask: +q.ask, last: +q.last });
      }
    }
    if (positions.status === 200) {
      this.holdings = new Map(
        (positions.body.positions as Record<string, string>[]).map((p) => [p.symbol, p.qty]),
      );
    }
    if (open.status === 200) this.open = open.body.orders as Json[];
  }

  /** One random action against instance `at`. */
  async act(at: number, r: Random): Promise<void> {
    const action = r.pick(ACTIONS);
    await action(this, at, r);
  }

  async place(at: number, body: Json, headers: Record<string, string> = {}): Promise<Answer> {
    const answer = await this.call(at, "POST", "/api/orders", body, headers);
    if (answer.status === 201) {
      this.tallies[at].placed++;
      if (answer.body.status !== "new") this.tallies[at].filledAtPlacement++;
      if (answer.body.status === "new") this.open.push(answer.body);
    }
    if (answer.status === 200) this.tallies[at].replayed++;
    return answer;
  }
}

const last = (t: Trader, symbol: string) => t.quotes.get(symbol)?.last ?? 0;
const price = (value: number) => value.toFixed(2);
/** A quantity that fits the symbol's unit: whole shares, or six decimals. */
const units = (value: number, fractional: boolean) =>
  fractional ? value.toFixed(6) : String(Math.max(1, Math.floor(value)));
const tif = (symbol: string, r: Random) => isCrypto(symbol) ? "gtc" : r.pick(["day", "gtc"]);
/** Whole shares for orders past the day; crypto and day orders of fractionable names may be fractions. */
function orderQty(t: Trader, symbol: string, timeInForce: string, r: Random, dollars: number) {
  const fractional = isCrypto(symbol) ||
    (FRACTIONABLE.includes(symbol) && timeInForce === "day" && r.chance(0.5));
  return units(dollars / Math.max(last(t, symbol), 0.01), fractional);
}
function held(t: Trader, r: Random): [string, number] | null {
  const symbols = [...t.holdings.keys()];
  if (symbols.length === 0) return null;
  const symbol = r.pick(symbols);
  return [symbol, +t.holdings.get(symbol)!];
}

type Action = (t: Trader, at: number, r: Random) => Promise<unknown>;
const weighted = (entries: [number, Action][]) => entries.flatMap(([w, a]) => Array(w).fill(a));

const ACTIONS: Action[] = weighted([
  [10, async (t, at, r) => {
    const symbol = r.pick(SYMBOLS);
    const timeInForce = isCrypto(symbol) ? "gtc" : "day";
    const qty = orderQty(t, symbol, timeInForce, r, r.between(50, 8000));
    await t.place(at, { symbol, side: "buy", type: "market", timeInForce, qty });
  }],
  [5, async (t, at, r) => {
    const symbol = r.pick([...FRACTIONABLE, ...CRYPTO]);
    // Mostly small amounts; now and then more than one quote shows, so it fills in parts.
    const notional = r.chance(0.2) ? r.between(40_000, 250_000) : r.between(2, 3000);
    await t.place(at, {
      symbol,
      side: "buy",
      type: "market",
      timeInForce: isCrypto(symbol) ? "gtc" : "day",
      notional: notional.toFixed(2),
    });
  }],
  [7, async (t, at, r) => {
    const position = held(t, r);
    if (!position) return;
    const [symbol, qty] = position;
    const timeInForce = isCrypto(symbol) ? "gtc" : "day";
    if (r.chance(0.3) && !WHOLE.includes(symbol)) {
      const notional = Math.max(1, qty * last(t, symbol) * r.between(0.05, 0.6));
      await t.place(at, {
        symbol,
        side: "sell",
        type: "market",
        timeInForce,
        notional: notional.toFixed(2),
      });
      return;
    }
    const fractional = isCrypto(symbol) || (FRACTIONABLE.includes(symbol) && r.chance(0.5));
    await t.place(at, {
      symbol,
      side: "sell",
      type: "market",
      timeInForce,
      qty: units(qty * r.between(0.1, 0.7), fractional),
    });
  }],
  [10, async (t, at, r) => {
    const symbol = r.pick(SYMBOLS);
    const timeInForce = tif(symbol, r);
    const limitPrice = price(last(t, symbol) * (1 - r.between(-0.0005, 0.002)));
    const qty = orderQty(t, symbol, timeInForce, r, r.between(50, 5000));
    await t.place(at, { symbol, side: "buy", type: "limit", timeInForce, limitPrice, qty });
  }],
  [6, async (t, at, r) => {
    const position = held(t, r);
    if (!position) return;
    const [symbol, qty] = position;
    const timeInForce = tif(symbol, r);
    const limitPrice = price(last(t, symbol) * (1 + r.between(-0.0005, 0.002)));
    const fractional = isCrypto(symbol) || (FRACTIONABLE.includes(symbol) && timeInForce === "day");
    await t.place(at, {
      symbol,
      side: "sell",
      type: "limit",
      timeInForce,
      limitPrice,
      qty: units(qty * r.between(0.1, 0.5), fractional),
    });
  }],
  [8, async (t, at, r) => {
    const sell = r.chance(0.5) ? held(t, r) : null;
    const symbol = sell ? sell[0] : r.pick(SYMBOLS);
    const side = sell ? "sell" : "buy";
    const type = r.pick(["stop", "stop_limit"]);
    const away = r.between(0.0002, 0.002) * (side === "buy" ? 1 : -1);
    const stop = last(t, symbol) * (1 + away);
    const qty = sell
      ? units(sell[1] * r.between(0.1, 0.5), isCrypto(symbol))
      : orderQty(t, symbol, "gtc", r, r.between(50, 4000));
    await t.place(at, {
      symbol,
      side,
      type,
      timeInForce: tif(symbol, r),
      stopPrice: price(stop),
      ...(type === "stop_limit" ? { limitPrice: price(stop * (1 + away)) } : {}),
      qty,
    });
  }],
  [8, async (t, at, r) => {
    const sell = r.chance(0.6) ? held(t, r) : null;
    const symbol = sell ? sell[0] : r.pick(SYMBOLS);
    const trail = r.chance(0.7)
      ? { trailPercent: r.between(0.01, 0.08).toFixed(2) }
      : { trailPrice: price(Math.max(0.01, last(t, symbol) * r.between(0.0001, 0.001))) };
    await t.place(at, {
      symbol,
      side: sell ? "sell" : "buy",
      type: "trailing_stop",
      timeInForce: tif(symbol, r),
      qty: sell
        ? units(sell[1] * r.between(0.1, 0.5), isCrypto(symbol))
        : orderQty(t, symbol, "gtc", r, r.between(50, 4000)),
      ...trail,
    });
  }],
  [10, async (t, at, r) => {
    if (t.open.length === 0) return;
    const order = r.pick(t.open);
    const answer = await t.call(at, "DELETE", `/api/orders/${order.id}`);
    if (answer.status === 200) t.tallies[at].cancelled++;
    t.open = t.open.filter((o) => o.id !== order.id);
  }],
  [14, async (t, at, r) => {
    const candidates = t.open.filter((o) => o.type !== "market");
    if (candidates.length === 0) return;
    const order = r.pick(candidates);
    const symbol = order.symbol as string;
    const changes: Json = {};
    const nudge = () => 1 + r.between(-0.001, 0.001);
    if (order.type === "trailing_stop") {
      if (r.chance(0.5)) changes.trailPercent = r.between(0.01, 0.15).toFixed(2);
      else changes.trailPrice = price(Math.max(0.01, last(t, symbol) * r.between(0.0001, 0.001)));
    } else {
      if (order.limitPrice) changes.limitPrice = price(+order.limitPrice * nudge());
      if (order.stopPrice) changes.stopPrice = price(+order.stopPrice * nudge());
    }
    if (r.chance(0.3)) {
      const qty = +(order.qty as string) * r.between(0.5, 1.5);
      const fractional = String(order.qty).includes(".");
      changes.qty = units(qty, fractional);
    }
    const answer = await t.call(at, "PATCH", `/api/orders/${order.id}`, changes);
    if (answer.status === 200) t.tallies[at].replaced++;
  }],
  [4, async (t, at, r) => {
    const position = held(t, r);
    if (!position) return;
    const symbol = position[0].replace("/", "");
    const query = [
      r.chance(0.5) ? "percentage=50" : "",
      r.chance(0.5) ? "cancelOrders=true" : "",
    ].filter(Boolean).join("&");
    const answer = await t.call(at, "DELETE", `/api/positions/${symbol}?${query}`);
    if (answer.status === 200) t.tallies[at].closed++;
  }],
  [6, async (t, at, r) => {
    // A bracket (or an OTO) on a whole number of shares, exits close enough to fill in minutes.
    const symbol = r.pick(STOCKS);
    const entry = last(t, symbol);
    const limit = r.chance(0.5) ? entry * (1 - r.between(-0.001, 0.001)) : null;
    const base = limit ?? entry;
    const takeProfit = { limitPrice: price(base * (1 + r.between(0.0005, 0.003))) };
    const stopLoss = { stopPrice: price(base * (1 - r.between(0.0005, 0.003))) };
    const oto = r.chance(0.25);
    await t.place(at, {
      symbol,
      side: "buy",
      type: limit === null ? "market" : "limit",
      ...(limit === null ? {} : { limitPrice: price(limit) }),
      timeInForce: r.pick(["day", "gtc"]),
      qty: String(Math.max(1, Math.floor(r.between(200, 4000) / Math.max(entry, 0.01)))),
      orderClass: oto ? "oto" : "bracket",
      ...(oto ? (r.chance(0.5) ? { takeProfit } : { stopLoss }) : { takeProfit, stopLoss }),
    });
  }],
  [3, async (t, at, r) => {
    // An OCO on shares held: a take-profit above and a stop-loss below the last price.
    const position = held(t, r);
    if (!position || !STOCKS.includes(position[0])) return;
    const [symbol, qty] = position;
    const whole = Math.floor(qty * r.between(0.2, 0.6));
    if (whole < 1) return;
    await t.place(at, {
      symbol,
      side: "sell",
      type: "limit",
      timeInForce: "gtc",
      qty: String(whole),
      orderClass: "oco",
      takeProfit: { limitPrice: price(last(t, symbol) * (1 + r.between(0.0005, 0.003))) },
      stopLoss: { stopPrice: price(last(t, symbol) * (1 - r.between(0.0005, 0.003))) },
    });
  }],
  [3, async (t, _at, r) => {
    // The same request and key to both instances at once: one order, and both answers name it.
    const symbol = r.pick(SYMBOLS);
    const timeInForce = isCrypto(symbol) ? "gtc" : "day";
    const body = {
      symbol,
      side: "buy",
      type: "market",
      timeInForce,
      qty: orderQty(t, symbol, timeInForce, r, 500),
    };
    const key = crypto.randomUUID();
    const [a, b] = await Promise.all(
      [0, 1].map((at) => t.place(at, body, { "Idempotency-Key": key })),
    );
    if (a.status < 300 && b.status < 300) t.idempotentPairs.push([a.body.id!, b.body.id!]);
  }],
]);

/** Every page of a list endpoint. */
async function all(t: Trader, path: string, field: string): Promise<Json[]> {
  const items: Json[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const page = await t.must(
      0,
      "GET",
      `${path}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    items.push(...(page[field] as Json[]));
    cursor = page.nextCursor as string | null;
  } while (cursor);
  return items;
}

/** The trader's account as the API shows it, read so no fill lands between its parts. */
async function settledView(t: Trader) {
  for (let attempt = 0; attempt < 20; attempt++) {
    const before = await all(t, "/api/trades", "trades");
    const [orders, positions, accounts] = await Promise.all([
      all(t, "/api/orders?status=all", "orders"),
      t.must(0, "GET", "/api/positions"),
      t.must(0, "GET", "/api/accounts"),
    ]);
    const after = await all(t, "/api/trades", "trades");
    if (after.length === before.length) {
      return {
        trades: after,
        orders,
        positions: positions.positions as Json[],
        account: (accounts.accounts as Json[])[0],
      };
    }
  }
  throw new Error(`trader ${t.n}: fills kept landing while the account was read`);
}

const fixed = (value: unknown) => parseFixed(value, 8);

/** The invariants a customer can see through the API alone. */
function checkView(t: Trader, view: Awaited<ReturnType<typeof settledView>>): string[] {
  const problems: string[] = [];
  const who = `trader ${t.n}`;
  const { account } = view;
  for (const field of ["cash", "heldForOrders", "buyingPower"]) {
    if (fixed(account[field]) < 0n) problems.push(`${who}: ${field} is ${account[field]}`);
  }
  const net = new Map<string, bigint>();
  const byOrder = new Map<string, bigint>();
  const ids = new Set<string>();
  for (const trade of view.trades) {
    if (ids.has(trade.id!)) problems.push(`${who}: trade ${trade.id} listed twice`);
    ids.add(trade.id!);
    const qty = fixed(trade.qty);
    const symbol = trade.symbol as string;
    net.set(symbol, (net.get(symbol) ?? 0n) + (trade.side === "buy" ? qty : -qty));
    const orderId = trade.orderId as string;
    byOrder.set(orderId, (byOrder.get(orderId) ?? 0n) + qty);
  }
  const positions = new Map(view.positions.map((p) => [p.symbol as string, fixed(p.qty)]));
  for (const symbol of new Set([...net.keys(), ...positions.keys()])) {
    const fills = net.get(symbol) ?? 0n;
    const qty = positions.get(symbol) ?? 0n;
    if (fills !== qty) {
      problems.push(
        `${who}: ${symbol} position ${formatFixed(qty, 0)}, fills net ${formatFixed(fills, 0)}`,
      );
    }
  }
  const orders = new Map(view.orders.map((o) => [o.id!, o]));
  for (const order of view.orders) {
    const where = `${who}: order ${order.id} (${order.type} ${order.status})`;
    const qty = fixed(order.qty);
    const filled = fixed(order.filledQty);
    const executed = byOrder.get(order.id!) ?? 0n;
    if (executed !== filled) {
      problems.push(
        `${where}: filledQty ${order.filledQty}, its fills ${formatFixed(executed, 0)}`,
      );
    }
    if (filled > qty) problems.push(`${where}: filled ${order.filledQty} of ${order.qty}`);
    const open = order.status === "new" || order.status === "partially_filled";
    const consistent = {
      // An exit waiting for its entry to fill.
      held: filled === 0n,
      new: filled === 0n,
      partially_filled: filled > 0n && filled < qty,
      filled: filled === qty,
      cancelled: filled < qty,
      expired: filled < qty,
      rejected: filled < qty,
    }[order.status as string];
    if (!consistent) problems.push(`${where}: ${order.filledQty} of ${order.qty} filled`);
    if (!open && order.holdAmount !== "0.00") {
      problems.push(`${where}: still holds ${order.holdAmount}`);
    }
    if (order.notional !== null) {
      const cost = view.trades.filter((tr) => tr.orderId === order.id)
        .reduce((sum, tr) => sum + parseFixed(tr.gross, 2), 0n);
      if (cost > parseFixed(order.notional, 2)) {
        problems.push(
          `${where}: a dollar order for ${order.notional} whose fills came to ${formatFixed(cost)}`,
        );
      }
    }
  }
  for (const tradeOrder of byOrder.keys()) {
    if (!orders.has(tradeOrder)) problems.push(`${who}: fills of unknown order ${tradeOrder}`);
  }
  for (const [a, b] of t.idempotentPairs) {
    if (a !== b) problems.push(`${who}: one idempotency key placed two orders, ${a} and ${b}`);
  }
  return problems;
}

Deno.test({
  name:
    `[soak] two instances on one store: ${SECONDS} s of seeded mixed trading keep every invariant`,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "orion-soak-" });
    const kvPath = `${dir}/orion.kv`;
    const env = {
      KV_PATH: kvPath,
      MARKET_HOURS: "always",
      TRUST_PROXY: "1",
      ORDERS_PER_SECOND: "100",
      DEMO_STARTING_CASH: "1000000",
    };
    try {
      const servers = [await startServer(env), await startServer(env)];
      const tallies = [emptyTally(), emptyTally()];
      let view: {
        traders: Trader[];
        problems: string[];
        trailingFilled: number;
        classes: { entries: number; exitsFilled: number; exitsCancelledByPair: number };
      };
      try {
        const traders = Array.from({ length: TRADERS }, (_, n) => new Trader(n, servers, tallies));
        for (const t of traders) await t.signUp();
        const deadline = Date.now() + SECONDS * 1000;
        let actions = 0;
        await Promise.all(traders.map(async (t) => {
          const r = generator(SEED * 1000 + t.n);
          await t.refresh(t.n % 2);
          for (let n = 0; Date.now() < deadline && actions < MAX_ACTIONS; n++) {
            const at = r.chance(0.5) ? 1 : 0;
            if (n % 4 === 3) await t.refresh(at);
            await t.act(at, r);
            actions++;
            await new Promise((done) => setTimeout(done, r.between(...PAUSE_MS)));
          }
        }));
        const problems: string[] = [];
        const outcomes: Record<string, Record<string, number>> = {};
        const classes = { entries: 0, exitsFilled: 0, exitsCancelledByPair: 0 };
        for (const t of traders) {
          const settled = await settledView(t);
          problems.push(...checkView(t, settled));
          for (const order of settled.orders) {
            const byStatus = outcomes[order.type as string] ??= {};
            byStatus[order.status as string] = (byStatus[order.status as string] ?? 0) + 1;
            const exit = order.parentId !== null || order.orderClass === "oco";
            if (order.orderClass !== "simple" && !exit) classes.entries++;
            if (exit && order.status === "filled") classes.exitsFilled++;
            if (exit && order.rejectReason === "oco_filled") classes.exitsCancelledByPair++;
          }
        }
        view = {
          traders,
          problems,
          trailingFilled: outcomes.trailing_stop?.filled ?? 0,
          classes,
        };
        console.log(`soak: order classes: ${JSON.stringify(classes)}`);
        console.log(`soak: orders by type and status: ${JSON.stringify(outcomes)}`);
        console.log(
          `soak: ${actions} actions by ${TRADERS} traders in ${SECONDS} s (seed ${SEED})`,
        );
      } finally {
        for (const server of servers) await server.stop();
      }

      const store = await openKvStore(kvPath);
      let report;
      try {
        report = await checkIntegrity(store);
        const [check] = await runChecks(tradingChecks, { env: {}, store });
        console.log(`soak: deno task check's integrity check: ${check.status}, ${check.detail}`);
      } finally {
        await store.close();
      }
      for (const [n, tally] of tallies.entries()) {
        console.log(`soak: instance ${"AB"[n]}: ${JSON.stringify(tally)}`);
      }
      console.log(`soak: refusals: ${JSON.stringify(Object.fromEntries(refusals))}`);
      const sum = (key: keyof Tally) => tallies[0][key] + tallies[1][key];
      console.log(
        `soak: store: ${report.orders} orders, ${report.trades} fills, ${report.positions} positions`,
      );
      if (unexpected.length) {
        // The servers' own account of their errors, from the lines they still keep.
        for (const [n, server] of servers.entries()) {
          const errors = server.logs().split("\n").filter((line) => /"level":"error"/.test(line));
          console.log(`soak: instance ${"AB"[n]} logged:\n${errors.slice(-5).join("\n")}`);
        }
      }
      assert.deepEqual(unexpected, [], "no server errors or unexpected 4xx");
      assert.deepEqual(view.problems, [], "the API's figures agree");
      assert.deepEqual(report.problems, [], "the integrity scan finds nothing");
      assert.deepEqual(report.warnings, []);
      // Not vacuous: it did real work on both instances.
      assert.ok(report.trades >= 50, `${report.trades} fills`);
      assert.ok(sum("replaced") >= 10, `${sum("replaced")} replaces`);
      assert.ok(sum("cancelled") >= 10, `${sum("cancelled")} cancels`);
      assert.ok(sum("closed") >= 3, `${sum("closed")} closed positions`);
      assert.ok(sum("replayed") >= 1, `${sum("replayed")} idempotent replays`);
      assert.ok(
        view.trailingFilled >= 1,
        "a trailing stop followed the price, triggered and filled",
      );
      for (const tally of tallies) assert.ok(tally.placed >= 20, JSON.stringify(tally));
      assert.ok(view.classes.entries >= 5, `${view.classes.entries} brackets and OTOs placed`);
      assert.ok(
        view.classes.exitsFilled >= 1 && view.classes.exitsCancelledByPair >= 1,
        `an exit filled and cancelled its pair: ${JSON.stringify(view.classes)}`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
