// replicateVm on the lab (REP-1…4): a natively encrypted two-disk VM of the production site,
// running while it is replicated, re-keyed under the DR site's own key provider; its replica's
// disks hashed against the source over every area the guest wrote, after a full run, an
// incremental after ~1% of blocks changed, a run cut off mid-write and a resumed run in a restarted
// lab process.
import { afterEach, describe, expect, it } from "vitest";
import type { InventorySnapshot, PlatformVm } from "../../platform/connector";
import { HostError } from "../../platform/errors";
import { useTempFolder } from "../../platform/lab/data-plane/testing/temp-folder";
import { BundleError, KeyProviderError, openBundle, type KeyEncryptionKeySource } from "../../platform/lab/data-plane";
import { LabConnector } from "../../platform/lab/lab-connector";
import { nativeOnlyKeySources } from "../../platform/lab/lab-key-sources";
import { SwitchableKeySources, isNative, pickVm } from "../../platform/lab/testing/lab-fixtures";
import { FaultyConnector } from "../../platform/testing/faulty-connector";
import type { CandidateProxy } from "./proxy-selection";
import { createPasswordKey, TEST_ONLY_KDF_PARAMS } from "../keys/user-key";
import { KeyRing } from "../keys/key-ring";
import { MemoryStore } from "../repository/memory-store";
import { createRepository } from "../repository/repository";
import { replicateVm, type ReplicaKeyMode, type ReplicaState, type ReplicateVmOptions } from "./replicate-vm";
import { blocksOfAreas } from "./backup-disk";
import { backupVm } from "./backup-vm";
import { backupHostOf, candidate, diskPrint } from "./testing";

const MiB = 1024 * 1024;
const folder = useTempFolder("strongroom-replicate-vm-");
const sourceVm = pickVm("natively encrypted two-disk VM at production", (v) => v.encrypted && !v.vtpm && isNative(v) && v.disks.length >= 2);

function drSite(inv: InventorySnapshot) {
  const site = inv.sites.find((s) => s.role === "dr")!.externalId;
  const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === site && p.encryption)!.externalId;
  const encDs = inv.datastores.filter((d) => d.siteExternalId === site && d.compatiblePolicyExternalIds.includes(encPolicy)).sort((a, b) => b.freeBytes - a.freeBytes)[0];
  const plainPolicy = encDs.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption)!;
  const host = inv.hosts.find((h) => h.siteExternalId === site && h.connectionState === "connected")!.externalId;
  const kp = inv.keyProviders.find((k) => k.siteExternalId === site && k.kind === "native")!.externalId;
  return { site, encPolicy, encDs: encDs.externalId, plainPolicy, host, kp };
}

const proxy = (site: string, kp: string | null, name: string): CandidateProxy => ({
  externalId: name,
  name,
  kind: "vm",
  siteExternalId: site,
  transportModes: ["hotadd", "nbd", "nbdssl"],
  maxTasks: 4,
  keyProviderExternalId: kp,
  tenantExternalId: null,
  privileges: ["Cryptographer.Access", "Cryptographer.AddDisk"],
  activeTasks: 0,
});

const opened: LabConnector[] = [];
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
});

async function setup(diskDataMiB = 6) {
  const keys = new SwitchableKeySources(folder());
  const open = () => {
    const c = new LabConnector({ folder: folder(), diskDataMiB, keySources: keys });
    opened.push(c);
    return c;
  };
  let lab = open();
  let target = new FaultyConnector(lab);
  if (sourceVm.powerState !== "poweredOn") await lab.powerOn(sourceVm.externalId);
  await lab.guestWrites(sourceVm.externalId, 1, 11);
  const inv = await lab.inventory();
  const dr = drSite(inv);
  const live = async (): Promise<PlatformVm> => (await lab.inventory()).vms.find((v) => v.externalId === sourceVm.externalId)!;
  const run = async (keyMode: ReplicaKeyMode, last: ReplicaState | null, { targetKeyProvider, ...extra }: Partial<ReplicateVmOptions> & { targetKeyProvider?: string } = {}) => {
    target.calls.length = 0;
    const vm = await live();
    const r = await replicateVm({
      source: lab,
      sourceVm: vm,
      target,
      placement: {
        siteExternalId: dr.site,
        hostExternalId: dr.host,
        name: `${vm.name}_replica`,
        folder: "/Replicas",
        home: keyMode === "unencrypted" ? { datastoreExternalId: dr.encDs, storagePolicyExternalId: dr.plainPolicy } : { datastoreExternalId: dr.encDs, storagePolicyExternalId: dr.encPolicy },
        disks: Object.fromEntries(vm.disks.map((d) => [d.deviceKey, { datastoreExternalId: dr.encDs, storagePolicyExternalId: keyMode === "unencrypted" || !d.encrypted ? dr.plainPolicy : dr.encPolicy }])),
        keyProviderExternalId: keyMode === "unencrypted" ? null : (targetKeyProvider ?? dr.kp),
      },
      keyMode,
      last,
      keepPoints: 2,
      sourceProxies: [proxy(vm.siteExternalId, vm.keyProviderExternalId, "prod-hotadd")],
      targetProxies: [proxy(dr.site, targetKeyProvider ?? dr.kp, "dr-proxy")],
      sourceSelection: { proxies: "automatic", failoverToNetwork: true },
      targetSelection: { proxies: "automatic", failoverToNetwork: true },
      ...extra,
    });
    const written = target.calls.filter((c) => c.startsWith("write ")).reduce((s, c) => s + Number(c.split("+")[1]), 0);
    return { r, written };
  };
  /** Every area the source's guest wrote reads the same on the replica, and the replica holds nothing else. */
  const sameAsSource = async (replicaId: string) => {
    const vm = await live();
    for (const d of vm.disks) {
      const src = await diskPrint(lab, vm.externalId, d.deviceKey);
      const rep = await diskPrint(lab, replicaId, d.deviceKey, src.written);
      expect(rep.hash, `${d.label}`).toBe(src.hash);
      const srcBlocks = new Set(blocksOfAreas(src.written, d.capacityBytes, MiB));
      expect(blocksOfAreas(rep.written, d.capacityBytes, MiB).filter((b) => !srcBlocks.has(b)), `${d.label}: replica data outside the source's`).toEqual([]);
    }
  };
  const restart = async () => {
    await lab.close();
    lab = open();
    target = new FaultyConnector(lab);
  };
  /** A backup of `vmId` as it is now, in a repository of its own, opened for reading (a seed). */
  const backup = async (vmId: string) => {
    const repository = await createRepository(new MemoryStore());
    const password = await createPasswordKey("seed test password", { params: TEST_ONLY_KDF_PARAMS, allowWeakKdf: "tests-only" });
    const keyRing = new KeyRing().addPasswordKey(password);
    const vm = (await lab.inventory()).vms.find((v) => v.externalId === vmId)!;
    const b = await backupVm({ host: backupHostOf(lab), repository, vm, proxies: [candidate(vm, { kind: "physical", transportModes: ["nbdssl", "san"], keyProviderExternalId: null })], selection: { proxies: "automatic", failoverToNetwork: true }, protection: { password }, keyRing });
    expect(b.status, b.error).toBe("success");
    return repository.readPoint(b.pointId!, keyRing);
  };
  return { get lab() { return lab; }, get target() { return target; }, dr, run, sameAsSource, restart, live, backup, keys };
}

describe("replicateVm (lab)", { timeout: 60_000 }, () => {
  it("re-key at the DR site: full, then an incremental after ~1% changed that ships only those blocks, bit for bit each time", async () => {
    const s = await setup(64); // ~58 written 1 MiB blocks per disk: 1% of them is one block each
    const full = await s.run("re-key", null);
    expect(full.r.status, full.r.error ?? "").toBe("success");
    const replicaId = full.r.replicaVmExternalId!;
    const replica = (await s.lab.inventory()).vms.find((v) => v.externalId === replicaId)!;
    expect(replica).toMatchObject({ siteExternalId: s.dr.site, encrypted: true, keyProviderExternalId: s.dr.kp });
    expect(replica.keyId).not.toBe(sourceVm.keyId);
    expect(replica.keyId).not.toBe((await s.live()).keyId);
    expect(full.r.disks.every((d) => d.targetMode === "nbdssl" && d.sourceMode === "hotadd")).toBe(true);
    expect(full.written).toBeGreaterThan(0);
    await s.sameAsSource(replicaId);

    const change = await s.lab.guestWrites(sourceVm.externalId, 0.01, 12);
    expect(change.changedBlocks).toBeGreaterThan(0);
    const incr = await s.run("re-key", full.r.state);
    expect(incr.r.status, incr.r.error ?? "").toBe("success");
    expect(incr.r.disks.every((d) => d.incremental)).toBe(true);
    expect(incr.written).toBeLessThanOrEqual(change.changedBlocks * MiB);
    expect(incr.written).toBeGreaterThan(0);
    expect(full.written / incr.written).toBeGreaterThanOrEqual(20);
    await s.sameAsSource(replicaId);

    // The replica is keyed by the DR site's own provider: it powers on there (VME-3).
    await s.lab.powerOn(replicaId);
    await s.lab.powerOff(replicaId);
  }, 60_000);

  it("a run cut off mid-write keeps the last point; a restarted lab resumes from it and ends bit for bit; keep-count holds", async () => {
    const s = await setup();
    const full = await s.run("re-key", null);
    const replicaId = full.r.replicaVmExternalId!;
    await s.lab.guestWrites(sourceVm.externalId, 0.3, 13);
    s.target.arm({ operation: "write", after: 2 * MiB, error: new HostError("InsufficientSpace", "datastore full") });
    const cut = await s.run("re-key", full.r.state);
    expect(cut.r.status).toBe("failed");
    expect((await s.lab.listSnapshots(replicaId)).map((p) => p.id)).toEqual([full.r.point!.id]);

    await s.restart(); // the process that ran it is gone; the next run comes from a new one
    const resumed = await s.run("re-key", full.r.state);
    expect(resumed.r.status, resumed.r.error ?? "").toBe("success");
    await s.sameAsSource(replicaId);
    await s.lab.guestWrites(sourceVm.externalId, 0.05, 14);
    const third = await s.run("re-key", resumed.r.state);
    expect(third.r.removedPoints).toEqual([full.r.point!.id]);
    expect((await s.lab.listSnapshots(replicaId)).map((p) => p.id)).toEqual([resumed.r.point!.id, third.r.point!.id]);
    await s.sameAsSource(replicaId);
  });

  it("shared keys (REP-2): through a KMS both sites reach, the replica keeps the source's key id and bundle and is bit for bit the source", async () => {
    const s = await setup();
    const vm = await s.live();
    const inv = await s.lab.inventory();
    const std = (site: string) => inv.keyProviders.find((k) => k.siteExternalId === site && k.kind === "standard" && k.tenantExternalId === null)!.externalId;
    const [prodKms, drKms] = [std(vm.siteExternalId), std(s.dr.site)];
    await s.lab.powerOff(vm.externalId);
    await s.lab.rekeyVm(vm.externalId, prodKms);
    // KMS clusters with common keys: the DR site's provider holds the production provider's keys.
    for (const [id, key] of s.keys.kmsOf(prodKms).keys) s.keys.kmsOf(drKms).keys.set(id, key);
    await s.lab.powerOn(vm.externalId);
    await s.lab.guestWrites(vm.externalId, 0.2, 18);
    const rekeyed = await s.live();
    expect(rekeyed.keyProviderExternalId).toBe(prodKms);
    const shared = await s.run("shared", null, { targetKeyProvider: drKms });
    expect(shared.r.status, shared.r.error ?? "").toBe("success");
    const [rep, src] = [await s.lab.vmFiles(shared.r.replicaVmExternalId!), await s.lab.vmFiles(vm.externalId)];
    expect(rep.keyId).toBe(src.keyId);
    expect(rep.encryptionBundle).toBe(src.encryptionBundle);
    expect(shared.r.replicaKeyId).toBe(rekeyed.keyId);
    await s.sameAsSource(shared.r.replicaVmExternalId!);
    await s.lab.guestWrites(vm.externalId, 0.05, 19);
    const incr = await s.run("shared", shared.r.state, { targetKeyProvider: drKms });
    expect(incr.r.status, incr.r.error ?? "").toBe("success");
    expect(incr.r.disks.every((d) => d.incremental)).toBe(true);
    await s.sameAsSource(shared.r.replicaVmExternalId!);
    // It powers on at the DR site: its key comes from the DR site's provider of the common KMS.
    await s.lab.powerOn(shared.r.replicaVmExternalId!);
    await s.lab.powerOff(shared.r.replicaVmExternalId!);
  });

  it("re-key (REP-2): the replica opens only with its own site's key provider, never with the source provider's keys", async () => {
    const s = await setup();
    const { r } = await s.run("re-key", null);
    expect(r.status, r.error ?? "").toBe("success");
    const replicaId = r.replicaVmExternalId!;
    const vm = await s.live();
    const [rep, src] = [await s.lab.vmFiles(replicaId), await s.lab.vmFiles(vm.externalId)];
    expect(rep.keyProviderExternalId).toBe(s.dr.kp);
    const keys = nativeOnlyKeySources(folder());
    const provider = (site: string, kp: string) => keys.forProvider({ kind: "native", siteExternalId: site, keyProviderExternalId: kp, name: kp });
    const sourceProvider = await provider(vm.siteExternalId, vm.keyProviderExternalId!);
    const drProvider = await provider(s.dr.site, s.dr.kp);

    // The source site's provider does not hold the replica's key…
    await expect(openBundle(rep.encryptionBundle!, sourceProvider)).rejects.toBeInstanceOf(KeyProviderError);
    // …and the source's own key (its KEK, whatever id is asked) does not unwrap the replica's keys.
    const sourceKek = await sourceProvider.getKey(src.keyId!);
    const posing: KeyEncryptionKeySource = { providerId: s.dr.kp, createKey: async () => "never", getKey: async () => Buffer.from(sourceKek) };
    await expect(openBundle(rep.encryptionBundle!, posing)).rejects.toBeInstanceOf(BundleError);
    // Only the DR site's provider opens it, and the disk keys it holds are new: none is a source DEK.
    const opened = await openBundle(rep.encryptionBundle!, drProvider);
    const source = await openBundle(src.encryptionBundle!, sourceProvider);
    const sourceDeks = [...source.secrets.diskKeys.values()].map((k) => k.toString("hex"));
    expect(opened.secrets.diskKeys.size).toBe(vm.disks.filter((d) => d.encrypted).length);
    for (const [deviceKey, dek] of opened.secrets.diskKeys) expect(sourceDeks, `disk ${deviceKey}`).not.toContain(dek.toString("hex"));
    // The DR provider cannot open the source either: the sites share no key.
    await expect(openBundle(src.encryptionBundle!, drProvider)).rejects.toBeInstanceOf(KeyProviderError);
    // With its own site's provider the replica powers on at the DR site (VME-3).
    await s.lab.powerOn(replicaId);
    await s.lab.powerOff(replicaId);
  });

  it("seeded from a backup point (REP-1): the disks come from the point, only the blocks changed since it are shipped, bit for bit", async () => {
    const s = await setup(64);
    const point = await s.backup(sourceVm.externalId);
    const change = await s.lab.guestWrites(sourceVm.externalId, 0.01, 15);
    expect(change.changedBlocks).toBeGreaterThan(0);
    const events: string[] = [];
    const seeded = await s.run("re-key", null, { seed: point, onEvent: (e) => events.push(e.type) });
    expect(seeded.r.status, seeded.r.error ?? "").toBe("success");
    expect(seeded.r.disks.every((d) => d.seeded && !d.incremental)).toBe(true);
    expect(events.filter((t) => t === "disk-seeded")).toHaveLength(sourceVm.disks.length);
    // Shipped from the source: only the blocks changed since the backup; the rest came from the repository.
    const shipped = seeded.r.disks.reduce((n, d) => n + d.blocksWritten, 0);
    const fromSeed = seeded.r.disks.reduce((n, d) => n + d.seedBlocksWritten, 0);
    expect(shipped).toBeGreaterThan(0);
    expect(shipped).toBeLessThanOrEqual(change.changedBlocks);
    expect(fromSeed).toBeGreaterThanOrEqual(20 * shipped);
    expect(seeded.r.disks.reduce((n, d) => n + d.bytesRead, 0)).toBeLessThanOrEqual(change.changedBlocks * MiB);
    await s.sameAsSource(seeded.r.replicaVmExternalId!);
    // It is a replica like any other: the next run is an incremental from its first point.
    await s.lab.guestWrites(sourceVm.externalId, 0.01, 16);
    const next = await s.run("re-key", seeded.r.state);
    expect(next.r.status, next.r.error ?? "").toBe("success");
    expect(next.r.disks.every((d) => d.incremental && !d.seeded)).toBe(true);
    await s.sameAsSource(seeded.r.replicaVmExternalId!);
  });

  it("a seed point of another VM is refused before the replica is created", async () => {
    const s = await setup();
    const other = (await s.lab.inventory()).vms.find((v) => v.externalId !== sourceVm.externalId && v.siteExternalId === sourceVm.siteExternalId && v.disks.length === sourceVm.disks.length && !v.encrypted)!;
    if (other.powerState !== "poweredOn") await s.lab.powerOn(other.externalId);
    await s.lab.guestWrites(other.externalId, 1, 17);
    const point = await s.backup(other.externalId);
    const { r } = await s.run("re-key", null, { seed: point });
    expect(r.status).toBe("failed");
    expect(r.error).toContain(`is a backup of ${other.name}`);
    expect(r.error).toMatch(/only seeded from its own VM's backup/);
    expect(s.target.calls.filter((c) => c === "createVm" || c.startsWith("write "))).toEqual([]);
    expect((await s.lab.inventory()).vms.some((v) => v.name === `${sourceVm.name}_replica`)).toBe(false);
  });

  it("unencrypted replica of an encrypted VM (REP-4): warned, and the data is the source's", async () => {
    const s = await setup();
    const { r } = await s.run("unencrypted", null);
    expect(r.status).toBe("warning");
    expect(r.warnings.join(" ")).toMatch(/is encrypted, but its replica is not/);
    expect((await s.lab.inventory()).vms.find((v) => v.externalId === r.replicaVmExternalId)!.encrypted).toBe(false);
    await s.sameAsSource(r.replicaVmExternalId!);
  });
});
