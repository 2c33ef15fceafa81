/** What the auth flows need from the rest of the app, passed in so they run the same in tests. */
import type { Background } from "../background.ts";
import type { Config } from "../config.ts";
import type { Mailer } from "../email.ts";
import type { Logger } from "../log.ts";
import type { RateLimiter } from "../rate_limit.ts";
import type { Store } from "../store/port.ts";

export type AuthContext = {
  store: Store;
  config: Pick<Config, "authSecret" | "appUrl" | "requireEmailVerification" | "demoStartingCash">;
  mailer: Mailer;
  limiter: RateLimiter;
  log: Logger;
  /** Work done after answering (reset emails), so its timing tells the client nothing. */
  background: Background;
};
