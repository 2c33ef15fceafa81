/** Readiness checks of the auth configuration: cookies, email verification and transport, rate limiting. */
import type { Check } from "../readiness.ts";
import { fail, pass, warn } from "../readiness.ts";
import { EMAIL_TRANSPORT_PROBLEM } from "../config.ts";
import { createLogger } from "../log.ts";
import { createRateLimiter } from "../rate_limit.ts";

/** Appended to the default checks by `deno task check`. */
export const authChecks: Check[] = [
  {
    id: "auth.session_cookie",
    group: "auth",
    title: "Session cookie",
    run: ({ config }) => {
      if (!config) return Promise.resolve(fail("not checked until the configuration parses"));
      if (!config.isProduction) {
        return Promise.resolve(
          pass("orion_session, HttpOnly, SameSite=Lax (Secure and __Host- in production)"),
        );
      }
      return Promise.resolve(pass(
        config.sessionCookieDomain
          ? `__Secure-orion_session for ${config.sessionCookieDomain} and its subdomains; HttpOnly, Secure, SameSite=Lax`
          : "__Host-orion_session; HttpOnly, Secure, SameSite=Lax",
      ));
    },
  },
  {
    id: "auth.email_verification",
    group: "auth",
    title: "Email verification and transport",
    run: ({ config, configProblems }) => {
      if (!config) {
        // A missing transport is config.ts's to judge; its problem line is repeated here.
        const problem = configProblems?.find((line) => line === EMAIL_TRANSPORT_PROBLEM);
        return Promise.resolve(fail(problem ?? "not checked until the configuration parses"));
      }
      const transport = config.email.kind === "resend"
        ? "Resend"
        : config.email.kind === "smtp"
        ? `SMTP via ${config.emailServer!.host}:${config.emailServer!.port}`
        : "the development mailbox at /dev/mailbox";
      const required = config.requireEmailVerification ? "required" : "not required";
      if (config.isProduction && !config.requireEmailVerification) {
        return Promise.resolve(
          warn(`verification is ${required} in production; emails go through ${transport}`),
        );
      }
      return Promise.resolve(pass(`verification is ${required}; emails go through ${transport}`));
    },
  },
  {
    id: "auth.rate_limiter",
    group: "auth",
    title: "Rate limiter",
    run: async ({ config }) => {
      if (!config) return fail("not checked until the configuration parses");
      const limiter = await createRateLimiter(config, createLogger("error", () => {}));
      try {
        // One real event under a rule of its own proves the limiter answers.
        await limiter.hit({ name: "readiness-probe", limit: 1000, windowS: 60 }, "check");
      } catch (error) {
        return fail(
          `the ${limiter.kind} limiter did not answer: ${
            error instanceof Error ? error.message : error
          }`,
        );
      } finally {
        await limiter.close();
      }
      if (limiter.kind === "memory") {
        const detail = "in-process: each instance counts on its own";
        return config.isProduction
          ? warn(
            `${detail}; set UPSTASH_REDIS_REST_URL/TOKEN or RATE_LIMIT_REDIS_URL when running more than one instance`,
          )
          : pass(detail);
      }
      return pass(
        `${
          limiter.kind === "upstash" ? "Upstash" : "Redis"
        } answered; limits are shared by every instance`,
      );
    },
  },
];
