/** The one page frame: head, navigation, flash message, footer. Every full page renders inside it. */
import type { Child } from "hono/jsx";
import { useRequestContext } from "hono/jsx-renderer";
import type { AppEnv } from "../routes/env.ts";

// htmx's own indicator styles are injected by script; ours live in app.css so the CSP stays strict.
const HTMX_CONFIG = JSON.stringify({ includeIndicatorCSS: false });

/** Where a signed-in user goes; one row that scrolls sideways on a phone. */
const APP_NAV = [
  ["/dashboard", "Dashboard"],
  ["/trade", "Trade"],
  ["/orders", "Orders"],
  ["/positions", "Positions"],
  ["/history", "History"],
  ["/watchlist", "Watchlist"],
  ["/settings", "Settings"],
] as const;
/** Admins also see their console. */
const ADMIN_NAV = [...APP_NAV, ["/admin", "Admin"]] as const;

export function Layout(props: { title?: string; children?: Child }) {
  const c = useRequestContext<AppEnv>();
  const assets = c.get("assets").byName;
  const flash = c.get("flash");
  const user = c.get("user");
  const path = c.req.path;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>
          {props.title ? `${props.title} · Orion Assets Broker` : "Orion Assets Broker"}
        </title>
        <meta
          name="description"
          content="Paper-trade US stocks, ETFs and crypto with a fast, lightweight broker."
        />
        <meta name="htmx-config" content={HTMX_CONFIG} />
        <link rel="stylesheet" href={assets.get("app.css")!.url} />
        <link rel="icon" type="image/svg+xml" href={assets.get("icon.svg")!.url} />
        <script src={assets.get("htmx.js")!.url} nonce={c.get("secureHeadersNonce")} defer />
        {/* rough edges: the browser's time zone, for users who chose none (static/tz.js) */}
        {!user?.timeZone && (
          <script src={assets.get("tz.js")!.url} nonce={c.get("secureHeadersNonce")} defer />
        )}
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="site">
          <a class="brand" href="/">
            <img src={assets.get("icon.svg")!.url} alt="" width="24" height="24" />
            Orion
          </a>
          <nav aria-label="Main" class={user ? "app" : undefined}>
            {user
              ? (
                <>
                  {(user.role === "ADMIN" ? ADMIN_NAV : APP_NAV).map(([href, label]) => (
                    <a
                      href={href}
                      aria-current={path === href || path.startsWith(`${href}/`)
                        ? "page"
                        : undefined}
                    >
                      {label}
                    </a>
                  ))}
                  <form method="post" action="/sign-out" class="inline">
                    <button type="submit" class="link">Sign out</button>
                  </form>
                </>
              )
              : (
                <>
                  <a href="/sign-in">Sign in</a>
                  <a class="button" href="/sign-up">Sign up</a>
                </>
              )}
          </nav>
        </header>
        <main id="main">
          {c.get("readOnly") && (
            <p class="flash flash-info" role="status">
              Orion is in read-only mode for maintenance: you can look around, but changes are
              paused.
            </p>
          )}
          {flash && <p class={`flash flash-${flash.kind}`} role="status">{flash.text}</p>}
          {props.children}
        </main>
        <footer class="site">
          <p>
            Orion Assets Broker · paper trading with simulated prices; no real money moves.
          </p>
        </footer>
      </body>
    </html>
  );
}
