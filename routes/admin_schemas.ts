/** The shapes of admin input, shared by the console's forms and the admin JSON API (same field names). */
import { z } from "zod";
import { ASSIGNABLE_ROLES, AUDIT_ACTIONS } from "../lib/admin.ts";
import { ROLES } from "../lib/auth/users.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
const cursor = z.string().max(500).optional();
/** The JSON API's page size; the console always shows ADMIN_PAGE_SIZE and ignores it. */
const limit = z.coerce.number().int().min(1).max(200).default(25);

/** A calendar day, read as UTC midnight. */
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "Use a date like 2025-01-31.").transform(
  (value, ctx) => {
    const at = new Date(`${value}T00:00:00Z`);
    if (Number.isNaN(at.getTime()) || at.toISOString().slice(0, 10) !== value) {
      ctx.addIssue({ code: "custom", message: "There is no such date." });
      return z.NEVER;
    }
    return at;
  },
).meta({ description: "A day, YYYY-MM-DD (UTC)." });

export const usersQuery = z.object({
  email: z.string().trim().max(254, "Use at most 254 characters.").optional(),
  role: z.enum(ROLES, { error: "Choose a role from the list." }).optional(),
  status: z.enum(["verified", "unverified"], { error: "Choose a status from the list." })
    .optional(),
  cursor,
  limit,
});

export const auditQuery = z.object({
  user: z.string().trim().max(254, "Use at most 254 characters.").optional(),
  action: z.enum(AUDIT_ACTIONS, { error: "Choose an action from the list." }).optional(),
  outcome: z.enum(["success", "failure"], { error: "Choose success or failure." }).optional(),
  from: day.optional(),
  // The last day counts whole: entries before the next midnight.
  to: day.transform((at) => new Date(at.getTime() + DAY_MS)).optional(),
  cursor,
  limit,
}).refine((q) => !q.from || !q.to || q.from < q.to, {
  path: ["to"],
  message: "The end date is before the start date.",
});

export const ordersQuery = z.object({
  status: z.enum(["all", "open"], { error: "Choose all or open." }).default("all"),
  cursor,
  limit,
});

/** The console's role picker; suspending goes through its own action. */
export const roleFormInput = z.object({
  role: z.enum(ASSIGNABLE_ROLES, { error: "Choose USER, DEMO or ADMIN." }),
});

/** The API may also suspend by role. */
export const roleApiInput = z.object({
  role: z.enum(ROLES, { error: `role must be one of ${ROLES.join(", ")}.` }),
});

export const readOnlyInput = z.object({
  on: z.enum(["true", "false"], { error: "Say whether to turn it on or off." })
    .transform((v) => v === "true"),
  reason: z.string().trim().max(200, "Use at most 200 characters.").default(""),
}).refine((input) => !input.on || input.reason.length >= 3, {
  path: ["reason"],
  message: "Say why (at least 3 characters), so other admins know.",
});
