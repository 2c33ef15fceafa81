/** QR codes as CSP-safe inline SVG. */
import assert from "node:assert/strict";
import { qrSvg } from "./qr.ts";

const URI =
  "otpauth://totp/Orion%20Assets%20Broker:alice%40example.com?issuer=Orion%20Assets%20Broker" +
  "&algorithm=SHA1&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&period=30&digits=6";

/** The modules the SVG paints dark, read back from its path (`M x y h w v1 h-w z` runs). */
function modules(svg: string): boolean[][] {
  const size = Number(svg.match(/viewBox="0 0 (\d+) \1"/)![1]);
  const grid = Array.from({ length: size }, () => Array<boolean>(size).fill(false));
  const d = svg.match(/<path fill="#000" d="([^"]*)"\/>/)![1];
  for (const [, x, y, width] of d.matchAll(/M(\d+) (\d+)h(\d+)v1h-\3z/g)) {
    for (let i = 0; i < Number(width); i++) grid[Number(y)][Number(x) + i] = true;
  }
  assert.equal(d.replace(/M(\d+) (\d+)h(\d+)v1h-\3z/g, ""), "", "the path is only module runs");
  return grid;
}

/** A 7×7 finder pattern: dark ring, light ring, dark 3×3 centre. */
function isFinder(grid: boolean[][], left: number, top: number): boolean {
  for (let y = 0; y < 7; y++) {
    for (let x = 0; x < 7; x++) {
      const ring = Math.max(Math.abs(x - 3), Math.abs(y - 3));
      if (grid[top + y][left + x] !== (ring !== 2)) return false;
    }
  }
  return true;
}

Deno.test("[qr] an inline SVG element with a viewBox, an accessible name and no styles", () => {
  const svg = qrSvg(URI);
  assert.ok(svg.startsWith("<svg "));
  assert.ok(svg.endsWith("</svg>"));
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 \d+ \d+"/);
  assert.match(svg, / role="img"/);
  assert.match(svg, / aria-label="[^"]+"/);
  assert.doesNotMatch(svg, /style/i);
  assert.doesNotMatch(svg, /<script|<foreignObject|href|\son\w+=/i);
});

Deno.test("[qr] black modules on an explicit white square covering the whole code", () => {
  const svg = qrSvg("HELLO");
  assert.match(svg, /<rect width="29" height="29" fill="#fff"\/><path fill="#000" d="M/);
});

Deno.test("[qr] the text is encoded into the modules, never written into the markup", () => {
  const svg = qrSvg('"><script>alert(1)</script><svg onload="x');
  assert.doesNotMatch(svg, /script|alert|onload/);
  assert.equal(svg.match(/</g)!.length, 4, "only <svg>, <rect>, <path> and </svg>");
});

Deno.test("[qr] the same text gives the same SVG", () => {
  assert.equal(qrSvg(URI), qrSvg(URI));
  assert.notEqual(qrSvg(URI), qrSvg(URI.replace("alice", "bob")));
});

Deno.test("[qr] a short text is a version 1 code: 21×21 modules inside a 4-module quiet zone", () => {
  const grid = modules(qrSvg("HELLO"));
  assert.equal(grid.length, 21 + 2 * 4);
  for (let i = 0; i < grid.length; i++) {
    for (
      const j of [0, 1, 2, 3, grid.length - 4, grid.length - 3, grid.length - 2, grid.length - 1]
    ) {
      assert.equal(grid[i][j] || grid[j][i], false, `quiet zone at ${i},${j}`);
    }
  }
  assert.ok(isFinder(grid, 4, 4), "top-left finder");
  assert.ok(isFinder(grid, 4 + 21 - 7, 4), "top-right finder");
  assert.ok(isFinder(grid, 4, 4 + 21 - 7), "bottom-left finder");
  assert.ok(!isFinder(grid, 4 + 21 - 7, 4 + 21 - 7), "no finder bottom-right");
  // Timing patterns alternate dark and light between the finders, on row and column 6.
  for (let i = 8; i < 21 - 8; i++) {
    assert.equal(grid[4 + 6][4 + i], i % 2 === 0, `timing row at ${i}`);
    assert.equal(grid[4 + i][4 + 6], i % 2 === 0, `timing column at ${i}`);
  }
});

Deno.test("[qr] a key URI fits a standard version size (17 + 4v modules) plus the quiet zone", () => {
  const grid = modules(qrSvg(URI));
  const side = grid.length - 2 * 4;
  const version = (side - 17) / 4;
  assert.ok(Number.isInteger(version) && version >= 1 && version <= 40, `side ${side}`);
  assert.ok(
    isFinder(grid, 4, 4) && isFinder(grid, 4 + side - 7, 4) && isFinder(grid, 4, 4 + side - 7),
  );
});
