/** The notification centre's input shapes (routes/notifications_api.ts, notification_pages.tsx). */
import { z } from "zod";
import { MARK_READ_MAX } from "../lib/notify/notifications.ts";
import { NOTIFICATION_EMAIL_CHOICES } from "../lib/auth/users.ts";
import { listQuery } from "./trading_schemas.ts";

export const notificationsQuery = listQuery.extend({
  unread: z.enum(["true", "false"], { error: "Use true or false." }).optional()
    .transform((v) => v === "true"),
});

const notificationIds = z.array(z.string().min(1).max(40), { error: "ids must be a list of ids." })
  .min(1, "Name at least one notification.")
  .max(MARK_READ_MAX, `Name at most ${MARK_READ_MAX} notifications at once.`);

/** POST /api/notifications/read: `{ids: [...]}` or `{all: true}`. */
export const markReadInput = z.union([
  z.object({ ids: notificationIds }).strict(),
  z.object({ all: z.literal(true) }).strict(),
], { error: 'Send {"ids": [...]} or {"all": true}.' });

/** The settings form's email choice. */
export const notificationEmailInput = z.object({
  notificationEmail: z.enum(NOTIFICATION_EMAIL_CHOICES, {
    error: "Choose none, fills and alerts, or everything.",
  }),
});
