/**
 * Server-sent-event streams that live only as long as the session that opened them: the live
 * pages' stream (`/live`) and the programs' stream (`/api/stream`) both run on this loop.
 *
 * Every stream is a loop in this process that wakes once a second, asks its page or program
 * what changed (`tick`) and writes only that. Nothing is pushed between processes: each loop
 * reads the shared store, so a change committed by any instance shows on a stream served by any
 * other within a tick. Every few seconds the loop checks that the session still holds (signed
 * out, expired, suspended, password changed): when it does not, it writes `ended` and closes.
 * A comment line every 15 s of silence keeps proxies from closing an idle connection.
 */
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { AppError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log.ts";

/** One server-sent event. `data` must not be empty for htmx to act on an unnamed message. */
export type LiveMessage = { event?: string; data: string; id?: string };

export type LiveStreamOptions = {
  /** Whose stream it is: streams are counted per user. */
  userId: string;
  /** Whether the session that opened the stream still holds; false ends the stream. */
  signedIn: () => Promise<boolean>;
  /** What to send this tick (nothing when nothing changed). The first tick runs at once. */
  tick: (now: Date) => Promise<LiveMessage[]>;
  /** The last messages when the session ends (made then, so they can carry the latest id). */
  ended: LiveMessage | (() => LiveMessage | LiveMessage[] | Promise<LiveMessage[]>);
};

export type LiveStreams = {
  /** Opens a stream for the request, or throws 429 when the user has too many open. */
  open(c: Context, options: LiveStreamOptions): Response;
  /** How many streams this process serves now. */
  readonly count: number;
  /** Ends every stream now (at shutdown, so the server need not wait for them). */
  closeAll(): void;
};

export type LiveStreamSettings = {
  log: Logger;
  /** Per user and process: a tab holds one, so this bounds what a script can hold open. */
  maxPerUser?: number;
  /** How often a stream looks for changes; pages update at most this often. */
  intervalMs?: number;
  /** How often the session is checked again. */
  sessionCheckMs?: number;
  /** Silence after which a comment line is sent. */
  keepAliveMs?: number;
  /** The time each tick is for; the wall clock unless a test fixes it. */
  clock?: () => Date;
};

export function createLiveStreams(settings: LiveStreamSettings): LiveStreams {
  const maxPerUser = settings.maxPerUser ?? 10;
  const intervalMs = settings.intervalMs ?? 1_000;
  const sessionCheckMs = settings.sessionCheckMs ?? 5_000;
  const keepAliveMs = settings.keepAliveMs ?? 15_000;
  const clock = settings.clock ?? (() => new Date());
  const perUser = new Map<string, number>();
  const stops = new Set<AbortController>();

  return {
    get count() {
      return stops.size;
    },
    closeAll() {
      for (const stop of stops) stop.abort();
    },
    open(c, options) {
      // Claimed before anything is awaited, so simultaneous opens cannot all pass the count.
      const held = perUser.get(options.userId) ?? 0;
      if (held >= maxPerUser) {
        throw new AppError(
          429,
          "too_many_streams",
          `At most ${maxPerUser} live connections at once; close another tab or stream first.`,
          undefined,
          { "Retry-After": "5" },
        );
      }
      perUser.set(options.userId, held + 1);
      const stop = new AbortController();
      stops.add(stop);
      const release = () => {
        if (!stops.delete(stop)) return;
        const left = (perUser.get(options.userId) ?? 1) - 1;
        if (left > 0) perUser.set(options.userId, left);
        else perUser.delete(options.userId);
      };
      c.header("X-Accel-Buffering", "no"); // nginx-style proxies: pass each event on at once
      return streamSSE(c, async (sse) => {
        sse.onAbort(() => stop.abort());
        c.req.raw.signal.addEventListener("abort", () => stop.abort(), { once: true });
        try {
          let lastWrite = Date.now();
          let lastCheck = Date.now();
          let first = true;
          while (!stop.signal.aborted) {
            if (!first) await pause(intervalMs, stop.signal);
            first = false;
            if (stop.signal.aborted) break;
            const now = clock();
            if (Date.now() - lastCheck >= sessionCheckMs) {
              lastCheck = Date.now();
              if (!(await options.signedIn())) {
                const { ended } = options;
                const last = typeof ended === "function" ? await ended() : ended;
                for (const message of Array.isArray(last) ? last : [last]) {
                  await sse.writeSSE(message);
                }
                break;
              }
            }
            let messages: LiveMessage[] = [];
            try {
              messages = await options.tick(now);
            } catch (error) {
              // A failed read (store briefly away) skips a tick; the next one catches up, since
              // each tick compares with what was last sent, not with the previous tick.
              settings.log.warn("live stream tick failed", { error });
            }
            for (const message of messages) await sse.writeSSE(message);
            if (messages.length > 0) lastWrite = Date.now();
            else if (Date.now() - lastWrite >= keepAliveMs) {
              await sse.write(": keep-alive\n\n");
              lastWrite = Date.now();
            }
          }
        } catch (error) {
          // The client went away mid-write; nothing to tell anyone.
          if (!stop.signal.aborted) settings.log.debug("live stream ended", { error });
        } finally {
          release();
        }
      });
    },
  };
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
