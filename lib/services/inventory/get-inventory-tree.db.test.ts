import { beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "@/lib/auth/actor";
import { db } from "@/lib/db/client";
import { expectAppError } from "@/lib/testing/db-state";
import { makeActor } from "@/lib/testing/factories";
import { getDashboard } from "./get-dashboard";
import { getInventoryTree, listHostVms } from "./get-inventory-tree";
import { listDatastoresGrouped } from "./list-datastores";
import { syncInventoryFromPlatform } from "./sync-inventory";

let viewer: Actor;
beforeAll(async () => {
  await syncInventoryFromPlatform();
  viewer = await makeActor("BACKUP_VIEWER");
});

describe("getInventoryTree and listHostVms", () => {
  it("holds every host once and, host by host, every VM once", async () => {
    const tree = await getInventoryTree(viewer);
    const hosts = tree.flatMap((s) => s.clusters.flatMap((c) => c.hosts));
    expect(hosts).toHaveLength(await db.host.count());
    expect(hosts.reduce((n, h) => n + h.vmCount, 0)).toBe(await db.vm.count());
    expect(hosts.reduce((n, h) => n + h.encryptedCount, 0)).toBe(await db.vm.count({ where: { encrypted: true } }));
    const busy = hosts.find((h) => h.vmCount > 0)!;
    const vms = await listHostVms(viewer, busy.id);
    expect(vms).toHaveLength(busy.vmCount);
    expect(vms.filter((v) => v.encrypted)).toHaveLength(busy.encryptedCount);
  });

  it("refuses a malformed host id", async () => {
    await expectAppError(listHostVms(viewer, ""), "INVALID_INPUT");
    await expect(listHostVms(viewer, "no-such-host")).resolves.toEqual([]);
  });
});

describe("site order", () => {
  it("is production first, then DR, on both databases (enums sort differently in SQLite and PostgreSQL)", async () => {
    expect((await getInventoryTree(viewer)).map((s) => s.role)).toEqual(["PRODUCTION", "DR"]);
    expect((await getDashboard(viewer)).perSite.map((s) => s.role)).toEqual(["PRODUCTION", "DR"]);
    expect((await listDatastoresGrouped(viewer)).map((g) => g.site.role)).toEqual(["PRODUCTION", "DR"]);
  });
});

describe("getDashboard", () => {
  it("totals match the database", async () => {
    const d = await getDashboard(viewer);
    expect(d.totals).toEqual({
      sites: 2,
      hosts: await db.host.count(),
      vms: await db.vm.count(),
      encrypted: await db.vm.count({ where: { encrypted: true } }),
      vtpm: await db.vm.count({ where: { vtpm: true } }),
      guestOsEncrypted: await db.vm.count({ where: { guestOsEncrypted: true } }),
      disks: await db.virtualDisk.count(),
      keyProviders: await db.keyProvider.count(),
      proxies: await db.proxy.count(),
    });
    expect(d.perTenant.reduce((n, t) => n + t.vms, 0)).toBe(d.totals.vms);
    expect(d.perSite.reduce((n, s) => n + s.encrypted, 0)).toBe(d.totals.encrypted);
  });
});
