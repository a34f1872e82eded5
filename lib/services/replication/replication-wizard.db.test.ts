// The replication wizard's server side (REP-2, REP-3, SEC-1): its options never offer a VM's
// replica another tenant's key provider, group the target's datastores under the VM Encryption
// Policy node by the storage policies they are compatible with, and say why shared keys are not
// possible; its check refuses a non-policy datastore for an encrypted replica's home with the
// field to fix, writing nothing; a Viewer gets neither.
import { beforeAll, describe, expect, it } from "vitest";
import type { InventorySnapshot } from "@/lib/platform/connector";
import { dbState, expectAppError, expectUnchangedSince } from "@/lib/testing/db-state";
import { makeActor } from "@/lib/testing/factories";
import { platform } from "../inventory/platform";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { checkReplicationChoices } from "./check-replication-choices";
import { getReplicationWizardOptions } from "./get-replication-wizard-options";

let admin: Awaited<ReturnType<typeof makeActor>>;
let viewer: Awaited<ReturnType<typeof makeActor>>;

beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  viewer = await makeActor("BACKUP_VIEWER");
}, 60_000);

const drOf = (inv: InventorySnapshot) => inv.sites.find((s) => s.role === "dr")!.externalId;
/** Two encrypted production VMs of different tenants. */
function tenantVms(inv: InventorySnapshot) {
  const prod = inv.sites.find((s) => s.role !== "dr")!.externalId;
  const a = inv.vms.find((v) => v.siteExternalId === prod && v.encrypted && v.tenantExternalId && !v.vtpm)!;
  const b = inv.vms.find((v) => v.siteExternalId === prod && v.encrypted && v.tenantExternalId && v.tenantExternalId !== a.tenantExternalId)!;
  return { a, b };
}

describe("getReplicationWizardOptions", () => {
  it("never offers another tenant's key provider: a DR provider given to tenant B is offered to B's VM, not to A's", async () => {
    const p = platform();
    const inv = await p.inventory();
    const dr = drOf(inv);
    const { a, b } = tenantVms(inv);
    const kp = inv.keyProviders.find((k) => k.siteExternalId === dr && k.kind === "native")!;
    await p.assignKeyProviderTenant(dr, kp.externalId, b.tenantExternalId);
    try {
      const options = await getReplicationWizardOptions(admin);
      const ofVm = (id: string) => options.vms.find((v) => v.externalId === id)!.targets[dr];
      expect(ofVm(b.externalId).keyProviders.map((k) => k.externalId)).toContain(kp.externalId);
      expect(ofVm(a.externalId).keyProviders.map((k) => k.externalId)).not.toContain(kp.externalId);
      // and generally: every provider offered to A's VM is A's tenant's or the site's own
      const allowed = new Set(inv.keyProviders.filter((k) => k.siteExternalId === dr && (k.tenantExternalId === null || k.tenantExternalId === a.tenantExternalId)).map((k) => k.externalId));
      allowed.delete(kp.externalId);
      for (const k of ofVm(a.externalId).keyProviders) expect(allowed.has(k.externalId), k.name).toBe(true);
    } finally {
      await p.assignKeyProviderTenant(dr, kp.externalId, kp.tenantExternalId);
    }
  });

  it("groups the target's datastores under the VM Encryption Policy node by their compatible policies", async () => {
    const inv = await platform().inventory();
    const dr = drOf(inv);
    const options = await getReplicationWizardOptions(admin);
    const site = options.sites.find((s) => s.externalId === dr)!;
    expect(options.sites[0].role, "the DR site is offered first").toBe("dr");
    const enc = new Set(inv.storagePolicies.filter((p) => p.siteExternalId === dr && p.encryption).map((p) => p.externalId));
    for (const d of site.datastores) expect(d.encryptionCompatible, d.name).toBe(d.compatiblePolicyExternalIds.some((id) => enc.has(id)));
    expect(site.datastores.some((d) => d.encryptionCompatible)).toBe(true);
    expect(site.datastores.some((d) => !d.encryptionCompatible)).toBe(true);
    expect(site.vmEncryptionPolicyExternalId && enc.has(site.vmEncryptionPolicyExternalId)).toBe(true);
  });

  it("says why shared keys are not possible for a VM whose key the DR site does not reach", async () => {
    const inv = await platform().inventory();
    const dr = drOf(inv);
    const nativeVm = inv.vms.find((v) => v.encrypted && v.siteExternalId !== dr && inv.keyProviders.find((k) => k.externalId === v.keyProviderExternalId && k.siteExternalId === v.siteExternalId)?.kind === "native")!;
    const t = (await getReplicationWizardOptions(admin)).vms.find((v) => v.externalId === nativeVm.externalId)!.targets[dr];
    expect(t.sharedKeyProviders).toEqual([]);
    expect(t.sharedWhy).toMatch(/native key provider/);
  });

  it("is refused to a Backup Viewer", async () => {
    await expectAppError(getReplicationWizardOptions(viewer), "FORBIDDEN");
  });
});

describe("checkReplicationChoices", () => {
  async function input(homeOnPlain: boolean) {
    const inv = await platform().inventory();
    const dr = drOf(inv);
    const { a } = tenantVms(inv);
    const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === dr && p.encryption)!.externalId;
    const encDs = inv.datastores.filter((d) => d.siteExternalId === dr && d.compatiblePolicyExternalIds.includes(encPolicy)).sort((x, y) => y.freeBytes - x.freeBytes)[0];
    const plainDs = inv.datastores.find((d) => d.siteExternalId === dr && !d.compatiblePolicyExternalIds.includes(encPolicy) && d.compatiblePolicyExternalIds.length > 0)!;
    const enc = { datastoreExternalId: encDs.externalId, storagePolicyExternalId: encPolicy };
    return {
      name: `wizard-check-${Math.random().toString(36).slice(2, 8)}`,
      vms: [{ vmExternalId: a.externalId, name: `${a.name}_replica`, folder: a.folder, home: homeOnPlain ? { datastoreExternalId: plainDs.externalId, storagePolicyExternalId: plainDs.compatiblePolicyExternalIds[0] } : enc, disks: a.disks.map((d) => ({ deviceKey: d.deviceKey, ...enc })), networks: (a.nics ?? []).map((n) => ({ nicDeviceKey: n.deviceKey, networkExternalId: null })) }],
      targetSiteExternalId: dr,
      targetHostExternalId: inv.hosts.find((h) => h.siteExternalId === dr && h.connectionState === "connected")!.externalId,
      keyMode: "re-key",
      targetKeyProviderExternalId: inv.keyProviders.find((k) => k.siteExternalId === dr && k.kind === "native")!.externalId,
      keepPoints: 3,
      schedule: { kind: "manual" },
    };
  }

  it("passes valid choices with a proxy per disk at both sites, and refuses a non-policy home with its field; nothing is written", async () => {
    const before = await dbState();
    const ok = await checkReplicationChoices(admin, await input(false));
    expect(ok.problem).toBeNull();
    expect(ok.ok).toBe(true);
    expect(ok.plan.some((r) => r.side === "source" && r.ok)).toBe(true);
    expect(ok.plan.some((r) => r.side === "target" && r.ok && r.mode === "nbdssl")).toBe(true);
    const bad = await checkReplicationChoices(admin, await input(true));
    expect(bad.ok).toBe(false);
    expect(bad.problem?.field).toBe("vms.0.home");
    expect(bad.problem?.message).toMatch(/cannot be created as chosen/);
    await expectUnchangedSince(before);
  });

  it("is refused to a Backup Viewer", async () => {
    await expectAppError(checkReplicationChoices(viewer, await input(false)), "FORBIDDEN");
  });
});
