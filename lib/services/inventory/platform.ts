import "server-only";
import { env } from "@/lib/config/env";
import type { KeyProviderOperations, PlatformConnector, RuntimeOperations } from "@/lib/platform/connector";
import { LabConnector } from "@/lib/platform/lab/lab-connector";
import type { VmBackupHost } from "@/lib/platform/backup-host";
import type { RestorePlatform } from "@/lib/engine/pipeline/restore-vm";
import type { ReplicationSource, ReplicationTarget } from "@/lib/engine/pipeline/replicate-vm";
import type { VmFailoverHost } from "@/lib/platform/failover-host";
import type { FailbackDestinationHost, FailbackReplicaHost } from "@/lib/engine/pipeline/failback-vm";
import type { VmReplicaHost } from "@/lib/platform/replica-host";
import { keySourceFor } from "@/lib/services/kms/lab-key-sources";

// The one place that chooses the platform connector. Only the lab exists today; a real vCenter
// connector would be picked here from configuration, and nothing above would change.
let connector: LabConnector | undefined;

type Platform = PlatformConnector & RuntimeOperations & KeyProviderOperations;
export type FailoverPlatform = PlatformConnector & VmFailoverHost & VmReplicaHost & Pick<RuntimeOperations, "powerOn" | "powerOff" | "vmRuntime">;

export function platform(): Platform {
  connector ??= new LabConnector({
    vmCount: env.STRONGROOM_LAB_VMS,
    seed: env.STRONGROOM_LAB_SEED,
    folder: env.labDir,
    keySources: { forProvider: keySourceFor },
    diskDataMiB: env.STRONGROOM_LAB_DISK_DATA_MIB,
    // Read at each disk's open, so a test can slow a running process's reads down (lib/jobs tests).
    readMiBPerSecond: () => env.STRONGROOM_LAB_READ_MIB_PER_SECOND,
    writeMiBPerSecond: () => env.STRONGROOM_LAB_WRITE_MIB_PER_SECOND,
  });
  return connector;
}

/** What the backup engine reads VMs through (snapshots, CBT, disks — VADP's role). */
export function backupHost(): VmBackupHost {
  platform();
  return connector!;
}

/** What a restore writes VMs through (create, disks for writing, power, delete). */
export function restoreHost(): RestorePlatform & VmBackupHost & Pick<RuntimeOperations, "powerOff"> {
  platform();
  return connector!;
}

/** What a replication reads its source through and writes its replica through (REP-1). */
export function replicationHosts(): { source: ReplicationSource; target: ReplicationTarget } {
  platform();
  return { source: connector!, target: connector! };
}

/** What a failover works the replica through (FOV-1): its points, its key provider, networks, power. */
export function failoverHost(): FailoverPlatform {
  platform();
  return connector!;
}

/** What a failback reads the replica through (the DR site) and writes production through (FBK-1). */
export function failbackHosts(): { replica: FailbackReplicaHost & VmReplicaHost & Pick<RuntimeOperations, "powerOn" | "powerOff" | "vmRuntime">; destination: FailbackDestinationHost & Pick<RuntimeOperations, "powerOn"> } {
  platform();
  return { replica: connector!, destination: connector! };
}
