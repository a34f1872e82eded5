// Throughput of the lab's transport modes: reads a whole disk through HotAdd, NBD and NBDSSL (an
// encrypted disk) and SAN (an unencrypted one), then writes a whole disk the same four ways (a
// restore: into an encrypted target, and SAN into an unencrypted one), and prints MB/s and CPU
// seconds per mode and direction.
//
//   npx tsx lib/platform/lab/transport/bench.ts [--size 1GiB] [--block 1MiB] [--depth 4] [--repeat 3] [--source xts|memory]
//
// Sources (pluggable: runTransportBench takes any LabHostDisk pairs, so the data plane's real disk
// files can be dropped in):
//   xts     (default) the encrypted disks are AES-256-XTS ciphertext in memory; the host decrypts
//           every read and encrypts every write with the data plane's XtsCipher, as a real host would;
//   memory  cleartext in memory, no cipher: the cost of the transport alone.
// Proxy and host run in this one process, on one thread: CPU seconds are both sides together. A
// write is timed up to its writer's close(), which flushes (NBD_CMD_FLUSH over NBD).

import { randomBytes, randomFillSync } from "node:crypto";
import type { PlatformProxy, TransportMode } from "../../connector";
import { SECTOR_SIZE, type DiskReader, type DiskWriter } from "../data-plane/types";
import { XtsCipher } from "../data-plane/xts";
import { LabTransportHost, type LabHostDisk } from "./lab-host";
import { MemoryDisk } from "./testing/memory-disk";
import { generateTestCertificates } from "./testing/test-certs";
import { transportModeName } from "../../transport-policy";
import { openDiskForWriteViaTransport } from "./transport-writer";
import { openDiskViaTransport, type TransportDiskRef } from "./transports";

export interface BenchOptions {
  blockBytes: number;
  /** Block reads in flight at once (the engine's read-ahead). */
  depth: number;
  /** Runs per mode; the run with the median wall time is reported (this machine is shared). */
  repeat: number;
}

export interface BenchRow {
  op: "read" | "write";
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

/**
 * Writes the whole of `writer` in `blockBytes` blocks, `depth` at a time, from `source` (cycled;
 * its length a multiple of blockBytes), then closes it: the flush is part of a restore's time.
 */
async function writeWhole(writer: DiskWriter, source: Buffer, o: BenchOptions): Promise<number> {
  let next = 0;
  let total = 0;
  const worker = async () => {
    for (;;) {
      const offset = next;
      if (offset >= writer.capacityBytes) return;
      next += o.blockBytes;
      const length = Math.min(o.blockBytes, writer.capacityBytes - offset);
      const at = offset % source.length;
      await writer.write(offset, source.subarray(at, at + length));
      total += length;
    }
  };
  await Promise.all(Array.from({ length: o.depth }, worker));
  await writer.close();
  return total;
}

export interface BenchDisks {
  encrypted: LabHostDisk;
  plain: LabHostDisk;
}

/** Restore targets (with openWriter) and the cleartext written into them. */
export interface BenchTargets extends BenchDisks {
  /** Cycled over each target; its length a multiple of the block size. */
  source: Buffer;
}

/** Which disk each mode reads or writes: the encrypted one, except SAN (TRN-2). */
const PLAN: Array<[TransportMode, "encrypted" | "plain"]> = [["hotadd", "encrypted"], ["nbd", "encrypted"], ["nbdssl", "encrypted"], ["san", "plain"]];

/** Reads `disks` whole in every mode, then, given `targets`, writes them whole in every mode. */
export async function runTransportBench(disks: BenchDisks, o: BenchOptions, targets?: BenchTargets): Promise<BenchRow[]> {
  if (targets && targets.source.length % o.blockBytes !== 0) throw new Error("the write source must be a whole number of blocks");
  const certs = generateTestCertificates();
  const byId: Record<string, LabHostDisk | undefined> = { encrypted: disks.encrypted, plain: disks.plain, "target-encrypted": targets?.encrypted, "target-plain": targets?.plain };
  const host = await LabTransportHost.start({ disk: (id) => byId[id], tls: { cert: certs.hostCert, key: certs.hostKey, ca: certs.ca } });
  const ref = (which: "encrypted" | "plain", prefix = ""): TransportDiskRef =>
    which === "encrypted" ? { diskId: `${prefix}encrypted`, encrypted: true, keyProviderExternalId: KP } : { diskId: `${prefix}plain`, encrypted: false, keyProviderExternalId: null };
  const nbd = { maxRequestBytes: o.blockBytes, maxInFlight: o.depth };
  const rows: BenchRow[] = [];
  try {
    for (const [mode, which] of PLAN) {
      const disk = ref(which);
      rows.push(await median("read", mode, disk, o, async () => {
        const reader = await openDiskViaTransport({ mode, proxy: PROXY, disk, host, nbd });
        return { run: () => readWhole(reader, o), done: () => reader.close() };
      }));
    }
    for (const [mode, which] of targets ? PLAN : []) {
      const disk = ref(which, "target-");
      rows.push(await median("write", mode, disk, o, async () => {
        const writer = await openDiskForWriteViaTransport({ mode, proxy: PROXY, disk, host, nbd });
        return { run: () => writeWhole(writer, targets!.source, o), done: async () => undefined };
      }));
    }
  } finally {
    await host.stop();
    certs.cleanup();
  }
  return rows;
}

/**
 * Opens, times `run` and lets go, o.repeat times; the run with the median wall time is reported
 * (this machine is shared). Opening and `done` are not timed.
 */
async function median(
  op: BenchRow["op"], mode: TransportMode, disk: TransportDiskRef, o: BenchOptions,
  open: () => Promise<{ run: () => Promise<number>; done: () => Promise<void> }>,
): Promise<BenchRow> {
  const runs: BenchRow[] = [];
  for (let i = 0; i < o.repeat; i++) {
    const { run, done } = await open();
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    const bytes = await run();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const used = process.cpuUsage(cpu);
    await done();
    runs.push({ op, mode, disk: disk.encrypted ? "encrypted" : "unencrypted", bytes, seconds, cpuSeconds: (used.user + used.system) / 1e6 });
  }
  return runs.sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)];
}

export function formatBenchTable(rows: BenchRow[]): string {
  const lines = [
    "| op | mode | disk | bytes | seconds | MB/s | CPU s | CPU s per GB |",
    "|---|---|---|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    const gb = r.bytes / 1e9;
    lines.push(`| ${r.op} | ${transportModeName(r.mode)} | ${r.disk} | ${(r.bytes / 2 ** 20).toFixed(0)} MiB | ${r.seconds.toFixed(2)} | ${(r.bytes / 1e6 / r.seconds).toFixed(0)} | ${r.cpuSeconds.toFixed(2)} | ${(r.cpuSeconds / gb).toFixed(2)} |`);
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
  return xtsDiskOver(ciphertext, dek, keyProviderExternalId);
}

/**
 * An encrypted disk over `ciphertext` with `dek`: reads decrypt, writes encrypt, as the host's
 * data plane does. A restore target can start as any bytes: only what is written is read back.
 */
export function xtsDiskOver(ciphertext: Buffer, dek: Buffer, keyProviderExternalId: string): LabHostDisk {
  return {
    encrypted: true,
    keyProviderExternalId,
    openWriter: async () => {
      const xts = new XtsCipher(dek);
      return {
        capacityBytes: ciphertext.length,
        write: async (offset: number, data: Buffer) => {
          if (offset % SECTOR_SIZE !== 0 || data.length % SECTOR_SIZE !== 0 || offset + data.length > ciphertext.length) throw new RangeError(`bad write ${offset}+${data.length}`);
          xts.encryptSectors(offset / SECTOR_SIZE, data, ciphertext.subarray(offset, offset + data.length));
        },
        flush: async () => undefined, // memory: nothing to make durable
        close: async () => undefined,
      };
    },
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
  if (size < options.blockBytes) throw new Error("size must hold at least one block");

  const data = Buffer.allocUnsafe(size);
  for (let o = 0; o < size; o += 64 * 1024 * 1024) randomFillSync(data, o, Math.min(64 * 1024 * 1024, size - o));
  const plain: LabHostDisk = { encrypted: false, keyProviderExternalId: null, openRaw: async () => new MemoryDisk(data), openCleartext: async () => new MemoryDisk(data) };
  const encrypted: LabHostDisk = source === "xts" ? xtsMemoryDisk(data, KP) : { ...plain, encrypted: true, keyProviderExternalId: KP };
  // Restore targets of their own (the sources stay intact), written from the source's first blocks.
  const plainTarget = new MemoryDisk(Buffer.alloc(size));
  const plainTargetDisk: LabHostDisk = { encrypted: false, keyProviderExternalId: null, openRaw: async () => plainTarget, openCleartext: async () => plainTarget, openWriter: async () => plainTarget.sink() };
  const encryptedTarget: LabHostDisk =
    source === "xts" ? xtsDiskOver(Buffer.alloc(size), randomBytes(64), KP) : { ...plainTargetDisk, encrypted: true, keyProviderExternalId: KP };
  const writeSource = data.subarray(0, options.blockBytes * Math.min(16, Math.floor(size / options.blockBytes)));

  console.log(`Reading, then writing, ${(size / 2 ** 30).toFixed(2)} GiB per mode in ${options.blockBytes / 1024} KiB blocks, ${options.depth} in flight, median of ${options.repeat} runs; source: ${source}; Node ${process.version}`);
  const rows = await runTransportBench({ encrypted, plain }, options, { encrypted: encryptedTarget, plain: plainTargetDisk, source: writeSource });
  console.log(formatBenchTable(rows));
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
