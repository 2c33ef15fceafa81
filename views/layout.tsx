/** The one page frame: head, navigation, flash message, footer. Every full page renders inside it. */
import type { Child } from "hono/jsx";
import { useRequestContext } from "hono/jsx-renderer";
import { Bell } from "./notifications.tsx";
import type { AppEnv } from "../routes/env.ts";
import { type Account, accountName } from "../lib/trading/accounts.ts";

// htmx's own indicator styles are injected by script; ours live in app.css so the CSP stays strict.
const HTMX_CONFIG = JSON.stringify({ includeIndicatorCSS: false });

// --- Phone layout: navigation (issue 10) ---------------------------------------------------------
/**
 * Where a signed-in user goes. The first four are tabs: a bottom bar on a phone, a top bar on a
 * wider screen. The rest sit behind "More", a <details> disclosure, so it opens without JavaScript.
 */
const TABS = [
  ["/dashboard", "Dashboard"],
  ["/trade", "Trade"],
  ["/orders", "Orders"],
  ["/positions", "Positions"],
] as const;
const MORE = [
  ["/performance", "Performance"],
  ["/accounts", "Accounts"],
  ["/history", "History"],
  ["/watchlist", "Watchlist"],
  ["/alerts", "Alerts"],
  ["/settings", "Settings"],
] as const;
/** Admins also see their console. */
const ADMIN_MORE = [...MORE, ["/admin", "Admin"]] as const;

const isCurrent = (path: string, href: string) => path === href || path.startsWith(`${href}/`);

/**
 * The signed-in navigation. The current destination is always on screen: a tab is marked with
 * aria-current; a page behind "More" names itself in the More tab, which is marked as well.
 */
function AppNav(props: { path: string; admin: boolean }) {
  const more = props.admin ? ADMIN_MORE : MORE;
  const current = more.find(([href]) => isCurrent(props.path, href));
  const link = ([href, label]: readonly [string, string]) => (
    <a href={href} aria-current={isCurrent(props.path, href) ? "page" : undefined}>{label}</a>
  );
  return (
    <nav aria-label="Main" class="app">
      {TABS.map(link)}
      <details class="more">
        <summary class={current ? "current" : undefined}>
          {current
            ? (
              <>
                {current[1]}
                <span class="sr">, more</span>
              </>
            )
            : "More"}
        </summary>
        <div class="menu">
          {more.map(link)}
          <form method="post" action="/sign-out">
            <button type="submit" class="link">Sign out</button>
          </form>
        </div>
      </details>
    </nav>
  );
}
// --- end phone layout: navigation -----------------------------------------------------------------

/**
 * Which demo account the pages show, and the others to switch to: shown once a user has more than
 * one (with one there is nothing to choose). Each button posts its account; `next` comes back here.
 */
function AccountSwitcher(props: { chosen: Account; open: Account[]; path: string }) {
  return (
    <details class="acct">
      <summary>
        <span class="sr">Account:</span>
        <span class="name">{accountName(props.chosen)}</span>
      </summary>
      <form method="post" action="/accounts/switch" class="menu">
        <input type="hidden" name="next" value={props.path} />
        <span class="current" aria-current="true">✓ {accountName(props.chosen)}</span>
        {props.open.filter((a) => a._id !== props.chosen._id).map((a) => (
          <button type="submit" class="link" name="accountId" value={a._id}>
            {accountName(a)}
          </button>
        ))}
        <a href="/accounts">All accounts</a>
      </form>
    </details>
  );
}

export function Layout(props: { title?: string; children?: Child }) {
  const c = useRequestContext<AppEnv>();
  const assets = c.get("assets").byName;
  const flash = c.get("flash");
  const user = c.get("user");
  const accounts = c.get("accounts");
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
        {/* For search engines, which only ever see the signed-out pages. */}
        {!user && (
          <meta
            name="description"
            content="Paper-trade US stocks, ETFs and crypto with a fast, lightweight broker."
          />
        )}
        <meta name="htmx-config" content={HTMX_CONFIG} />
        <link rel="stylesheet" href={assets.get("app.css")!.url} />
        {c.get("extraStyles") && <link rel="stylesheet" href={assets.get("extra.css")!.url} />}
        <link rel="icon" type="image/svg+xml" href={assets.get("icon.svg")!.url} />
        {/* A page that is only reading (the API reference) needs neither script. */}
        {!c.get("scriptless") && (
          <script src={assets.get("htmx.js")!.url} nonce={c.get("secureHeadersNonce")} defer />
        )}
        {/* rough edges: the browser's time zone, for users who chose none (static/tz.js) */}
        {!user?.timeZone && !c.get("scriptless") && (
          <script src={assets.get("tz.js")!.url} nonce={c.get("secureHeadersNonce")} defer />
        )}
      </head>
      <body class={user ? "signed-in" : undefined}>
        <a class="skip" href="#main">Skip to content</a>
        <header class="site">
          <a class="brand" href="/">
            <img src={assets.get("icon.svg")!.url} alt="" width="24" height="24" />
            Orion
          </a>
          {accounts && accounts.open.length > 1 && (
            <AccountSwitcher chosen={accounts.chosen} open={accounts.open} path={path} />
          )}
          {user && <Bell unread={c.get("unread") ?? 0} current={path === "/notifications"} />}
          {user ? <AppNav path={path} admin={user.role === "ADMIN"} /> : (
            <nav aria-label="Main">
              <a href="/sign-in">Sign in</a>
              <a class="button" href="/sign-up">Sign up</a>
            </nav>
          )}
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
