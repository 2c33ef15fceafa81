/** Builds the Hono app: middleware in order, then each area's routes, then the error handlers. */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { jsxRenderer } from "hono/jsx-renderer";
import { requestId } from "hono/request-id";
import { AppError } from "../lib/errors.ts";
import { Layout } from "../views/layout.tsx";
import type { AppDeps, AppEnv } from "./env.ts";
import { errorHandler, notFoundHandler } from "./errors.tsx";
import { healthRoutes } from "./health.ts";
import { homeRoutes } from "./home.tsx";
import { compression } from "./middleware/compression.ts";
import { flash } from "./middleware/flash.ts";
import { requestLog } from "./middleware/request_log.ts";
import { sameOrigin } from "./middleware/same_origin.ts";
import { securityHeaders } from "./middleware/security_headers.ts";
import { staticRoutes } from "./static.ts";

declare module "hono" {
  interface ContextRenderer {
    (content: string | Promise<string>, props?: { title?: string }): Response | Promise<Response>;
  }
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { config } = deps;
  const app = new Hono<AppEnv>();

  app.use(requestId());
  app.use(requestLog(deps.log));
  app.use(securityHeaders({ production: config.isProduction }));
  app.use(async function varyOnHtmx(c, next) {
    c.set("assets", deps.assets);
    await next();
    // One URL answers both a full page and an htmx partial, so caches must key on HX-Request.
    if (c.res.headers.get("Content-Type")?.startsWith("text/html")) {
      c.header("Vary", "HX-Request", { append: true });
    }
  });
  app.use(sameOrigin({
    allowedOrigins: [config.appUrl, ...config.corsOrigins],
    trustRequestOrigin: !config.isProduction,
  }));
  app.use(bodyLimit({
    maxSize: config.bodyLimitBytes,
    onError: () => {
      throw new AppError(
        413,
        "payload_too_large",
        `The request body is larger than ${config.bodyLimitBytes} bytes.`,
      );
    },
  }));
  app.use(compression());
  app.use(flash(config.authSecret));
  app.use(
    jsxRenderer(({ children, title }) => <Layout title={title}>{children}</Layout>, {
      docType: true,
    }),
  );

  app.route("/static", staticRoutes(deps.assets));
  app.route("/api/health", healthRoutes(deps));
  app.route("/", homeRoutes(deps));

  app.notFound(notFoundHandler);
  app.onError(errorHandler(deps.log));
  return app;
}
