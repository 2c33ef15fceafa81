/** The shapes of trading input, shared by the JSON API and the HTML forms (same field names). */
import { z } from "zod";

/** Amounts arrive as decimal strings or JSON numbers; lib/money.ts judges them exactly. */
const amount = z.union([z.string().max(40, "Too long."), z.number()]);
const optionalAmount = z.union([amount, z.null()]).optional();

export const orderInput = z.object({
  accountId: z.string().max(100).optional(),
  symbol: z.string().trim().min(1, "Choose a symbol.").max(20, "Unknown symbol."),
  side: z.string().max(10),
  type: z.string().max(20).default("market"),
  qty: amount,
  limitPrice: optionalAmount,
  stopPrice: optionalAmount,
  timeInForce: z.string().max(5).default("day"),
  clientOrderId: z.string().trim().max(64, "clientOrderId is at most 64 characters.").optional(),
});

export const replaceInput = z.object({
  qty: optionalAmount,
  limitPrice: optionalAmount,
  stopPrice: optionalAmount,
});

/** POST /api/accounts/:id/reset: the account's number typed back (accounts.ts confirmReset judges it). */
export const resetInput = z.object({ confirm: z.unknown().optional() });

export const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});

export const ordersQuery = listQuery.extend({
  status: z.enum(["open", "closed", "all"]).default("open"),
});

export const watchlistName = z.object({
  name: z.string().trim().min(1, "Give the list a name.").max(60, "Use at most 60 characters."),
});

export const symbolInput = z.object({
  symbol: z.string().trim().min(1, "Choose a symbol.").max(20, "Unknown symbol."),
});

/** An Idempotency-Key: printable, bounded. */
export const idempotencyKey = z.string().trim().min(8, "Use at least 8 characters.")
  .max(100, "Use at most 100 characters.")
  .regex(/^[\x21-\x7e]+$/, "Use printable ASCII only, no spaces.");

/** The API's optional `Idempotency-Key` header, so its errors are named for the header. */
export const idempotencyHeader = z.object({ "Idempotency-Key": idempotencyKey.optional() });
