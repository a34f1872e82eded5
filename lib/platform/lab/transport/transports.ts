// One entry point for reading a VM disk the way a backup proxy would (TRN-1…4):
//
//   HotAdd  the host attaches the disk to the proxy VM and hands the proxy the disk's key, so the
//           proxy reads cleartext in-process, nothing crosses the network (seeds/001 §3).
//   SAN     the proxy reads the datastore's bytes directly: for an encrypted disk that is
//           ciphertext without a key, hence refused (TRN-2).
//   NBD     the host decrypts and streams cleartext to the proxy over TCP (a real NBD session).
//   NBDSSL  the same NBD session inside TLS, the host's certificate verified against a CA.
//
// The transport policy runs first, on Strongroom's side, so a denial (SAN of an encrypted disk,
// HotAdd from a proxy of another key provider, a missing privilege) is known before any socket is
// opened or any disk attached (TRN-5). The host checks again on its side (lab-host.ts).
// Writing a disk (a restore) goes the same ways in reverse: transport-writer.ts.

import type { TransportMode } from "../../connector";
import type { DiskReader, TransportReader } from "../../disk-io";
export type { TransportReader } from "../../disk-io";
import { TransportError } from "./errors";
import { NbdClient, type NbdClientOptions } from "./nbd-client";
import { checkTransport, type PolicyDisk, type PolicyProxy } from "../../transport-policy";
import type { DiskSink } from "./disk-sink";

/** The disk to read, as the inventory describes it. */
export interface TransportDiskRef extends PolicyDisk {
  /** The disk's external id, e.g. "vm-1042:2000". */
  diskId: string;
}

/** Who is asking, passed to the host so that it can apply its own checks. */
export interface HostRequestContext {
  proxy: PolicyProxy;
  mode: TransportMode;
}

/** What an NBD export is opened for: `writable` for a restore (default: read-only, a backup). */
export interface NbdRequestContext extends HostRequestContext {
  tls: boolean;
  writable?: boolean;
}

/** Where the host serves a disk over NBD for one proxy session (like a VDDK/NFC ticket). */
export interface NbdEndpoint {
  host: string;
  port: number;
  exportName: string;
  /** PEM CA the host's NBD certificate chains to; required for NBDSSL. */
  ca?: string | Buffer | (string | Buffer)[];
  servername?: string;
  /** Withdraws the export and closes the host's side of the disk once the proxy is done. */
  release(): Promise<void>;
}

/** What a (lab) ESXi host offers a backup proxy. */
export interface TransportHost {
  /** Whether the host's site can reach this key provider now (VME-3). */
  keyProviderReachable(keyProviderExternalId: string): boolean | Promise<boolean>;
  /** HotAdd: the disk attached to the proxy VM, read in cleartext (the proxy got the DEK). */
  openCleartext(diskId: string, ctx: HostRequestContext): Promise<DiskReader>;
  /** SAN: the datastore's bytes as stored. */
  openRaw(diskId: string, ctx: HostRequestContext): Promise<DiskReader>;
  /** NBD/NBDSSL: an export of the host's cleartext view on its NBD service (writable on request). */
  nbdEndpoint(diskId: string, ctx: NbdRequestContext): Promise<NbdEndpoint>;
  /** HotAdd restore: the disk attached to the proxy VM, written in cleartext (the host encrypts). */
  openCleartextWriter(diskId: string, ctx: HostRequestContext): Promise<DiskSink>;
  /** SAN restore: the datastore's bytes, written as they are; refused for an encrypted disk (TRN-2). */
  openRawWriter(diskId: string, ctx: HostRequestContext): Promise<DiskSink>;
}


export interface OpenDiskOptions {
  mode: TransportMode;
  proxy: PolicyProxy;
  disk: TransportDiskRef;
  host: TransportHost;
  /** Tuning of the NBD client (timeouts, pipelining) for NBD/NBDSSL. */
  nbd?: Pick<NbdClientOptions, "connectTimeoutMs" | "requestTimeoutMs" | "maxInFlight" | "maxRequestBytes">;
}

/**
 * Opens `disk` for `proxy` in `mode`. Throws HostError when the policy or the host refuses
 * (TransportNotSupported, CryptoKeyMismatch, NoPermission, KeyProviderUnavailable, NotFound) and
 * TransportError when the host cannot be talked to (connection-refused, tls, timeout, protocol).
 */
export async function openDiskViaTransport(o: OpenDiskOptions): Promise<TransportReader> {
  const { mode, disk, proxy, host } = o;
  await checkBeforeOpening(o, "read");

  const ctx: HostRequestContext = { proxy, mode };
  switch (mode) {
    case "hotadd":
      return new ModeReader(mode, await host.openCleartext(disk.diskId, ctx));
    case "san":
      return new ModeReader(mode, await host.openRaw(disk.diskId, ctx));
    case "nbd":
    case "nbdssl": {
      const tls = mode === "nbdssl";
      const endpoint = await host.nbdEndpoint(disk.diskId, { ...ctx, tls });
      const client = await connectToEndpoint(endpoint, tls, o.nbd);
      return new ModeReader(mode, client, () => endpoint.release());
    }
  }
}

/**
 * Strongroom's own check, before anything is opened (TRN-5). Reachability is only asked about for
 * encrypted disks: an unencrypted disk needs no key.
 */
export async function checkBeforeOpening(o: Pick<OpenDiskOptions, "mode" | "disk" | "proxy" | "host">, access: "read" | "write"): Promise<void> {
  const { disk, host } = o;
  const keyProviderReachable = disk.encrypted
    ? disk.keyProviderExternalId !== null && (await host.keyProviderReachable(disk.keyProviderExternalId))
    : true;
  const decision = checkTransport(o.mode, disk, o.proxy, { keyProviderReachable, access });
  if (!decision.allowed) throw decision.error;
}

/** Connects an NBD client to `endpoint`; the endpoint is released if that fails. */
export async function connectToEndpoint(endpoint: NbdEndpoint, tls: boolean, tuning: OpenDiskOptions["nbd"]): Promise<NbdClient> {
  try {
    if (tls && !endpoint.ca) throw new TransportError("tls", `The host offered no CA certificate for NBDSSL to ${endpoint.host}:${endpoint.port}`);
    return await NbdClient.connect({
      ...tuning,
      host: endpoint.host,
      port: endpoint.port,
      exportName: endpoint.exportName,
      tls: tls ? { ca: endpoint.ca!, servername: endpoint.servername } : undefined,
    });
  } catch (err) {
    await endpoint.release();
    throw err;
  }
}

class ModeReader implements TransportReader {
  private closing: Promise<void> | undefined;

  constructor(
    readonly mode: TransportMode,
    private readonly inner: DiskReader,
    private readonly release?: () => Promise<void>,
  ) {}

  get capacityBytes(): number {
    return this.inner.capacityBytes;
  }

  read(offset: number, length: number): Promise<Buffer> {
    return this.inner.read(offset, length);
  }

  readInto(offset: number, target: Buffer): Promise<void> {
    return this.inner.readInto(offset, target);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.inner.close();
      } finally {
        await this.release?.();
      }
    })();
    return this.closing;
  }
}
