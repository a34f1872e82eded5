import "server-only";
import { env } from "@/lib/config/env";
import type { JobHandlers } from "@/lib/jobs/engine";
import type { JobKind } from "@/lib/jobs/kinds";
import type { ScheduleRequest } from "@/lib/jobs/queue";
import { prepareBackupSession } from "./backup/sessions/prepare-backup-session";
import { runBackupVm } from "./backup/sessions/run-backup-vm";
import { runRepositoryVerifyJob } from "./backup/sessions/run-repository-verify";
import { scheduleDueBackupJobs } from "./backup/sessions/schedule-backup-jobs";
import { runDailyCompliance } from "./compliance/run-compliance";
import { maintainRecoveryKeysets } from "./recovery/runner-keysets";
import { checkpointAuditChain } from "./audit/checkpoint-audit-chain";
import { runRestoreVm } from "./restore/run-restore-vm";
import { runReplicateVm } from "./replication/run-replicate-vm";
import { runFailover } from "./failover/run-failover";
import { scheduleDueReplicationJobs } from "./replication/schedule-replication-jobs";
import { runFailback } from "./failback/run-failback";

// Which use case runs each kind of job, how many at once per process, and the system's own
// schedules. The console (instrumentation.ts) and `npm run worker` start the engine with these.

export const JOB_HANDLERS: JobHandlers = {
  "backup-session": { handler: prepareBackupSession, concurrency: 2 },
  "backup-vm": { handler: runBackupVm, concurrency: env.STRONGROOM_WORKER_CONCURRENCY },
  "repository-verify": { handler: runRepositoryVerifyJob, concurrency: 1 },
  "recovery-keysets": { handler: async () => void (await maintainRecoveryKeysets()), concurrency: 1 },
  // Asked every ten minutes; runs the checks when the daily run is due.
  "compliance-daily": { handler: async () => void (await runDailyCompliance()), concurrency: 1 },
  "backup-schedule": { handler: scheduleDueBackupJobs, concurrency: 1 },
  // Every minute: an edited or truncated audit log is then caught against a head kept outside the database.
  "audit-checkpoint": { handler: async () => void (await checkpointAuditChain()), concurrency: 1 },
  "restore-vm": { handler: runRestoreVm, concurrency: env.STRONGROOM_WORKER_CONCURRENCY },
  // The same claim, fence and heartbeat as a VM restore; the session's item says it attaches disks.
  "restore-disks": { handler: runRestoreVm, concurrency: env.STRONGROOM_WORKER_CONCURRENCY },
  "replicate-vm": { handler: runReplicateVm, concurrency: env.STRONGROOM_WORKER_CONCURRENCY },
  failover: { handler: runFailover, concurrency: 2 },
  // Every minute, like the backup schedule: due replication jobs get a session, once.
  "replication-schedule": { handler: async () => void (await scheduleDueReplicationJobs()), concurrency: 1 },
  failback: { handler: runFailback, concurrency: 2 },
};

export const JOB_SCHEDULES: ScheduleRequest[] = [
  { name: "backup-schedule", cron: "* * * * *", tz: "UTC", kind: "backup-schedule" },
  { name: "recovery-keysets", cron: "7 * * * *", tz: "UTC", kind: "recovery-keysets" },
  { name: "compliance-daily", cron: "*/10 * * * *", tz: "UTC", kind: "compliance-daily" },
  { name: "audit-checkpoint", cron: "* * * * *", tz: "UTC", kind: "audit-checkpoint" },
  { name: "replication-schedule", cron: "* * * * *", tz: "UTC", kind: "replication-schedule" },
];

/** Run once at every start: keysets first, so a first start's compliance run sees the keyset it made. */
export const STARTUP_KINDS: JobKind[] = ["recovery-keysets", "backup-schedule", "replication-schedule", "compliance-daily", "audit-checkpoint"];
