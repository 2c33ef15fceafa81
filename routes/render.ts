/** Answering with views: a whole page, or the partial an htmx request asked for, with any status. */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError } from "../lib/errors.ts";
import type { FormState } from "../views/form.tsx";
import { wantsPartial } from "./request.ts";

type View = string | Promise<string>;

/** The page in the layout, or just `partial` for an htmx request; one component serves both. */
export function renderView(
  c: Context,
  options: { page: View; partial?: View; title: string; status?: ContentfulStatusCode },
): Response | Promise<Response> {
  c.status(options.status ?? 200);
  if (options.partial !== undefined && wantsPartial(c)) return c.html(options.partial);
  return c.render(options.page, { title: options.title });
}

/** The fields that are never sent back into a form: passwords and codes. */
const SECRET_FIELDS = new Set([
  "password",
  "currentPassword",
  "newPassword",
  "code",
  "totpCode",
  "token",
]);

/**
 * Turns an error a form can show (4xx) into the form's state, keeping what the user typed except
 * secrets; anything else is rethrown for the error handler.
 */
export function formFailure(
  c: Context,
  err: unknown,
  values: Record<string, string>,
): { state: FormState; status: ContentfulStatusCode } {
  if (!(err instanceof AppError) || err.status >= 500) throw err;
  for (const [name, value] of Object.entries(err.headers ?? {})) c.header(name, value);
  const kept = Object.fromEntries(Object.entries(values).filter(([k]) => !SECRET_FIELDS.has(k)));
  const fields = (err.details?.fields ?? {}) as Record<string, string>;
  // Validation errors sit beside their fields; other errors (wrong password, 429) head the form.
  const fieldOnly = Object.keys(fields).length > 0 && err.code === "validation_failed";
  return {
    state: { values: kept, fields, error: fieldOnly ? undefined : err.message },
    status: err.status as ContentfulStatusCode,
  };
}
