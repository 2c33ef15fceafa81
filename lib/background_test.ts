/** Work after the response: it starts after the caller goes on, failures are logged, drain waits. */
import assert from "node:assert/strict";
import { createBackground } from "./background.ts";
import { createLogger } from "./log.ts";

Deno.test("[background] a task starts after the caller goes on, and drain waits for it and its follow-ups", async () => {
  const lines: string[] = [];
  const background = createBackground(createLogger("debug", (l) => lines.push(l)));
  const done: string[] = [];
  background.run("first", async () => {
    await Promise.resolve();
    done.push("first");
    background.run("second", () => Promise.resolve(void done.push("second")));
  });
  assert.deepEqual(done, [], "nothing ran while the caller was still answering");
  await background.drain();
  assert.deepEqual(done, ["first", "second"]);
  assert.deepEqual(lines, []);
});

Deno.test("[background] a failing task is logged with its name, never an unhandled rejection", async () => {
  const lines: string[] = [];
  const background = createBackground(createLogger("debug", (l) => lines.push(l)));
  background.run("password reset", () => Promise.reject(new Error("store unavailable")));
  background.run("throws at once", () => {
    throw new TypeError("bad");
  });
  await background.drain();
  const logged = lines.map((l) => JSON.parse(l));
  assert.deepEqual(
    logged.map((l) => [l.level, l.msg, l.task, l.error.message]),
    [
      ["error", "background task failed", "password reset", "store unavailable"],
      ["error", "background task failed", "throws at once", "bad"],
    ],
  );
});
