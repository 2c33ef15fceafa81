/** Reads a server-sent-event response the way EventSource does, for tests of live streams. */

export type SseEvent = { event: string; data: string; id: string | null };

export type SseReader = {
  /** Events read so far, in order. */
  readonly seen: SseEvent[];
  /** Every comment line read so far (keep-alives). */
  readonly comments: string[];
  /** Reads until `done` holds for an event (which is returned), or throws after `timeoutMs`. */
  until(done: (event: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  /** Whether the server ended the stream, waiting at most `timeoutMs`. */
  ended(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
};

export function sseReader(res: Response): SseReader {
  if (!res.body) throw new Error("the response has no body");
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const seen: SseEvent[] = [];
  const comments: string[] = [];
  let buffer = "";
  let cursor = 0;
  let finished = false;
  let pending: Promise<ReadableStreamReadResult<string>> | null = null;

  /** Parses whole blocks out of the buffer. */
  function parse() {
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event: SseEvent = { event: "message", data: "", id: null };
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) comments.push(line.slice(1).trim());
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        else if (line.startsWith("event:")) event.event = line.slice(6).trim();
        else if (line.startsWith("id:")) event.id = line.slice(3).trim();
      }
      if (data.length || event.event !== "message") {
        event.data = data.join("\n");
        seen.push(event);
      }
    }
  }

  /** One chunk, or false at the deadline or the end. */
  async function readSome(deadline: number): Promise<boolean> {
    if (finished) return false;
    pending ??= reader.read();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), Math.max(0, deadline - Date.now()));
    });
    const result = await Promise.race([pending, late]);
    clearTimeout(timer);
    if (result === "late") return false;
    pending = null;
    if (result.done) {
      finished = true;
      return false;
    }
    buffer += result.value;
    parse();
    return true;
  }

  return {
    seen,
    comments,
    async until(done, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (cursor < seen.length) {
          const event = seen[cursor++];
          if (done(event)) return event;
        }
        if (!(await readSome(deadline))) {
          throw new Error(
            `no matching event within ${timeoutMs} ms${finished ? " (stream ended)" : ""}; saw ${
              JSON.stringify(seen.map((e) => e.event))
            }`,
          );
        }
      }
    },
    async ended(timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (!finished && await readSome(deadline));
      return finished;
    },
    async close() {
      await reader.cancel().catch(() => {});
    },
  };
}
