/**
 * Work done after the response: a task starts on a later turn of the event loop, so the answer
 * neither waits for it nor depends on what it finds (a password reset for an unknown address
 * answers exactly like one for a known address). A failing task is logged, never an unhandled
 * rejection. `drain()` waits for every task, so shutdown does not cut an email off.
 */
import type { Logger } from "./log.ts";

/** Tasks run after answering; one per process, drained at shutdown. */
export type Background = {
  /** Starts `task` after the current request has answered; never throws. */
  run(name: string, task: () => Promise<void>): void;
  /** Resolves once every task started so far, and any they started, has finished. */
  drain(): Promise<void>;
};

export function createBackground(log: Logger): Background {
  const running = new Set<Promise<void>>();
  return {
    run(name, task) {
      // A timer, not a microtask: the request's own continuation (writing the answer) goes first.
      const done: Promise<void> = new Promise<void>((resolve) => setTimeout(resolve, 0))
        .then(task)
        .catch((error) => log.error("background task failed", { task: name, error }))
        .finally(() => running.delete(done));
      running.add(done);
    },
    async drain() {
      while (running.size > 0) await Promise.all(running);
    },
  };
}
