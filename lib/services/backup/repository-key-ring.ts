import "server-only";
import { KeyRing } from "@/lib/engine";
import { protectionPlanFor } from "@/lib/services/backup/job-keys";
import { addRecoveredKeys } from "@/lib/services/password-recovery/recovered-keys";

// Every key this console holds for a repository's points: the user keys and KMS keys of the jobs
// that write to it, and storage keys recovered through a Security Officer (KEY-6). Verifies and
// restores open points with it; `problems` says which job's keys are not at hand, and `close`
// ends the KMS connections.

type JobRow = Parameters<typeof protectionPlanFor>[0] & { name: string };

export interface RepositoryKeyRing {
  ring: KeyRing;
  problems: string[];
  close(): Promise<void>;
}

export async function repositoryKeyRing(repositoryId: string, jobs: readonly JobRow[]): Promise<RepositoryKeyRing> {
  const ring = new KeyRing();
  const closers: Array<() => Promise<void>> = [];
  const problems: string[] = [];
  for (const job of jobs) {
    try {
      const p = await protectionPlanFor(job);
      closers.push(p.close);
      if (p.plan.password) ring.addPasswordKey(p.plan.password);
      if (p.plan.kms) ring.addKms(p.plan.kms.wrapper);
    } catch (e) {
      problems.push(`Job ${job.name}: its key is not available (${e instanceof Error ? e.message : String(e)}).`);
    }
  }
  await addRecoveredKeys(ring, repositoryId);
  return {
    ring,
    problems,
    async close() {
      for (const close of closers) await close().catch(() => undefined);
    },
  };
}
