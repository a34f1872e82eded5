import { beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "@/lib/auth/actor";
import { db } from "@/lib/db/client";
import { expectAppError } from "@/lib/testing/db-state";
import { makeActor } from "@/lib/testing/factories";
import { getKeyProvider, listKeyProviders } from "./list-key-providers";
import { syncInventoryFromPlatform } from "./sync-inventory";

let viewer: Actor;
beforeAll(async () => {
  await syncInventoryFromPlatform();
  viewer = await makeActor("BACKUP_VIEWER");
});

describe("listKeyProviders", () => {
  it("lists every key provider with its VM and proxy counts", async () => {
    const list = await listKeyProviders(viewer);
    expect(list).toHaveLength(await db.keyProvider.count());
    for (const kp of list) {
      expect(kp.vmCount, kp.name).toBe(await db.vm.count({ where: { keyProviderId: kp.id } }));
      expect(kp.proxyCount, kp.name).toBe(await db.proxy.count({ where: { keyProviderId: kp.id } }));
      if (kp.kind === "NATIVE") expect(kp.servers).toEqual([]);
    }
    expect(list.some((kp) => kp.kind === "STANDARD" && kp.servers.length > 0)).toBe(true);
  });
});

describe("getKeyProvider", () => {
  it("lists the VMs and proxies that depend on it", async () => {
    const providers = await db.keyProvider.findMany();
    let withVms = 0;
    for (const p of providers) {
      const detail = await getKeyProvider(viewer, p.id);
      const vms = await db.vm.findMany({ where: { keyProviderId: p.id }, select: { id: true } });
      expect(detail.vms.map((v) => v.id).sort(), p.name).toEqual(vms.map((v) => v.id).sort());
      expect(detail.vmCount).toBe(vms.length);
      const proxies = await db.proxy.findMany({ where: { keyProviderId: p.id }, select: { id: true } });
      expect(detail.proxies.map((x) => x.id).sort(), p.name).toEqual(proxies.map((x) => x.id).sort());
      if (vms.length > 0) withVms++;
    }
    expect(withVms).toBeGreaterThan(0);
  });

  it("answers NOT_FOUND for an unknown id and INVALID_INPUT for a malformed one", async () => {
    await expectAppError(getKeyProvider(viewer, "no-such-provider"), "NOT_FOUND");
    await expectAppError(getKeyProvider(viewer, "   "), "INVALID_INPUT");
  });
});
