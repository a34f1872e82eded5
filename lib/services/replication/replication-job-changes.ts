import "server-only";
import { canonicalJson, type DiffLine } from "@/lib/services/approvals/approval-payload";
import { describeSchedule } from "@/lib/backup/schedule";
import { parseSchedule } from "@/lib/services/backup/job-dto";
import type { CreateReplicationJobInput, ReplicaVmInput } from "@/lib/schemas/replication";
import type { ReplicationJob } from "@/prisma/generated/sqlite/client";

// What an edit of a replication job changes (update-replication-job.ts): the fields in words for
// the audit log and the approval request, which VMs' replicas start a new chain, and which changes
// weaken the replicas' key protection (SEC-2).
//
// A new chain: a replica VM is made once, with the keys, key provider, site, host, folder, name,
// home, disk placements and network adapters of its first run; later runs only ship changed
// blocks into it. So a change of any of these for a VM (the key mode, the target key provider,
// the target site or host, or that VM's placement) cannot be applied to the existing replica: its
// next run replaces it — the old replica VM and its points are deleted and every disk is copied
// into a new one (update-replication-job.ts says why it is replaced, not kept beside it). A
// change of anything else (name, description, schedule, points to keep, proxies, refuse
// unencrypted) keeps every chain.

export const KEY_MODE_WORDS: Record<string, string> = { shared: "Shared keys (the source's key)", "re-key": "New key at the target", unencrypted: "Unencrypted replica" };

export interface ChainPlan {
  /** VMs whose replica continues its chain. */
  kept: string[];
  /** VMs whose next run replaces their replica VM with a new one (a full copy). */
  restarted: string[];
  /** VMs new to the job. */
  added: string[];
  /** VMs no longer in the job (their replica VMs stay at the target). */
  removed: string[];
  /** Why the chains restart, in words ("" when none does). */
  why: string;
}

const placementsOf = (job: ReplicationJob) => JSON.parse(job.placements) as Record<string, ReplicaVmInput>;
const vmIdsOf = (job: ReplicationJob) => JSON.parse(job.vmExternalIds) as string[];

/** The parts of a VM's placement its replica VM is made with. */
function placementKey(p: ReplicaVmInput | undefined): string {
  if (!p) return "";
  const disks = [...p.disks].sort((a, b) => a.deviceKey - b.deviceKey);
  const networks = [...(p.networks ?? [])].sort((a, b) => a.nicDeviceKey - b.nicDeviceKey);
  return canonicalJson({ name: p.name, folder: p.folder, home: p.home, disks, networks });
}

export function chainPlan(current: ReplicationJob, input: CreateReplicationJobInput, vmName: (id: string) => string = (id) => id): ChainPlan {
  const before = new Set(vmIdsOf(current));
  const after = input.vms.map((v) => v.vmExternalId);
  const old = placementsOf(current);
  const jobWide: string[] = [];
  if (current.keyMode !== input.keyMode) jobWide.push(`the key mode changes to ${KEY_MODE_WORDS[input.keyMode]}`);
  const kp = input.keyMode === "unencrypted" ? null : input.targetKeyProviderExternalId;
  if (current.keyMode === input.keyMode && (current.targetKeyProviderExternalId ?? null) !== kp) jobWide.push(`the target key provider changes to ${kp}`);
  if (current.targetSiteExternalId !== input.targetSiteExternalId) jobWide.push("the target site changes");
  else if (current.targetHostExternalId !== input.targetHostExternalId) jobWide.push("the target host changes");
  const plan: ChainPlan = { kept: [], restarted: [], added: [], removed: [...before].filter((id) => !after.includes(id)), why: "" };
  const placementChanged: string[] = [];
  for (const v of input.vms) {
    if (!before.has(v.vmExternalId)) plan.added.push(v.vmExternalId);
    else if (jobWide.length) plan.restarted.push(v.vmExternalId);
    else if (placementKey(old[v.vmExternalId]) !== placementKey(v)) {
      plan.restarted.push(v.vmExternalId);
      placementChanged.push(v.vmExternalId);
    } else plan.kept.push(v.vmExternalId);
  }
  plan.why = [...jobWide, ...(placementChanged.length ? [`the placement of ${placementChanged.map(vmName).join(", ")} changes`] : [])].join("; ");
  return plan;
}

/**
 * The changes that take key protection off replicas (SEC-2): re-key → shared keys (the replica
 * then opens with the source's KMS, the two sites share a trust zone), no longer refusing
 * unencrypted replicas of encrypted VMs, and an unencrypted replica for an encrypted VM that did
 * not have one. Empty when nothing weakens.
 */
export function weakenings(current: ReplicationJob, input: CreateReplicationJobInput, encrypted: (vmExternalId: string) => boolean, vmName: (id: string) => string = (id) => id): DiffLine[] {
  const out: DiffLine[] = [];
  const anyEncrypted = input.vms.some((v) => encrypted(v.vmExternalId));
  if (current.keyMode === "re-key" && input.keyMode === "shared") out.push({ field: "Replica keys", from: KEY_MODE_WORDS["re-key"], to: KEY_MODE_WORDS.shared });
  if (current.refuseUnencrypted && !input.refuseUnencrypted && anyEncrypted) {
    out.push({ field: "Unencrypted replicas of encrypted VMs", from: "Refused", to: "Allowed" });
  }
  if (input.keyMode === "unencrypted") {
    const before = new Set(vmIdsOf(current));
    const newlyPlain = input.vms.filter((v) => encrypted(v.vmExternalId) && (current.keyMode !== "unencrypted" || !before.has(v.vmExternalId)));
    if (newlyPlain.length) out.push({ field: "Replica keys", from: current.keyMode === "unencrypted" ? "(VM not replicated)" : KEY_MODE_WORDS[current.keyMode], to: `${KEY_MODE_WORDS.unencrypted} of an encrypted VM (${newlyPlain.map((v) => vmName(v.vmExternalId)).join(", ")})` });
  }
  return out;
}

const yesNo = (b: boolean) => (b ? "Yes" : "No");

/** Every field the edit changes, in words (the audit log, the approval request). */
export function changedFields(current: ReplicationJob, input: CreateReplicationJobInput, vmName: (id: string) => string): DiffLine[] {
  const out: DiffLine[] = [];
  const add = (field: string, from: string, to: string) => {
    if (from !== to) out.push({ field, from, to });
  };
  add("Name", current.name, input.name);
  add("Description", current.description, input.description);
  add("Enabled", yesNo(current.enabled), yesNo(input.enabled));
  add("VMs", vmIdsOf(current).map(vmName).join(", "), input.vms.map((v) => vmName(v.vmExternalId)).join(", "));
  add("Target site", current.targetSiteExternalId, input.targetSiteExternalId);
  add("Target host", current.targetHostExternalId, input.targetHostExternalId);
  add("Replica keys", KEY_MODE_WORDS[current.keyMode] ?? current.keyMode, KEY_MODE_WORDS[input.keyMode]);
  add("Target key provider", current.targetKeyProviderExternalId ?? "none", (input.keyMode === "unencrypted" ? null : input.targetKeyProviderExternalId) ?? "none");
  add("Refuse unencrypted replicas of encrypted VMs", yesNo(current.refuseUnencrypted), yesNo(input.refuseUnencrypted));
  add("Points to keep", String(current.keepPoints), String(input.keepPoints));
  const proxies = (mode: string, ids: string[]) => (mode === "manual" ? `Chosen: ${ids.join(", ")}` : "Automatic");
  add("Proxies", proxies(current.proxyMode, JSON.parse(current.proxyIds) as string[]), proxies(input.proxyMode, input.proxyMode === "manual" ? input.proxyIds : []));
  add("Schedule", describeSchedule(parseSchedule(current.schedule)), describeSchedule(input.schedule));
  const old = placementsOf(current);
  for (const v of input.vms) {
    const was = old[v.vmExternalId];
    if (was && placementKey(was) !== placementKey(v)) add(`Placement of ${vmName(v.vmExternalId)}`, `${was.name} in ${was.folder}`, `${v.name} in ${v.folder}${was.name === v.name && was.folder === v.folder ? " (datastores or networks changed)" : ""}`);
  }
  return out;
}
