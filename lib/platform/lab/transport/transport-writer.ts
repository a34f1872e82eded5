// One entry point for writing a VM disk the way a restoring proxy would (VDDK's VixDiskLib_Write
// through a transport mode; seeds/003):
//
//   HotAdd  the host attaches the disk to the proxy VM; the proxy writes cleartext in-process and
//           the host encrypts it with the disk's DEK, so an encrypted disk stays encrypted.
//   SAN     the proxy writes the datastore's bytes directly. For an encrypted disk those bytes
//           are ciphertext the proxy has no key for: refused (TRN-2), before anything is opened.
//   NBD     the proxy streams cleartext to a writable NBD export; the host encrypts.
//   NBDSSL  the same inside TLS.
//
// As for reads, the transport policy runs first on Strongroom's side (TRN-5) and the host checks
// again on its own (lab-host.ts). Whatever the mode, the caller gets the same DiskWriter with the
// same errors: ranges are checked here, once, so a misaligned or out-of-range write is the same
// HostError InvalidArgument over HotAdd as over NBD.

import type { DiskWriter } from "../../disk-io";
import { transportModeName } from "../../transport-policy";
import type { TransportMode } from "../../connector";
import { HostError, SECTOR_SIZE } from "../data-plane/types";
import type { DiskSink } from "./disk-sink";
import type { NbdClient } from "./nbd-client";
import { checkBeforeOpening, connectToEndpoint, type HostRequestContext, type OpenDiskOptions } from "./transports";

/** The disk to write, who writes it and how: the same shape as for reading. */
export type OpenDiskForWriteOptions = OpenDiskOptions;

/**
 * Opens `disk` for writing by `proxy` in `mode`. Throws HostError when the policy or the host
 * refuses (TransportNotSupported — SAN of an encrypted disk —, CryptoKeyMismatch, NoPermission,
 * KeyProviderUnavailable, NotFound, InvalidState for a disk that is not open for writing) and
 * TransportError when the host cannot be talked to.
 */
export async function openDiskForWriteViaTransport(o: OpenDiskForWriteOptions): Promise<DiskWriter> {
  const { mode, disk, proxy, host } = o;
  await checkBeforeOpening(o, "write");

  const ctx: HostRequestContext = { proxy, mode };
  switch (mode) {
    case "hotadd":
      return new ModeWriter(mode, await host.openCleartextWriter(disk.diskId, ctx));
    case "san":
      return new ModeWriter(mode, await host.openRawWriter(disk.diskId, ctx));
    case "nbd":
    case "nbdssl": {
      const tls = mode === "nbdssl";
      const endpoint = await host.nbdEndpoint(disk.diskId, { ...ctx, tls, writable: true });
      const client = await connectToEndpoint(endpoint, tls, o.nbd);
      if (!client.writable) {
        await client.close().finally(() => endpoint.release());
        throw new HostError("NoPermission", `The host offered a read-only export of ${disk.diskId} for a restore over ${transportModeName(mode)}`);
      }
      return new ModeWriter(mode, nbdTarget(client), () => endpoint.release());
    }
  }
}

/** What a ModeWriter writes into: a host's DiskSink in-process, or an NBD connection. */
interface WriteTarget extends DiskSink {
  /** Gives up without flushing; absent: wait for writes in progress, then close. */
  abort?(): Promise<void>;
}

function nbdTarget(client: NbdClient): WriteTarget {
  return {
    capacityBytes: client.capacityBytes,
    write: (offset, data) => client.write(offset, data),
    flush: () => client.flush(),
    close: () => client.close(),
    abort: () => client.abort(),
  };
}

class ModeWriter implements DiskWriter {
  private readonly inFlight = new Set<Promise<void>>();
  private ending: { how: "closed" | "aborted"; done: Promise<void> } | undefined;

  constructor(
    readonly mode: TransportMode,
    private readonly target: WriteTarget,
    private readonly release?: () => Promise<void>,
  ) {}

  get capacityBytes(): number {
    return this.target.capacityBytes;
  }

  write(offset: number, data: Buffer): Promise<void> {
    if (this.ending) return Promise.reject(new HostError("InvalidState", `The ${transportModeName(this.mode)} writer is ${this.ending.how}`));
    const refusal = rangeRefusal(offset, data.length, this.capacityBytes);
    if (refusal) return Promise.reject(refusal);
    if (data.length === 0) return Promise.resolve();
    const written = this.target.write(offset, data);
    this.inFlight.add(written);
    const forget = () => void this.inFlight.delete(written);
    written.then(forget, forget);
    return written;
  }

  /** Waits for the writes in progress, flushes, closes; the disk is released whatever fails. */
  close(): Promise<void> {
    return this.end("closed", async () => {
      await Promise.allSettled([...this.inFlight]);
      try {
        await this.target.flush();
      } finally {
        await this.target.close();
      }
    });
  }

  /** Stops without flushing: nothing written is promised to be on the disk. */
  abort(): Promise<void> {
    return this.end("aborted", async () => {
      if (this.target.abort) return this.target.abort();
      // An in-process write cannot be called back: let the ones running finish, then let go.
      await Promise.allSettled([...this.inFlight]);
      await this.target.close();
    });
  }

  private end(how: "closed" | "aborted", work: () => Promise<void>): Promise<void> {
    this.ending ??= {
      how,
      done: (async () => {
        try {
          await work();
        } finally {
          await this.release?.();
        }
      })(),
    };
    return this.ending.done;
  }
}

function rangeRefusal(offset: number, length: number, capacityBytes: number): HostError | undefined {
  const what = `Write of ${length} bytes at offset ${offset}`;
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length)) return new HostError("InvalidArgument", `${what}: not a valid range`);
  if (offset % SECTOR_SIZE !== 0 || length % SECTOR_SIZE !== 0) return new HostError("InvalidArgument", `${what}: not whole ${SECTOR_SIZE}-byte sectors`);
  if (offset + length > capacityBytes) return new HostError("InvalidArgument", `${what}: beyond the disk's ${capacityBytes} bytes`);
  return undefined;
}
