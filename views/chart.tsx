/**
 * Tiny server-rendered SVG charts: bars or a line over a few days. No script and no style
 * attribute: shapes paint with `currentColor`, which app.css sets per class. Each chart is an
 * image with a spoken summary, followed by the same numbers as a visually hidden table.
 */
import type { Child } from "hono/jsx";

/** One day of a chart: its label, its value (integers, so no amount becomes a float), its text. */
export type ChartPoint = {
  label: string;
  /** null draws nothing for the day (a rate on a day without events). */
  value: bigint | null;
  /** The value as people read it, for the table: "12", "≥714", "$1,250.00". */
  text: string;
  /** The count stopped at its cap: the bar is a lower bound. */
  capped?: boolean;
};

const WIDTH = 280;
const PLOT_TOP = 14;
const PLOT_HEIGHT = 86;
const BASELINE = PLOT_TOP + PLOT_HEIGHT;
const HEIGHT = BASELINE + 16;

/** Bars, one per point. */
export function BarChart(props: {
  id: string;
  title: string;
  summary: string;
  valueLabel: string;
  points: ChartPoint[];
  tone?: "bad";
}) {
  const max = maxOf(props.points);
  const slot = WIDTH / props.points.length;
  const barWidth = Math.max(2, Math.floor(slot * 0.7));
  return (
    <ChartFrame {...props} top={topText(props.points, max)}>
      <g class="marks">
        {props.points.map((p, n) => {
          if (p.value === null) return null;
          const height = scale(p.value, max);
          const x = Math.round(n * slot + (slot - barWidth) / 2);
          return (
            <>
              <rect
                x={x}
                y={BASELINE - height}
                width={barWidth}
                height={height}
                fill="currentColor"
              >
                <title>{`${p.label}: ${p.text}`}</title>
              </rect>
              {p.capped && (
                <text
                  x={x + barWidth / 2}
                  y={BASELINE - height - 2}
                  font-size="9"
                  text-anchor="middle"
                  fill="currentColor"
                >
                  ≥
                </text>
              )}
            </>
          );
        })}
      </g>
    </ChartFrame>
  );
}

/** A line through the points; a day without a value breaks it. `max` fixes the scale (100 %). */
export function LineChart(props: {
  id: string;
  title: string;
  summary: string;
  valueLabel: string;
  points: ChartPoint[];
  max?: { value: bigint; text: string };
  tone?: "bad";
}) {
  const max = props.max?.value ?? maxOf(props.points);
  const slot = WIDTH / props.points.length;
  const xy = props.points.map((p, n) =>
    p.value === null
      ? null
      : { ...p, x: Math.round(n * slot + slot / 2), y: BASELINE - scale(p.value, max) }
  );
  // Runs of consecutive days with a value, each drawn as its own line.
  const runs: (ChartPoint & { x: number; y: number })[][] = [];
  xy.forEach((point, n) => {
    if (!point) return;
    if (n === 0 || !xy[n - 1]) runs.push([]);
    runs[runs.length - 1].push(point);
  });
  return (
    <ChartFrame {...props} top={props.max?.text ?? topText(props.points, max)}>
      <g class="marks">
        {runs.map((run) => (
          <polyline
            points={run.map((p) => `${p.x},${p.y}`).join(" ")}
            fill="none"
            stroke="currentColor"
            stroke-width="2"
          />
        ))}
        {runs.flat().map((p) => (
          <circle cx={p.x} cy={p.y} r="2.5" fill="currentColor">
            <title>{`${p.label}: ${p.text}`}</title>
          </circle>
        ))}
      </g>
    </ChartFrame>
  );
}

/** The figure around a chart: caption, axis, the top of the scale, and the hidden data table. */
function ChartFrame(props: {
  id: string;
  title: string;
  summary: string;
  valueLabel: string;
  points: ChartPoint[];
  /** The label of the dashed line at the top of the scale. */
  top: string;
  tone?: "bad";
  children?: Child;
}) {
  const first = props.points[0]?.label ?? "";
  const last = props.points[props.points.length - 1]?.label ?? "";
  return (
    <figure class={props.tone ? `chart ${props.tone}` : "chart"} aria-labelledby={`${props.id}-t`}>
      <figcaption id={`${props.id}-t`}>{props.title}</figcaption>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`${props.title}: ${props.summary}`}
      >
        <title>{`${props.title}: ${props.summary}`}</title>
        <g class="axis">
          <line
            x1="0"
            y1={BASELINE + 0.5}
            x2={WIDTH}
            y2={BASELINE + 0.5}
            stroke="currentColor"
            stroke-width="1"
          />
          <line
            x1="0"
            y1={PLOT_TOP + 0.5}
            x2={WIDTH}
            y2={PLOT_TOP + 0.5}
            stroke="currentColor"
            stroke-width="0.5"
            stroke-dasharray="3 3"
          />
          <text x="0" y={PLOT_TOP - 4} font-size="10" fill="currentColor">{props.top}</text>
          <text x="0" y={HEIGHT - 3} font-size="10" fill="currentColor">{short(first)}</text>
          <text x={WIDTH} y={HEIGHT - 3} font-size="10" text-anchor="end" fill="currentColor">
            {short(last)}
          </text>
        </g>
        {props.children}
      </svg>
      <table class="sr">
        <caption>{props.title}</caption>
        <thead>
          <tr>
            <th scope="col">Day (UTC)</th>
            <th scope="col">{props.valueLabel}</th>
          </tr>
        </thead>
        <tbody>
          {props.points.map((p) => (
            <tr>
              <th scope="row">{p.label}</th>
              <td>{p.text}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

/** The top of a scale set by the largest point: that point's text (without "≥"), or 0. */
function topText(points: ChartPoint[], max: bigint): string {
  const top = max > 0n ? points.find((p) => p.value === max) : undefined;
  return top ? top.text.replace(/^≥/, "") : "0";
}

function maxOf(points: ChartPoint[]): bigint {
  return points.reduce((m, p) => (p.value !== null && p.value > m ? p.value : m), 0n);
}

/** The height of `value` on a scale topped by `max`, in whole units of the view box. */
function scale(value: bigint, max: bigint): number {
  if (max <= 0n || value <= 0n) return 0;
  return Number((value * BigInt(PLOT_HEIGHT)) / max);
}

/** "2025-01-31" → "01-31": the axis has room for little. */
function short(day: string): string {
  return day.slice(5);
}
