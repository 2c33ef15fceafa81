/** QR codes as inline SVG, safe under a strict Content-Security-Policy (no style attributes). */
import { encode } from "uqr";

// The QR specification asks for 4 light modules around the code; scanners miss codes without.
const QUIET_ZONE = 4;

/**
 * An `<svg>` element drawing `text` as a QR code: black modules on an explicit white square (so
 * it scans in dark mode too), one unit per module, sized by CSS through its viewBox. The text is
 * only encoded into the modules, never written into the markup.
 */
export function qrSvg(text: string): string {
  // Level M survives a smudged or glared phone screen at little cost in size.
  const { size, data } = encode(text, { ecc: "M", border: QUIET_ZONE });
  let path = "";
  // One rectangle per horizontal run of dark modules keeps the path short.
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (!data[y][x]) continue;
      const start = x;
      while (x + 1 < size && data[y][x + 1]) x++;
      path += `M${start} ${y}h${x + 1 - start}v1h-${x + 1 - start}z`;
    }
  }
  // Presentation attributes (fill, shape-rendering) are not styles, so CSP style-src allows them.
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" role="img" ` +
    `aria-label="QR code" shape-rendering="crispEdges">` +
    `<rect width="${size}" height="${size}" fill="#fff"/><path fill="#000" d="${path}"/></svg>`;
}
