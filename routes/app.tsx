/** Builds the Hono app: middleware in order, then each area's routes, then the error handlers. */
import { Hono } from "hono";
import { contextStorage } from "hono/context-storage";
import { jsxRenderer } from "hono/jsx-renderer";
import { requestId } from "hono/request-id";
import { Layout } from "../views/layout.tsx";
import type { AppDeps, AppEnv } from "./env.ts";
import { errorHandler, notFoundHandler } from "./errors.tsx";
import { adminRoutes } from "./admin.tsx";
import { adminApi } from "./admin_api.ts";
import { apiKeysApi } from "./api_keys_api.ts";
import { apiKeyPages } from "./api_keys_pages.tsx";
import { apiDocsRoutes } from "./api_docs.tsx";
import { openApiRoutes } from "./openapi.ts";
import { webhooksApi } from "./webhooks_api.ts";
import { webhookPages } from "./webhooks_pages.tsx";
import { authApi } from "./auth_api.ts";
import { authPages } from "./auth_pages.tsx";
import { devMailboxRoutes } from "./dev_mailbox.tsx";
import { healthRoutes } from "./health.ts";
import { metricsRoutes } from "./metrics.ts";
import { recordHttpMetrics } from "./middleware/http_metrics.ts";
import { readOnlyGuard } from "./middleware/read_only.ts";
import { apiKeyAuth } from "./middleware/api_key.ts";
import { apiRateLimit } from "./middleware/api_rate_limit.ts";
import { bodyLimit } from "./middleware/body_limit.ts";
import { noStore } from "./middleware/no_store.ts";
import { loadSession } from "./middleware/session.ts";
import { resolveTimeZone } from "./middleware/time_zone.ts";
import { settingsRoutes } from "./settings.tsx";
import { redactSignalToken, SIGNAL_PATH, signalDeliveryApi, signalUrlsApi } from "./signals_api.ts";
import { signalPages } from "./signals_pages.tsx";
import { tradingApi } from "./trading_api.ts";
import { portfolioApi } from "./performance.tsx";
import { exportsApi } from "./exports_api.ts";
import { apiStreamRoutes } from "./live/api_stream.ts";
import { tradingPages } from "./trading_pages.tsx";
import { homeRoutes } from "./home.tsx";
import { compression } from "./middleware/compression.ts";
import { flash } from "./middleware/flash.ts";
import { requestLog } from "./middleware/request_log.ts";
import { wantsPartial } from "./request.ts";
import { sameOrigin } from "./middleware/same_origin.ts";
import { pageStreamRoutes } from "./live/page_stream.tsx";
import { securityHeaders } from "./middleware/security_headers.ts";
import { staticRoutes } from "./static.ts";
import { unreadCount } from "../lib/notify/notifications.ts";
import { notificationsApi } from "./notifications_api.ts";
import { notificationPages } from "./notification_pages.tsx";

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { config } = deps;
  const app = new Hono<AppEnv>();

  app.use(requestId());
  // Lets views reach the request (its time zone) without every table being handed it.
  app.use(contextStorage());
  app.use(recordHttpMetrics(deps.metrics));
  app.use(requestLog(deps.log, { redactPath: redactSignalToken }));
  // Assets answer before the page middleware: they need none of it (routes/static.ts).
  app.route("/static", staticRoutes(deps.assets));
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
    exempt: SIGNAL_PATH,
  }));
  app.use(bodyLimit({ maxBytes: config.bodyLimitBytes, timeoutMs: config.bodyTimeoutMs }));
  app.use(compression());
  app.use(flash(config.authSecret));
  app.use(
    jsxRenderer(async ({ children, title }, c) => {
      if (wantsPartial(c)) {
        // An htmx request that gets a whole page (an error page, or a route with no partial) must
        // not nest it inside the element that asked: its <main> replaces ours instead.
        c.header("HX-Retarget", "#main");
        c.header("HX-Reselect", "#main");
        c.header("HX-Reswap", "outerHTML");
      }
      // The bell's count, read only for a whole page with someone signed in.
      const user = c.get("user");
      if (user && c.get("unread") === undefined) {
        c.set("unread", await unreadCount(deps.store, user._id).catch(() => 0));
      }
      return <Layout title={title}>{children}</Layout>;
    }, { docType: true }),
  );

  // Before the session: a request with an API key is authenticated by the key alone, and any
  // session cookie it also carries is neither read nor renewed.
  app.use("/api/*", apiKeyAuth(deps, { exempt: SIGNAL_PATH }));
  app.use(loadSession(deps, { exempt: SIGNAL_PATH }));
  app.use(resolveTimeZone);
  app.use(readOnlyGuard(deps.readOnly));
  app.use("/api/*", apiRateLimit(deps, { exempt: SIGNAL_PATH }));
  // Before noStore, which it never reaches: the contract is the same for everyone and may be cached.
  app.route("/api", openApiRoutes(deps));
  // One rule for the whole API: most answers are one user's data, the rest (quotes, health) live.
  app.use("/api/*", noStore);

  app.route("/api/health", healthRoutes(deps));
  app.route("/metrics", metricsRoutes(deps));
  app.route("/api/auth", authApi(deps));
  app.route("/api/admin", adminApi(deps));
  app.route("/api/keys", apiKeysApi(deps));
  app.route("/api/notifications", notificationsApi(deps));
  app.route("/api/signals", signalDeliveryApi(deps));
  app.route("/api/signal-urls", signalUrlsApi(deps));
  app.route("/api/stream", apiStreamRoutes(deps));
  app.route("/api/portfolio", portfolioApi(deps));
  app.route("/api/exports", exportsApi(deps));
  app.route("/api/webhooks", webhooksApi(deps));
  app.route("/api", tradingApi(deps));
  app.route("/", homeRoutes(deps));
  app.route("/docs/api", apiDocsRoutes(deps));
  app.route("/", authPages(deps));
  app.route("/settings/keys", apiKeyPages(deps));
  app.route("/notifications", notificationPages(deps));
  app.route("/settings/webhooks", webhookPages(deps));
  app.route("/settings/signals", signalPages(deps));
  app.route("/settings", settingsRoutes(deps));
  app.route("/live", pageStreamRoutes(deps));
  app.route("/", tradingPages(deps));
  app.route("/admin", adminRoutes(deps));
  // The development mailbox shows emails "sent" when no provider is configured; never in production.
  if (!config.isProduction && deps.mailer.mailbox) {
    app.route("/dev", devMailboxRoutes(deps.mailer.mailbox));
  }

  app.notFound(notFoundHandler);
  app.onError(errorHandler(deps.log));
  return app;
}
