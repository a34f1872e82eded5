import "server-only";
import { db } from "@/lib/db/client";
import { KeyRing, type Repository } from "@/lib/engine";
import type { CandidateProxy } from "@/lib/engine/pipeline/proxy-selection";
import type { PlatformVm } from "@/lib/platform/connector";
import { candidateProxies, keyProviderNames } from "@/lib/services/backup/job-context";
import { protectionPlanFor } from "@/lib/services/backup/job-keys";
import { openCataloguedRepository } from "@/lib/services/backup/repository-store";
import { activeRecoveryKeysets } from "@/lib/services/recovery/runner-keysets";
import { platform } from "@/lib/services/inventory/platform";
import os from "node:os";

// What every VM of one backup session needs — the job, its keys, the repository, the proxies and
// the platform's inventory — opened once per worker process and shared by the session's VMs that
// run there, then closed when the last of them is done.

type Protection = Awaited<ReturnType<typeof protectionPlanFor>>;

export interface BackupSessionContext {
  job: NonNullable<Awaited<ReturnType<typeof loadJob>>>;
  protection: Protection["plan"];
  keyRing: KeyRing;
  repository: Repository;
  proxies: Array<CandidateProxy & { id: string }>;
  names: Record<string, string>;
  vms: Map<string, PlatformVm>;
}

interface Entry {
  users: number;
  context: Promise<BackupSessionContext & { close(): Promise<void> }>;
  idle?: NodeJS.Timeout;
}

const open = new Map<string, Entry>();

function loadJob(jobId: string) {
  return db.backupJob.findUnique({ where: { id: jobId }, include: { repository: true } });
}

async function build(sessionId: string, jobId: string): Promise<BackupSessionContext & { close(): Promise<void> }> {
  const job = await loadJob(jobId);
  if (!job) throw new Error("the backup job was removed while its session ran");
  const p = await protectionPlanFor(job);
  try {
    p.plan.recoveryKeysets = await activeRecoveryKeysets();
    const repository = await openCataloguedRepository(job.repository, `strongroom/${os.hostname()}/${process.pid}/session-${sessionId}`);
    const [proxies, names, inventory] = await Promise.all([candidateProxies(), keyProviderNames(), platform().inventory()]);
    return {
      job,
      protection: p.plan,
      keyRing: KeyRing.fromPlan(p.plan),
      repository,
      proxies,
      names,
      vms: new Map(inventory.vms.map((v) => [v.externalId, v])),
      close: p.close,
    };
  } catch (e) {
    await p.close().catch(() => undefined);
    throw e;
  }
}

/** Runs `fn` with the session's context; the first user opens it, the last closes it (after a short idle). */
export async function withBackupSessionContext<T>(sessionId: string, jobId: string, fn: (c: BackupSessionContext) => Promise<T>): Promise<T> {
  let entry = open.get(sessionId);
  if (!entry) {
    entry = { users: 0, context: build(sessionId, jobId) };
    open.set(sessionId, entry);
    entry.context.catch(() => open.delete(sessionId));
  }
  entry.users++;
  if (entry.idle) clearTimeout(entry.idle);
  try {
    return await fn(await entry.context);
  } finally {
    entry.users--;
    if (entry.users === 0) {
      const e = entry;
      e.idle = setTimeout(() => {
        if (e.users > 0 || open.get(sessionId) !== e) return;
        open.delete(sessionId);
        void e.context.then((c) => c.close()).catch(() => undefined);
      }, 5_000);
      e.idle.unref();
    }
  }
}
