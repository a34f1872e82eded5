import "server-only";
import { db } from "@/lib/db/client";
import { enqueue } from "@/lib/jobs";
import { VM_DONE } from "@/lib/jobs/session-progress";
import { finishBackupSession } from "./finish-backup-session";

// The "backup-schedule" kind, every minute (its cron fires once however many processes run):
// enabled jobs whose nextRunAt is due get a session. Each job is claimed by moving its nextRunAt
// (a conditional update), so a slot gives one session. It also closes sessions whose every VM
// ended but whose closing was cut off (the worker that finished the last VM died), and forgets
// workers that have been gone for a day.

export const INTERRUPTED_MESSAGE =
  "the Strongroom server stopped while this session ran (restart or crash) before any VM was started; no restore point was made, earlier points are untouched, and the next run continues the chain";

export async function scheduleDueBackupJobs(): Promise<void> {
  const now = new Date();
  const due = await db.backupJob.findMany({ where: { enabled: true, nextRunAt: { lte: now } }, select: { id: true, nextRunAt: true } });
  for (const job of due) {
    await db.$transaction(async (tx) => {
      // The session's end sets the next run; until then nextRunAt stays empty.
      const won = await tx.backupJob.updateMany({ where: { id: job.id, nextRunAt: job.nextRunAt }, data: { nextRunAt: null } });
      if (won.count !== 1) return;
      const active = await tx.jobSession.count({ where: { jobId: job.id, state: { in: ["queued", "running"] } } });
      if (active) return;
      const s = await tx.jobSession.create({ data: { kind: "backup", subject: `backup-job:${job.id}`, jobId: job.id, state: "queued", trigger: "schedule" } });
      await enqueue(tx, { kind: "backup-session", payload: { sessionId: s.id }, singletonKey: `backup-session:${s.id}` });
    });
  }
  const stuck = await db.jobSession.findMany({ where: { kind: "backup", state: "running", vms: { some: {} }, NOT: { vms: { some: { state: { notIn: [...VM_DONE] } } } } }, select: { id: true } });
  // A session "running" with no VMs after its preparer's lease is long gone (or from before the job
  // engine, which kept no heartbeat) was cut off before it queued its VMs: nothing was read. One
  // without a heartbeat yet counts only once it started long ago: its preparer may be just claiming it.
  const longAgo = new Date(Date.now() - 10 * 60_000);
  const orphaned = await db.jobSession.findMany({
    where: { kind: "backup", state: "running", vms: { none: {} }, OR: [{ heartbeatAt: null, OR: [{ startedAt: null }, { startedAt: { lt: longAgo } }] }, { heartbeatAt: { lt: longAgo } }] },
    select: { id: true },
  });
  for (const s of orphaned) {
    await db.jobSession.updateMany({ where: { id: s.id, state: "running" }, data: { state: "failed", endedAt: new Date(), error: INTERRUPTED_MESSAGE } });
  }
  // Workers gone for a day (restarted consoles, retired proxy hosts) leave the Workers page.
  await db.jobWorker.deleteMany({ where: { heartbeatAt: { lt: new Date(Date.now() - 86_400_000) } } });
  for (const s of stuck) {
    await db.jobSession.updateMany({ where: { id: s.id, state: "running", endedAt: { lt: new Date(Date.now() - 120_000) } }, data: { endedAt: null } });
    await finishBackupSession(s.id);
  }
}
