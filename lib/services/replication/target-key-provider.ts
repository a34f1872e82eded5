import "server-only";
import { db } from "@/lib/db/client";

// Before a replication run writes anything (REP-2, VME-3): the target site's key provider the
// replica is keyed under must be one the DR hosts can reach — a native provider (its keys live in
// the target vCenter) or a standard one whose KMS cluster is registered and not known to be
// unreachable. Otherwise the run is refused with what to do; nothing is created or written and the
// replica keeps its last point.

export async function targetKeyProviderProblem(siteExternalId: string, keyProviderExternalId: string): Promise<string | null> {
  const kp = await db.keyProvider.findFirst({
    where: { externalId: keyProviderExternalId, site: { externalId: siteExternalId } },
    select: { name: true, kind: true, site: { select: { name: true } }, kmsCluster: { select: { name: true, status: true, unreachableSince: true, lastError: true } } },
  });
  if (!kp) return `The target key provider ${keyProviderExternalId} is no longer at the target site: edit the job and choose a key provider of the target site.`;
  if (kp.kind === "NATIVE") return null;
  const c = kp.kmsCluster;
  if (!c) return `${kp.name} at ${kp.site.name} has no KMS cluster registered, so the target hosts cannot reach its keys: register its KMS cluster under Key providers (or choose another key provider for the job).`;
  if (c.status === "unreachable") {
    const since = c.unreachableSince ? ` since ${c.unreachableSince.toISOString()}` : "";
    return `The KMS cluster ${c.name} of ${kp.name} at ${kp.site.name} is unreachable${since}${c.lastError ? ` (${c.lastError})` : ""}, so the replica's keys cannot be made or opened. Check the KMS cluster under Key providers; the next run resumes once it answers.`;
  }
  return null;
}
