import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { toComplianceRunDto } from "./compliance-dto";
import type { ComplianceOverviewDto } from "@/lib/compliance/compliance-types";

const DAY_MS = 86_400_000;
const TREND_RUNS = 30;

/**
 * The latest run with its results, the pass/fail counts of the last 30 runs for a trend, and when
 * the console runs the checks by itself next. Every role may read it (job:read); running the
 * checks needs audit:read.
 */
export async function getComplianceOverview(actor: Actor): Promise<ComplianceOverviewDto> {
  authorize(actor, "job:read");
  const [recent, lastDaily] = await Promise.all([
    db.complianceRun.findMany({ orderBy: [{ at: "desc" }, { id: "desc" }], take: TREND_RUNS, select: { id: true, at: true, trigger: true, passCount: true, failCount: true } }),
    db.complianceRun.findFirst({ where: { trigger: "daily" }, orderBy: { at: "desc" }, select: { at: true } }),
  ]);
  const latestRow = recent[0] ? await db.complianceRun.findUnique({ where: { id: recent[0].id } }) : null;
  return {
    latest: latestRow ? toComplianceRunDto(latestRow) : null,
    trend: recent
      .slice()
      .reverse()
      .map((r) => ({ id: r.id, at: r.at.toISOString(), trigger: r.trigger === "daily" ? "daily" : "manual", passCount: r.passCount, failCount: r.failCount })),
    nextDailyAt: lastDaily ? new Date(lastDaily.at.getTime() + DAY_MS).toISOString() : null,
  };
}
