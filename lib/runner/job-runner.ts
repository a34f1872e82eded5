import "server-only";
import { db } from "@/lib/db/client";
import { runBackupSession } from "./run-backup-session";
import { runRepositoryVerify } from "./run-repository-verify";
import { maintainRecoveryKeysets } from "@/lib/services/recovery/runner-keysets";
import { runDailyCompliance } from "@/lib/services/compliance/run-compliance";
import { checkpointAuditChain } from "@/lib/services/audit/checkpoint-audit-chain";

// The job runner inside the console's server process. The database is the queue: an action
// inserts a "queued" session (or asks for a verify) and wakes the runner; the runner claims one
// session at a time with a conditional update, so a session runs once even if two loops race.
// The scheduler turns due jobs into queued sessions. Sessions left "running" by a process that
// died (kill -9, restart) are closed as failed at start: their partial files never became a
// restore point, and the next run continues the chain (BKP-6).

const TICK_MS = 2_000;
/** Recovery keyset rotation and retention (KEY-6) are checked at start, then at most hourly. */
const KEYSET_CHECK_MS = 3_600_000;
/** Whether the daily compliance run (SEC-5) is due is asked at most every ten minutes. */
const COMPLIANCE_CHECK_MS = 600_000;

interface RunnerState {
  started: boolean;
  busy: boolean;
  timer?: NodeJS.Timeout;
  verifyQueue: string[];
  keysetsCheckedAt?: number;
  complianceCheckedAt?: number;
}

// One runner per process, even when Next.js loads this module in several bundles.
const state: RunnerState = ((globalThis as { __strongroomRunner?: RunnerState }).__strongroomRunner ??= { started: false, busy: false, verifyQueue: [] });

export const INTERRUPTED_MESSAGE =
  "the Strongroom server stopped while this session ran (restart or crash); no restore point was made for the unfinished VMs, earlier points are untouched, and the next run continues the chain";

export async function startJobRunner(): Promise<void> {
  if (state.started) return;
  state.started = true;
  await recoverInterrupted();
  state.timer = setInterval(() => void tick(), TICK_MS);
  state.timer.unref();
  void tick();
}

/** Asks the runner to look at the queue now (it also looks every two seconds). */
export function wakeRunner(): void {
  if (state.started) setImmediate(() => void tick());
}

export function queueRepositoryVerify(repositoryId: string): void {
  if (!state.verifyQueue.includes(repositoryId)) state.verifyQueue.push(repositoryId);
  wakeRunner();
}

/** Closes sessions a dead process left running (exported for tests). */
export async function recoverInterrupted(): Promise<void> {
  const stale = await db.jobSession.findMany({ where: { state: "running" }, select: { id: true, log: true } });
  for (const s of stale) {
    const log = safeLog(s.log);
    log.push({ at: new Date().toISOString(), level: "error", text: `Interrupted: ${INTERRUPTED_MESSAGE}.` });
    await db.jobSession.update({ where: { id: s.id }, data: { state: "failed", endedAt: new Date(), error: INTERRUPTED_MESSAGE, log: JSON.stringify(log) } });
  }
  // A verify cut off the same way is simply not running any more.
  const cut = await db.backupRepository.findMany({ where: { verifyRunning: true }, select: { id: true } });
  for (const r of cut) state.verifyQueue.push(r.id);
}

async function tick(): Promise<void> {
  if (state.busy) return;
  state.busy = true;
  try {
    if (Date.now() - (state.keysetsCheckedAt ?? 0) >= KEYSET_CHECK_MS) {
      state.keysetsCheckedAt = Date.now();
      await maintainRecoveryKeysets().catch((e: unknown) => console.error("[runner] recovery keyset maintenance failed:", e instanceof Error ? e.message : e));
    }
    // After the keysets, so a first start's run sees the keyset the policy just made.
    if (Date.now() - (state.complianceCheckedAt ?? 0) >= COMPLIANCE_CHECK_MS) {
      state.complianceCheckedAt = Date.now();
      await runDailyCompliance().catch((e: unknown) => console.error("[runner] daily compliance run failed:", e instanceof Error ? e.message : e));
    }
    // Anchor the audit chain's head outside the database every tick (SEC-4).
    await checkpointAuditChain().catch((e: unknown) => console.error("[runner] audit checkpoint failed:", e instanceof Error ? e.message : e));
    await scheduleDueJobs();
    for (;;) {
      const repositoryId = state.verifyQueue.shift();
      if (repositoryId) {
        await runRepositoryVerify(repositoryId).catch((e: unknown) => console.error("[runner] verify failed:", e instanceof Error ? e.message : e));
        continue;
      }
      const next = await db.jobSession.findFirst({ where: { state: "queued" }, orderBy: { queuedAt: "asc" }, select: { id: true } });
      if (!next) break;
      const claimed = await db.jobSession.updateMany({ where: { id: next.id, state: "queued" }, data: { state: "running", startedAt: new Date() } });
      if (claimed.count !== 1) continue;
      try {
        await runBackupSession(next.id);
      } catch (e) {
        // A bug or the database going away: close the session with what is known.
        const message = e instanceof Error ? e.message : String(e);
        console.error(`[runner] session ${next.id} failed:`, message);
        await db.jobSession.update({ where: { id: next.id }, data: { state: "failed", endedAt: new Date(), error: `internal error: ${message.split("\n").pop()}` } }).catch(() => undefined);
      }
    }
  } catch (e) {
    console.error("[runner] tick failed:", e instanceof Error ? e.message : e);
  } finally {
    state.busy = false;
  }
}

/** Due, enabled jobs without a queued or running session get one. */
async function scheduleDueJobs(): Promise<void> {
  const due = await db.backupJob.findMany({ where: { enabled: true, nextRunAt: { lte: new Date() } }, select: { id: true } });
  for (const job of due) {
    const active = await db.jobSession.count({ where: { jobId: job.id, state: { in: ["queued", "running"] } } });
    // Clear nextRunAt; the session's end sets the following one.
    await db.backupJob.update({ where: { id: job.id }, data: { nextRunAt: null } });
    if (!active) await db.jobSession.create({ data: { jobId: job.id, state: "queued", trigger: "schedule" } });
  }
}

function safeLog(json: string): Array<{ at: string; level: string; text: string }> {
  try {
    const v = JSON.parse(json);
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}
