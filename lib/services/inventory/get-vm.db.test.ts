import { beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "@/lib/auth/actor";
import { db } from "@/lib/db/client";
import { expectAppError } from "@/lib/testing/db-state";
import { makeActor } from "@/lib/testing/factories";
import { getVm } from "./get-vm";
import { syncInventoryFromPlatform } from "./sync-inventory";

let viewer: Actor;
beforeAll(async () => {
  await syncInventoryFromPlatform();
  viewer = await makeActor("RESTORE_OPERATOR");
});

describe("getVm", () => {
  it("returns an encrypted VM with its key provider and its disks in device order", async () => {
    const row = await db.vm.findFirstOrThrow({ where: { encrypted: true }, include: { disks: true, keyProvider: true } });
    const vm = await getVm(viewer, row.id);
    expect(vm).toMatchObject({ id: row.id, name: row.name, encrypted: true, keyId: row.keyId, keyProvider: { id: row.keyProviderId!, name: row.keyProvider!.name } });
    expect(vm.disks).toHaveLength(row.disks.length);
    expect(vm.disks.map((d) => d.label)).toEqual([...row.disks].sort((a, b) => a.deviceKey - b.deviceKey).map((d) => d.label));
    for (const d of vm.disks) {
      expect(d.encrypted).toBe(true);
      expect(typeof d.capacityBytes).toBe("number");
    }
  });

  it("answers NOT_FOUND for an unknown id and INVALID_INPUT for a malformed one", async () => {
    await expectAppError(getVm(viewer, "no-such-vm"), "NOT_FOUND");
    await expectAppError(getVm(viewer, ""), "INVALID_INPUT");
    await expectAppError(getVm(viewer, { id: "x" }), "INVALID_INPUT");
    await expectAppError(getVm(viewer, "v".repeat(65)), "INVALID_INPUT");
  });
});
