import "server-only";
import { z } from "zod";
import { CHECK_IDS, type ComplianceResult, type ComplianceRunDto } from "@/lib/compliance/compliance-types";

const resultsSchema = z.array(
  z.object({
    id: z.enum(CHECK_IDS),
    title: z.string(),
    status: z.enum(["pass", "fail", "na"]),
    why: z.string(),
    fixHref: z.string(),
    fixLabel: z.string(),
  }),
);

/** A stored run as the page shows it; results that do not parse (edited by hand) read as none. */
export function toComplianceRunDto(row: { id: string; at: Date; trigger: string; results: string; passCount: number; failCount: number }): ComplianceRunDto {
  let results: ComplianceResult[] = [];
  try {
    const parsed = resultsSchema.safeParse(JSON.parse(row.results));
    if (parsed.success) results = parsed.data;
  } catch {
    // keep []
  }
  return {
    id: row.id,
    at: row.at.toISOString(),
    trigger: row.trigger === "daily" ? "daily" : "manual",
    passCount: row.passCount,
    failCount: row.failCount,
    naCount: results.filter((r) => r.status === "na").length,
    results,
  };
}
