import "server-only";
import { db } from "@/lib/db/client";
import { decodeKeyHeader, KeyRing, SecretKey } from "@/lib/engine";
import { kmsWrapperFor, protectionPlanFor } from "@/lib/services/backup/job-keys";
import { openSecret } from "@/lib/services/kms/config-secrets";
import { addRecoveredKeys } from "@/lib/services/password-recovery/recovered-keys";

// Every key this console holds for a repository's points: the user keys and KMS keys of the jobs
// that write to it, the keys of every registered KMS cluster (a repository adopted on a new
// console opens with its KMS registered, KEY-9), user keys entered for the repository (its
// password, typed once: RepositoryKey) and storage keys recovered through a Security Officer
// (KEY-6). Verifies and restores open points with it; `problems` says which job's keys are not at
// hand, and `close` ends the KMS connections and wipes the keys.

/** The configuration-key context a repository's entered user key is sealed under. */
export const repositoryKeySealContext = (repositoryId: string, keyId: string) => `repository:${repositoryId}:user-key:${keyId}`;

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
  const jobProviders = new Set(jobs.map((j) => (j as { kmsKeyProviderId?: string | null }).kmsKeyProviderId).filter(Boolean));
  for (const kp of await db.keyProvider.findMany({ where: { kmsClusterId: { not: null } }, select: { id: true, name: true } })) {
    if (jobProviders.has(kp.id)) continue;
    try {
      const wrapper = await kmsWrapperFor(kp.id);
      closers.push(() => wrapper.close());
      ring.addKms(wrapper);
    } catch (e) {
      problems.push(`Key provider ${kp.name}: its KMS cannot be used (${e instanceof Error ? e.message : String(e)}).`);
    }
  }
  for (const k of await db.repositoryKey.findMany({ where: { repositoryId } })) {
    try {
      const header = decodeKeyHeader(Buffer.from(k.header, "base64"), "repository key header");
      if (header.kind !== "password") continue;
      const raw = Buffer.from(openSecret(k.sealed, repositoryKeySealContext(repositoryId, k.keyId)), "base64");
      const key = { header, key: new SecretKey("user", header.keyId, raw) };
      raw.fill(0);
      ring.addPasswordKey(key);
      closers.push(async () => key.key.destroy());
    } catch {
      problems.push(`An entered password key (${k.keyId}) cannot be opened: the configuration key changed. Enter the password again.`);
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
