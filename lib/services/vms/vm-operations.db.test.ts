// VM runtime operations through the services, on the lab's real files (VME-1, VME-3, INV-4).
import { beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { expectAppError } from "@/lib/testing/db-state";
import { makeActor } from "@/lib/testing/factories";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { changeVmEncryption } from "./change-vm-encryption";
import { getVmRuntime } from "./get-vm-runtime";
import { powerVm } from "./power-vm";
import { runGuestWrites } from "./run-guest-writes";

let admin: Awaited<ReturnType<typeof makeActor>>;
beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
});

describe("VM operations", () => {
  it("guest writes create the files and write data that CBT tracks", async () => {
    const vm = await db.vm.findFirstOrThrow({ where: { encrypted: false, powerState: "poweredOn" }, orderBy: { name: "asc" } });
    const before = await getVmRuntime(admin, vm.id);
    const first = await runGuestWrites(admin, { vmId: vm.id, percent: 10 });
    expect(first.bytesWritten).toBeGreaterThan(0);
    const mid = await getVmRuntime(admin, vm.id);
    expect(mid.hasFiles).toBe(true);
    expect(mid.disks.every((d) => d.allocatedBytes > 0)).toBe(true);
    expect(mid.disks.every((d) => /^[0-9a-f-]+\/\d+$/.test(d.changeId ?? ""))).toBe(true);
    const second = await runGuestWrites(admin, { vmId: vm.id, percent: 50 });
    expect(second.changedBlocks).toBeGreaterThan(first.changedBlocks / 10);
    expect(before.vmExternalId).toBe(vm.externalId);
  });

  it("an encrypted VM on a KMS that is not registered cannot power on, and the refusal is audited", async () => {
    const vm = await db.vm.findFirstOrThrow({ where: { encrypted: true, powerState: "poweredOff", keyProvider: { kind: "STANDARD", kmsClusterId: null } } });
    const e = await expectAppError(powerVm(admin, { vmId: vm.id, action: "on" }), "UNAVAILABLE");
    expect(e.message).toMatch(/KMS/);
    const audit = await db.auditEvent.findFirstOrThrow({ where: { action: "vm.power-on", objectId: vm.id }, orderBy: { seq: "desc" } });
    expect(audit.outcome).toBe("failure");
  });

  it("a native-key VM powers on and off, and the inventory follows", async () => {
    const vm = await db.vm.findFirstOrThrow({ where: { keyProvider: { kind: "NATIVE" }, powerState: "poweredOn" } });
    await powerVm(admin, { vmId: vm.id, action: "off" });
    await expectAppError(powerVm(admin, { vmId: vm.id, action: "off" }), "CONFLICT"); // already off, as vSphere answers
    expect((await db.vm.findUniqueOrThrow({ where: { id: vm.id } })).powerState).toBe("poweredOff");
    const on = await powerVm(admin, { vmId: vm.id, action: "on" });
    expect(on.powerState).toBe("poweredOn");
    expect((await db.vm.findUniqueOrThrow({ where: { id: vm.id } })).powerState).toBe("poweredOn");
  });

  it("encrypts an unencrypted VM with the native provider, then decrypts it; the inventory shows the real key id", async () => {
    // An unencrypted, powered-off VM whose home and disks sit on encryption-compatible datastores (INV-3).
    const vm = await db.vm.findFirstOrThrow({
      where: { encrypted: false, powerState: "poweredOff", homeDatastore: { encryptionCompatible: true }, disks: { every: { datastore: { encryptionCompatible: true } } } },
      orderBy: { name: "desc" },
    });
    const native = await db.keyProvider.findFirstOrThrow({ where: { siteId: vm.siteId, kind: "NATIVE" } });
    const enc = await changeVmEncryption(admin, { vmId: vm.id, action: "encrypt", keyProviderId: native.id });
    expect(enc.encrypted).toBe(true);
    const row = await db.vm.findUniqueOrThrow({ where: { id: vm.id } });
    expect(row).toMatchObject({ encrypted: true, keyProviderId: native.id, keyId: enc.keyId, hasEncryptionBundle: true });
    const dec = await changeVmEncryption(admin, { vmId: vm.id, action: "decrypt" });
    expect(dec.encrypted).toBe(false);
    expect((await db.vm.findUniqueOrThrow({ where: { id: vm.id } })).encrypted).toBe(false);
  });

  it("refuses a key provider of another site and bad input, changing nothing", async () => {
    const vm = await db.vm.findFirstOrThrow({ where: { encrypted: false } });
    const other = await db.keyProvider.findFirstOrThrow({ where: { siteId: { not: vm.siteId } } });
    await expectAppError(changeVmEncryption(admin, { vmId: vm.id, action: "encrypt", keyProviderId: other.id }), "INVALID_INPUT");
    await expectAppError(changeVmEncryption(admin, { vmId: vm.id, action: "encrypt" }), "INVALID_INPUT");
    await expectAppError(runGuestWrites(admin, { vmId: vm.id, percent: 0 }), "INVALID_INPUT");
    await expectAppError(powerVm(admin, { vmId: "nope", action: "on" }), "NOT_FOUND");
    expect((await db.vm.findUniqueOrThrow({ where: { id: vm.id } })).encrypted).toBe(false);
  });
});
