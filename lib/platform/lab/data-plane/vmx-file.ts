// The VM configuration file, `<vm>.vmx`, in vSphere's `key = "value"` syntax (values are JSON
// string literals, so any text survives). Holds what VME-2 names — `encryption.keyId` and
// `encryption.bundle` — plus the disks, the NVRAM file and the current snapshot. Example:
//
//   .encoding = "UTF-8"
//   config.version = "8"
//   strongroom.formatVersion = "1"
//   strongroom.vmId = "vm-1042"
//   displayName = "web-01"
//   nvram = "[ds-prod-vmfs-01] web-01/web-01.nvram"
//   vtpm.present = "TRUE"
//   encryption.keyProviderId = "kp-prod-acme"
//   encryption.keyId = "7c0d…"
//   encryption.bundle = "strongroom:bundle/v1:AQAM…"
//   scsi0:0.deviceKey = "2000"
//   scsi0:0.fileName = "[ds-prod-vmfs-01] web-01/web-01.vmdk"
//   scsi0:0.label = "Hard disk 1"
//   snapshot.id = "snapshot-1a2b3c4d"
//   snapshot.disk2000.changeId = "…/2"
//   snapshot.disk2000.deltaName = "web-01-000001"

import { FORMAT_VERSION } from "./formats";
import type { SnapshotRecord } from "./snapshot";
import { HostError } from "./types";

export interface VmDiskConfig {
  deviceKey: number;
  /** Datastore path of the descriptor: "[ds-prod-vmfs-01] web-01/web-01.vmdk". */
  fileName: string;
  label: string;
  encrypted: boolean;
}

export interface VmConfig {
  vmId: string;
  name: string;
  nvramFileName: string;
  vtpm: boolean;
  encrypted: boolean;
  keyProviderId: string | null;
  keyId: string | null;
  encryptionBundle: string | null;
  disks: VmDiskConfig[];
  snapshot: SnapshotRecord | null;
}

export function formatVmx(c: VmConfig): string {
  const entries: [string, string][] = [
    [".encoding", "UTF-8"],
    ["config.version", "8"],
    ["strongroom.formatVersion", String(FORMAT_VERSION.vmConfig)],
    ["strongroom.vmId", c.vmId],
    ["displayName", c.name],
    ["nvram", c.nvramFileName],
    ["vtpm.present", c.vtpm ? "TRUE" : "FALSE"],
  ];
  if (c.encrypted) {
    entries.push(["encryption.keyProviderId", c.keyProviderId ?? ""], ["encryption.keyId", c.keyId ?? ""], ["encryption.bundle", c.encryptionBundle ?? ""]);
  }
  c.disks.forEach((d, i) => {
    entries.push(
      [`scsi0:${i}.deviceKey`, String(d.deviceKey)],
      [`scsi0:${i}.fileName`, d.fileName],
      [`scsi0:${i}.label`, d.label],
      [`scsi0:${i}.encrypted`, d.encrypted ? "TRUE" : "FALSE"],
    );
  });
  if (c.snapshot) {
    const s = c.snapshot;
    entries.push(["snapshot.id", s.id], ["snapshot.name", s.name], ["snapshot.createdAt", s.createdAt]);
    for (const d of s.disks) entries.push([`snapshot.disk${d.deviceKey}.changeId`, d.changeId], [`snapshot.disk${d.deviceKey}.deltaName`, d.deltaName]);
  }
  return entries.map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join("\n") + "\n";
}

export function parseVmx(text: string, source: string): VmConfig {
  const f = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const m = line.match(/^([^\s=]+)\s*=\s*(".*")\s*$/);
    if (!m) throw bad(source, `unreadable line "${line.slice(0, 60)}"`);
    try {
      f.set(m[1], JSON.parse(m[2]) as string);
    } catch {
      throw bad(source, `bad value for ${m[1]}`);
    }
  }
  if (f.get("strongroom.formatVersion") !== String(FORMAT_VERSION.vmConfig)) throw bad(source, `unsupported format version ${f.get("strongroom.formatVersion")}`);
  const need = (k: string) => f.get(k) ?? (() => { throw bad(source, `missing ${k}`); })();
  const disks: VmDiskConfig[] = [];
  for (let i = 0; f.has(`scsi0:${i}.deviceKey`); i++) {
    disks.push({
      deviceKey: Number(need(`scsi0:${i}.deviceKey`)),
      fileName: need(`scsi0:${i}.fileName`),
      label: f.get(`scsi0:${i}.label`) ?? `Hard disk ${i + 1}`,
      encrypted: f.get(`scsi0:${i}.encrypted`) === "TRUE",
    });
  }
  const snapshotId = f.get("snapshot.id");
  const encrypted = f.has("encryption.bundle");
  return {
    vmId: need("strongroom.vmId"),
    name: need("displayName"),
    nvramFileName: need("nvram"),
    vtpm: f.get("vtpm.present") === "TRUE",
    encrypted,
    keyProviderId: encrypted ? need("encryption.keyProviderId") : null,
    keyId: encrypted ? need("encryption.keyId") : null,
    encryptionBundle: encrypted ? need("encryption.bundle") : null,
    disks,
    snapshot: snapshotId
      ? {
          id: snapshotId,
          name: f.get("snapshot.name") ?? "",
          createdAt: f.get("snapshot.createdAt") ?? "",
          disks: disks
            .filter((d) => f.has(`snapshot.disk${d.deviceKey}.changeId`))
            .map((d) => ({ deviceKey: d.deviceKey, changeId: need(`snapshot.disk${d.deviceKey}.changeId`), deltaName: need(`snapshot.disk${d.deviceKey}.deltaName`) })),
        }
      : null,
  };
}

function bad(source: string, why: string): HostError {
  return new HostError("FileFault", `VM configuration ${source} is invalid: ${why}`);
}
