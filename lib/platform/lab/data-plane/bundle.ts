// An encrypted VM's secrets and its `encryption.bundle` (VME-1, VME-2; VDDK: "an encrypted blob
// containing VM secrets ... sealed with the key identified by ConfigInfo.keyId").
//
// Key chain: KEK (key provider, id = keyId) wraps the VM key; the VM key wraps each disk's XTS DEK
// and the NVRAM key. All wrapping is RFC 3394. Only the bundle is stored; plaintext keys live in
// VmSecrets objects in memory and are wiped with wipeVmSecrets when done.
//
// Bundle text: "strongroom:bundle/v1:" + base64 of (all integers big-endian):
//   u8  version (1)
//   u16 len ‖ provider id (UTF-8)            the key provider that holds the KEK
//   u16 len ‖ key id (UTF-8)                 the KEK's id (keyId)
//   u8  len ‖ wrapped VM key (40)            RFC 3394(KEK, VM key)
//   u16 disk count, then per disk: u32 device key ‖ u8 len ‖ wrapped DEK (72)   RFC 3394(VM key, DEK)
//   u8  len ‖ wrapped NVRAM key (40)         RFC 3394(VM key, NVRAM key)
//   32  HMAC-SHA-256 over everything above, keyed by HMAC(VM key, "strongroom bundle mac v1")
// The MAC binds the pieces together: each wrapped key is already integrity-checked, but without
// it a disk's DEK entry could be swapped with another disk's unnoticed.

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { BUNDLE_PREFIX, FORMAT_VERSION, KEY_SIZE } from "./formats";
import { KeyWrapError, unwrapKey, wrapKey } from "./key-wrap";
import type { KeyEncryptionKeySource } from "./types";

export interface VmSecrets {
  vmKey: Buffer; // 32
  nvramKey: Buffer; // 32
  /** Per disk, by its device key (2000, 2001, …): the 64-byte XTS DEK. */
  diskKeys: Map<number, Buffer>;
}

export interface BundleHeader {
  version: number;
  providerId: string;
  keyId: string;
  deviceKeys: number[];
}

export type BundleErrorCode = "malformed" | "unsupported-version" | "integrity";

export class BundleError extends Error {
  constructor(
    readonly code: BundleErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "BundleError";
  }
}

const MAC_SIZE = 32;

/** A fresh 64-byte XTS key (halves must differ; a collision is astronomically unlikely, but checked). */
export function generateDek(): Buffer {
  for (;;) {
    const dek = randomBytes(KEY_SIZE.dek);
    if (!dek.subarray(0, 32).equals(dek.subarray(32))) return dek;
  }
}

export function generateVmSecrets(deviceKeys: Iterable<number>): VmSecrets {
  const diskKeys = new Map<number, Buffer>();
  for (const k of deviceKeys) diskKeys.set(k, generateDek());
  return { vmKey: randomBytes(KEY_SIZE.vmKey), nvramKey: randomBytes(KEY_SIZE.nvramKey), diskKeys };
}

/** Zeroes every key, for when a VM is closed. */
export function wipeVmSecrets(secrets: VmSecrets): void {
  secrets.vmKey.fill(0);
  secrets.nvramKey.fill(0);
  for (const k of secrets.diskKeys.values()) k.fill(0);
}

/** Wraps the secrets under the KEK `keyId` of `source`. */
export async function sealBundle(secrets: VmSecrets, source: KeyEncryptionKeySource, keyId: string): Promise<string> {
  const kek = await source.getKey(keyId);
  try {
    const w = new Writer();
    w.u8(FORMAT_VERSION.bundle);
    w.text16(source.providerId);
    w.text16(keyId);
    w.bytes8(wrapKey(kek, secrets.vmKey));
    const disks = [...secrets.diskKeys.entries()].sort(([a], [b]) => a - b);
    w.u16(disks.length);
    for (const [deviceKey, dek] of disks) {
      w.u32(deviceKey);
      w.bytes8(wrapKey(secrets.vmKey, dek));
    }
    w.bytes8(wrapKey(secrets.vmKey, secrets.nvramKey));
    const body = w.done();
    return BUNDLE_PREFIX + Buffer.concat([body, mac(secrets.vmKey, body)]).toString("base64");
  } finally {
    kek.fill(0);
  }
}

/** Reads the bundle's public part (which provider and KEK; which disks) without any key. */
export function inspectBundle(bundle: string): BundleHeader {
  return parse(bundle).header;
}

/**
 * Unwraps the secrets. KeyProviderError from the source passes through (VME-3: unreachable KMS);
 * a wrong KEK or altered bundle is BundleError("integrity").
 */
export async function openBundle(bundle: string, source: KeyEncryptionKeySource): Promise<{ header: BundleHeader; secrets: VmSecrets }> {
  const parsed = parse(bundle);
  const kek = await source.getKey(parsed.header.keyId);
  let vmKey: Buffer;
  try {
    vmKey = unwrapKey(kek, parsed.wrappedVmKey);
  } catch (err) {
    throw integrity(err, `the VM key does not unwrap under KEK ${parsed.header.keyId}`);
  } finally {
    kek.fill(0);
  }
  if (!timingSafeEqual(mac(vmKey, parsed.body), parsed.mac)) {
    vmKey.fill(0);
    throw new BundleError("integrity", "the encryption.bundle failed its integrity check (altered or reassembled)");
  }
  try {
    const diskKeys = new Map<number, Buffer>();
    for (const [deviceKey, wrapped] of parsed.wrappedDeks) diskKeys.set(deviceKey, unwrapKey(vmKey, wrapped));
    return { header: parsed.header, secrets: { vmKey, nvramKey: unwrapKey(vmKey, parsed.wrappedNvramKey), diskKeys } };
  } catch (err) {
    vmKey.fill(0);
    throw integrity(err, "a disk or NVRAM key does not unwrap under the VM key");
  }
}

/**
 * Shallow re-key: the same VM key, DEKs and NVRAM key, wrapped under another KEK (possibly of
 * another provider). Disks and NVRAM stay as they are; only the bundle and keyId change.
 */
export async function rewrapBundle(bundle: string, from: KeyEncryptionKeySource, to: KeyEncryptionKeySource, newKeyId: string): Promise<string> {
  const { secrets } = await openBundle(bundle, from);
  try {
    return await sealBundle(secrets, to, newKeyId);
  } finally {
    wipeVmSecrets(secrets);
  }
}

function mac(vmKey: Buffer, body: Buffer): Buffer {
  const macKey = createHmac("sha256", vmKey).update("strongroom bundle mac v1").digest();
  try {
    return createHmac("sha256", macKey).update(body).digest();
  } finally {
    macKey.fill(0);
  }
}

function integrity(err: unknown, message: string): BundleError {
  if (err instanceof KeyWrapError) return new BundleError("integrity", message);
  throw err;
}

interface ParsedBundle {
  header: BundleHeader;
  wrappedVmKey: Buffer;
  wrappedDeks: [number, Buffer][];
  wrappedNvramKey: Buffer;
  body: Buffer;
  mac: Buffer;
}

function parse(bundle: string): ParsedBundle {
  if (typeof bundle !== "string" || !bundle.startsWith(BUNDLE_PREFIX)) throw new BundleError("malformed", "not a Strongroom encryption.bundle (prefix missing)");
  const raw = Buffer.from(bundle.slice(BUNDLE_PREFIX.length), "base64");
  if (raw.length < 1 + MAC_SIZE) throw new BundleError("malformed", "the encryption.bundle is truncated");
  if (raw[0] !== FORMAT_VERSION.bundle) throw new BundleError("unsupported-version", `encryption.bundle version ${raw[0]} is not supported`);
  const body = raw.subarray(0, raw.length - MAC_SIZE);
  const r = new Reader(body);
  r.u8();
  const providerId = r.text16();
  const keyId = r.text16();
  const wrappedVmKey = r.bytes8(KEY_SIZE.vmKey + KEY_SIZE.wrapOverhead);
  const count = r.u16();
  const wrappedDeks: [number, Buffer][] = [];
  for (let i = 0; i < count; i++) wrappedDeks.push([r.u32(), r.bytes8(KEY_SIZE.dek + KEY_SIZE.wrapOverhead)]);
  const wrappedNvramKey = r.bytes8(KEY_SIZE.nvramKey + KEY_SIZE.wrapOverhead);
  r.end();
  const deviceKeys = wrappedDeks.map(([k]) => k);
  if (new Set(deviceKeys).size !== deviceKeys.length) throw new BundleError("malformed", "the encryption.bundle lists a disk twice");
  return { header: { version: raw[0], providerId, keyId, deviceKeys }, wrappedVmKey, wrappedDeks, wrappedNvramKey, body, mac: raw.subarray(raw.length - MAC_SIZE) };
}

class Writer {
  private readonly parts: Buffer[] = [];
  u8(v: number) {
    this.parts.push(Buffer.from([v]));
  }
  u16(v: number) {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    this.parts.push(b);
  }
  u32(v: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    this.parts.push(b);
  }
  text16(s: string) {
    const b = Buffer.from(s, "utf8");
    if (b.length === 0 || b.length > 0xffff) throw new RangeError("bundle text fields are 1–65535 bytes");
    this.u16(b.length);
    this.parts.push(b);
  }
  bytes8(b: Buffer) {
    this.u8(b.length);
    this.parts.push(b);
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  private need(n: number) {
    if (this.at + n > this.buf.length) throw new BundleError("malformed", "the encryption.bundle is truncated");
  }
  u8() {
    this.need(1);
    return this.buf[this.at++];
  }
  u16() {
    this.need(2);
    const v = this.buf.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }
  u32() {
    this.need(4);
    const v = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  text16() {
    const n = this.u16();
    this.need(n);
    const s = this.buf.toString("utf8", this.at, this.at + n);
    this.at += n;
    return s;
  }
  bytes8(expected: number) {
    const n = this.u8();
    if (n !== expected) throw new BundleError("malformed", `a wrapped key in the encryption.bundle is ${n} bytes, expected ${expected}`);
    this.need(n);
    const b = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
  end() {
    if (this.at !== this.buf.length) throw new BundleError("malformed", "trailing bytes in the encryption.bundle");
  }
}
