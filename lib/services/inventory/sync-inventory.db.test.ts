import { beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import type { InventorySnapshot } from "@/lib/platform/connector";
import { rowCounts } from "@/lib/testing/db-state";
import { makeActor } from "@/lib/testing/factories";
import { platform } from "./platform";
import { searchKey } from "./search-key";
import { syncInventory, syncInventoryFromPlatform } from "./sync-inventory";

let lab: InventorySnapshot;
beforeAll(async () => {
  lab = await platform().inventory();
  await syncInventoryFromPlatform();
});

describe("syncInventoryFromPlatform", () => {
  it("fills the database with the lab's estate", async () => {
    const counts = await rowCounts();
    expect(lab.sites).toHaveLength(2);
    expect(lab.vms.length).toBeGreaterThanOrEqual(30);
    expect(counts).toMatchObject({
      sites: 2,
      tenants: lab.tenants.length,
      hosts: lab.hosts.length,
      storagePolicies: lab.storagePolicies.length,
      datastores: lab.datastores.length,
      datastorePolicies: lab.datastores.reduce((n, d) => n + d.compatiblePolicyExternalIds.length, 0),
      keyProviders: lab.keyProviders.length,
      vms: lab.vms.length,
      virtualDisks: lab.vms.reduce((n, v) => n + v.disks.length, 0),
      proxies: lab.proxies.length,
    });
    expect((await db.site.findMany()).map((s) => s.role).sort()).toEqual(["DR", "PRODUCTION"]);
  });

  it("gives every VM 1 to 4 disks, as many as its diskCount says, summing to its provisioned size", async () => {
    const vms = await db.vm.findMany({ include: { disks: true } });
    for (const vm of vms) {
      expect(vm.disks.length, vm.name).toBeGreaterThanOrEqual(1);
      expect(vm.disks.length, vm.name).toBeLessThanOrEqual(4);
      expect(vm.diskCount, vm.name).toBe(vm.disks.length);
      expect(vm.provisionedBytes, vm.name).toBe(vm.disks.reduce((n, d) => n + d.capacityBytes, 0n));
      expect(vm.searchName).toBe(searchKey(vm.name));
    }
  });

  it("is idempotent: a second sync creates, updates and deletes nothing", async () => {
    const before = await rowCounts();
    const again = await syncInventoryFromPlatform();
    expect(again).toMatchObject({ sites: 2, vms: lab.vms.length, created: 0, updated: 0, deleted: 0 });
    expect(await rowCounts()).toEqual(before);
  });

  it("runs one sync at a time: concurrent calls share it", async () => {
    const [a, b] = await Promise.all([syncInventoryFromPlatform(), syncInventoryFromPlatform()]);
    expect(a).toBe(b);
  });
});

describe("syncInventory (Sync now)", () => {
  it("syncs, stamps every site and audits the summary", async () => {
    const admin = await makeActor("BACKUP_ADMIN");
    const started = new Date();
    const summary = await syncInventory(admin);
    expect(summary).toMatchObject({ sites: 2, created: 0, deleted: 0 });
    for (const s of await db.site.findMany()) expect(s.lastSyncAt!.getTime()).toBeGreaterThanOrEqual(started.getTime() - 1000);
    const [event] = await db.auditEvent.findMany({ where: { action: "inventory.sync", actorId: admin.id } });
    expect(event.outcome).toBe("success");
    expect(JSON.parse(event.details)).toMatchObject({ sites: 2, vms: lab.vms.length, created: 0, deleted: 0 });
  });
});
