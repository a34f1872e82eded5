// A lab VM's disk opened for writing (a restore, later a replica), as VDDK opens one for
// VixDiskLib_Write: the transport policy first (TRN-2: an encrypted disk is never written in SAN
// mode, the datastore must only ever hold its ciphertext; TRN-3 for HotAdd), before any key is
// fetched (TRN-5); then the VM's keys (VME-3); then a writer. HotAdd and SAN (unencrypted disks)
// write in-process through the data plane, which encrypts an encrypted disk with its DEK.

import type { DiskWriter } from "../disk-io";
import { HostError } from "../errors";
import type { OpenDiskForWriteOptions } from "../restore-host";
import { checkTransport } from "../transport-policy";
import type { LabRuntime } from "./lab-runtime";

export async function openLabDiskForWrite(runtime: LabRuntime, o: OpenDiskForWriteOptions): Promise<DiskWriter> {
  const rt = await runtime.vmRuntime(o.vmExternalId);
  const d = rt.disks.find((x) => x.deviceKey === o.deviceKey);
  if (!d) throw new HostError("NotFound", `VM ${o.vmExternalId} has no disk ${o.deviceKey}`);
  const decision = checkTransport(o.mode, { encrypted: d.encrypted, keyProviderExternalId: d.encrypted ? rt.keyProviderExternalId : null }, o.proxy, { keyProviderReachable: true, access: "write" });
  if (!decision.allowed) throw decision.error;
  if (o.mode === "nbd" || o.mode === "nbdssl") {
    throw new HostError("TransportNotSupported", "the lab host does not take NBD writes yet: restore through HotAdd (or SAN for unencrypted disks)");
  }
  const { disk, release } = await runtime.openDiskForWrite(o.vmExternalId, o.deviceKey);
  let open = true;
  const closeOnce = async () => {
    if (!open) return;
    open = false;
    await release();
  };
  return {
    capacityBytes: disk.capacityBytes,
    mode: o.mode,
    async write(offset, data) {
      if (!open) throw new HostError("InvalidState", "the disk writer is closed");
      await disk.write(offset, data);
    },
    close: closeOnce,
    abort: closeOnce,
  };
}
