// planDiskRestore (RST-7) against a generated estate: the next free device key for an added disk,
// the replaced disk's label, one disk replaced twice refused, another tenant's VM refused, an
// encrypted disk for an unencrypted VM refused with the platform's reason (RST-3).
import { describe, expect, it } from "vitest";
import { generateEstate } from "@/lib/platform/lab/estate";
import { planDiskRestore, type PointDisk } from "./disk-restore-plan";

const inv = generateEstate({ vmCount: 36 });
const encVm = inv.vms.find((v) => v.encrypted && v.disks.length >= 2)!;
const plainVm = inv.vms.find((v) => !v.encrypted && v.tenantExternalId === encVm.tenantExternalId && v.siteExternalId === encVm.siteExternalId);
const otherTenant = inv.vms.find((v) => v.tenantExternalId !== encVm.tenantExternalId)!;
const disks: PointDisk[] = encVm.disks.map((d) => ({ deviceKey: d.deviceKey, diskId: `disk-${d.deviceKey}`, label: d.label, capacityBytes: d.capacityBytes, encrypted: d.encrypted }));
const source = { vmName: encVm.name, tenantExternalId: encVm.tenantExternalId, disks };
const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === encVm.siteExternalId && p.encryption)!.externalId;
const encDs = inv.datastores.find((d) => d.siteExternalId === encVm.siteExternalId && d.compatiblePolicyExternalIds.includes(encPolicy))!.externalId;
const encrypted = { encrypted: true, datastoreExternalId: encDs, storagePolicyExternalId: encPolicy };

describe("planDiskRestore", () => {
  it("adds under the next free device key and replaces under the same one, saying what is lost", () => {
    const [d1, d2] = encVm.disks;
    const p = planDiskRestore({ pointId: "p", targetVmExternalId: encVm.externalId, disks: [{ sourceDeviceKey: d1.deviceKey, action: "replace", replaceDeviceKey: d2.deviceKey, ...encrypted }, { sourceDeviceKey: d1.deviceKey, action: "add", ...encrypted }] }, source, inv);
    expect(p.problems).toEqual([]);
    expect(p.attach.map((a) => [a.target.deviceKey, a.target.label, a.replace, a.target.capacityBytes])).toEqual([
      [d2.deviceKey, d2.label, true, d1.capacityBytes],
      [Math.max(...encVm.disks.map((d) => d.deviceKey)) + 1, `Hard disk ${encVm.disks.length + 1}`, false, d1.capacityBytes],
    ]);
    expect(p.consequences.join(" ")).toContain(`${encVm.name} / ${d2.label} is detached and deleted`);
  });

  it("refuses one disk replaced twice, another tenant's VM, a VM that does not exist, and an encrypted disk for an unencrypted VM", () => {
    const [d1] = encVm.disks;
    const twice = planDiskRestore({ pointId: "p", targetVmExternalId: encVm.externalId, disks: [0, 1].map(() => ({ sourceDeviceKey: d1.deviceKey, action: "replace" as const, replaceDeviceKey: d1.deviceKey, ...encrypted })) }, source, inv);
    expect(twice.problems).toEqual([{ field: "disks.1.replaceDeviceKey", message: expect.stringMatching(/already replaced/) }]);
    expect(twice.attach).toEqual([]);
    expect(planDiskRestore({ pointId: "p", targetVmExternalId: otherTenant.externalId, disks: [{ sourceDeviceKey: d1.deviceKey, action: "add", ...encrypted }] }, source, inv).problems[0].message).toMatch(/same tenant/);
    expect(planDiskRestore({ pointId: "p", targetVmExternalId: "vm-none", disks: [{ sourceDeviceKey: d1.deviceKey, action: "add", ...encrypted }] }, source, inv).problems[0]).toMatchObject({ field: "targetVmExternalId" });
    if (plainVm) expect(planDiskRestore({ pointId: "p", targetVmExternalId: plainVm.externalId, disks: [{ sourceDeviceKey: d1.deviceKey, action: "add", ...encrypted }] }, source, inv).problems[0].message).toMatch(/needs an encrypted VM/);
  });
});
