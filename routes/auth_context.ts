/** The auth flows' view of the app's dependencies. */
import type { AuthContext } from "../lib/auth/context.ts";
import type { AppDeps } from "./env.ts";

export function authContext(deps: AppDeps): AuthContext {
  return {
    store: deps.store,
    config: deps.config,
    mailer: deps.mailer,
    limiter: deps.limiter,
    log: deps.log,
    background: deps.background,
  };
}
