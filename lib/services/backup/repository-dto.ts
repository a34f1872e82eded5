import "server-only";
import { z } from "zod";

export interface RepositoryDto {
  id: string;
  name: string;
  path: string;
  description: string;
  immutabilityDays: number;
  blockSize: number;
  createdAt: string;
  pointCount: number;
  jobCount: number;
  bytesStored: number;
  lastVerify: { at: string; outcome: string; summary: string } | null;
  verifyRunning: boolean;
}

// What a verify keeps of the engine's report: per point and disk, damage named by block (BKP-7).
export const verifyReportSchema = z.object({
  // incomplete: no damage found, but some points were checked without their keys.
  outcome: z.enum(["clean", "incomplete", "damaged", "failed"]),
  summary: z.string(),
  durationMs: z.number(),
  blocksChecked: z.number(),
  bytesChecked: z.number(),
  points: z.array(
    z.object({
      pointId: z.string(),
      vmName: z.string(),
      createdAt: z.string().nullable(),
      ok: z.boolean(),
      problems: z.array(z.string()),
    }),
  ),
  problems: z.array(z.string()),
});
export type VerifyReportDto = z.infer<typeof verifyReportSchema>;

export function toRepositoryDto(r: {
  id: string;
  name: string;
  path: string;
  description: string;
  immutabilityDays: number;
  blockSize: number;
  createdAt: Date;
  lastVerifyAt: Date | null;
  lastVerifyOutcome: string | null;
  lastVerifyReport: string | null;
  verifyRunning: boolean;
  _count: { restorePoints: number; jobs: number };
}, bytesStored: number): RepositoryDto {
  let summary = "";
  if (r.lastVerifyReport) {
    const parsed = verifyReportSchema.safeParse(JSON.parse(r.lastVerifyReport));
    summary = parsed.success ? parsed.data.summary : "";
  }
  return {
    id: r.id,
    name: r.name,
    path: r.path,
    description: r.description,
    immutabilityDays: r.immutabilityDays,
    blockSize: r.blockSize,
    createdAt: r.createdAt.toISOString(),
    pointCount: r._count.restorePoints,
    jobCount: r._count.jobs,
    bytesStored,
    lastVerify: r.lastVerifyAt && r.lastVerifyOutcome ? { at: r.lastVerifyAt.toISOString(), outcome: r.lastVerifyOutcome, summary } : null,
    verifyRunning: r.verifyRunning,
  };
}
