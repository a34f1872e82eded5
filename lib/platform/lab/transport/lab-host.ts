// The lab ESXi host's side of the transport modes: a TransportHost over the data plane's disks
// and one real NBD server on 127.0.0.1. It is simulated in what it stands for (no ESXi, no NFC
// tickets, no vCenter authorisation service) and real in what crosses the wire (NBD, TLS).
//
// The host applies the transport policy itself before it attaches a disk (HotAdd), exposes the
// datastore (SAN) or registers an NBD export, because in vSphere it is the host that refuses. An
// NBD export is registered per request under an unguessable name, standing in for the ticket
// vSphere issues a proxy, and NBDSSL exports are TLS-only on a SELECTIVETLS server, so one port
// serves both modes as one ESXi management address does.
//
// A restore writes through the same doors: HotAdd and NBD/NBDSSL write cleartext that the disk's
// DiskSink encrypts; SAN writes raw bytes, so only into an unencrypted disk (the policy refuses
// the other, TRN-2). A disk the data plane did not open for writing has no sink and refuses.

import { randomUUID } from "node:crypto";
import { HostError, type DiskReader } from "../data-plane/types";
import type { DiskSink } from "./disk-sink";
import { NbdServer, type NbdServerOptions } from "./nbd-server";
import { checkTransport, type TransportDecision } from "../../transport-policy";
import type { HostRequestContext, NbdEndpoint, NbdRequestContext, TransportHost } from "./transports";

/** One disk as the host sees it (the data plane supplies the readers and the writer). */
export interface LabHostDisk {
  encrypted: boolean;
  /** The key provider of the disk's VM when encrypted. */
  keyProviderExternalId: string | null;
  /** The cleartext view: the host decrypts with the disk's DEK (VME-1). */
  openCleartext(): Promise<DiskReader>;
  /** The bytes as stored on the datastore (ciphertext when encrypted). */
  openRaw(): Promise<DiskReader>;
  /**
   * A restore target: cleartext written here is stored encrypted when the disk is (the lab
   * runtime backs it with VirtualDisk.write). What it writes must show in openCleartext(), which
   * a writable NBD export reads and partial-sector NBD writes read back. Absent: not writable.
   */
  openWriter?(): Promise<DiskSink>;
}

export interface LabTransportHostOptions {
  /** Looks a disk up by external id; undefined → HostError NotFound. */
  disk(diskId: string): LabHostDisk | undefined;
  /** Whether the host's site reaches a key provider now (VME-3). Default: always. */
  keyProviderReachable?: (keyProviderExternalId: string) => boolean | Promise<boolean>;
  /** The host's NBD certificate and key, and the CA proxies verify it with (NBDSSL). */
  tls: { cert: string | Buffer; key: string | Buffer; ca: string | Buffer };
  /** Extra NBD server settings (limits, timeouts). */
  server?: Omit<NbdServerOptions, "tls" | "host">;
}

interface OpenExport {
  reader: DiskReader | null;
  writer: DiskSink | null;
}

export class LabTransportHost implements TransportHost {
  private readonly openExports = new Map<string, OpenExport>();

  private constructor(
    readonly nbd: NbdServer,
    private readonly options: LabTransportHostOptions,
  ) {}

  static async start(options: LabTransportHostOptions): Promise<LabTransportHost> {
    const nbd = await NbdServer.listen({ ...options.server, host: "127.0.0.1", tls: { cert: options.tls.cert, key: options.tls.key, mode: "optional" } });
    return new LabTransportHost(nbd, options);
  }

  async keyProviderReachable(keyProviderExternalId: string): Promise<boolean> {
    return this.options.keyProviderReachable ? await this.options.keyProviderReachable(keyProviderExternalId) : true;
  }

  async openCleartext(diskId: string, ctx: HostRequestContext): Promise<DiskReader> {
    const disk = this.disk(diskId);
    const decision = await this.decide(disk, ctx);
    if (!decision.allowed) throw decision.error;
    return disk.openCleartext();
  }

  async openRaw(diskId: string, ctx: HostRequestContext): Promise<DiskReader> {
    const disk = this.disk(diskId);
    const decision = await this.decide(disk, ctx);
    if (!decision.allowed) throw decision.error;
    return disk.openRaw();
  }

  async openCleartextWriter(diskId: string, ctx: HostRequestContext): Promise<DiskSink> {
    const disk = this.disk(diskId);
    const decision = await this.decide(disk, ctx, "write");
    if (!decision.allowed) throw decision.error;
    return this.writerOf(diskId, disk);
  }

  async openRawWriter(diskId: string, ctx: HostRequestContext): Promise<DiskSink> {
    const disk = this.disk(diskId);
    // The policy refuses SAN for an encrypted disk (TRN-2), so what is left is a disk whose stored
    // bytes are its cleartext: the writer is the raw writer.
    const decision = await this.decide(disk, ctx, "write");
    if (!decision.allowed) throw decision.error;
    return this.writerOf(diskId, disk);
  }

  async nbdEndpoint(diskId: string, ctx: NbdRequestContext): Promise<NbdEndpoint> {
    const disk = this.disk(diskId);
    const decision = await this.decide(disk, ctx, ctx.writable ? "write" : "read");
    // A denied export is still registered, with its denial: the client then hears the refusal
    // in NBD's own terms (NBD_REP_ERR_POLICY), and nothing is opened on the host.
    let open: OpenExport = { reader: null, writer: null };
    if (decision.allowed) {
      // The writer first: a disk that cannot be written is refused before anything is opened.
      const writer = ctx.writable ? await this.writerOf(diskId, disk) : null;
      try {
        open = { reader: await disk.openCleartext(), writer };
      } catch (err) {
        await writer?.close();
        throw err;
      }
    }
    const { reader, writer } = open;
    const exportName = `${diskId}@${randomUUID()}`;
    this.nbd.addExport(exportName, { reader, writer, decision, tlsOnly: ctx.tls });
    this.openExports.set(exportName, open);
    let released = false;
    return {
      host: this.nbd.host,
      port: this.nbd.port,
      exportName,
      ca: ctx.tls ? this.options.tls.ca : undefined,
      release: async () => {
        if (released) return;
        released = true;
        this.nbd.removeExport(exportName);
        this.openExports.delete(exportName);
        await closeExport(open);
      },
    };
  }

  /** Stops the NBD service and closes every disk still exported. */
  async stop(): Promise<void> {
    await this.nbd.close();
    const open = [...this.openExports.values()];
    this.openExports.clear();
    await Promise.all(open.map(closeExport));
  }

  private async writerOf(diskId: string, disk: LabHostDisk): Promise<DiskSink> {
    if (!disk.openWriter) throw new HostError("InvalidState", `Disk ${diskId} is not open for writing on this host`);
    return disk.openWriter();
  }

  private disk(diskId: string): LabHostDisk {
    const disk = this.options.disk(diskId);
    if (!disk) throw new HostError("NotFound", `No disk ${diskId} on this host`);
    return disk;
  }

  private async decide(disk: LabHostDisk, ctx: HostRequestContext, access: "read" | "write" = "read"): Promise<TransportDecision> {
    const reachable = disk.encrypted ? disk.keyProviderExternalId !== null && (await this.keyProviderReachable(disk.keyProviderExternalId)) : true;
    return checkTransport(ctx.mode, disk, ctx.proxy, { keyProviderReachable: reachable, access });
  }
}

/** The writer is closed without a flush: the proxy flushed (NBD_CMD_FLUSH) if it meant to keep the data. */
async function closeExport(open: OpenExport): Promise<void> {
  await Promise.all([open.reader?.close(), open.writer?.close()]);
}
