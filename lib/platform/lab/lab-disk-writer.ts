// A lab VM's disk opened for writing (a restore, later a replica), as VDDK opens one for
// VixDiskLib_Write: the transport policy first (TRN-2: an encrypted disk is never written in SAN
// mode, the datastore must only ever hold its ciphertext; TRN-3 for HotAdd), before any key is
// fetched (TRN-5); then the VM's keys (VME-3); then the disk served to the proxy through the
// mode — HotAdd and SAN in-process, NBD/NBDSSL over the host's NBD service — while the data plane
// encrypts what an encrypted disk receives with its DEK.

import type { DiskWriter } from "../disk-io";
import { HostError } from "../errors";
import type { OpenDiskForWriteOptions } from "../restore-host";
import { checkTransport } from "../transport-policy";
import type { LabBackupHost } from "./lab-backup-host";
import type { LabReplicaPoints } from "./lab-replica-points";
import type { LabRuntime } from "./lab-runtime";
import { throttledWriter } from "./read-throttle";

/** `writeBytesPerSecond`: the simulated link speed of the writes (read-throttle.ts); none ⇒ as fast as the files. */
export async function openLabDiskForWrite(runtime: LabRuntime, host: LabBackupHost, o: OpenDiskForWriteOptions, points?: LabReplicaPoints, writeBytesPerSecond?: number): Promise<DiskWriter> {
  const rt = await runtime.vmRuntime(o.vmExternalId);
  const d = rt.disks.find((x) => x.deviceKey === o.deviceKey);
  if (!d) throw new HostError("NotFound", `VM ${o.vmExternalId} has no disk ${o.deviceKey}`);
  const keyProviderExternalId = d.encrypted ? rt.keyProviderExternalId : null;
  const decision = checkTransport(o.mode, { encrypted: d.encrypted, keyProviderExternalId }, o.proxy, { keyProviderReachable: true, access: "write" });
  if (!decision.allowed) throw decision.error;
  const { disk, release: releaseDisk } = await runtime.openDiskForWrite(o.vmExternalId, o.deviceKey);
  // A VM with replica points: each block keeps its content at the newest point before it is first
  // overwritten (lab-replica-points.ts), so a cut-off write never reaches a point.
  const preserver = points ? await points.preserver(await runtime.dataPlane.vm(o.vmExternalId), o.deviceKey).catch(async (err: unknown) => {
    await releaseDisk();
    throw err;
  }) : null;
  const release = async () => {
    try {
      await preserver?.close();
    } finally {
      await releaseDisk();
    }
  };
  try {
    const writer = await host.openDiskForWrite({
      diskId: `${o.vmExternalId}:${o.deviceKey}`,
      mode: o.mode,
      proxy: o.proxy,
      nbd: o.nbd,
      disk: {
        encrypted: d.encrypted,
        keyProviderExternalId,
        openCleartext: async () => disk.openLive("cleartext"),
        openRaw: async () => disk.openLive("raw"),
        // VirtualDisk writes go to its extent files; the lab keeps no write cache, so flush has nothing to do.
        openWriter: async () => ({
          capacityBytes: disk.capacityBytes,
          write: preserver ? async (offset, data) => (await preserver.before(offset, data.length), disk.write(offset, data)) : (offset, data) => disk.write(offset, data),
          flush: async () => {},
          close: async () => {},
        }),
      },
    });
    let open = true;
    const end = async (how: () => Promise<void>) => {
      if (!open) return;
      open = false;
      try {
        await how();
      } finally {
        await release();
      }
    };
    const out: DiskWriter = { capacityBytes: writer.capacityBytes, mode: writer.mode, write: (offset, data) => writer.write(offset, data), close: () => end(() => writer.close()), abort: () => end(() => writer.abort()) };
    return writeBytesPerSecond ? throttledWriter(out, writeBytesPerSecond) : out;
  } catch (err) {
    await release();
    throw err;
  }
}
