// Query schemas for the inventory pages and routes, shared by the client and the services.
import { z } from "zod";

const optionalId = z
  .string()
  .trim()
  .max(64)
  .optional()
  .transform((v) => (v ? v : undefined));
const yesNo = z
  .enum(["yes", "no", ""])
  .optional()
  .transform((v) => (v === "yes" ? true : v === "no" ? false : undefined));

export const VM_PAGE_SIZES = [25, 50, 100] as const;

export const vmListQuerySchema = z.object({
  q: z.string().trim().max(100, "Search text is too long (100 characters at most)").optional().transform((v) => v || undefined),
  site: optionalId,
  tenant: optionalId, // a tenant id, or "none" for provider-owned VMs
  keyProvider: optionalId,
  encrypted: yesNo,
  vtpm: yesNo,
  page: z.coerce.number().int().min(1, "Page starts at 1").max(100_000).default(1),
  pageSize: z.coerce
    .number()
    .int()
    .refine((n) => (VM_PAGE_SIZES as readonly number[]).includes(n), "Page size must be 25, 50 or 100")
    .default(25),
});
export type VmListQuery = z.infer<typeof vmListQuerySchema>;

export const idSchema = z.string().trim().min(1).max(64);
