/** The public landing page. */
import { Hono } from "hono";
import { HomePage } from "../views/home.tsx";
import type { AppDeps, AppEnv } from "./env.ts";

export function homeRoutes(deps: AppDeps) {
  const startingCash = new Intl.NumberFormat("en-US", {
    style: "currency",
    currency: "USD",
    trailingZeroDisplay: "stripIfInteger",
  }).format(deps.config.demoStartingCash as Intl.StringNumericLiteral);
  return new Hono<AppEnv>().get("/", (c) => c.render(<HomePage startingCash={startingCash} />));
}
