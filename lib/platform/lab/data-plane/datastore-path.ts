// Datastore paths ("[ds-prod-vmfs-01] web-01/web-01.vmdk", as vSphere and PlatformDisk.fileName
// write them) ↔ files under the lab's datastores folder: <root>/<datastore>/<path>.
// Names come from the inventory, so anything that could leave the datastore folder is refused.

import path from "node:path";
import { FILE_SUFFIX } from "./formats";
import { HostError } from "./types";

export interface ResolvedPath {
  datastore: string;
  /** Absolute path of the file. */
  file: string;
  /** Its folder, and for a .vmdk the base name VirtualDisk.open takes. */
  dir: string;
  baseName: string;
}

export function datastorePath(datastore: string, relative: string): string {
  return `[${datastore}] ${relative}`;
}

export function resolveDatastorePath(datastoresRoot: string, fileName: string): ResolvedPath {
  const m = fileName.match(/^\[([^\]/\\]+)\] (.+)$/);
  if (!m) throw new HostError("InvalidArgument", `not a datastore path: "${fileName}"`);
  const [, datastore, relative] = m;
  const parts = relative.split("/");
  if (datastore === "." || datastore === ".." || parts.some((p) => p === "" || p === "." || p === ".." || p.includes("\\"))) {
    throw new HostError("InvalidArgument", `unsafe datastore path: "${fileName}"`);
  }
  const file = path.join(datastoresRoot, datastore, ...parts);
  const base = path.basename(file);
  return {
    datastore,
    file,
    dir: path.dirname(file),
    baseName: base.endsWith(FILE_SUFFIX.descriptor) ? base.slice(0, -FILE_SUFFIX.descriptor.length) : base,
  };
}
