/** Gain and loss colours follow the sign a trader reads: a figure shown as zero is never coloured. */
import assert from "node:assert/strict";
import { MarketBadge, Pnl, QuotesTable, trend } from "./trading.tsx";

const html = async (node: unknown) => String(await node);

Deno.test("[views] trend: signed amounts are up or down, every spelling of zero is neutral", () => {
  assert.equal(trend("12.30"), "up");
  assert.equal(trend("+0.01"), "up");
  assert.equal(trend("-4.00"), "down");
  for (const zero of ["0", "0.00", "+0.00", "-0.00", "-0", ".0"]) {
    assert.equal(trend(zero), undefined, zero);
  }
});

Deno.test("[views] a P&L that rounds to $0.00 is shown without a colour or a sign", async () => {
  assert.match(await html(<Pnl amount="-0.004" />), /^<span\s*>\$0\.00<\/span>$/);
  assert.match(
    await html(<Pnl amount="0.004" percent="0.00" />),
    /^<span\s*>\$0\.00 \(0\.00%\)<\/span>$/,
  );
  assert.match(await html(<Pnl amount="-1.50" />), /^<span class="down">-\$1\.50<\/span>$/);
  assert.match(await html(<Pnl amount="2" />), /^<span class="up">\+\$2\.00<\/span>$/);
});

Deno.test("[views] a quote's change that rounds to 0.00% is neutral, whatever the cent move", async () => {
  const quote = {
    symbol: "BRK.A",
    bid: "700000.00",
    ask: "700002.00",
    open: "700000.00",
    time: "2026-12-07T05:00:00.000Z",
  };
  const table = await html(
    <QuotesTable
      prefix="q"
      label="Quotes"
      quotes={[
        { ...quote, last: "700001.00", prevClose: "700000.00" },
        { ...quote, last: "699999.00", prevClose: "700000.00" },
      ]}
    />,
  );
  assert.equal(table.match(/<span id="q-BRK_A-change">0\.00%<\/span>/g)?.length, 2, table);
  assert.doesNotMatch(table, /class="(up|down)"/);
});

Deno.test("[views] the market badge names the session: pre-market, open, after hours, closed", async () => {
  assert.equal(
    await html(<MarketBadge phase="pre" />),
    '<span class="badge info">Pre-market</span>',
  );
  assert.equal(
    await html(<MarketBadge phase="regular" />),
    '<span class="badge ok">Market open</span>',
  );
  assert.equal(
    await html(<MarketBadge phase="post" />),
    '<span class="badge info">After hours</span>',
  );
  assert.equal(
    await html(<MarketBadge phase="closed" />),
    '<span class="badge warn">Market closed</span>',
  );
});
