/**
 * Where an account's equity sits: by asset class (cash counted as its own class), by sector (the
 * catalog's GICS sector, an ETF's category, crypto as "Crypto") and by position, each as dollars
 * and a share of equity. Computed from the same valuation as the account's figures
 * (portfolio.ts), so the slices add up to its equity.
 */
import { divFixed, type Fixed, formatFixed, parseFixed } from "../money.ts";
import type { Security } from "../market/securities.ts";
import type { accountSnapshot } from "./portfolio.ts";

export type Slice = { name: string; value: string; percent: string };
export type Allocation = {
  equity: string;
  byAssetClass: Slice[];
  bySector: Slice[];
  byPosition: Slice[];
};

const CLASS_NAMES: Record<string, string> = { us_equity: "Stocks", etf: "ETFs", crypto: "Crypto" };

export function allocationOf(
  snapshot: Awaited<ReturnType<typeof accountSnapshot>>,
  catalog: { get(symbol: string): Security | undefined },
): Allocation {
  const equity = parseFixed(snapshot.account.equity, 2);
  const cash = parseFixed(snapshot.account.cash, 2);
  const byClass = new Map<string, Fixed>();
  const bySector = new Map<string, Fixed>();
  const byPosition: [string, Fixed][] = [];
  for (const position of snapshot.positions) {
    const value = parseFixed(position.marketValue, 2);
    const security = catalog.get(position.symbol);
    const assetClass = CLASS_NAMES[security?.assetClass ?? ""] ?? "Other";
    const sector = security?.assetClass === "crypto" ? "Crypto" : security?.sector ?? "Other";
    byClass.set(assetClass, (byClass.get(assetClass) ?? 0n) + value);
    bySector.set(sector, (bySector.get(sector) ?? 0n) + value);
    byPosition.push([position.symbol, value]);
  }
  if (cash !== 0n) {
    byClass.set("Cash", cash);
    bySector.set("Cash", cash);
    byPosition.push(["Cash", cash]);
  }
  const slices = (entries: Iterable<[string, Fixed]>) =>
    [...entries]
      .sort((a, b) => (a[1] === b[1] ? a[0].localeCompare(b[0]) : a[1] > b[1] ? -1 : 1))
      .map(([name, value]) => ({
        name,
        value: formatFixed(value),
        percent: equity === 0n ? "0.00" : formatFixed(divFixed(value * 100n, equity, 2)),
      }));
  return {
    equity: snapshot.account.equity,
    byAssetClass: slices(byClass),
    bySector: slices(bySector),
    byPosition: slices(byPosition),
  };
}
