/** Every readiness check `deno task check` runs, in display order; each area contributes its own. */
import { authChecks } from "./auth/readiness.ts";
import { type Check, defaultChecks } from "./readiness.ts";
import { tradingChecks } from "./trading/readiness.ts";

export const allChecks: readonly Check[] = [...defaultChecks, ...authChecks, ...tradingChecks];
