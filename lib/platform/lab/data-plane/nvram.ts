// The VM's NVRAM file (UEFI variables, and the vTPM's state when the VM has one). For an encrypted
// VM the whole content is AES-256-GCM under the NVRAM key from the encryption.bundle (VME-2; VDDK:
// "the entire NVRAM file is encrypted ... unusable without keyId and encryption.bundle").
//
// File: header (36 bytes) ‖ body
//   magic "SRNV" ‖ version u8 ‖ flags u8 (bit 0: encrypted) ‖ 2 reserved ‖ nonce (12) ‖ GCM tag (16)
//   body: the 128 KiB image, as ciphertext when encrypted (AAD = the first 8 header bytes), else plain.
// Image: 0–64 KiB UEFI variable store, 64–128 KiB vTPM region ("VTPM" + seeds) or zeros.
// Plaintext images exist only in memory.

import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "./atomic-file";
import { FORMAT_VERSION, HEADER_SIZE, KEY_SIZE, MAGIC, NVRAM_FLAG_ENCRYPTED } from "./formats";
import { SeededBytes } from "./seeded-bytes";
import { HostError } from "./types";

export const NVRAM_SIZE = 128 * 1024;
export const NVRAM_LAYOUT = {
  variables: { offset: 0, length: 64 * 1024 },
  vtpm: { offset: 64 * 1024, length: 64 * 1024 },
} as const;
const VTPM_MAGIC = Buffer.from("VTPM", "ascii");
const NONCE = 12;

/** A plausible NVRAM image: boot entries and Secure Boot keys, plus vTPM seeds when `vtpm`. */
export function buildNvramImage(o: { vtpm: boolean; seed?: string }): Buffer {
  const image = Buffer.alloc(NVRAM_SIZE);
  const bytes = new SeededBytes(`nvram|${o.seed ?? randomBytes(8).toString("hex")}`);
  let at = image.write("STRONGROOM-LAB-NVRAM\0", 0, "ascii") + 3;
  const variable = (name: string, value: Buffer) => {
    at += image.write(`${name}\0`, at, "utf16le");
    image.writeUInt32LE(value.length, at);
    value.copy(image, at + 4);
    at += 4 + value.length;
  };
  variable("BootOrder", Buffer.from([0, 0, 1, 0]));
  variable("Boot0000", Buffer.from("EFI VMware Virtual SCSI Hard Drive (0.0)\0", "utf16le"));
  variable("Boot0001", Buffer.from("EFI Network\0", "utf16le"));
  variable("SecureBootEnable", Buffer.from([1]));
  for (const [i, name] of ["PK", "KEK", "db"].entries()) variable(name, bytes.fill(Buffer.alloc(1200), i)); // certificates
  if (o.vtpm) {
    const v = NVRAM_LAYOUT.vtpm.offset;
    VTPM_MAGIC.copy(image, v);
    image.writeUInt32LE(1, v + 4);
    bytes.fill(image.subarray(v + 8, v + 8 + 96), 100); // endorsement, storage and platform primary seeds
    bytes.fill(image.subarray(v + 1024, v + 1024 + 8192), 101); // persistent objects, NV indices
  }
  return image;
}

export function hasVtpm(image: Buffer): boolean {
  return image.subarray(NVRAM_LAYOUT.vtpm.offset, NVRAM_LAYOUT.vtpm.offset + 4).equals(VTPM_MAGIC);
}

/** File bytes for `image`: encrypted under `nvramKey`, or plain when the VM is not encrypted. */
export function sealNvram(image: Buffer, nvramKey: Buffer | null): Buffer {
  const header = Buffer.alloc(HEADER_SIZE.nvram);
  MAGIC.nvram.copy(header, 0);
  header[4] = FORMAT_VERSION.nvram;
  if (!nvramKey) return Buffer.concat([header, image]);
  if (nvramKey.length !== KEY_SIZE.nvramKey) throw new RangeError(`an NVRAM key is ${KEY_SIZE.nvramKey} bytes`);
  header[5] = NVRAM_FLAG_ENCRYPTED;
  const nonce = randomBytes(NONCE);
  nonce.copy(header, 8);
  const c = createCipheriv("aes-256-gcm", nvramKey, nonce);
  c.setAAD(header.subarray(0, 8));
  const body = Buffer.concat([c.update(image), c.final()]);
  c.getAuthTag().copy(header, 20);
  return Buffer.concat([header, body]);
}

export function isNvramEncrypted(file: Buffer): boolean {
  return parseHeader(file).encrypted;
}

/** The image from file bytes. FileFault if damaged or the key is wrong; InvalidState without a key. */
export function openNvram(file: Buffer, nvramKey: Buffer | null): Buffer {
  const { encrypted } = parseHeader(file);
  const body = file.subarray(HEADER_SIZE.nvram);
  if (!encrypted) return Buffer.from(body);
  if (!nvramKey) throw new HostError("InvalidState", "the NVRAM is encrypted and the VM's keys are not loaded");
  try {
    const d = createDecipheriv("aes-256-gcm", nvramKey, file.subarray(8, 20));
    d.setAAD(file.subarray(0, 8));
    d.setAuthTag(file.subarray(20, 36));
    return Buffer.concat([d.update(body), d.final()]);
  } catch {
    throw new HostError("FileFault", "the NVRAM failed authentication: wrong NVRAM key or a damaged file");
  }
}

export async function writeNvramFile(file: string, image: Buffer, nvramKey: Buffer | null): Promise<void> {
  await writeFileAtomic(file, sealNvram(image, nvramKey), 0o600);
}

export async function readNvramFile(file: string, nvramKey: Buffer | null): Promise<Buffer> {
  return openNvram(await readFile(file), nvramKey);
}

function parseHeader(file: Buffer): { encrypted: boolean } {
  if (file.length < HEADER_SIZE.nvram || !file.subarray(0, 4).equals(MAGIC.nvram)) throw new HostError("FileFault", "not an NVRAM file");
  if (file[4] !== FORMAT_VERSION.nvram) throw new HostError("FileFault", `NVRAM format version ${file[4]} is not supported`);
  return { encrypted: (file[5] & NVRAM_FLAG_ENCRYPTED) !== 0 };
}
