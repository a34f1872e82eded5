// openDiskForWriteViaTransport against the lab host (a restore's data path): each mode writes what
// it should (cleartext the host encrypts for HotAdd/NBD/NBDSSL, stored bytes for SAN of an
// unencrypted disk), read back bit for bit through the same mode; SAN of an encrypted disk and
// other denials open nothing; ranges, close and abort behave the same in every mode.

import net from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { PlatformProxy, TransportMode } from "../../connector";
import type { DiskWriter } from "../../disk-io";
import { HostError, SECTOR_SIZE, type DiskReader } from "../data-plane/types";
import type { DiskSink } from "./disk-sink";
import { TransportError } from "./errors";
import { LabTransportHost, type LabHostDisk } from "./lab-host";
import { NbdClient } from "./nbd-client";
import { EncryptedMemoryDisk, MemoryDisk, patternBytes, type SinkStats } from "./testing/memory-disk";
import { generateTestCertificates, type TestCertificates } from "./testing/test-certs";
import { openDiskForWriteViaTransport } from "./transport-writer";
import { openDiskViaTransport, type TransportDiskRef, type TransportHost } from "./transports";

const KP_ACME = "kp-ams-acme";
const CAPACITY = 2 * 1024 * 1024;
const encryptedDisk = new EncryptedMemoryDisk(patternBytes(CAPACITY, 5));
const plainDisk = new MemoryDisk(patternBytes(CAPACITY, 6));
const fixedDisk = new MemoryDisk(patternBytes(CAPACITY, 7));

const ENCRYPTED: TransportDiskRef = { diskId: "vm-1001:2000", encrypted: true, keyProviderExternalId: KP_ACME };
const PLAIN: TransportDiskRef = { diskId: "vm-1002:2000", encrypted: false, keyProviderExternalId: null };
/** A disk the data plane did not open for writing (no openWriter). */
const FIXED: TransportDiskRef = { diskId: "vm-1003:2000", encrypted: false, keyProviderExternalId: null };

type Proxy = Pick<PlatformProxy, "kind" | "transportModes" | "keyProviderExternalId" | "privileges"> & { name: string };
const acmeHotAdd: Proxy = { name: "ams-proxy-acme-01", kind: "vm", transportModes: ["hotadd", "nbdssl"], keyProviderExternalId: KP_ACME, privileges: ["Cryptographer.Access", "Cryptographer.AddDisk"] };
const globexHotAdd: Proxy = { ...acmeHotAdd, name: "ams-proxy-globex-01", keyProviderExternalId: "kp-ams-globex" };
const physical: Proxy = { name: "ams-proxy-phys-01", kind: "physical", transportModes: ["san", "nbd", "nbdssl"], keyProviderExternalId: null, privileges: ["Cryptographer.Access"] };
const noPrivileges: Proxy = { ...physical, name: "ams-proxy-nbd-01", privileges: [] };

let certs: TestCertificates;
let host: LabTransportHost;
let kmsUp = true;
const writers: Array<SinkStats> = [];
const readers: DiskReader[] = [];

function trackedSink(sink: DiskSink & { stats: SinkStats }): DiskSink {
  writers.push(sink.stats);
  return sink;
}
function trackedReader(reader: DiskReader): DiskReader {
  readers.push(reader);
  return reader;
}

const disks: Record<string, LabHostDisk> = {
  [ENCRYPTED.diskId]: {
    encrypted: true,
    keyProviderExternalId: KP_ACME,
    openCleartext: async () => trackedReader(encryptedDisk.cleartext()),
    openRaw: async () => trackedReader(encryptedDisk.raw()),
    openWriter: async () => trackedSink(encryptedDisk.writer()),
  },
  [PLAIN.diskId]: {
    encrypted: false,
    keyProviderExternalId: null,
    openCleartext: async () => trackedReader(new MemoryDisk(plainDisk.data)),
    openRaw: async () => trackedReader(new MemoryDisk(plainDisk.data)),
    openWriter: async () => trackedSink(plainDisk.sink()),
  },
  [FIXED.diskId]: {
    encrypted: false,
    keyProviderExternalId: null,
    openCleartext: async () => trackedReader(new MemoryDisk(fixedDisk.data)),
    openRaw: async () => trackedReader(new MemoryDisk(fixedDisk.data)),
  },
};

beforeAll(async () => {
  certs = generateTestCertificates();
  host = await LabTransportHost.start({
    disk: (id) => disks[id],
    keyProviderReachable: () => kmsUp,
    tls: { cert: certs.hostCert, key: certs.hostKey, ca: certs.ca },
  });
});
afterAll(async () => {
  await host.stop();
  certs.cleanup();
});
afterEach(() => {
  kmsUp = true;
  writers.length = 0;
  readers.length = 0;
  vi.restoreAllMocks();
});

/** Writes `data` whole in `block`-sized pieces, `depth` at a time, as a restore would. */
async function writeWhole(w: DiskWriter, data: Buffer, block = 64 * 1024, depth = 8): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < data.length) {
      const offset = next;
      next += block;
      await w.write(offset, data.subarray(offset, Math.min(data.length, offset + block)));
    }
  };
  await Promise.all(Array.from({ length: depth }, worker));
}

async function readBack(mode: TransportMode, proxy: Proxy, disk: TransportDiskRef): Promise<Buffer> {
  const r = await openDiskViaTransport({ mode, proxy, disk, host });
  try {
    return await r.read(0, r.capacityBytes);
  } finally {
    await r.close();
  }
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a failure");
}

describe("openDiskForWriteViaTransport: round trips", () => {
  const encryptedCases: Array<[TransportMode, Proxy, number]> = [["hotadd", acmeHotAdd, 101], ["nbd", physical, 102], ["nbdssl", physical, 103]];
  it.each(encryptedCases)("%s into an XTS-encrypted disk: cleartext in, ciphertext stored, the same cleartext read back", async (mode, proxy, seed) => {
    const exportsBefore = host.nbd.exportCount;
    const written = patternBytes(CAPACITY, seed);
    const w = await openDiskForWriteViaTransport({ mode, proxy, disk: ENCRYPTED, host, nbd: { maxRequestBytes: 256 * 1024 } });
    expect(w.mode).toBe(mode);
    expect(w.capacityBytes).toBe(CAPACITY);
    if (mode === "hotadd") expect(host.nbd.exportCount).toBe(exportsBefore);
    else expect(host.nbd.exportCount).toBe(exportsBefore + 1);
    await writeWhole(w, written);
    await w.close();
    // close() flushed and let go of the host's side: the sink is flushed and closed, the export gone.
    expect(writers).toHaveLength(1);
    expect(writers[0].flushes).toBeGreaterThanOrEqual(1);
    expect(writers[0].closed).toBe(true);
    expect(writers[0].bytesWritten).toBe(CAPACITY);
    expect(host.nbd.exportCount).toBe(exportsBefore);
    // The datastore holds ciphertext, sector by sector unlike what was written …
    for (let s = 0; s < CAPACITY; s += 64 * 1024) {
      expect(encryptedDisk.ciphertext.subarray(s, s + SECTOR_SIZE).equals(written.subarray(s, s + SECTOR_SIZE))).toBe(false);
    }
    // … which the host decrypts back to exactly what was written, through the same mode.
    expect((await readBack(mode, proxy, ENCRYPTED)).equals(written)).toBe(true);
  });

  it("SAN into an unencrypted disk writes the datastore's bytes, read back the same through SAN", async () => {
    const written = patternBytes(CAPACITY, 104);
    const connects = vi.spyOn(net.Socket.prototype, "connect");
    const w = await openDiskForWriteViaTransport({ mode: "san", proxy: physical, disk: PLAIN, host });
    await writeWhole(w, written, 128 * 1024, 4);
    await w.close();
    expect(connects).not.toHaveBeenCalled();
    expect(plainDisk.data.equals(written)).toBe(true);
    expect((await readBack("san", physical, PLAIN)).equals(written)).toBe(true);
  });

  it("concurrent writes of single sectors all over the disk, interleaved, over NBD", async () => {
    const w = await openDiskForWriteViaTransport({ mode: "nbd", proxy: physical, disk: PLAIN, host, nbd: { maxInFlight: 16 } });
    const model = Buffer.from(plainDisk.data);
    const sectors = CAPACITY / SECTOR_SIZE;
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) {
      const sector = (i * 2654435761) % sectors; // scattered, no repeats below 2^32 / sectors
      const data = Buffer.alloc(SECTOR_SIZE, i & 0xff);
      data.copy(model, sector * SECTOR_SIZE);
      writes.push(w.write(sector * SECTOR_SIZE, data));
    }
    await Promise.all(writes);
    await w.close();
    expect(plainDisk.data.equals(model)).toBe(true);
  });
});

describe("openDiskForWriteViaTransport: refusals", () => {
  it("SAN of an encrypted disk is refused (TRN-2) before anything is opened; the host refuses it too", async () => {
    const connects = vi.spyOn(net.Socket.prototype, "connect");
    const rawWriter = vi.spyOn(host, "openRawWriter");
    const err = await failure(openDiskForWriteViaTransport({ mode: "san", proxy: physical, disk: ENCRYPTED, host }));
    expect(err).toBeInstanceOf(HostError);
    expect((err as HostError).code).toBe("TransportNotSupported");
    expect(err.message).toMatch(/cannot be written in Direct storage \(SAN\).*corrupt/);
    expect(rawWriter).not.toHaveBeenCalled();
    expect(connects).not.toHaveBeenCalled();
    await expect(host.openRawWriter(ENCRYPTED.diskId, { mode: "san", proxy: physical })).rejects.toMatchObject({ code: "TransportNotSupported" });
    expect(writers).toEqual([]);
  });

  const denials: Array<[string, TransportMode, Proxy, string, boolean?]> = [
    ["HotAdd from a proxy of another tenant's KMS", "hotadd", globexHotAdd, "CryptoKeyMismatch"],
    ["NBDSSL without Cryptographer.Access", "nbdssl", noPrivileges, "NoPermission"],
    ["NBD while the VM's key provider is unreachable", "nbd", physical, "KeyProviderUnavailable", false],
  ];
  it.each(denials)("%s → %s, and nothing is opened", async (_name, mode, proxy, code, reachable = true) => {
    kmsUp = reachable;
    const endpoint = vi.spyOn(host, "nbdEndpoint");
    const err = await failure(openDiskForWriteViaTransport({ mode, proxy, disk: ENCRYPTED, host }));
    expect((err as HostError).code).toBe(code);
    expect(endpoint).not.toHaveBeenCalled();
    expect(writers).toEqual([]);
    expect(readers).toEqual([]);
  });

  it("the host denies a writable export itself, in NBD terms, opening nothing", async () => {
    const endpoint = await host.nbdEndpoint(ENCRYPTED.diskId, { mode: "nbdssl", proxy: noPrivileges, tls: true, writable: true });
    const err = await failure(NbdClient.connect({ host: endpoint.host, port: endpoint.port, exportName: endpoint.exportName, tls: { ca: endpoint.ca! } }));
    expect((err as HostError).code).toBe("NoPermission");
    expect(writers).toEqual([]);
    await endpoint.release();
  });

  it.each(["hotadd", "san", "nbd"] as const)("%s: a disk not open for writing refuses with InvalidState, leaving nothing open", async (mode) => {
    const proxy: Proxy = { ...physical, kind: "vm", transportModes: [mode] };
    const exportsBefore = host.nbd.exportCount;
    const err = await failure(openDiskForWriteViaTransport({ mode, proxy, disk: FIXED, host }));
    expect(err).toBeInstanceOf(HostError);
    expect((err as HostError).code).toBe("InvalidState");
    expect(err.message).toMatch(/vm-1003:2000 is not open for writing/);
    expect(host.nbd.exportCount).toBe(exportsBefore);
    expect(readers).toEqual([]);
  });

  it("a host that offers a read-only export for a restore is refused with NoPermission, and the export released", async () => {
    const readOnlyHost: TransportHost = {
      keyProviderReachable: (kp) => host.keyProviderReachable(kp),
      openCleartext: (id, ctx) => host.openCleartext(id, ctx),
      openRaw: (id, ctx) => host.openRaw(id, ctx),
      openCleartextWriter: (id, ctx) => host.openCleartextWriter(id, ctx),
      openRawWriter: (id, ctx) => host.openRawWriter(id, ctx),
      nbdEndpoint: (id, ctx) => host.nbdEndpoint(id, { ...ctx, writable: false }),
    };
    const exportsBefore = host.nbd.exportCount;
    const err = await failure(openDiskForWriteViaTransport({ mode: "nbd", proxy: physical, disk: PLAIN, host: readOnlyHost }));
    expect((err as HostError).code).toBe("NoPermission");
    expect(err.message).toMatch(/read-only export/);
    expect(host.nbd.exportCount).toBe(exportsBefore);
  });
});

describe("DiskWriter behaviour, the same in every mode", () => {
  const modes: Array<[TransportMode, Proxy, TransportDiskRef]> = [["hotadd", acmeHotAdd, ENCRYPTED], ["san", physical, PLAIN], ["nbd", physical, PLAIN], ["nbdssl", physical, ENCRYPTED]];

  it.each(modes)("%s: misaligned and out-of-range writes are HostError InvalidArgument, nothing is written", async (mode, proxy, disk) => {
    const w = await openDiskForWriteViaTransport({ mode, proxy, disk, host });
    const before = Buffer.from(disk === PLAIN ? plainDisk.data : encryptedDisk.ciphertext);
    for (const [offset, length] of [[1, 512], [0, 100], [CAPACITY - 512, 1024], [CAPACITY, 512], [-512, 512]]) {
      const err = await failure(w.write(offset, Buffer.alloc(length, 1)));
      expect(err, `${offset}+${length}`).toBeInstanceOf(HostError);
      expect((err as HostError).code).toBe("InvalidArgument");
    }
    await w.write(CAPACITY - 512, Buffer.alloc(0)); // empty writes are no-ops
    await w.close();
    expect((disk === PLAIN ? plainDisk.data : encryptedDisk.ciphertext).equals(before)).toBe(true);
    expect(writers[0].writes).toBe(0);
  });

  it.each(modes)("%s: after close, writes fail with InvalidState; close and abort return the same promise", async (mode, proxy, disk) => {
    const w = await openDiskForWriteViaTransport({ mode, proxy, disk, host });
    await w.write(0, Buffer.alloc(512));
    const closing = w.close();
    expect(w.close()).toBe(closing);
    expect(w.abort()).toBe(closing);
    await closing;
    const err = await failure(w.write(0, Buffer.alloc(512)));
    expect((err as HostError).code).toBe("InvalidState");
    expect(err.message).toMatch(/writer is closed/);
  });

  it.each(modes)("%s: abort lets go without a flush; writes still running either land or fail, none hang", async (mode, proxy, disk) => {
    const exportsBefore = host.nbd.exportCount;
    const w = await openDiskForWriteViaTransport({ mode, proxy, disk, host, nbd: { maxRequestBytes: 64 * 1024, maxInFlight: 2 } });
    const writes = Array.from({ length: 8 }, (_, i) => w.write(i * 128 * 1024, Buffer.alloc(128 * 1024, i)).then(() => "ok", (e: Error) => e));
    await w.abort();
    const outcomes = await Promise.all(writes);
    for (const o of outcomes) if (o !== "ok") expect((o as TransportError).code).toBe("closed");
    expect(writers[0].flushes).toBe(0);
    expect(writers[0].closed).toBe(true);
    expect(host.nbd.exportCount).toBe(exportsBefore);
    expect(((await failure(w.write(0, Buffer.alloc(512)))) as HostError).message).toMatch(/writer is aborted/);
  });
});
