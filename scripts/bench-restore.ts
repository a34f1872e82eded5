// `npm run bench:restore [-- --size-mib 2048 --seed strongroom-bench]`
//
// Strongroom's restores next to restic's, in one run:
//
//   (a) engine restore: bench:backup's image (40% random, 40% zero, 20% duplicate 1 MiB blocks)
//       backed up by the engine and by restic, then restored to a file by each (timed);
//   (b) VM restore: an encrypted lab VM with two disks and `size-mib` of mixed guest data (zeros,
//       random, repeated and text blocks, as the lab's guest writes), backed up by the engine,
//       then restored to a new location through the lab's HotAdd writer and through its NBDSSL
//       writer (encrypted on the host, over TLS), each compared with restic restoring the same
//       data blocks (the disks' written blocks, concatenated into one file per disk);
//   (c) quick rollback: 1% of the VM's data changed by the guest, then rolled back in place (CBT
//       says what to write), compared with the full VM restore through HotAdd.
//
// MB/s = the bytes restored (the image; for VMs the disks' data blocks) / wall time. Every
// restored disk is checked against its source (BLAKE3) after the timed phases. Peak memory is the
// Strongroom process's RSS (sampled) and VmHWM. Warm runs: the page cache cannot be dropped here.
// Not part of `npm test`.
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, open, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Blake3Hasher } from "@napi-rs/blake-hash";
import { KeyRing } from "../lib/engine/keys/key-ring";
import { createPasswordKey, DEFAULT_KDF_PARAMS } from "../lib/engine/keys/user-key";
import { backupDisk } from "../lib/engine/pipeline/backup-disk";
import { backupVm, diskIdOf } from "../lib/engine/pipeline/backup-vm";
import { FileDiskReader } from "../lib/engine/pipeline/file-disk-reader";
import type { CandidateProxy } from "../lib/engine/pipeline/proxy-selection";
import { restoreDiskToFile } from "../lib/engine/pipeline/restore-disk";
import { planVmRestore, pointVmAttributes, type VmRestoreChoices } from "../lib/engine/pipeline/restore-plan";
import { restoreVm } from "../lib/engine/pipeline/restore-vm";
import { rollbackVm } from "../lib/engine/pipeline/rollback-vm";
import { FilesystemStore } from "../lib/engine/repository/filesystem-store";
import { createRepository } from "../lib/engine/repository/repository";
import type { OpenPoint } from "../lib/engine/repository/open-point";
import type { PlatformVm, TransportMode } from "../lib/platform/connector";
import { LabConnector } from "../lib/platform/lab/lab-connector";
import { ensureRestic, hashFile, hwmResettable, layout, MemoryWatch, restic, RESTIC, writeImage } from "./bench/disk-image";

const MiB = 1024 * 1024;
const TARGETS = { engine: 3, hotadd: 1.5, rollback: 20 } as const;
const RSS_TARGET = 512 * MiB;

const { values: args } = parseArgs({ options: { "size-mib": { type: "string", default: "2048" }, seed: { type: "string", default: "strongroom-bench" } } });
const sizeMiB = Number(args["size-mib"]);
if (!Number.isInteger(sizeMiB) || sizeMiB < 16 || sizeMiB % 2) {
  console.error(`bench:restore: --size-mib must be an even whole number ≥ 16, got "${args["size-mib"]}"`);
  process.exit(2);
}
const seed = args.seed!;

interface Row {
  name: string;
  bytes: number;
  strongroomMs: number;
  resticMs: number | null;
  target: number | null;
  /** For rows compared with another Strongroom phase rather than restic. */
  versus?: { label: string; ms: number };
}

const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);

async function main(): Promise<void> {
  ensureRestic("bench:restore");
  const work = await mkdtemp(path.join(os.tmpdir(), "strongroom-bench-restore-"));
  try {
    await run(work);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function run(work: string): Promise<void> {
  console.log(`bench:restore — ${sizeMiB} MiB of data, seed "${seed}", ${os.cpus().length} cores, node ${process.version}`);
  console.log(`  ${(spawnSync(RESTIC, ["version"]).stdout?.toString() ?? "").trim()}`);
  const memory = new MemoryWatch();
  const timed = async <T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> => {
    memory.start();
    const t = performance.now();
    try {
      const value = await fn();
      return { ms: performance.now() - t, value };
    } finally {
      memory.stop();
    }
  };
  const password = await createPasswordKey("bench: correct horse battery staple", { params: DEFAULT_KDF_PARAMS });
  const ring = new KeyRing().addPasswordKey(password);
  const resticEnv = (name: string) => ({ ...process.env, RESTIC_PASSWORD: "bench password", RESTIC_CACHE_DIR: path.join(work, "restic-cache"), RESTIC_REPOSITORY: path.join(work, name) });
  const rows: Row[] = [];
  const checks: string[] = [];

  // ── (a) the engine restore of bench:backup's image ──
  {
    const image = path.join(work, "disk.img");
    await writeImage(image, layout(sizeMiB, seed), seed);
    const sourceHash = await hashFile(image);
    const repoDir = path.join(work, "sr-image");
    await mkdir(repoDir);
    const repo = await createRepository(new FilesystemStore(repoDir));
    const reader = await FileDiskReader.open(image);
    const session = await repo.beginPoint({ protection: { password } });
    await backupDisk({ session, diskId: "d", reader, blockSize: repo.config.blockSize, plan: { kind: "full", areas: "all" } });
    const { pointId } = await session.commit();
    await reader.close();
    const env = resticEnv("restic-image");
    await restic(env, ["init", "--quiet"]);
    await restic(env, ["backup", "--quiet", image]);
    const out = path.join(work, "sr-restore.img");
    const r = await timed(async () => {
      const point = await repo.readPoint(pointId, ring);
      try {
        return await restoreDiskToFile({ point, diskId: "d", file: out });
      } finally {
        point.close();
      }
    });
    const resticOut = path.join(work, "restic-restore");
    const resticMs = await restic(env, ["restore", "latest", "--quiet", "--target", resticOut]);
    rows.push({ name: "engine restore (image → file)", bytes: sizeMiB * MiB, strongroomMs: r.ms, resticMs, target: TARGETS.engine });
    checks.push(`image: Strongroom ${(await hashFile(out)) === sourceHash ? "=" : "≠"} source, restic ${(await hashFile(path.join(resticOut, image))) === sourceHash ? "=" : "≠"} source`);
    await rm(out, { force: true });
    await rm(resticOut, { recursive: true, force: true });
    await rm(image, { force: true });
  }

  // ── (b) a whole encrypted VM through HotAdd and NBDSSL ──
  const lab = new LabConnector({ folder: path.join(work, "lab"), diskDataMiB: sizeMiB / 2 });
  const inv = await lab.inventory();
  const source0 = inv.vms.find((v) => v.encrypted && !v.vtpm && v.keyProviderExternalId?.endsWith("-native") && v.disks.length === 2);
  if (!source0) throw new Error("the lab estate has no natively encrypted two-disk VM");
  if (source0.powerState !== "poweredOn") await lab.powerOn(source0.externalId);
  await lab.guestWrites(source0.externalId, 1, 1);
  await lab.powerOff(source0.externalId);
  const source = (await lab.inventory()).vms.find((v) => v.externalId === source0.externalId)!;
  const vmRepoDir = path.join(work, "sr-vm");
  await mkdir(vmRepoDir);
  const vmRepo = await createRepository(new FilesystemStore(vmRepoDir));
  const reading: CandidateProxy = { externalId: "bench-read", name: "bench-read", kind: "physical", siteExternalId: source.siteExternalId, transportModes: ["nbdssl"], maxTasks: 8, keyProviderExternalId: null, tenantExternalId: null, privileges: ["Cryptographer.Access", "Cryptographer.AddDisk"], activeTasks: 0 };
  const backed = await backupVm({ host: lab, repository: vmRepo, vm: source, proxies: [reading], selection: { proxies: "automatic", failoverToNetwork: true }, protection: { password }, keyRing: ring });
  if (backed.status === "failed") throw new Error(`backup of the bench VM failed: ${backed.error}`);
  const point = await vmRepo.readPoint(backed.pointId!, ring);
  const dataBytes = point.disks.reduce((s, d) => s + d.dataBlocks * vmRepo.config.blockSize, 0);
  const sourcePrint = await diskPrints(lab, source.externalId, point);
  // restic gets the same data: each disk's data blocks, concatenated, one file per disk.
  const env = resticEnv("restic-vm");
  await restic(env, ["init", "--quiet"]);
  const dataDir = path.join(work, "vm-data");
  await mkdir(dataDir);
  await writeDataBlocks(point, dataDir);
  await restic(env, ["backup", "--quiet", dataDir]);
  await rm(dataDir, { recursive: true, force: true });
  const resticOut = path.join(work, "restic-vm-restore");
  const resticVmMs = await restic(env, ["restore", "latest", "--quiet", "--target", resticOut]);
  await rm(resticOut, { recursive: true, force: true });
  console.log(`  VM ${source.name}: ${source.disks.length} disks, ${(dataBytes / MiB).toFixed(0)} MiB of data blocks in the point (${backed.disks.map((d) => d.result.stats.storedBlocks).reduce((a, b) => a + b, 0)} stored after dedupe and zero skip)`);

  const plain = inv.storagePolicies.find((p) => p.siteExternalId === source.siteExternalId && p.encryption)!.externalId;
  const ds = inv.datastores.filter((d) => d.siteExternalId === source.siteExternalId && d.compatiblePolicyExternalIds.includes(plain)).sort((a, b) => b.freeBytes - a.freeBytes)[0];
  let fullHotAddMs = 0;
  for (const mode of ["hotadd", "nbdssl"] as TransportMode[]) {
    const choices: VmRestoreChoices = {
      siteExternalId: source.siteExternalId,
      hostExternalId: source.hostExternalId,
      name: `bench-${mode}`,
      folder: "/Bench",
      home: { datastoreExternalId: ds.externalId, storagePolicyExternalId: plain },
      disks: source.disks.map((d) => ({ deviceKey: d.deviceKey, datastoreExternalId: ds.externalId, storagePolicyExternalId: plain, encrypted: true })),
      keys: { kind: "same-key" },
      networks: source.nics.map((n) => ({ nicDeviceKey: n.deviceKey, networkExternalId: null })),
    };
    const plan = planVmRestore(pointVmAttributes(point.attributes), choices, inv);
    const proxy: CandidateProxy = { ...reading, externalId: `bench-${mode}`, name: `bench-${mode}`, kind: mode === "hotadd" ? "vm" : "physical", transportModes: [mode], keyProviderExternalId: source.keyProviderExternalId };
    const r = await timed(() => restoreVm({ host: lab, point, plan, proxies: [proxy], selection: { proxies: "automatic", failoverToNetwork: true }, powerOn: false }));
    if (r.value.status === "failed") throw new Error(`restore through ${mode} failed: ${r.value.error}`);
    if (mode === "hotadd") fullHotAddMs = r.ms;
    rows.push({ name: `VM restore through ${mode === "hotadd" ? "HotAdd" : "NBDSSL"}`, bytes: dataBytes, strongroomMs: r.ms, resticMs: resticVmMs, target: mode === "hotadd" ? TARGETS.hotadd : null });
    const got = await diskPrints(lab, r.value.vm!.externalId, point);
    checks.push(`VM via ${mode}: ${got === sourcePrint ? "=" : "≠"} source disks`);
    await lab.deleteVm(r.value.vm!.externalId);
  }

  // ── (c) quick rollback after 1% changed, vs the full restore ──
  {
    await lab.powerOn(source.externalId);
    const changed = await lab.guestWrites(source.externalId, 0.01, 2);
    const vm = (await lab.inventory()).vms.find((v) => v.externalId === source.externalId)!;
    const proxy: CandidateProxy = { ...reading, externalId: "bench-rollback", name: "bench-rollback", kind: "vm", transportModes: ["hotadd"], keyProviderExternalId: source.keyProviderExternalId };
    const r = await timed(() => rollbackVm({ host: lab, point, vm, mode: "quick-rollback", proxies: [proxy], selection: { proxies: "automatic", failoverToNetwork: true }, powerOn: false }));
    if (r.value.status === "failed") throw new Error(`quick rollback failed: ${r.value.error}`);
    const written = r.value.disks.reduce((s, d) => s + d.result.bytesWritten, 0);
    console.log(`  quick rollback: the guest changed ${changed.changedBlocks} block(s); ${r.value.disks.map((d) => `${d.blocksWritten} block(s) via ${d.found}`).join(", ")} written back (${(written / MiB).toFixed(0)} MiB)`);
    rows.push({ name: "quick rollback after 1% changed", bytes: dataBytes, strongroomMs: r.ms, resticMs: null, target: TARGETS.rollback, versus: { label: "full VM restore (HotAdd)", ms: fullHotAddMs } });
    checks.push(`quick rollback: ${(await diskPrints(lab, source.externalId, point)) === sourcePrint ? "=" : "≠"} source disks at backup`);
  }
  point.close();
  await lab.close();

  // ── report ──
  console.log("");
  console.log("  MB/s = bytes restored / wall time (VM rows: the point's data blocks); ratio = Strongroom / restic (quick rollback: / the full VM restore)");
  const table = [["phase", "MB", "Strongroom s", "Strongroom MB/s", "restic s", "restic MB/s", "ratio", "target", "result"]];
  let allPass = true;
  for (const r of rows) {
    const other = r.versus ? r.versus.ms : r.resticMs;
    const ratio = other === null ? null : other / r.strongroomMs;
    const pass = r.target === null || (ratio !== null && ratio >= r.target);
    allPass &&= pass;
    table.push([
      r.name,
      (r.bytes / 1e6).toFixed(0),
      (r.strongroomMs / 1000).toFixed(2),
      mbps(r.bytes, r.strongroomMs).toFixed(0),
      r.resticMs === null ? (r.versus ? `(${(r.versus.ms / 1000).toFixed(2)} full)` : "") : (r.resticMs / 1000).toFixed(2),
      r.resticMs === null ? "" : mbps(r.bytes, r.resticMs).toFixed(0),
      ratio === null ? "" : `${ratio.toFixed(2)}×`,
      r.target === null ? "—" : `≥ ${r.target}×`,
      r.target === null ? "" : pass ? "pass" : "FAIL",
    ]);
  }
  const peak = Math.max(memory.peakRss, memory.peakHwm);
  const memPass = peak <= RSS_TARGET;
  allPass &&= memPass;
  table.push(["peak RSS", "", `sampled ${(memory.peakRss / MiB).toFixed(0)} MiB`, `VmHWM ${(memory.peakHwm / MiB).toFixed(0)} MiB${hwmResettable ? "" : " (not reset)"}`, "", "", "", `≤ ${RSS_TARGET / MiB} MiB`, memPass ? "pass" : "FAIL"]);
  const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
  for (const [i, r] of table.entries()) {
    console.log("  " + r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  "));
    if (i === 0) console.log("  " + widths.map((w) => "-".repeat(w)).join("  "));
  }
  console.log("");
  for (const c of checks) console.log(`  check: ${c}`);
  console.log("  warm runs: the page cache cannot be dropped here; restic restores through the page cache, Strongroom's file restore writes");
  console.log("  with O_DIRECT where it can; VM restores write through the lab's transports (HotAdd in-process, NBDSSL over TLS on loopback)");
  if (checks.some((c) => c.includes("≠"))) throw new Error("a restored disk differs from its source");
  process.exitCode = allPass ? 0 : 1;
}

/** BLAKE3 over every data block of the point's disks as the VM's disks hold them now (one snapshot per VM). */
async function diskPrints(lab: LabConnector, vmId: string, point: OpenPoint): Promise<string> {
  const h = new Blake3Hasher();
  const proxy = { kind: "physical" as const, transportModes: ["nbdssl" as const], keyProviderExternalId: null, privileges: ["Cryptographer.Access" as const], name: "bench-check" };
  const vm: PlatformVm = (await lab.inventory()).vms.find((v) => v.externalId === vmId)!;
  try {
    for (const d of vm.disks) {
      const info = point.disks.find((x) => x.diskId === diskIdOf(d.deviceKey));
      if (!info) continue;
      const disk = await lab.openDiskForBackup({ vmExternalId: vmId, deviceKey: d.deviceKey, mode: "nbdssl", proxy });
      try {
        const bs = point.blockSize;
        for (const [i, e] of [...point.blockMap(info.diskId)].sort((a, b) => a[0] - b[0])) if (e.kind === "data") h.update(await disk.reader.read(i * bs, Math.min(bs, info.capacity - i * bs)));
      } finally {
        await disk.reader.close();
      }
    }
  } finally {
    await lab.releaseSnapshot(vmId);
  }
  return h.digest("hex");
}

/** Each disk's data blocks, in order, into `<dir>/<disk id>.data`: the bytes restic is given. */
async function writeDataBlocks(point: OpenPoint, dir: string): Promise<void> {
  for (const d of point.disks) {
    const fh = await open(path.join(dir, `${d.diskId}.data`), "w");
    try {
      const indexes = [...point.blockMap(d.diskId)].filter(([, e]) => e.kind === "data").map(([i]) => i).sort((a, b) => a - b);
      let at = 0;
      for await (const { data } of point.readBlocks(d.diskId, indexes)) {
        await fh.write(data, 0, data.length, at);
        at += data.length;
      }
    } finally {
      await fh.close();
    }
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
