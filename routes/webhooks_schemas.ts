/** The shapes of webhook endpoint requests, shared by `/api/webhooks` and the settings forms. */
import { z } from "zod";
import { EVENT_FILTERS } from "../lib/notify/outbox.ts";
import { MAX_URL_LENGTH } from "../lib/webhooks/ssrf.ts";

const EVENTS_HINT = `one or more of ${EVENT_FILTERS.join(", ")}`;

const eventFilter = z.enum(EVENT_FILTERS, {
  error: (issue) => `Unknown event "${String(issue.input)}"; events are ${EVENTS_HINT}.`,
});

/** JSON sends a list; the form's checkboxes arrive joined with commas. */
const events = z.preprocess(
  (value) =>
    typeof value === "string" ? value.split(",").map((s) => s.trim()).filter(Boolean) : value,
  z.array(eventFilter, { error: `Give events: a list of ${EVENTS_HINT}.` })
    .min(1, "Choose at least one event.")
    .max(EVENT_FILTERS.length, "Name each event once."),
);

const url = z.string({ error: "Give the https URL to send to." }).trim()
  .min(1, "Give the https URL to send to.")
  .max(MAX_URL_LENGTH, `A URL is at most ${MAX_URL_LENGTH} characters.`);

const description = z.string({ error: "A description is text." }).trim()
  .max(200, "A description is at most 200 characters.");

export const webhookInput = z.object({ url, events, description: description.optional() });

export const webhookUpdate = z.object({
  url: url.optional(),
  events: events.optional(),
  description: description.optional(),
  enabled: z.boolean({ error: "enabled is true or false." }).optional(),
}).refine(
  (input) => Object.values(input).some((value) => value !== undefined),
  "Give at least one of url, events, description, enabled.",
);

export const deliveriesQuery = z.object({
  limit: z.coerce.number({ error: "limit is a number from 1 to 100." }).int().min(1).max(100)
    .default(20),
  cursor: z.string().max(500).optional(),
});
