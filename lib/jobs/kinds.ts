// The kinds of long work (ARCHITECTURE.md "long work is a job") and what each one's queue message
// carries. A message holds ids only: the session row is the truth, so a retried or taken-over
// message finds the work's state in the database, never in the message.
import { z } from "zod";

export const JOB_KINDS = [
  // A backup job's run: resolves the VMs, checks the keys, fans out one backup-vm per VM.
  "backup-session",
  // One VM of a backup session, on whichever worker claims it (BKP-5, TRN-6).
  "backup-vm",
  // A repository health check (BKP-7).
  "repository-verify",
  // Recovery keyset rotation and retention (KEY-6).
  "recovery-keysets",
  // The daily compliance run, when due (SEC-5).
  "compliance-daily",
  // Backup jobs whose schedule is due get a session (BKP-1).
  "backup-schedule",
  // The audit chain's head, signed, written outside the database (SEC-4).
  "audit-checkpoint",
  // One VM of a restore session: create it, write its disks, check it, power it on (RST-1…6).
  "restore-vm",
  // Disks of a restore point attached to an existing VM, replacing or added (RST-7).
  "restore-disks",
  // One VM of a replication session: its replica created or brought up to date, ending in a point (REP-1…4).
  "replicate-vm",
  // One failover action on one replica: failover now, undo failover or permanent failover (FOV-1).
  "failover",
  // Replication jobs whose schedule is due get a session (REP-1).
  "replication-schedule",
  // One failback action on one replica: failback, commit failback or undo failback (FBK-1).
  "failback",
] as const;
// Replication, failover and failback join this list with their features: each is one more kind
// with its own handler, nothing else changes.

export type JobKind = (typeof JOB_KINDS)[number];

export const sessionPayload = z.object({ sessionId: z.string().min(1).max(64) });
export const vmPayload = z.object({ sessionId: z.string().min(1).max(64), vmExternalId: z.string().min(1).max(200) });
export const repositoryPayload = z.object({ sessionId: z.string().min(1).max(64), repositoryId: z.string().min(1).max(64) });
export const emptyPayload = z.object({}).passthrough();

export const PAYLOADS = {
  "backup-session": sessionPayload,
  "backup-vm": vmPayload,
  "repository-verify": repositoryPayload,
  "recovery-keysets": emptyPayload,
  "compliance-daily": emptyPayload,
  "backup-schedule": emptyPayload,
  "audit-checkpoint": emptyPayload,
  "restore-vm": vmPayload,
  "restore-disks": vmPayload,
  "replicate-vm": vmPayload,
  failover: sessionPayload,
  "replication-schedule": emptyPayload,
  failback: sessionPayload,
} satisfies Record<JobKind, z.ZodType>;

export type JobPayload<K extends JobKind> = z.infer<(typeof PAYLOADS)[K]>;

export function isJobKind(v: string): v is JobKind {
  return (JOB_KINDS as readonly string[]).includes(v);
}
