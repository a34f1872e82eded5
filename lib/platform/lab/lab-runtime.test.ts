import { describe, expect, it } from "vitest";
import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { HostError, NativeKeyProvider, isNvramEncrypted } from "./data-plane";
import { useTempFolder } from "./data-plane/testing/temp-folder";
import { generateEstate } from "./estate";
import { LabConnector } from "./lab-connector";
import { nativeKeyProviderFolder } from "./lab-key-sources";
import { SwitchableKeySources, isNative, pickVm, rejection } from "./testing/lab-fixtures";

const MiB = 1024 * 1024;
const folder = useTempFolder("strongroom-lab-");
const estate = generateEstate();
const encryptionPolicy = (site: string) => estate.storagePolicies.find((p) => p.siteExternalId === site && p.name === "VM Encryption Policy")!.externalId;
const encryptable = (vm: (typeof estate.vms)[number]) =>
  [vm.homeDatastoreExternalId, ...vm.disks.map((d) => d.datastoreExternalId)].every((id) =>
    estate.datastores.find((d) => d.externalId === id)!.compatiblePolicyExternalIds.includes(encryptionPolicy(vm.siteExternalId)),
  );

const plainVm = pickVm("plain VM", (v) => !v.encrypted && !v.guestOsEncrypted && encryptable(v) && v.powerState === "poweredOn");
const nativeVm = pickVm("natively encrypted VM", (v) => v.encrypted && !v.vtpm && isNative(v));
const vtpmVm = pickVm("native vTPM VM", (v) => v.vtpm && isNative(v));
const kmsVm = pickVm("KMS-encrypted VM", (v) => v.encrypted && !v.vtpm && !isNative(v) && v.siteExternalId === plainVm.siteExternalId);
const guestVm = pickVm("guest-encrypted plain VM", (v) => !v.encrypted && v.guestOsEncrypted);
const notEncryptable = pickVm("VM on an NFS or legacy datastore", (v) => !v.encrypted && !encryptable(v));
const native = (vm: { siteExternalId: string }) => `kp-${vm.siteExternalId === "vc-prod-ams" ? "ams" : "rtm"}-native`;

function lab(extra: { keySources?: SwitchableKeySources; vmCount?: number } = {}) {
  return new LabConnector({ folder: folder(), diskDataMiB: 4, ...extra });
}

async function hostError(p: Promise<unknown>): Promise<HostError> {
  const e = await rejection(p);
  expect(e).toBeInstanceOf(HostError);
  return e as HostError;
}

/** Powers a VM off whatever the estate says, so the test starts from a known state. */
async function off(c: LabConnector, vmId: string) {
  if ((await c.vmRuntime(vmId)).powerState !== "poweredOff") await c.powerOff(vmId);
}

async function filesOf(vmName: string): Promise<string[]> {
  const root = path.join(folder(), "datastores");
  const out: string[] = [];
  for (const ds of await readdir(root).catch(() => [])) {
    out.push(...(await readdir(path.join(root, ds, vmName)).catch(() => [])));
  }
  return out.sort();
}

describe("LabConnector runtime operations", () => {
  it("without a folder: the estate only, and runtime operations fail with InvalidState", async () => {
    const c = new LabConnector({ vmCount: 5 });
    expect(await c.inventory()).toEqual(generateEstate({ vmCount: 5 }));
    const e = await hostError(c.powerOn("vm-1001"));
    expect(e.code).toBe("InvalidState");
    expect(e.message).toMatch(/lab has no folder/);
    expect((await hostError(c.vmRuntime("vm-1001"))).code).toBe("InvalidState");
  });

  it("creates a VM's files on first use only: sparse disks at the estate's capacities", async () => {
    const c = lab();
    const before = await c.vmRuntime(plainVm.externalId);
    expect(before).toMatchObject({ hasFiles: false, powerState: "poweredOn", encrypted: false });
    expect(before.disks.map((d) => d.capacityBytes)).toEqual(plainVm.disks.map((d) => d.capacityBytes));
    expect(await filesOf(plainVm.name)).toEqual([]);

    await c.guestWrites(plainVm.externalId, 0.5, 1);
    const after = await c.vmRuntime(plainVm.externalId);
    expect(after.hasFiles).toBe(true);
    expect(after.disks.every((d) => d.allocatedBytes === 4 * MiB && d.changeId !== null)).toBe(true);
    expect(await filesOf(plainVm.name)).toEqual(expect.arrayContaining([`${plainVm.name}.vmx`, `${plainVm.name}.nvram`, `${plainVm.name}-flat.vmdk`, `${plainVm.name}-ctk.vmdk`]));
    const [ds, file] = plainVm.disks[0].fileName.match(/^\[(.+)\] (.+)\.vmdk$/)!.slice(1);
    const flat = await stat(path.join(folder(), "datastores", ds, `${file}-flat.vmdk`));
    expect(flat.size).toBe(plainVm.disks[0].capacityBytes);
    expect(flat.blocks * 512).toBeLessThan(64 * MiB); // sparse: only what the guest wrote
    await c.close();
  });

  it("creates an encrypted VM under a new key of its provider; the inventory shows the real keyId", async () => {
    const keys = new SwitchableKeySources(folder());
    const c = lab({ keySources: keys });
    await off(c, nativeVm.externalId);
    const on = await c.powerOn(nativeVm.externalId);
    expect(on).toMatchObject({ powerState: "poweredOn", hasFiles: true, encrypted: true, keyProviderExternalId: nativeVm.keyProviderExternalId });
    expect(on.keyId).not.toBe(nativeVm.keyId);
    const store = await NativeKeyProvider.open({ folder: nativeKeyProviderFolder(folder(), nativeVm.siteExternalId), providerId: nativeVm.keyProviderExternalId! });
    expect(store.keyIds()).toContain(on.keyId);

    const inv = (await c.inventory()).vms.find((v) => v.externalId === nativeVm.externalId)!;
    expect(inv).toMatchObject({ encrypted: true, keyId: on.keyId, hasEncryptionBundle: true, powerState: "poweredOn" });
    expect(inv.disks.every((d) => d.encrypted && d.keyId === on.keyId)).toBe(true);

    // A standard provider: the KMS creates the key.
    await off(c, kmsVm.externalId);
    const kms = await c.powerOn(kmsVm.externalId);
    expect(keys.kmsOf(kmsVm.keyProviderExternalId!).keys.has(kms.keyId!)).toBe(true);
    await c.close();
  });

  it("an unreachable key provider: KeyProviderUnavailable, no files left behind, and the VM stays off (VME-3)", async () => {
    const c = lab(); // native only: no KMS cluster is registered
    await off(c, kmsVm.externalId);
    const e = await hostError(c.powerOn(kmsVm.externalId));
    expect(e.code).toBe("KeyProviderUnavailable");
    expect(e.message).toMatch(/no KMS cluster is registered for .* KMS/);
    expect(await c.vmRuntime(kmsVm.externalId)).toMatchObject({ powerState: "poweredOff", hasFiles: false });
    expect(await filesOf(kmsVm.name)).toEqual([]);
    expect((await c.inventory()).vms.find((v) => v.externalId === kmsVm.externalId)!.powerState).toBe("poweredOff");
    await c.close();

    // The KMS answers Create but not Get: the half-made VM is removed.
    const keys = new SwitchableKeySources(folder());
    const kms = keys.kmsOf(kmsVm.keyProviderExternalId!);
    kms.getKey = async () => {
      throw new (await import("./data-plane")).KeyProviderError("unreachable", "KMS went away");
    };
    const c2 = lab({ keySources: keys });
    expect((await hostError(c2.powerOn(kmsVm.externalId))).code).toBe("KeyProviderUnavailable");
    expect(await filesOf(kmsVm.name)).toEqual([]);
    expect(await readFile(path.join(folder(), "vm-inventory.json"), "utf8").catch(() => "")).not.toContain(kmsVm.externalId);
    await c2.close();
  });

  it("powerOn of an encrypted VM with files fails while its KMS is unreachable, and works again after", async () => {
    const keys = new SwitchableKeySources(folder());
    const c = lab({ keySources: keys });
    await off(c, kmsVm.externalId);
    await c.powerOn(kmsVm.externalId);
    await c.powerOff(kmsVm.externalId);
    keys.kmsOf(kmsVm.keyProviderExternalId!).unreachable = true;
    expect((await hostError(c.powerOn(kmsVm.externalId))).code).toBe("KeyProviderUnavailable");
    expect((await c.vmRuntime(kmsVm.externalId)).powerState).toBe("poweredOff");
    keys.kmsOf(kmsVm.keyProviderExternalId!).unreachable = false;
    expect((await c.powerOn(kmsVm.externalId)).powerState).toBe("poweredOn");
    await c.close();
  });

  it("power and encryption state survive a new LabConnector on the same folder", async () => {
    const c = lab();
    await off(c, nativeVm.externalId);
    const { keyId } = await c.powerOn(nativeVm.externalId);
    await c.powerOff(plainVm.externalId);
    await c.close();

    const again = lab();
    const vms = new Map((await again.inventory()).vms.map((v) => [v.externalId, v]));
    expect(vms.get(plainVm.externalId)!.powerState).toBe("poweredOff");
    expect(vms.get(nativeVm.externalId)).toMatchObject({ powerState: "poweredOn", keyId });
    // A running VM's keys are fetched again on first use after the restart.
    expect((await again.guestWrites(nativeVm.externalId, 0.5, 1)).changedBlocks).toBeGreaterThan(0);
    const state = JSON.parse(await readFile(path.join(folder(), "lab-state.json"), "utf8"));
    expect(state).toMatchObject({ format: "strongroom-lab-state", version: 1, powerStates: { [plainVm.externalId]: "poweredOff" } });
    await again.close();
  });

  it("guestWrites fills empty disks, then rewrites about `fraction` of the written blocks", async () => {
    const c = new LabConnector({ folder: folder(), diskDataMiB: 16 });
    const first = await c.guestWrites(plainVm.externalId, 0.5, 7);
    // DEFAULT_MIX leaves 10 % of the 16 blocks unwritten: 14 per disk.
    expect(first.changedBlocks).toBe(14 * plainVm.disks.length);
    expect(first.bytesWritten).toBe(14 * MiB * plainVm.disks.length);
    const second = await c.guestWrites(plainVm.externalId, 0.5, 8);
    expect(second.changedBlocks).toBe(7 * plainVm.disks.length);
    expect(second.bytesWritten).toBeLessThan(7 * MiB * plainVm.disks.length);
    const rt = await c.vmRuntime(plainVm.externalId);
    expect(rt.disks.every((d) => d.allocatedBytes === 14 * MiB)).toBe(true); // rewrites stay in written blocks

    await c.powerOff(plainVm.externalId);
    expect((await hostError(c.guestWrites(plainVm.externalId, 0.5))).code).toBe("InvalidState");
    expect((await hostError(c.guestWrites(plainVm.externalId, 0))).code).toBe("InvalidArgument");
    await c.close();
  });

  it("a guest that encrypts its own disks writes opaque blocks (VME-5)", async () => {
    const c = new LabConnector({ folder: folder(), diskDataMiB: 16 });
    await c.guestWrites(plainVm.externalId, 1, 1);
    await c.guestWrites(guestVm.externalId, 1, 1);
    const text = async (vmId: string) => (await (await c.labVm(vmId)).disk(2000).read(0, 16 * MiB)).includes(Buffer.from("GET /api/"));
    expect(await text(plainVm.externalId)).toBe(true);
    expect(await text(guestVm.externalId)).toBe(false);
    await c.close();
  });

  it("encryptVm rewrites the disks encrypted; decryptVm brings the same cleartext back", async () => {
    const c = lab();
    await c.guestWrites(plainVm.externalId, 1, 3);
    const vm0 = await c.labVm(plainVm.externalId);
    const cleartext = await vm0.disk(2000).read(0, 4 * MiB);
    const oldChangeId = (await c.vmRuntime(plainVm.externalId)).disks[0].changeId!;
    await c.powerOff(plainVm.externalId);

    const enc = await c.encryptVm(plainVm.externalId, native(plainVm));
    expect(enc).toMatchObject({ encrypted: true, keyProviderExternalId: native(plainVm), powerState: "poweredOff" });
    expect(enc.disks.every((d) => d.encrypted && d.allocatedBytes === 4 * MiB)).toBe(true);
    const vm1 = await c.labVm(plainVm.externalId);
    const raw = await vm1.disk(2000).openLive("raw").read(0, 4 * MiB);
    expect(raw.equals(cleartext)).toBe(false);
    expect(isNvramEncrypted(await vm1.readNvramFile())).toBe(true);
    // CBT is reset by the rewrite: the old change id is unknown (the next backup reads in full).
    expect(() => vm1.disk(2000).queryChangedAreas(oldChangeId)).toThrow(/unknown change id/);
    expect(await filesOf(plainVm.name)).not.toContain(`${plainVm.name}-flat.vmdk`); // old files gone

    const inv = (await c.inventory()).vms.find((v) => v.externalId === plainVm.externalId)!;
    expect(inv).toMatchObject({ encrypted: true, keyId: enc.keyId, hasEncryptionBundle: true, homeStoragePolicyExternalId: encryptionPolicy(plainVm.siteExternalId) });
    expect(inv.disks[0].fileName).toBe(plainVm.disks[0].fileName.replace(/\.vmdk$/, "-recrypt.vmdk"));

    await c.powerOn(plainVm.externalId);
    expect((await vm1.disk(2000).read(0, 4 * MiB)).equals(cleartext)).toBe(true);
    await c.powerOff(plainVm.externalId);

    const dec = await c.decryptVm(plainVm.externalId);
    expect(dec).toMatchObject({ encrypted: false, keyId: null, keyProviderExternalId: null });
    const vm2 = await c.labVm(plainVm.externalId);
    expect((await vm2.disk(2000).openLive("raw").read(0, 4 * MiB)).equals(cleartext)).toBe(true);
    expect(isNvramEncrypted(await vm2.readNvramFile())).toBe(false);
    expect((await c.inventory()).vms.find((v) => v.externalId === plainVm.externalId)).toEqual({ ...plainVm, powerState: "poweredOff" });
    await c.close();
  });

  it("rekeyVm re-wraps the bundle under a new KEK of another provider; disks and data unchanged", async () => {
    const keys = new SwitchableKeySources(folder());
    const c = lab({ keySources: keys });
    await off(c, kmsVm.externalId);
    await c.powerOn(kmsVm.externalId);
    await c.guestWrites(kmsVm.externalId, 1, 5);
    const vm = await c.labVm(kmsVm.externalId);
    const cleartext = await vm.disk(2000).read(0, 4 * MiB);
    const raw = await vm.disk(2000).openLive("raw").read(0, 4 * MiB);
    const changeId = (await c.vmRuntime(kmsVm.externalId)).disks[0].changeId;
    await c.powerOff(kmsVm.externalId);

    const other = `kp-${kmsVm.siteExternalId === "vc-prod-ams" ? "ams" : "rtm"}-provider`;
    const before = (await c.vmRuntime(kmsVm.externalId)).keyId;
    const rekeyed = await c.rekeyVm(kmsVm.externalId, other);
    expect(rekeyed.keyProviderExternalId).toBe(other);
    expect(rekeyed.keyId).not.toBe(before);
    expect(keys.kmsOf(other).keys.has(rekeyed.keyId!)).toBe(true);
    expect(rekeyed.disks[0].changeId).toBe(changeId); // shallow: the disks were not touched

    keys.kmsOf(kmsVm.keyProviderExternalId!).unreachable = true; // the old KMS no longer matters
    await c.powerOn(kmsVm.externalId);
    const after = await c.labVm(kmsVm.externalId);
    expect((await after.disk(2000).read(0, 4 * MiB)).equals(cleartext)).toBe(true);
    expect((await after.disk(2000).openLive("raw").read(0, 4 * MiB)).equals(raw)).toBe(true);
    expect((await c.inventory()).vms.find((v) => v.externalId === kmsVm.externalId)).toMatchObject({ keyProviderExternalId: other, keyId: rekeyed.keyId });
    await c.close();
  });

  it("refuses what vSphere refuses", async () => {
    const c = lab();
    expect((await hostError(c.powerOn("vm-999999"))).code).toBe("NotFound");
    expect((await hostError(c.encryptVm(plainVm.externalId, native(plainVm)))).code).toBe("InvalidState"); // powered on
    expect((await hostError(c.powerOn(plainVm.externalId))).code).toBe("InvalidState"); // already on
    await c.powerOff(plainVm.externalId);
    expect((await hostError(c.encryptVm(plainVm.externalId, "kp-nope"))).code).toBe("NotFound");
    const otherSite = plainVm.siteExternalId === "vc-prod-ams" ? "kp-rtm-native" : "kp-ams-native";
    expect((await hostError(c.encryptVm(plainVm.externalId, otherSite))).code).toBe("InvalidArgument");
    expect((await hostError(c.decryptVm(plainVm.externalId))).message).toMatch(/not encrypted/);
    expect((await hostError(c.rekeyVm(plainVm.externalId, native(plainVm)))).message).toMatch(/not encrypted/);

    await off(c, notEncryptable.externalId);
    expect((await hostError(c.encryptVm(notEncryptable.externalId, native(notEncryptable)))).message).toMatch(/not compatible with the VM Encryption Policy/);

    await off(c, vtpmVm.externalId);
    const vtpm = await hostError(c.decryptVm(vtpmVm.externalId));
    expect(vtpm.code).toBe("InvalidState");
    expect(vtpm.message).toMatch(/vTPM/);
    expect(await filesOf(vtpmVm.name)).toEqual([]); // refused before anything was created

    await off(c, nativeVm.externalId);
    expect((await hostError(c.encryptVm(nativeVm.externalId, native(nativeVm)))).message).toMatch(/already encrypted/);
    const labVm = await c.labVm(nativeVm.externalId);
    await labVm.createSnapshot("someone else's");
    expect((await hostError(c.rekeyVm(nativeVm.externalId, native(nativeVm)))).message).toMatch(/snapshot/);
    await c.close();
  });

  it("serialises operations on one VM", async () => {
    const c = lab();
    const results = await Promise.all([
      c.powerOff(plainVm.externalId),
      c.powerOn(plainVm.externalId),
      c.guestWrites(plainVm.externalId, 1, 1),
      c.powerOff(plainVm.externalId),
      c.encryptVm(plainVm.externalId, native(plainVm)),
    ]);
    expect(results.map((r) => ("powerState" in r ? r.powerState : "wrote"))).toEqual(["poweredOff", "poweredOn", "wrote", "poweredOff", "poweredOff"]);
    expect((await c.vmRuntime(plainVm.externalId)).encrypted).toBe(true);
    await c.close();
  });

  it("refuses a folder made for another estate instead of mixing their VMs", async () => {
    const c = lab();
    await c.powerOff(plainVm.externalId);
    await c.close();
    const other = lab({ vmCount: 12 });
    expect((await hostError(other.powerOn(plainVm.externalId))).message).toMatch(/holds an estate of 36 VMs/);
    expect(await other.inventory()).toEqual(generateEstate({ vmCount: 12 }));
    await other.close();
  });

  it("keeps inventory() fast for 10 000 VMs with a few of them materialized", async () => {
    const c = new LabConnector({ folder: folder(), vmCount: 10_000, diskDataMiB: 1 });
    const first = (await c.inventory()).vms;
    const someOff = first.filter((v) => v.powerState === "poweredOff" && (!v.encrypted || isNative(v))).slice(0, 3);
    for (const vm of someOff) await c.powerOn(vm.externalId);
    const started = performance.now();
    const inv = await c.inventory();
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(inv.vms).toHaveLength(10_000);
    for (const vm of someOff) expect(inv.vms.find((v) => v.externalId === vm.externalId)!.powerState).toBe("poweredOn");
    await c.close();
  }, 60_000);
});
