/** The notification centre: the bell in the header and the /notifications page. */
import type { Notification } from "../lib/notify/notifications.ts";
import { UNREAD_SHOWN } from "../lib/notify/notifications.ts";
import { Live, type LiveCell } from "./live.tsx";
import { Pager, PostButton, Time } from "./trading.tsx";

/** An unread count as the bell and the page say it: "99+" past UNREAD_SHOWN. */
const unreadText = (unread: number) => unread > UNREAD_SHOWN ? `${UNREAD_SHOWN}+` : String(unread);

/** The bell's count, a live cell: the header renders it and the page stream swaps it. */
export function bellCell(unread: number): LiveCell {
  return { id: "bell", content: unread === 0 ? "" : unreadText(unread) };
}

/** The header's bell: a link to the page, its unread count beside it when there are any. */
export function Bell(props: { unread: number; current: boolean }) {
  return (
    <a href="/notifications" class="bell" aria-current={props.current ? "page" : undefined}>
      <span class="sr">Notifications, unread:</span>
      <Live cell={bellCell(props.unread)} />
    </a>
  );
}

export function NotificationsPage(
  props: { items: Notification[]; unread: number; newer?: string; older?: string },
) {
  return (
    <div class="page">
      <h1>Notifications</h1>
      {props.unread > 0 && (
        <div class="actions">
          <span>{unreadText(props.unread)} unread</span>
          <PostButton action="/notifications/read" label="Mark all read" class="secondary" />
        </div>
      )}
      {props.items.length === 0
        ? (
          <p class="muted">
            Nothing yet. Fills, alerts that fire, orders the system ends and security notices appear
            here. <a href="/settings#notifications">Email choice</a>
          </p>
        )
        : (
          <ul class="notes card">
            {props.items.map((n) => <NotificationItem key={n._id} n={n} />)}
          </ul>
        )}
      <Pager newer={props.newer} older={props.older} label="Notification pages" />
    </div>
  );
}

/** One notification: unread ones marked; opening one marks it read and goes where it leads. */
function NotificationItem(props: { n: Notification }) {
  const { n } = props;
  const unread = n.readAt === null;
  return (
    <li class={unread ? "note unread" : "note"}>
      {n.link
        ? <PostButton action={`/notifications/${n._id}/open`} label={n.title} class="link title" />
        : <strong>{n.title}</strong>}
      {unread && <span class="sr">(unread)</span>}
      {n.body && <p>{n.body}</p>}
      <Time at={n.at} />
    </li>
  );
}
