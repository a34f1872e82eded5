// Throughput of the lab's transport modes: reads a whole disk through HotAdd, NBD and NBDSSL (an
// encrypted disk) and SAN (an unencrypted one), and prints MB/s and CPU seconds per mode.
//
//   npx tsx lib/platform/lab/transport/bench.ts [--size 1GiB] [--block 1MiB] [--depth 4] [--repeat 3] [--source xts|memory]
//
// Sources (pluggable: runTransportBench takes any LabHostDisk pair, so the data plane's real disk
// files can be dropped in):
//   xts     (default) the encrypted disk is AES-256-XTS ciphertext in memory and the host decrypts
//           every read with the data plane's XtsCipher, as a real host would;
//   memory  cleartext in memory, no decryption: the cost of the transport alone.
// Proxy and host run in this one process, on one thread: CPU seconds are both sides together.

import { randomBytes, randomFillSync } from "node:crypto";
import type { PlatformProxy, TransportMode } from "../../connector";
import { SECTOR_SIZE, type DiskReader } from "../data-plane/types";
import { XtsCipher } from "../data-plane/xts";
import { LabTransportHost, type LabHostDisk } from "./lab-host";
import { MemoryDisk } from "./testing/memory-disk";
import { generateTestCertificates } from "./testing/test-certs";
import { transportModeName } from "../../transport-policy";
import { openDiskViaTransport, type TransportDiskRef } from "./transports";

export interface BenchOptions {
  blockBytes: number;
  /** Block reads in flight at once (the engine's read-ahead). */
  depth: number;
  /** Runs per mode; the run with the median wall time is reported (this machine is shared). */
  repeat: number;
}

export interface BenchRow {
  mode: TransportMode;
  disk: string;
  bytes: number;
  seconds: number;
  cpuSeconds: number;
}

const KP = "kp-bench";
const PROXY: Pick<PlatformProxy, "kind" | "transportModes" | "keyProviderExternalId" | "privileges"> & { name: string } = {
  name: "bench-proxy",
  kind: "vm",
  transportModes: ["san", "hotadd", "nbd", "nbdssl"],
  keyProviderExternalId: KP,
  privileges: ["Cryptographer.Access", "Cryptographer.AddDisk"],
};

/** Reads all of `reader` in `blockBytes` blocks, `depth` at a time, into reused buffers. */
async function readWhole(reader: DiskReader, o: BenchOptions): Promise<number> {
  let next = 0;
  let total = 0;
  const worker = async () => {
    const buffer = Buffer.allocUnsafe(o.blockBytes);
    for (;;) {
      const offset = next;
      if (offset >= reader.capacityBytes) return;
      next += o.blockBytes;
      const target = buffer.subarray(0, Math.min(o.blockBytes, reader.capacityBytes - offset));
      await reader.readInto(offset, target);
      total += target.length;
    }
  };
  await Promise.all(Array.from({ length: o.depth }, worker));
  return total;
}

export async function runTransportBench(disks: { encrypted: LabHostDisk; plain: LabHostDisk }, o: BenchOptions): Promise<BenchRow[]> {
  const certs = generateTestCertificates();
  const host = await LabTransportHost.start({
    disk: (id) => (id === "encrypted" ? disks.encrypted : id === "plain" ? disks.plain : undefined),
    tls: { cert: certs.hostCert, key: certs.hostKey, ca: certs.ca },
  });
  const encrypted: TransportDiskRef = { diskId: "encrypted", encrypted: true, keyProviderExternalId: KP };
  const plain: TransportDiskRef = { diskId: "plain", encrypted: false, keyProviderExternalId: null };
  const plan: Array<[TransportMode, TransportDiskRef]> = [["hotadd", encrypted], ["nbd", encrypted], ["nbdssl", encrypted], ["san", plain]];
  const rows: BenchRow[] = [];
  try {
    for (const [mode, disk] of plan) {
      const runs: BenchRow[] = [];
      for (let i = 0; i < o.repeat; i++) {
        const reader = await openDiskViaTransport({ mode, proxy: PROXY, disk, host, nbd: { maxRequestBytes: o.blockBytes, maxInFlight: o.depth } });
        const cpu = process.cpuUsage();
        const started = process.hrtime.bigint();
        const bytes = await readWhole(reader, o);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const used = process.cpuUsage(cpu);
        await reader.close();
        runs.push({ mode, disk: disk.encrypted ? "encrypted" : "unencrypted", bytes, seconds, cpuSeconds: (used.user + used.system) / 1e6 });
      }
      rows.push(runs.sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)]);
    }
  } finally {
    await host.stop();
    certs.cleanup();
  }
  return rows;
}

export function formatBenchTable(rows: BenchRow[]): string {
  const lines = [
    "| mode | disk | read | seconds | MB/s | CPU s | CPU s per GB |",
    "|---|---|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    const gb = r.bytes / 1e9;
    lines.push(`| ${transportModeName(r.mode)} | ${r.disk} | ${(r.bytes / 2 ** 20).toFixed(0)} MiB | ${r.seconds.toFixed(2)} | ${(r.bytes / 1e6 / r.seconds).toFixed(0)} | ${r.cpuSeconds.toFixed(2)} | ${(r.cpuSeconds / gb).toFixed(2)} |`);
  }
  return lines.join("\n");
}

/** An in-memory encrypted disk whose cleartext view decrypts each read like the host does. */
export function xtsMemoryDisk(plaintext: Buffer, keyProviderExternalId: string): LabHostDisk {
  const dek = randomBytes(64);
  const ciphertext = Buffer.allocUnsafe(plaintext.length);
  const step = 1024 * 1024;
  const setup = new XtsCipher(dek);
  for (let o = 0; o < plaintext.length; o += step) {
    setup.encryptSectors(o / SECTOR_SIZE, plaintext.subarray(o, o + step), ciphertext.subarray(o, o + step));
  }
  return {
    encrypted: true,
    keyProviderExternalId,
    openRaw: async () => new MemoryDisk(ciphertext),
    openCleartext: async () => {
      const raw = new MemoryDisk(ciphertext);
      const xts = new XtsCipher(dek);
      return {
        capacityBytes: raw.capacityBytes,
        readInto: async (offset: number, target: Buffer) => {
          await raw.readInto(offset, target);
          xts.decryptSectors(offset / SECTOR_SIZE, target, target);
        },
        read: async (offset: number, length: number) => {
          const out = Buffer.allocUnsafe(length);
          await raw.readInto(offset, out);
          xts.decryptSectors(offset / SECTOR_SIZE, out, out);
          return out;
        },
        close: () => raw.close(),
      };
    },
  };
}

function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB)?$/i.exec(text.trim());
  if (!m) throw new Error(`not a size: ${text}`);
  const unit = { b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 }[(m[2] ?? "B").toLowerCase() as "b"];
  return Math.round(Number(m[1]) * unit);
}

async function main(): Promise<void> {
  const args = new Map<string, string>();
  for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ""), process.argv[i + 1]);
  const size = parseSize(args.get("size") ?? "1GiB");
  const options: BenchOptions = { blockBytes: parseSize(args.get("block") ?? "1MiB"), depth: Number(args.get("depth") ?? 4), repeat: Number(args.get("repeat") ?? 3) };
  const source = args.get("source") ?? "xts";
  if (size % SECTOR_SIZE !== 0 || options.blockBytes % SECTOR_SIZE !== 0) throw new Error("size and block must be whole sectors");

  const data = Buffer.allocUnsafe(size);
  for (let o = 0; o < size; o += 64 * 1024 * 1024) randomFillSync(data, o, Math.min(64 * 1024 * 1024, size - o));
  const plain: LabHostDisk = { encrypted: false, keyProviderExternalId: null, openRaw: async () => new MemoryDisk(data), openCleartext: async () => new MemoryDisk(data) };
  const encrypted: LabHostDisk = source === "xts" ? xtsMemoryDisk(data, KP) : { ...plain, encrypted: true, keyProviderExternalId: KP };

  console.log(`Reading ${(size / 2 ** 30).toFixed(2)} GiB per mode in ${options.blockBytes / 1024} KiB blocks, ${options.depth} in flight, median of ${options.repeat} runs; source: ${source}; Node ${process.version}`);
  const rows = await runTransportBench({ encrypted, plain }, options);
  console.log(formatBenchTable(rows));
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
