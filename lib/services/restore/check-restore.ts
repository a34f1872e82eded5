import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { planVmRestore, RestorePlanError, type PointVmAttributes, type VmRestorePlan } from "@/lib/engine/pipeline/restore-plan";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import type { InventorySnapshot } from "@/lib/platform/connector";
import { planNewVm } from "@/lib/platform/create-vm-rules";
import { HostError } from "@/lib/platform/errors";
import { restoreVmSchema, type RestoreVmInput } from "@/lib/schemas/restore";
import { platform } from "@/lib/services/inventory/platform";
import { openRestorePoint } from "./open-restore-point";
import { approvalNeed } from "./restore-approval";

// The pre-restore check (RST-3…6): everything that would make the restore fail or the VM not power
// on, said before anything is written — the point opens with the keys at hand; the placement is
// valid (an encrypted home or disk only on a datastore under the VM Encryption Policy); the name is
// free in the folder; each network adapter of the point is mapped to a network of the target host
// or disconnected; each datastore has space; the key provider is one the VM's tenant may use
// (never another tenant's) and the target site reaches it; a vTPM is possible. Problems block the
// restore and name the field to fix; consequences (NVRAM, vTPM) are said and do not block.

export interface RestoreProblem {
  /** The wizard field to fix: "name", "home", "disks.2000", "keys", "networks.4000", "target", "point". */
  field: string;
  message: string;
}

export interface RestoreCheckDto {
  ok: boolean;
  problems: RestoreProblem[];
  consequences: string[];
  /** Facts worth showing beside the summary ("keeps NVRAM and vTPM", "same key id …"). */
  notes: string[];
  /**
   * Why this restore is a request a Security Officer approves (SEC-2: four-eyes is on and it writes
   * an encrypted VM's home or disk unencrypted), or null when it starts at once.
   */
  approval: string | null;
}

export interface CheckedRestore extends RestoreCheckDto {
  plan: VmRestorePlan | null;
  source: { vmExternalId: string; vmName: string; repositoryId: string; encrypted: boolean; tenantExternalId: string | null };
  /** What was encrypted at backup time and this restore writes unencrypted ("VM home", disk labels; SEC-2). */
  decrypted: string[];
}

/** The wizard's "check" step: the same checks the restore runs again when it starts. */
export async function checkRestore(actor: Actor, raw: unknown): Promise<RestoreCheckDto> {
  authorize(actor, "restore:run");
  const input = parseInput(restoreVmSchema, raw);
  const c = await checkRestoreVm(input, await platform().inventory());
  return { ok: c.ok, problems: c.problems, consequences: c.consequences, notes: c.notes, approval: await approvalNeed([c]) };
}

export async function checkRestoreVm(input: RestoreVmInput, inventory: InventorySnapshot): Promise<CheckedRestore> {
  const problems: RestoreProblem[] = [];
  const notes: string[] = [];
  const opened = await openRestorePoint(input.pointId, `strongroom/${process.pid}/restore-check`).catch((e: unknown) => {
    if (e instanceof AppError) {
      problems.push({ field: "point", message: e.message });
      return null;
    }
    throw e;
  });
  if (!opened) return { ok: false, problems, consequences: [], notes, approval: null, plan: null, decrypted: [], source: { vmExternalId: "", vmName: "", repositoryId: "", encrypted: false, tenantExternalId: null } };
  const source = opened.source;
  const sourceInfo = { vmExternalId: opened.row.vmExternalId, vmName: opened.row.vmName, repositoryId: opened.row.repositoryId, encrypted: source.encrypted, tenantExternalId: source.vm.tenantExternalId };
  await opened.close();

  let plan: VmRestorePlan | null = null;
  try {
    plan = planVmRestore(source, { ...input, disks: input.disks }, inventory);
  } catch (e) {
    if (!(e instanceof RestorePlanError)) throw e;
    problems.push({ field: e.field, message: e.message });
  }
  if (plan) {
    // The platform's own rules, as a dry run against the inventory as it is now.
    try {
      planNewVm(plan.request, inventory, "vm-check");
    } catch (e) {
      if (!(e instanceof HostError)) throw e;
      problems.push({ field: fieldOf(e, plan), message: e.message });
    }
    const crypto = plan.request.home.crypto;
    if (crypto.kind !== "none") {
      const kp = inventory.keyProviders.find((k) => k.externalId === crypto.keyProviderExternalId && k.siteExternalId === input.siteExternalId);
      if (kp && kp.tenantExternalId !== null && kp.tenantExternalId !== source.vm.tenantExternalId) {
        problems.push({ field: "keys", message: `${kp.name} belongs to another tenant: a VM is never encrypted with another tenant's key provider. Choose a provider of ${source.vm.tenantExternalId ? "the VM's tenant" : "the site"}.` });
      } else if (kp) {
        const reach = await keyProviderReach(input.siteExternalId, kp.externalId, kp.kind);
        if (!reach.ok) problems.push({ field: "keys", message: `The target site cannot reach ${kp.name}: ${reach.why}. The VM could not be encrypted and would not power on. Register or repair the KMS under Key providers, or restore the disks unencrypted.` });
      }
      if (crypto.kind === "saved-keys") notes.push(`Same key (${crypto.keyId}) with the saved encryption.bundle: the NVRAM${plan.keepsVtpm ? " and the vTPM" : ""} come back as they were.`);
      else if (crypto.kind === "key-id") notes.push(`Same key id (${crypto.keyId}).`);
      else notes.push(`A new key from ${kp?.name ?? crypto.keyProviderExternalId}.`);
    } else notes.push("The VM is restored unencrypted.");
    const nets = plan.request.nics ?? [];
    if (nets.length) notes.push(`Network: ${nets.map((n) => `${n.label} ${n.networkExternalId ? `on ${inventory.networks.find((x) => x.externalId === n.networkExternalId)?.name ?? n.networkExternalId}${n.connected ? "" : " (not connected, as at backup)"}` : "disconnected"}`).join("; ")}; new MAC addresses.`);
    const clashOnSite = inventory.vms.find((v) => v.siteExternalId === input.siteExternalId && v.name === input.name && v.folder !== input.folder);
    if (clashOnSite) problems.push({ field: "name", message: `The lab keeps one VM per name on a datastore, and ${input.name} exists in ${clashOnSite.folder}: choose another name.` });
  }
  return { ok: problems.length === 0, problems: dedupe(problems), consequences: plan?.consequences ?? [], notes, approval: null, plan, source: sourceInfo, decrypted: plan ? decryptedBy(source, plan) : [] };
}

/** SEC-2: the parts of an encrypted VM (at backup time) that the plan writes unencrypted. */
function decryptedBy(source: PointVmAttributes, plan: VmRestorePlan): string[] {
  if (!source.encrypted) return [];
  const out = plan.request.home.crypto.kind === "none" ? ["VM home"] : [];
  for (const d of plan.request.disks) if (!d.encrypted && source.vm.disks.find((x) => x.deviceKey === d.deviceKey)?.encrypted) out.push(d.label);
  return out;
}

/** Whether the target site's key provider answers: native ones do; a KMS needs its cluster registered and not down. */
async function keyProviderReach(siteExternalId: string, keyProviderExternalId: string, kind: "native" | "standard"): Promise<{ ok: true } | { ok: false; why: string }> {
  if (kind === "native") return { ok: true };
  const row = await db.keyProvider.findFirst({ where: { externalId: keyProviderExternalId, site: { externalId: siteExternalId } }, include: { kmsCluster: true } });
  if (!row?.kmsCluster) return { ok: false, why: "no KMS cluster is registered for it" };
  if (row.kmsCluster.status === "unreachable") return { ok: false, why: "its KMS cluster did not answer the last check" };
  return { ok: true };
}

function fieldOf(e: HostError, plan: VmRestorePlan): string {
  const m = e.message;
  if (e.code === "DuplicateName" || /VM name/.test(m)) return "name";
  if (/VM home/.test(m) || /vTPM/.test(m)) return "home";
  for (const n of plan.request.nics ?? []) if (m.startsWith(`${n.label}:`)) return `networks.${n.deviceKey}`;
  for (const d of plan.request.disks) if (m.includes(d.label)) return `disks.${d.deviceKey}`;
  if (e.code === "InsufficientSpace") return "disks";
  if (/host/.test(m)) return "target";
  return "target";
}

function dedupe(ps: RestoreProblem[]): RestoreProblem[] {
  const seen = new Set<string>();
  return ps.filter((p) => (seen.has(p.message) ? false : (seen.add(p.message), true)));
}
