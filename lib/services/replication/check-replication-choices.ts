import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { formatRejection, selectProxy, type SelectionOptions } from "@/lib/engine/pipeline/proxy-selection";
import { AppError, isAppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { createReplicationJobSchema, type CreateReplicationJobInput } from "@/lib/schemas/replication";
import { candidateProxies, keyProviderNames } from "@/lib/services/backup/job-context";
import { platform } from "@/lib/services/inventory/platform";
import { checkReplicationJob } from "./check-replication-job";

// The replication wizard's server check, run as the user chooses (like the restore wizard's
// pre-restore check): the very checks Create applies (check-replication-job.ts, REP-2…4) — so a
// refused choice is explained, with the field it belongs to, before Create — plus the name in use,
// the warnings every session will repeat (REP-4) and, per disk, the proxy and transport mode the
// engine would pick at each site with the reason (TRN-5: KMS compatibility checked first; the
// target side writes under TLS, NBDSSL, as the engine does). Writes nothing.

export interface ReplicationProxyPlanRow {
  vm: string;
  disk: string;
  side: "source" | "target";
  ok: boolean;
  proxy: string | null;
  mode: string | null;
  reason: string;
  rejected: string[];
}

export interface ReplicationCheckDto {
  ok: boolean;
  /** The first problem, with the form field it belongs to (vms.0.home, keyMode, …). */
  problem: { field: string; message: string } | null;
  warnings: string[];
  plan: ReplicationProxyPlanRow[];
}

/** `editingJobId`: the wizard edits that job — its own name and its own replica VMs are no conflict. */
export async function checkReplicationChoices(actor: Actor, raw: unknown, editingJobId?: string): Promise<ReplicationCheckDto> {
  authorize(actor, "job:manage");
  const input = parseInput(createReplicationJobSchema, raw);
  const full = await platform().inventory();
  const mine = editingJobId ? new Set((await db.replica.findMany({ where: { jobId: editingJobId }, select: { replicaVmExternalId: true } })).map((r) => r.replicaVmExternalId)) : new Set<string | null>();
  const inventory = mine.size ? { ...full, vms: full.vms.filter((v) => !mine.has(v.externalId)) } : full;
  const out: ReplicationCheckDto = { ok: true, problem: null, warnings: [], plan: [] };
  const named = await db.replicationJob.findUnique({ where: { name: input.name }, select: { id: true } });
  if (named && named.id !== editingJobId) {
    return { ...out, ok: false, problem: { field: "name", message: `A replication job named ${input.name} exists: choose another name.` } };
  }
  try {
    const checked = await checkReplicationJob(input, inventory);
    out.warnings = checked.flatMap((c) => c.warnings);
  } catch (e) {
    if (!isAppError(e)) throw e;
    const field = Object.keys(e.fieldErrors ?? {})[0] ?? "_";
    return { ...out, ok: false, problem: { field, message: e.message } };
  }
  out.plan = await proxyPlan(input, inventory);
  const blocked = out.plan.filter((p) => !p.ok);
  if (blocked.length) return { ...out, ok: false, problem: { field: "proxyIds", message: `${blocked[0].vm} / ${blocked[0].disk}: no proxy can ${blocked[0].side === "source" ? "read it at the source" : "write it at the target"}. ${blocked[0].reason}` } };
  return out;
}

/** Per disk, the proxies the engine would pick now at the source (read) and at the target (write, NBDSSL only). */
async function proxyPlan(input: CreateReplicationJobInput, inventory: Awaited<ReturnType<ReturnType<typeof platform>["inventory"]>>): Promise<ReplicationProxyPlanRow[]> {
  const [proxies, names] = await Promise.all([candidateProxies(), keyProviderNames()]);
  const manual = input.proxyMode === "manual" ? new Set(input.proxyIds) : null;
  const selection: SelectionOptions = { proxies: manual ? proxies.filter((p) => manual.has(p.id)).map((p) => p.externalId) : "automatic", failoverToNetwork: true, keyProviderNames: names };
  const targetProxies = proxies.filter((p) => p.siteExternalId === input.targetSiteExternalId).map((p) => ({ ...p, transportModes: p.transportModes.filter((m) => m === "nbdssl") }));
  const rows: ReplicationProxyPlanRow[] = [];
  for (const v of input.vms) {
    const vm = inventory.vms.find((x) => x.externalId === v.vmExternalId);
    if (!vm) throw new AppError("NOT_FOUND", `The VM ${v.vmExternalId} no longer exists.`);
    for (const d of vm.disks) {
      const src = selectProxy(
        { label: `${vm.name} / ${d.label}`, encrypted: d.encrypted, keyProviderExternalId: d.encrypted ? vm.keyProviderExternalId : null, siteExternalId: vm.siteExternalId, tenantExternalId: vm.tenantExternalId },
        proxies.filter((p) => p.siteExternalId === vm.siteExternalId),
        selection,
      );
      const targetEncrypted = input.keyMode === "shared" ? d.encrypted : input.keyMode === "re-key" ? d.encrypted || !vm.encrypted : false;
      const targetKp = input.keyMode === "shared" && vm.encrypted ? (input.targetKeyProviderExternalId ?? vm.keyProviderExternalId) : input.targetKeyProviderExternalId;
      const tgt = selectProxy(
        { label: `${v.name} / ${d.label}`, encrypted: targetEncrypted, keyProviderExternalId: targetEncrypted ? targetKp : null, siteExternalId: input.targetSiteExternalId, tenantExternalId: vm.tenantExternalId },
        targetProxies,
        selection,
      );
      for (const [side, c] of [["source", src], ["target", tgt]] as const) {
        rows.push({ vm: vm.name, disk: d.label, side, ok: c.ok, proxy: c.ok ? c.proxy.name : null, mode: c.ok ? c.mode : null, reason: c.reason, rejected: c.rejected.map(formatRejection) });
      }
    }
  }
  return rows;
}
