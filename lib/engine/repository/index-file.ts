// Index files (FORMAT.md "index/<sessionId>"): the repository-wide catalogue of records, one file
// per committed session listing the packs it wrote and their tables. Cleartext by design — it
// holds ciphertext hashes and lengths only, no plaintext hashes — so record checks and retention
// work without keys. Rebuildable from the packs' own tables.

import { ByteReader, ByteWriter, idFromHex, idHex, verifyChecksum } from "../bytes";
import { FORMAT_VERSION, MAGIC } from "../format-registry";
import { decodeEntry, encodeEntry, type PackEntry } from "./pack";

export interface IndexedPack {
  packId: Buffer;
  packLength: number;
  entries: PackEntry[];
}

export interface IndexFile {
  repositoryId: Buffer;
  sessionId: Buffer;
  createdAt: number;
  packs: IndexedPack[];
}

export function indexFileName(sessionId: Buffer | string): string {
  return `index/${typeof sessionId === "string" ? sessionId : idHex(sessionId)}`;
}

export function sessionIdFromIndexName(name: string): Buffer {
  return idFromHex(name.slice("index/".length), name);
}

export function encodeIndex(f: IndexFile): Buffer {
  const w = new ByteWriter().ascii(MAGIC.index).u16(FORMAT_VERSION.index).id(f.repositoryId).id(f.sessionId).u64(f.createdAt).u32(f.packs.length);
  for (const p of f.packs) {
    w.id(p.packId).u32(p.packLength).u32(p.entries.length);
    for (const e of p.entries) encodeEntry(w, e);
  }
  return w.finishWithChecksum();
}

export function decodeIndex(file: string, data: Buffer): IndexFile {
  const r = new ByteReader(verifyChecksum(file, data), file);
  r.header(MAGIC.index, FORMAT_VERSION.index);
  const f: IndexFile = { repositoryId: r.id(), sessionId: r.id(), createdAt: r.u64(), packs: [] };
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    const packId = r.id();
    const packLength = r.u32();
    const n = r.u32();
    const entries: PackEntry[] = [];
    for (let j = 0; j < n; j++) entries.push(decodeEntry(r));
    f.packs.push({ packId, packLength, entries });
  }
  r.expectEnd();
  return f;
}
