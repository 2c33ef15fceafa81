/** The shape of a new API key, shared by `POST /api/keys` and the settings form (same field names). */
import { z } from "zod";
import { API_KEY_SCOPES, MAX_API_KEY_DAYS } from "../lib/auth/api_keys.ts";

const scope = z.enum(API_KEY_SCOPES, { error: 'Scopes are "read" and "trade".' });

export const apiKeyInput = z.object({
  name: z.string({ error: "Name the key." }).trim().min(1, "Name the key.").max(
    60,
    "A name is at most 60 characters.",
  ),
  /** JSON sends a list; the form's radio buttons send "read" or "read,trade". */
  scopes: z.preprocess(
    (value) => typeof value === "string" ? value.split(",").map((s) => s.trim()) : value,
    z.array(scope, { error: 'Give scopes: ["read"] or ["read","trade"].' }).min(
      1,
      'Give scopes: ["read"] or ["read","trade"].',
    ).refine(
      (scopes) => scopes.includes("read"),
      'A key that trades also reads: give ["read","trade"].',
    ),
  ),
  /** Absent, null or the form's "" (never): the key does not expire. */
  expiresInDays: z.preprocess(
    (value) => value === "" ? null : typeof value === "string" ? Number(value) : value,
    z.number({ error: `A number of days from 1 to ${MAX_API_KEY_DAYS}.` }).int(
      `A number of days from 1 to ${MAX_API_KEY_DAYS}.`,
    ).min(1, `A number of days from 1 to ${MAX_API_KEY_DAYS}.`).max(
      MAX_API_KEY_DAYS,
      `A number of days from 1 to ${MAX_API_KEY_DAYS}.`,
    ).nullable().optional(),
  ),
});
