import "server-only";
import type { VerifyReport } from "@/lib/engine";
import type { CatalogueReconciliation } from "./reconcile-catalogue";
import type { VerifyReportDto } from "./repository-dto";

// What a verify found beyond the per-point block checks, in words for the verify report: points
// the catalogue lists whose file is gone, damaged chain metadata files and packs.

export function missingPoints(missing: CatalogueReconciliation["missing"]): VerifyReportDto["points"] {
  return missing.map((m) => ({
    pointId: m.pointId,
    vmName: m.vmName,
    createdAt: m.createdAt.toISOString(),
    ok: false,
    problems: ["Missing: the console lists this restore point but its file is not in the repository folder (deleted, or the folder was put back from an older copy). It cannot be restored."],
  }));
}

export function repositoryDamage(r: VerifyReport): string[] {
  const out: string[] = [];
  for (const c of r.damagedChainFiles) {
    out.push(`Chain metadata file ${c.file} is damaged (${c.problem}). Its restore points still open with their own keys; the next backup of that chain writes it anew.`);
  }
  for (const p of r.damagedPacks) {
    out.push(`Pack ${p.packId.slice(0, 12)}… is damaged in its own description (${p.problem}); its blocks still read through the index files, which now hold the only description of them: keep those safe.`);
  }
  return out;
}
