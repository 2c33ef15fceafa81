/**
 * The notification centre's records: one document per thing a trader should see in the bell,
 * whoever made it (the dispatch pass for order and alert events, sign-in for a new device, key
 * creation, the webhook sender when it gives up on an endpoint).
 *
 * `readAt` is null until read; the `{userId, readAt}` index counts a user's unread ones without
 * reading the rest. `email` says what the email batcher still has to do with it: `pending` until a
 * digest carries it, `none` when the user's choice leaves it out.
 */
import { newId } from "../ids.ts";
import type { Doc, WriteOp } from "../store/port.ts";

/**
 * What a notification is about. The email choice in settings is by family: "fills and alerts"
 * takes `fill` and `alert`; "everything" takes them all.
 */
export const NOTIFICATION_KINDS = ["fill", "alert", "order", "security", "webhook"] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export type Notification = Doc & {
  userId: string;
  kind: NotificationKind;
  /** One line, e.g. "Bought 10 AAPL at $189.20". */
  title: string;
  /** A sentence or two more; may be empty. */
  body: string;
  /** The app page where it leads (a path, e.g. "/orders/01J…"), or null. */
  link: string | null;
  at: Date;
  readAt: Date | null;
  email: "pending" | "none" | "sent";
};

/** What a maker of a notification says; the rest is filled in here. */
export type NotificationContent = Pick<Notification, "kind" | "title" | "body" | "link">;

/**
 * The insert of one notification, for the unit of whatever it tells of. `email` is decided by the
 * caller from the user's choice (`emailWanted`), so a unit never reads settings it does not need.
 */
export function notificationOp(
  userId: string,
  content: NotificationContent,
  at: Date,
  email: Notification["email"] = "none",
): WriteOp {
  return {
    op: "insert",
    collection: "notifications",
    doc: { _id: newId(at.getTime()), userId, ...content, at, readAt: null, email },
  };
}
