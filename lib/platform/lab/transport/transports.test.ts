// openDiskViaTransport against the lab host: each mode reads what it should (cleartext for
// HotAdd/NBD/NBDSSL, ciphertext for SAN), denials cost neither a socket nor an opened disk, and the
// host refuses by itself when a caller skips Strongroom's check.

import net from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { PlatformProxy } from "../../connector";
import { HostError, type DiskReader } from "../data-plane/types";
import { TransportError } from "./errors";
import { LabTransportHost, type LabHostDisk } from "./lab-host";
import { NbdClient } from "./nbd-client";
import { EncryptedMemoryDisk, MemoryDisk, patternBytes } from "./testing/memory-disk";
import { generateTestCertificates, type TestCertificates } from "./testing/test-certs";
import { openDiskViaTransport, type TransportDiskRef } from "./transports";

const KP_ACME = "kp-ams-acme";
const plaintext = patternBytes(2 * 1024 * 1024, 5);
const encryptedDisk = new EncryptedMemoryDisk(plaintext);
const plainData = patternBytes(1024 * 1024, 6);

const ENCRYPTED: TransportDiskRef = { diskId: "vm-1001:2000", encrypted: true, keyProviderExternalId: KP_ACME };
const PLAIN: TransportDiskRef = { diskId: "vm-1002:2000", encrypted: false, keyProviderExternalId: null };

type Proxy = Pick<PlatformProxy, "kind" | "transportModes" | "keyProviderExternalId" | "privileges"> & { name: string };
const acmeHotAdd: Proxy = { name: "ams-proxy-acme-01", kind: "vm", transportModes: ["hotadd", "nbdssl"], keyProviderExternalId: KP_ACME, privileges: ["Cryptographer.Access", "Cryptographer.AddDisk"] };
const globexHotAdd: Proxy = { ...acmeHotAdd, name: "ams-proxy-globex-01", keyProviderExternalId: "kp-ams-globex" };
const physical: Proxy = { name: "ams-proxy-phys-01", kind: "physical", transportModes: ["san", "nbd", "nbdssl"], keyProviderExternalId: null, privileges: ["Cryptographer.Access"] };
const noPrivileges: Proxy = { ...physical, name: "ams-proxy-nbd-01", privileges: [] };

let certs: TestCertificates;
let host: LabTransportHost;
let kmsUp = true;
const opened: string[] = [];
const openReaders: DiskReader[] = [];

function tracked(name: string, reader: DiskReader): DiskReader {
  opened.push(name);
  openReaders.push(reader);
  return reader;
}

const disks: Record<string, LabHostDisk> = {
  [ENCRYPTED.diskId]: {
    encrypted: true,
    keyProviderExternalId: KP_ACME,
    openCleartext: async () => tracked("cleartext", encryptedDisk.cleartext()),
    openRaw: async () => tracked("raw", encryptedDisk.raw()),
  },
  [PLAIN.diskId]: {
    encrypted: false,
    keyProviderExternalId: null,
    openCleartext: async () => tracked("cleartext", new MemoryDisk(plainData)),
    openRaw: async () => tracked("raw", new MemoryDisk(plainData)),
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
  opened.length = 0;
  openReaders.length = 0;
  vi.restoreAllMocks();
});

async function readAll(r: DiskReader): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let o = 0; o < r.capacityBytes; o += 256 * 1024) parts.push(await r.read(o, Math.min(256 * 1024, r.capacityBytes - o)));
  return Buffer.concat(parts);
}

describe("openDiskViaTransport: data paths", () => {
  it("HotAdd from a proxy of the same key provider reads cleartext in-process, without a socket", async () => {
    const connects = vi.spyOn(net.Socket.prototype, "connect");
    const r = await openDiskViaTransport({ mode: "hotadd", proxy: acmeHotAdd, disk: ENCRYPTED, host });
    expect(r.mode).toBe("hotadd");
    expect((await readAll(r)).equals(plaintext)).toBe(true);
    await r.close();
    expect(connects).not.toHaveBeenCalled();
  });

  it("SAN of an unencrypted disk reads the datastore bytes", async () => {
    const r = await openDiskViaTransport({ mode: "san", proxy: physical, disk: PLAIN, host });
    expect((await readAll(r)).equals(plainData)).toBe(true);
    expect(opened).toEqual(["raw"]);
    await r.close();
  });

  for (const mode of ["nbd", "nbdssl"] as const) {
    it(`${mode.toUpperCase()} of an encrypted disk: the host decrypts, the proxy gets cleartext over a socket`, async () => {
      const before = host.nbd.stats.connections;
      const exportsBefore = host.nbd.exportCount;
      const r = await openDiskViaTransport({ mode, proxy: physical, disk: ENCRYPTED, host });
      expect(host.nbd.exportCount).toBe(exportsBefore + 1);
      const bytes = await readAll(r);
      expect(bytes.equals(plaintext)).toBe(true);
      expect(bytes.equals(encryptedDisk.ciphertext)).toBe(false);
      expect(host.nbd.stats.connections).toBe(before + 1);
      expect(opened).toEqual(["cleartext"]);
      await r.close();
      // Closing releases the host side: the per-session export is gone and the disk closed.
      expect(host.nbd.exportCount).toBe(exportsBefore);
      await expect(openReaders[0].read(0, 512)).rejects.toThrow(/closed/);
    });
  }

  it("the raw and cleartext views of an encrypted disk differ (what SAN would have seen)", async () => {
    const raw = await encryptedDisk.raw().read(0, 4096);
    const clear = await encryptedDisk.cleartext().read(0, 4096);
    expect(raw.equals(clear)).toBe(false);
    expect(clear.equals(plaintext.subarray(0, 4096))).toBe(true);
  });
});

describe("openDiskViaTransport: denials open nothing", () => {
  const cases: Array<[string, Parameters<typeof openDiskViaTransport>[0]["mode"], Proxy, TransportDiskRef, string, boolean?]> = [
    ["SAN of an encrypted disk", "san", physical, ENCRYPTED, "TransportNotSupported"],
    ["HotAdd from a proxy of another tenant's KMS", "hotadd", globexHotAdd, ENCRYPTED, "CryptoKeyMismatch"],
    ["NBDSSL without Cryptographer.Access", "nbdssl", noPrivileges, ENCRYPTED, "NoPermission"],
    ["NBD while the VM's key provider is unreachable", "nbd", physical, ENCRYPTED, "KeyProviderUnavailable", false],
    ["NBD from a proxy not configured for it", "nbd", acmeHotAdd, PLAIN, "TransportNotSupported"],
  ];
  it.each(cases)("%s → %s", async (_name, mode, proxy, disk, code, reachable = true) => {
    kmsUp = reachable;
    const connects = vi.spyOn(net.Socket.prototype, "connect");
    const endpoint = vi.spyOn(host, "nbdEndpoint");
    const before = host.nbd.stats.connections;
    const err = await openDiskViaTransport({ mode, proxy, disk, host }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostError);
    expect((err as HostError).code).toBe(code);
    expect(connects).not.toHaveBeenCalled();
    expect(endpoint).not.toHaveBeenCalled();
    expect(host.nbd.stats.connections).toBe(before);
    expect(opened).toEqual([]);
  });
});

describe("the lab host enforces the policy itself", () => {
  it("refuses a wrong-KMS HotAdd attach and a SAN read of an encrypted disk asked for directly", async () => {
    await expect(host.openCleartext(ENCRYPTED.diskId, { mode: "hotadd", proxy: globexHotAdd })).rejects.toMatchObject({ code: "CryptoKeyMismatch" });
    await expect(host.openRaw(ENCRYPTED.diskId, { mode: "san", proxy: physical })).rejects.toMatchObject({ code: "TransportNotSupported" });
    expect(opened).toEqual([]);
  });

  it("answers a denied NBD export with NBD_REP_ERR_POLICY, which the client turns back into the HostError", async () => {
    const endpoint = await host.nbdEndpoint(ENCRYPTED.diskId, { mode: "nbdssl", proxy: noPrivileges, tls: true });
    const err = await NbdClient.connect({ host: endpoint.host, port: endpoint.port, exportName: endpoint.exportName, tls: { ca: endpoint.ca! } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostError);
    expect((err as HostError).code).toBe("NoPermission");
    expect(opened).toEqual([]);
    await endpoint.release();
    expect(host.nbd.hasExport(endpoint.exportName)).toBe(false);
  });

  it("serves an NBDSSL export only over TLS, even on its shared port", async () => {
    const endpoint = await host.nbdEndpoint(ENCRYPTED.diskId, { mode: "nbdssl", proxy: physical, tls: true });
    const err = await NbdClient.connect({ host: endpoint.host, port: endpoint.port, exportName: endpoint.exportName }).catch((e: unknown) => e);
    expect((err as TransportError).code).toBe("tls-required");
    await endpoint.release();
  });

  it("reports an unknown disk as NotFound", async () => {
    const err = await openDiskViaTransport({ mode: "nbd", proxy: physical, disk: { ...PLAIN, diskId: "vm-404:2000" }, host }).catch((e: unknown) => e);
    expect((err as HostError).code).toBe("NotFound");
  });
});
