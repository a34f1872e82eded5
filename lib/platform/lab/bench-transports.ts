// Transport throughput on real lab disks (TRN-1…4): in a temporary lab folder, one encrypted disk
// (native key provider, AES-256-XTS) and one unencrypted disk, every block written by the guest
// workload, are snapshotted as a backup would, then read whole through HotAdd, NBD and NBDSSL (the
// encrypted one) and SAN (the unencrypted one). With writes (the CLI's default), two empty disks of
// the same kinds are then written whole the same four ways, as a restore would (VirtualDisk.write:
// the host encrypts, CBT records). Prints MB/s and CPU seconds per mode and direction.
//
//   npx tsx lib/platform/lab/bench-transports.ts [--size-mib 1024] [--block-kib 1024] [--depth 4] [--repeat 3]
//
// Reuses transport/bench.ts's runner: proxy and host share this process and its one thread, so
// CPU seconds are both sides together. The disk files were just written, so reads come from the
// page cache, and writes go to it (VirtualDisk has no fsync: a flush makes nothing more durable
// here): this measures the lab's CPU path (cipher, NBD, TLS), not a storage array.

import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { LabDataPlane, NativeKeyProvider, fillDisk, type LabVm, type WorkloadMix } from "./data-plane";
import { formatBenchTable, runTransportBench, type BenchOptions, type BenchRow } from "./transport/bench";
import type { DiskSink, LabHostDisk } from "./transport";

/** transport/bench.ts's proxy is encrypted with this provider, so HotAdd of the disk is allowed. */
const KEY_PROVIDER = "kp-bench";
/** Every block written (the default mix leaves 10 % as holes, which read as free zeros). */
const FULL_MIX: WorkloadMix = { zeros: 0.25, random: 0.35, repeated: 0.15, text: 0.25 };
const MiB = 1024 * 1024;

function hostDisk(vm: LabVm, snapshotId: string): LabHostDisk {
  return {
    encrypted: vm.config.encrypted,
    keyProviderExternalId: vm.config.keyProviderId,
    openCleartext: async () => vm.openSnapshotDisk(snapshotId, 2000, "cleartext"),
    openRaw: async () => vm.openSnapshotDisk(snapshotId, 2000, "raw"),
  };
}

/** A restore target: the live disk, written through VirtualDisk.write and read live. */
function targetDisk(vm: LabVm): LabHostDisk {
  const disk = vm.disk(2000);
  const sink: DiskSink = {
    capacityBytes: disk.capacityBytes,
    write: (offset, data) => disk.write(offset, data),
    flush: async () => undefined, // VirtualDisk keeps no write cache of its own and has no fsync yet
    close: async () => undefined, // the VM keeps its disk open
  };
  return {
    encrypted: vm.config.encrypted,
    keyProviderExternalId: vm.config.keyProviderId,
    openCleartext: async () => disk.openLive("cleartext"),
    openRaw: async () => disk.openLive("raw"),
    openWriter: async () => sink,
  };
}

function createVm(lab: LabDataPlane, name: string, bytes: number, source: NativeKeyProvider | null): Promise<LabVm> {
  return lab.createVm({
    vmId: `vm-${name}`,
    name,
    homeDatastore: "ds-bench-vmfs-01",
    disks: [{ deviceKey: 2000, capacityBytes: bytes }],
    encryption: source ? { source } : undefined,
  });
}

async function makeVm(lab: LabDataPlane, name: string, bytes: number, source: NativeKeyProvider | null, say: (line: string) => void): Promise<{ vm: LabVm; snapshotId: string }> {
  const vm = await createVm(lab, name, bytes, source);
  const started = performance.now();
  const report = await fillDisk(vm.disk(2000), FULL_MIX, name);
  const seconds = (performance.now() - started) / 1000;
  say(`  ${name}: wrote ${(report.bytesWritten / MiB).toFixed(0)} MiB in ${seconds.toFixed(2)} s (${(report.bytesWritten / 1e6 / seconds).toFixed(0)} MB/s)`);
  const snapshot = await vm.createSnapshot("bench");
  return { vm, snapshotId: snapshot.id };
}

/**
 * The measurement itself, for `npm run bench:transports` and for other benchmarks that compare
 * against it in the same run (scripts/bench-jobs.ts): a temporary lab folder, two disks of
 * `sizeMiB` with every block written, each read whole per mode; the folder is removed afterwards.
 */
export async function measureLabTransports(sizeMiB: number, options: BenchOptions, say: (line: string) => void = console.log, o: { writes?: boolean } = {}): Promise<BenchRow[]> {
  if (!(Number.isInteger(sizeMiB) && sizeMiB > 0)) throw new Error(`--size-mib must be a positive integer, got ${sizeMiB}`);
  const folder = await mkdtemp(path.join(os.tmpdir(), "strongroom-bench-lab-"));
  const lab = new LabDataPlane(folder);
  try {
    const keyFolder = path.join(folder, "native-keys", "bench");
    await mkdir(keyFolder, { recursive: true });
    const native = await NativeKeyProvider.open({ folder: keyFolder, providerId: KEY_PROVIDER });
    say(`Lab folder ${folder}: two ${sizeMiB} MiB disks, every block written`);
    const encrypted = await makeVm(lab, "bench-encrypted", sizeMiB * MiB, native, say);
    const plain = await makeVm(lab, "bench-plain", sizeMiB * MiB, null, say);
    const disks = { encrypted: hostDisk(encrypted.vm, encrypted.snapshotId), plain: hostDisk(plain.vm, plain.snapshotId) };
    if (!o.writes) {
      say(`Reading each disk's snapshot whole per mode in ${options.blockBytes / 1024} KiB blocks, ${options.depth} in flight, median of ${options.repeat} runs; Node ${process.version}`);
      return await runTransportBench(disks, options);
    }
    const restoreEncrypted = await createVm(lab, "bench-restore-encrypted", sizeMiB * MiB, native);
    const restorePlain = await createVm(lab, "bench-restore-plain", sizeMiB * MiB, null);
    // What the restores write: random cleartext, 16 blocks cycled over the disk.
    const source = randomBytes(16 * options.blockBytes);
    say(`Reading each disk's snapshot whole per mode, then writing an empty disk whole per mode, in ${options.blockBytes / 1024} KiB blocks, ${options.depth} in flight, median of ${options.repeat} runs; Node ${process.version}`);
    return await runTransportBench(disks, options, { encrypted: targetDisk(restoreEncrypted), plain: targetDisk(restorePlain), source });
  } finally {
    await lab.close();
    await rm(folder, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = new Map<string, string>();
  for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ""), process.argv[i + 1]);
  const sizeMiB = Number(args.get("size-mib") ?? 1024);
  const options: BenchOptions = {
    blockBytes: Number(args.get("block-kib") ?? 1024) * 1024,
    depth: Number(args.get("depth") ?? 4),
    repeat: Number(args.get("repeat") ?? 3),
  };
  console.log(formatBenchTable(await measureLabTransports(sizeMiB, options, console.log, { writes: true })));
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
