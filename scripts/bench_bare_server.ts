/** Baseline for `deno task bench`: one bare Hono route on Deno.serve, on 127.0.0.1 at $PORT. */
import { Hono } from "hono";

const app = new Hono().get("/", (c) => c.text("ok"));

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PORT") ?? 0),
  // The bench polls the port instead of reading a banner, and stdout is not read.
  onListen: () => {},
}, app.fetch);
