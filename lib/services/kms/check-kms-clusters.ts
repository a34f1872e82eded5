import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { kmsClusterIdSchema } from "@/lib/schemas/kms";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { openCredentials } from "./kms-credentials";
import { probeKms, type ProbeResult } from "./kms-probe";

/**
 * Probes one registered cluster and records its status. "Unreachable since" keeps the time of the
 * first failed check and is cleared when the cluster answers again; each change of state is audited.
 */
export async function checkKmsCluster(clusterId: string): Promise<ProbeResult> {
  const cluster = await db.kmsCluster.findUnique({ where: { id: clusterId } });
  if (!cluster) throw new AppError("NOT_FOUND", "No KMS cluster with this id.");
  let result: ProbeResult;
  try {
    result = await probeKms(openCredentials(cluster));
  } catch (e) {
    result = { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  const now = new Date();
  const status = result.ok ? "reachable" : "unreachable";
  await db.kmsCluster.update({
    where: { id: clusterId },
    data: result.ok
      ? { status, statusCheckedAt: now, unreachableSince: null, lastError: null, kmipVersions: result.versions.join(","), serverSubject: result.serverSubject, serverCertNotAfter: result.serverCertNotAfter }
      : { status, statusCheckedAt: now, unreachableSince: cluster.unreachableSince ?? now, lastError: result.error.slice(0, 1000) },
  });
  if (cluster.status !== status) {
    await recordAuditEvent({
      actor: null,
      claimedEmail: "system",
      action: "kms.status-change",
      objectType: "kms-cluster",
      objectId: clusterId,
      outcome: result.ok ? "success" : "failure",
      details: { name: cluster.name, from: cluster.status, to: status, ...(result.ok ? {} : { error: result.error.slice(0, 300) }) },
    });
  }
  return result;
}

/** The monitor's round: every registered cluster, one after the other. */
export async function checkAllKmsClusters(): Promise<void> {
  const clusters = await db.kmsCluster.findMany({ select: { id: true } });
  for (const c of clusters) await checkKmsCluster(c.id).catch(() => undefined);
}

/**
 * "Check now" in the console: it opens connections to the KMS with the stored client certificate,
 * so it belongs to those who manage key providers (everyone else sees the monitor's last answer).
 */
export async function checkKmsClusterNow(actor: Actor, raw: unknown): Promise<ProbeResult> {
  authorize(actor, "keyprovider:manage");
  const { clusterId } = parseInput(kmsClusterIdSchema, raw);
  return checkKmsCluster(clusterId);
}
