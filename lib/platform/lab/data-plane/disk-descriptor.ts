// The disk descriptor, vSphere's small text `<name>.vmdk` that names the extent holding the data.
// Written in VMware's descriptor syntax so it reads like the real thing; the fields vSphere has no
// name for are kept under `ddb.strongroom.*`. Example (a snapshot delta of an encrypted disk):
//
//   # Disk DescriptorFile
//   version=1
//   encoding="UTF-8"
//   CID=5e1c0a27
//   parentCID=8b2f10d4
//   createType="vmfsSparse"
//   parentFileNameHint="web-01.vmdk"
//
//   # Extent description
//   RW 131072 VMFSSPARSE "web-01-000001-delta.vmdk"
//
//   # The Disk Data Base
//   #DDB
//   ddb.uuid = "60 00 C2 9b 4e 1a 7f 3c-8d 55 0a 1e 2f 6b 90 c4"
//   ddb.strongroom.formatVersion = "1"
//   ddb.strongroom.encrypted = "true"
//   ddb.strongroom.keyId = "3f1e…"
//   ddb.strongroom.keyCheck = "a1b2c3d4e5f60718"
//   ddb.strongroom.allocationMap = "web-01-000001-alloc.map"

import { FORMAT_VERSION } from "./formats";
import { HostError, SECTOR_SIZE } from "./types";

export interface DiskDescriptor {
  cid: string; // 8 hex digits: changes identity per descriptor, as VMware's content id
  parentCid: string | null;
  kind: "flat" | "delta";
  capacityBytes: number;
  extentFile: string;
  allocationMapFile: string;
  parentFileNameHint: string | null;
  uuid: string; // RFC 4122 form; written in VMware's byte form
  encrypted: boolean;
  /** KEK id the disk's key chain starts from (the VM's keyId), when encrypted. */
  keyId: string | null;
  /** Short HMAC of the DEK, to tell a wrong key from garbage data (null when not encrypted). */
  keyCheck: string | null;
}

export function formatDescriptor(d: DiskDescriptor): string {
  const lines = [
    "# Disk DescriptorFile",
    "version=1",
    'encoding="UTF-8"',
    `CID=${d.cid}`,
    `parentCID=${d.parentCid ?? "ffffffff"}`,
    `createType="${d.kind === "flat" ? "vmfs" : "vmfsSparse"}"`,
    ...(d.parentFileNameHint ? [`parentFileNameHint=${JSON.stringify(d.parentFileNameHint)}`] : []),
    "",
    "# Extent description",
    `RW ${d.capacityBytes / SECTOR_SIZE} ${d.kind === "flat" ? "VMFS" : "VMFSSPARSE"} ${JSON.stringify(d.extentFile)}`,
    "",
    "# The Disk Data Base",
    "#DDB",
    "",
    `ddb.uuid = "${vmwareUuid(d.uuid)}"`,
    `ddb.strongroom.formatVersion = "${FORMAT_VERSION.descriptor}"`,
    `ddb.strongroom.encrypted = "${d.encrypted}"`,
    ...(d.keyId ? [`ddb.strongroom.keyId = ${JSON.stringify(d.keyId)}`] : []),
    ...(d.keyCheck ? [`ddb.strongroom.keyCheck = "${d.keyCheck}"`] : []),
    `ddb.strongroom.allocationMap = ${JSON.stringify(d.allocationMapFile)}`,
    "",
  ];
  return lines.join("\n");
}

export function parseDescriptor(text: string, source: string): DiskDescriptor {
  const fields = new Map<string, string>();
  let extent: RegExpMatchArray | null = null;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const e = line.match(/^RW (\d+) (VMFS|VMFSSPARSE) ("(?:[^"\\]|\\.)*")$/);
    if (e) {
      extent = e;
      continue;
    }
    const kv = line.match(/^([A-Za-z0-9_.]+)\s*=\s*(.*)$/);
    if (!kv) throw bad(source, `unreadable line "${line.slice(0, 60)}"`);
    fields.set(kv[1], kv[2].startsWith('"') ? parseQuoted(kv[2], source) : kv[2]);
  }
  if (!extent) throw bad(source, "no extent line");
  if (fields.get("ddb.strongroom.formatVersion") !== String(FORMAT_VERSION.descriptor)) {
    throw bad(source, `unsupported format version ${fields.get("ddb.strongroom.formatVersion") ?? "(none)"}`);
  }
  const need = (k: string) => fields.get(k) ?? (() => { throw bad(source, `missing ${k}`); })();
  const parentCid = need("parentCID");
  const encrypted = need("ddb.strongroom.encrypted") === "true";
  return {
    cid: need("CID"),
    parentCid: parentCid === "ffffffff" ? null : parentCid,
    kind: extent[2] === "VMFS" ? "flat" : "delta",
    capacityBytes: Number(extent[1]) * SECTOR_SIZE,
    extentFile: parseQuoted(extent[3], source),
    allocationMapFile: need("ddb.strongroom.allocationMap"),
    parentFileNameHint: fields.get("parentFileNameHint") ?? null,
    uuid: rfcUuid(need("ddb.uuid"), source),
    encrypted,
    keyId: fields.get("ddb.strongroom.keyId") ?? null,
    keyCheck: fields.get("ddb.strongroom.keyCheck") ?? null,
  };
}

function parseQuoted(value: string, source: string): string {
  try {
    const s = JSON.parse(value);
    if (typeof s === "string") return s;
  } catch {
    // fall through
  }
  throw bad(source, `bad quoted value ${value.slice(0, 40)}`);
}

/** "60 00 c2 9b 4e 1a 7f 3c-8d 55 0a 1e 2f 6b 90 c4": how vSphere writes ddb.uuid. */
export function vmwareUuid(uuid: string): string {
  const hex = uuid.replace(/-/g, "");
  const bytes = hex.match(/../g) ?? [];
  return `${bytes.slice(0, 8).join(" ")}-${bytes.slice(8).join(" ")}`;
}

function rfcUuid(vmware: string, source: string): string {
  const hex = vmware.replace(/[\s-]/g, "").toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) throw bad(source, "bad ddb.uuid");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function bad(source: string, why: string): HostError {
  return new HostError("FileFault", `disk descriptor ${source} is invalid: ${why}`);
}
