import "server-only";
import { db } from "@/lib/db/client";
import type { VerifyReport } from "@/lib/engine";
import { repositoryKeyRing } from "@/lib/services/backup/repository-key-ring";
import { openCataloguedRepository } from "@/lib/services/backup/repository-store";
import type { VerifyReportDto } from "@/lib/services/backup/repository-dto";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { currentWorker } from "@/lib/jobs/engine";
import { repositoryPayload } from "@/lib/jobs/kinds";
import { processWorkerId } from "@/lib/jobs/process-id";
import type { ClaimedJob } from "@/lib/jobs/queue";
import { SessionEventWriter } from "@/lib/jobs/session-events";
import type { CatalogueReconciliation } from "@/lib/services/backup/reconcile-catalogue";
import { missingPoints, repositoryDamage } from "@/lib/services/backup/verify-findings";
import { reportCatalogue } from "@/lib/services/backup/repository-maintenance";

// Health check of a whole repository (BKP-7): every block of every point is read, authenticated
// with the point's keys and its content hash checked; damage is reported per restore point and
// disk, naming the block. The keys come from the jobs that write to the repository (their user
// keys and KMS keys); a point whose keys are not at hand gets the keyless check (record hashes)
// and says which keys it needs.

/** The "repository-verify" kind: the verify as a session of its own, then the repository's report. */
export async function runRepositoryVerifyJob(job: ClaimedJob): Promise<void> {
  const { sessionId, repositoryId } = repositoryPayload.parse(job.payload);
  const won = await db.jobSession.updateMany({ where: { id: sessionId, state: { in: ["queued", "running"] } }, data: { state: "running", startedAt: new Date(), workerId: processWorkerId(), heartbeatAt: new Date() } });
  if (won.count !== 1) return;
  const untrack = currentWorker()?.track(sessionId, { kind: "repository-verify", sessionId });
  const log = new SessionEventWriter(sessionId, processWorkerId());
  try {
    const dto = await runRepositoryVerify(repositoryId);
    const state = !dto ? "failed" : dto.outcome === "clean" ? "success" : dto.outcome === "incomplete" ? "warning" : "failed";
    log.say(dto ? dto.summary : "The repository was removed before its verify ran.", state === "failed" ? "error" : state === "warning" ? "warning" : "info");
    await log.flush();
    await db.jobSession.update({ where: { id: sessionId }, data: { state, endedAt: new Date(), error: state === "failed" ? (dto?.summary ?? "the repository no longer exists") : null, bytesRead: BigInt(dto?.bytesChecked ?? 0) } });
  } finally {
    untrack?.();
  }
}

export async function runRepositoryVerify(repositoryId: string): Promise<VerifyReportDto | null> {
  const row = await db.backupRepository.findUnique({ where: { id: repositoryId }, include: { jobs: true } });
  if (!row) return null;
  await db.backupRepository.update({ where: { id: row.id }, data: { verifyRunning: true } });
  const started = Date.now();
  const problems: string[] = [];
  let keys: Awaited<ReturnType<typeof repositoryKeyRing>> | undefined;
  let dto: VerifyReportDto & { damagedPointIds?: string[] };
  try {
    keys = await repositoryKeyRing(row.id, row.jobs);
    const ring = keys.ring;
    problems.push(...keys.problems.map((p) => p.replace(/\.$/, "; its points get the keyless check.")));
    const repo = await openCataloguedRepository(row, `strongroom/${process.pid}/verify`);
    const catalogue = await reportCatalogue(row, repo, ring, undefined, { say: (m) => problems.push(m) });
    const report = await repo.verify({ keyRing: ring });
    dto = await toDto(report, Date.now() - started, problems, catalogue?.missing ?? []);
  } catch (e) {
    dto = { outcome: "failed", summary: `The verify did not complete: ${e instanceof Error ? e.message : String(e)}`, durationMs: Date.now() - started, blocksChecked: 0, bytesChecked: 0, points: [], problems };
  } finally {
    await keys?.close();
  }
  const damagedIds = dto.damagedPointIds ?? [];
  await db.$transaction([
    db.backupRepository.update({ where: { id: row.id }, data: { verifyRunning: false, lastVerifyAt: new Date(), lastVerifyOutcome: dto.outcome, lastVerifyReport: JSON.stringify({ ...dto, damagedPointIds: undefined }) } }),
    db.restorePoint.updateMany({ where: { repositoryId: row.id, status: "damaged", id: { notIn: damagedIds } }, data: { status: "ok" } }),
    db.restorePoint.updateMany({ where: { repositoryId: row.id, id: { in: damagedIds }, status: { not: "removed" } }, data: { status: "damaged" } }),
  ]);
  await recordAuditEvent({ actor: null, action: "repository.verify", objectType: "repository", objectId: row.id, outcome: dto.outcome === "damaged" || dto.outcome === "failed" ? "failure" : "success", details: { name: row.name, summary: dto.summary } });
  return dto;
}

async function toDto(r: VerifyReport, durationMs: number, problems: string[], missing: CatalogueReconciliation["missing"]): Promise<VerifyReportDto & { damagedPointIds?: string[] }> {
  const ids = r.points.map((p) => p.pointId);
  const rows = await db.restorePoint.findMany({ where: { id: { in: ids } }, select: { id: true, vmName: true, createdAt: true } });
  const byId = new Map(rows.map((x) => [x.id, x]));
  const points = r.points.map((p) => {
    const list: string[] = [];
    if (p.problem) list.push(p.problem);
    if (p.status === "keys-unavailable") list.push(`Keys not at hand: ${(p.keysNeeded ?? []).join(", ") || "unknown"} — only record hashes were checked.`);
    for (const d of p.disks) for (const b of d.damaged) list.push(`${d.diskId} block ${b.blockIndex}: ${b.reason} (pack ${b.packId.slice(0, 12)}…, record ${b.entryIndex})`);
    for (const rec of p.damagedRecords) list.push(`pack ${rec.packId.slice(0, 12)}… record ${rec.entryIndex}: ${rec.reason}`);
    const row = byId.get(p.pointId);
    return { pointId: p.pointId, vmName: row?.vmName ?? "(not in the catalogue)", createdAt: row?.createdAt.toISOString() ?? null, ok: p.status === "ok", problems: list };
  });
  points.push(...missingPoints(missing));
  const extra = [...problems, ...repositoryDamage(r)];
  if (r.unreadableIndexFiles.length) extra.push(`${r.unreadableIndexFiles.length} index file(s) unreadable.`);
  if (r.unreferencedPacks.length) extra.push(`${r.unreferencedPacks.length} pack(s) no point references (left by an interrupted backup; retention removes them).`);
  // Damage is damage; a point whose keys were not at hand is "incomplete", not damaged.
  const damagedIds = new Set(r.points.filter((p) => p.status === "damaged" || p.status === "unreadable" || p.damagedRecords.length > 0).map((p) => p.pointId));
  const unchecked = r.points.filter((p) => p.status === "keys-unavailable" && !damagedIds.has(p.pointId)).length;
  const damaged = damagedIds.size + r.unreadableIndexFiles.length + missing.length + r.damagedChainFiles.length + r.damagedPacks.length;
  const outcome = damaged > 0 ? "damaged" : unchecked > 0 ? "incomplete" : "clean";
  const summary =
    outcome === "clean"
      ? `${points.length} restore point(s) verified: every block read, authenticated and its hash checked. No damage.`
      : outcome === "incomplete"
        ? `No damage found, but ${unchecked} of ${points.length} restore point(s) could only be checked without their keys (record hashes); supply their keys to authenticate every block.`
        : `${damagedIds.size} of ${points.length} restore point(s) damaged${missing.length ? `, ${missing.length} missing` : ""}${r.unreadableIndexFiles.length ? `, ${r.unreadableIndexFiles.length} index file(s) unreadable` : ""}${r.damagedChainFiles.length ? `, ${r.damagedChainFiles.length} chain metadata file(s) damaged` : ""}${r.damagedPacks.length ? `, ${r.damagedPacks.length} pack(s) damaged` : ""}; see the list below.`;
  return { outcome, summary, durationMs, blocksChecked: r.recordsChecked, bytesChecked: r.bytesRead, points, problems: extra, damagedPointIds: [...damagedIds] };
}
