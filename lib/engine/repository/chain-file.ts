// The chain metadata file, chains/<chainId>.vbm (KEY-8, Veeam's .vbm): the list of a chain's points
// with the key ids protecting each (readable without keys, for disaster recovery — KEY-9), and a
// sealed body holding every point's storage key. Each session rewrites it under a fresh chain key
// wrapped by that session's keys — the newest password, KMS key version and recovery keysets — so
// the whole chain opens with the newest key while this file exists. That power is also its risk:
// it must be protected as well as the backups.

import { ByteReader, ByteWriter, idFromHex, idHex } from "../bytes";
import { FileDamagedError } from "../errors";
import { FORMAT_VERSION, MAGIC, SIZES } from "../format-registry";
import { openSealedBody, readSealedFile, writeSealedFile } from "./sealed-file";
import { decodeProtection, encodeProtection, type Protection } from "../keys/protection";
import { SecretKey } from "../keys/secret-key";

export interface ChainListing {
  pointId: Buffer;
  createdAt: number;
  /** Key ids (as in key headers) that protect the point. */
  keyIds: Buffer[];
}

export interface ChainHeader {
  repositoryId: Buffer;
  chainId: Buffer;
  updatedAt: number;
  generation: number;
  chainKeyId: Buffer;
  protections: Protection[];
  points: ChainListing[];
}

export interface DecodedChain {
  header: ChainHeader;
  headerBytes: Buffer;
  sealedBody: Buffer;
  file: string;
}

export function chainFileName(chainId: Buffer | string): string {
  return `chains/${typeof chainId === "string" ? chainId : idHex(chainId)}.vbm`;
}

export function chainIdFromFileName(name: string): Buffer {
  return idFromHex(name.slice("chains/".length, -".vbm".length), name);
}

export function chainContext(repositoryId: Buffer, chainId: Buffer): Buffer {
  return Buffer.concat([repositoryId, chainId]);
}

const CHAIN_FILE = { magic: MAGIC.chain, version: FORMAT_VERSION.chain };

export function encodeChain(header: ChainHeader, storageKeys: Array<{ pointId: Buffer; key: SecretKey }>, chainKey: SecretKey): Buffer {
  const h = new ByteWriter()
    .id(header.repositoryId)
    .id(header.chainId)
    .u64(header.updatedAt)
    .u64(header.generation)
    .id(header.chainKeyId)
    .u16(header.protections.length);
  for (const p of header.protections) encodeProtection(h, p);
  h.u32(header.points.length);
  for (const p of header.points) {
    h.id(p.pointId).u64(p.createdAt).u16(p.keyIds.length);
    for (const k of p.keyIds) h.id(k);
  }
  const headerBytes = h.finish();
  const body = new ByteWriter().u32(storageKeys.length);
  for (const s of storageKeys) body.id(s.pointId).id(s.key.id).bytes(s.key.expose());
  const plain = body.finish();
  // The chain key is new for every write and seals exactly once.
  const out = writeSealedFile(CHAIN_FILE, headerBytes, plain, chainKey.expose());
  plain.fill(0);
  return out;
}

export function decodeChain(file: string, data: Buffer): DecodedChain {
  const { headerBytes, sealedBody } = readSealedFile(CHAIN_FILE, file, data);
  const h = new ByteReader(headerBytes, file);
  const header: ChainHeader = {
    repositoryId: h.id(),
    chainId: h.id(),
    updatedAt: h.u64(),
    generation: h.u64(),
    chainKeyId: h.id(),
    protections: [],
    points: [],
  };
  for (let n = h.u16(), i = 0; i < n; i++) header.protections.push(decodeProtection(h));
  for (let n = h.u32(), i = 0; i < n; i++) {
    const pointId = h.id();
    const createdAt = h.u64();
    const keyIds: Buffer[] = [];
    for (let m = h.u16(), j = 0; j < m; j++) keyIds.push(h.id());
    header.points.push({ pointId, createdAt, keyIds });
  }
  h.expectEnd();
  if (!chainIdFromFileName(file).equals(header.chainId)) throw new FileDamagedError(file, "inconsistent", "chain id does not match its name");
  return { header, headerBytes, sealedBody, file };
}

/** The storage keys of the chain's points, by point id (hex). */
export function openChainBody(c: DecodedChain, chainKey: SecretKey): Map<string, SecretKey> {
  const plain = openSealedBody(CHAIN_FILE, c.headerBytes, c.sealedBody, chainKey.expose());
  if (!plain) throw new FileDamagedError(c.file, "authentication", "chain metadata does not authenticate");
  try {
    const r = new ByteReader(plain, c.file);
    const out = new Map<string, SecretKey>();
    for (let n = r.u32(), i = 0; i < n; i++) {
      const pointId = r.id();
      const keyId = r.id();
      out.set(idHex(pointId), new SecretKey("storage", keyId, r.take(SIZES.key)));
    }
    r.expectEnd();
    return out;
  } finally {
    plain.fill(0);
  }
}
