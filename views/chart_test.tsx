/** The trade page's price chart as rendered: its time axis labels stay inside the drawing. */
import assert from "node:assert/strict";
import type { PriceBar } from "../lib/market/bars.ts";
import { PriceChart } from "./chart.tsx";

const HOUR_MS = 3_600_000;

Deno.test("[views] a 24 h chart ending just after midnight labels no hour at its cut-off edge", async () => {
  // The 1D axis of a market that never closes, drawn at 00:10 UTC: the last 24 hours.
  const to = Date.parse("2026-12-08T00:10:00Z");
  const from = to - 24 * HOUR_MS;
  const bars: PriceBar[] = Array.from({ length: 48 }, (_, n) => {
    const price = (300 + (n % 5)).toFixed(2);
    const t = new Date(from + (n + 1) * 30 * 60_000).toISOString();
    return { t, o: price, h: price, l: price, c: price, v: 100 };
  });
  const svg = String(
    await (
      <PriceChart
        symbol="AAPL"
        range="1D"
        view="line"
        bars={bars}
        prevClose="301.00"
        axis={{ from, to }}
        href={() => "/trade/AAPL"}
      />
    ),
  );
  const labels = [...svg.matchAll(/<text x="(\d+)" y="\d+" text-anchor="middle">([^<]+)</g)]
    .map((m) => ({ x: Number(m[1]), label: m[2] }));
  // Every four hours from 04:00; midnight, 10 minutes from the right edge, would be cut in half.
  assert.deepEqual(labels.map((l) => l.label), ["04:00", "08:00", "12:00", "16:00", "20:00"]);
  // Half a label is about 18 of the drawing's 600 units: each sits clear of both edges.
  for (const { x, label } of labels) assert.ok(x >= 18 && x <= 600 - 18, `${label} at x=${x}`);
});
