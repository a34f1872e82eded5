import { beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { makeActor } from "@/lib/testing/factories";
import { listDatastoresGrouped } from "./list-datastores";
import { syncInventoryFromPlatform } from "./sync-inventory";

beforeAll(async () => {
  await syncInventoryFromPlatform();
});

describe("listDatastoresGrouped", () => {
  it("puts only encryption-compatible datastores under the VM Encryption Policy node", async () => {
    const groups = await listDatastoresGrouped(await makeActor("BACKUP_VIEWER"));
    expect(groups).toHaveLength(2);
    expect(groups.reduce((n, g) => n + g.encryptionNode.length + g.otherDatastores.length, 0)).toBe(await db.datastore.count());
    for (const g of groups) {
      expect(g.encryptionPolicies.length, g.site.name).toBeGreaterThan(0);
      expect(g.encryptionNode.length, g.site.name).toBeGreaterThan(0);
      for (const d of g.encryptionNode) {
        expect(d.encryptionCompatible).toBe(true);
        expect(d.policies.some((p) => p.encryption && g.encryptionPolicies.includes(p.name)), d.name).toBe(true);
      }
      for (const d of g.otherDatastores) {
        expect(d.encryptionCompatible).toBe(false);
        expect(d.policies.some((p) => p.encryption), d.name).toBe(false);
      }
    }
  });

  it("every encrypted VM's home and encrypted disks sit on datastores of its site's encryption node", async () => {
    const groups = await listDatastoresGrouped(await makeActor("SECURITY_OFFICER"));
    const node = new Map(groups.map((g) => [g.site.id, new Set(g.encryptionNode.map((d) => d.id))]));
    const encrypted = await db.vm.findMany({ where: { encrypted: true }, include: { disks: true } });
    expect(encrypted.length).toBeGreaterThan(0);
    for (const vm of encrypted) {
      const compatible = node.get(vm.siteId)!;
      expect(compatible.has(vm.homeDatastoreId), `${vm.name} home`).toBe(true);
      // RST-3: a restored VM may keep some disks unencrypted, elsewhere; an encrypted disk never is.
      for (const d of vm.disks) if (d.encrypted) expect(compatible.has(d.datastoreId), `${vm.name} ${d.label}`).toBe(true);
    }
  });

  it("counts the disks on each datastore", async () => {
    const groups = await listDatastoresGrouped(await makeActor("BACKUP_VIEWER"));
    const all = groups.flatMap((g) => [...g.encryptionNode, ...g.otherDatastores]);
    expect(all.reduce((n, d) => n + d.diskCount, 0)).toBe(await db.virtualDisk.count());
  });
});
