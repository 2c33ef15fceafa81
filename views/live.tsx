/**
 * Live pages (issue 10): the figures the page stream keeps current, and a page's connection to it.
 *
 * A live figure is a `LiveCell`: an id and its content. The page renders it inside a `<span>` with
 * that id; the stream (routes/live/page_stream.ts) renders the same cell with `hx-swap-oob`, so
 * htmx replaces the span in place. One function per kind of row builds the cells for both, so the
 * page and its updates cannot disagree on markup. Parts whose shape changes (a position opened,
 * an order placed elsewhere) are not streamed: the stream names them in an event and the part
 * reloads itself from its own page (`LiveBlock`).
 */
import type { Child } from "hono/jsx";
import { useRequestContext } from "hono/jsx-renderer";
import type { AppEnv } from "../routes/env.ts";

/**
 * `tone` colours a figure (gain or loss) with the cell's own class, which keeps an update to one
 * element; `block` cells hold block content (forms, lists) and render as a `<div>`.
 */
export type LiveCell = { id: string; content: Child; tone?: "up" | "down"; block?: boolean };

/** An element id from parts such as a prefix and a symbol: "pos-BTC_USD-last". */
export function cellId(...parts: string[]): string {
  return parts.join("-").replace(/[^A-Za-z0-9-]/g, "_");
}

/** A live figure: on the page, and (`oob`) as the stream's update of it. */
export function Live(props: { cell: LiveCell; oob?: boolean }) {
  const { id, content, tone, block } = props.cell;
  // Spread, so the page's copy carries no stray attribute space.
  const attributes = {
    id,
    ...(tone ? { class: tone } : {}),
    ...(props.oob ? { "hx-swap-oob": "true" } : {}),
  };
  return block ? <div {...attributes}>{content}</div> : <span {...attributes}>{content}</span>;
}

/** Whether the request asks to save data (`Save-Data: on`): then nothing streams. */
export function savesData(header: string | undefined): boolean {
  return header?.trim().toLowerCase() === "on";
}

/**
 * A part of a page that reloads itself when the stream sends the event `name`: htmx fetches the
 * page the part belongs to (`from`) and swaps in the same part of the answer. Without JavaScript
 * it is a plain container.
 */
export function LiveBlock(props: { id: string; name: string; from: string; children?: Child }) {
  return (
    <div
      id={props.id}
      hx-get={props.from}
      hx-trigger={`${props.name} from:body`}
      hx-select={`#${props.id}`}
      hx-swap="outerHTML"
    >
      {props.children}
    </div>
  );
}

/**
 * The page's one stream (htmx's SSE extension, served with htmx from our origin, lib/assets.ts): every message it sends is a set
 * of out-of-band swaps, and its named events reload `LiveBlock`s. `stream` is the `/live` address
 * with the page's name and what it shows. With `Save-Data: on` there is no stream, only a reload
 * link; with JavaScript off, a reload shows the same figures. When the session ends, the stream
 * fills `#live-status` with a notice and then closes (`session_ended`).
 */
export function LiveConnection(props: { stream: string }) {
  const c = useRequestContext<AppEnv>();
  if (savesData(c.req.header("Save-Data"))) {
    return (
      <p class="live-off muted">
        Data saver is on, so figures do not update by themselves.{" "}
        <a href={c.req.path + new URL(c.req.url).search}>Refresh</a>
      </p>
    );
  }
  return (
    <div
      id="live"
      {...{ "hx-sse:connect": props.stream, "hx-sse:close": "session_ended" }}
      hx-swap="none"
    >
      <p id="live-status" role="status"></p>
    </div>
  );
}

/** The notice the stream puts in `#live-status` when the session has ended. */
export function SessionEndedNotice(props: { next: string }) {
  return (
    <p id="live-status" role="status" class="flash flash-info" hx-swap-oob="true">
      Your session has ended, so this page no longer updates.{" "}
      <a href={`/sign-in?next=${encodeURIComponent(props.next)}`}>Sign in again</a>
    </p>
  );
}
