/** The shapes of tax-lot input (lib/trading/lots.ts), shared by the JSON API and the pages. */
import { z } from "zod";
import { LOT_METHODS } from "../lib/trading/lots.ts";

/** PATCH /api/accounts/:id: what an account holder may change. */
export const accountPatch = z.object({
  lotMethod: z.enum(LOT_METHODS, { error: "Use fifo, lifo or hifo." }),
}).strict();

/** GET /api/realized-gains: a tax year (New York) of an account, paged. */
export const realizedGainsQuery = z.object({
  year: z.coerce.number({ error: "Give a year, like 2026." }).int("Give a year, like 2026.")
    .min(2000, "Give a year from 2000 on.").max(2100, "Give a year up to 2100."),
  accountId: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});
