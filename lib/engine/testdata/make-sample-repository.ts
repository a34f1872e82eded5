// Writes the frozen sample repository, ONCE: `npx tsx lib/engine/testdata/make-sample-repository.ts`.
// The files it writes are committed and must be opened by every later version of the engine
// (frozen-sample.test.ts). It refuses to overwrite them: a format change gets a new sample beside
// the old one (sample-repository-v2/…), never a regenerated v1.
//
// Everything here is a TEST FIXTURE: the password, the KMS key and the recovery keyset's private
// key are published in this folder on purpose.

import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { blake3 } from "@napi-rs/blake-hash";
import { idHex, seededRandom } from "../bytes";
import { MemoryKms } from "../keys/memory-kms";
import { exportKeyset, RecoveryKeyset } from "../keys/recovery-keyset";
import { createPasswordKey } from "../keys/user-key";
import { FilesystemStore } from "../repository/filesystem-store";
import { createRepository } from "../repository/repository";

export const SAMPLE_DIR = path.join(__dirname, "sample-repository-v1");
export const SAMPLE_MANIFEST = path.join(__dirname, "sample-repository-v1.json");
export const SAMPLE_KEYSET = path.join(__dirname, "sample-recovery-keyset.json");

const BLOCK = 4096;
const pattern = (seed: string, n: number) => {
  const out = Buffer.alloc(n);
  for (let at = 0, i = 0; at < n; at += 32, i++) blake3(`${seed}/${i}`).copy(out, at);
  return out;
};

async function main(): Promise<void> {
  if (existsSync(SAMPLE_DIR) || existsSync(SAMPLE_MANIFEST)) throw new Error("the v1 sample exists and is frozen; never regenerate it");
  mkdirSync(SAMPLE_DIR);
  let t = Date.UTC(2026, 0, 1);
  const now = () => t;
  const random = seededRandom("strongroom sample repository v1");
  const store = new FilesystemStore(SAMPLE_DIR);
  const repo = await createRepository(store, { blockSize: BLOCK, packTargetSize: 3 * BLOCK, now, random });

  const password = "strongroom sample password";
  const passwordKey = await createPasswordKey(password, { hint: "the sample one", random, now }); // default Argon2id (64 MiB)
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const keyset = new RecoveryKeyset(createPublicKey(privateKey), privateKey, t);
  writeFileSync(SAMPLE_KEYSET, exportKeyset(keyset, { includePrivateKey: true }) + "\n");
  const kmsAesKey = Buffer.alloc(32, 0x42);
  const kms = new MemoryKms("sample-kms");
  kms.createKey("sample-key", "kms-encrypt", kmsAesKey);

  const capacity = 5 * BLOCK + 1000;
  const first = [
    { index: 0, data: pattern("b0", BLOCK) },
    { index: 1, data: Buffer.alloc(BLOCK) },
    { index: 2, data: Buffer.from("Strongroom sample block. ".repeat(200)).subarray(0, BLOCK) },
    { index: 3, data: pattern("b0", BLOCK) },
    { index: 4, data: pattern("b4", BLOCK) },
    { index: 5, data: pattern("b5", 1000) },
  ];
  const image = Buffer.concat(first.map((b) => b.data));
  const points: unknown[] = [];

  // Chain A, point 1: a full backup, password + recovery keyset.
  const plan = { password: passwordKey, recoveryKeysets: [keyset.publicOnly()] };
  let s = await repo.beginPoint({ protection: plan, attributes: { vm: "sample-vm", keyId: "lab-kms/vm-key-1", "encryption.bundle": "sample-bundle" } });
  await s.writeDisk("scsi0:0", { capacity, blocks: first, attributes: { storagePolicy: "VM Encryption Policy" } });
  await s.writeDisk("nvram", { capacity: 1000, blocks: [{ index: 0, data: pattern("nvram", 1000) }] });
  const p1 = await s.commit();
  points.push({ ...p1, images: { "scsi0:0": blake3(image).toString("hex"), nvram: blake3(pattern("nvram", 1000)).toString("hex") } });

  // Chain A, point 2: an incremental (blocks 2 and 4 changed), inheriting the rest.
  t += 24 * 60 * 60 * 1000;
  s = await repo.beginPoint({ chainId: p1.chainId, protection: plan });
  const changed = [
    { index: 2, data: pattern("b2-v2", BLOCK) },
    { index: 4, data: Buffer.alloc(BLOCK) },
  ];
  await s.writeDisk("scsi0:0", { capacity, blocks: changed, inherit: true });
  const p2 = await s.commit();
  const image2 = Buffer.from(image);
  for (const c of changed) c.data.copy(image2, c.index * BLOCK);
  points.push({ ...p2, images: { "scsi0:0": blake3(image2).toString("hex") } });

  // Chain B: one point protected by a KMS key (kms-encrypt).
  t += 60 * 60 * 1000;
  s = await repo.beginPoint({ protection: { kms: { wrapper: kms, kmsKeyId: "sample-key" } } });
  await s.writeDisk("scsi0:0", { capacity, blocks: first });
  const p3 = await s.commit();
  points.push({ ...p3, images: { "scsi0:0": blake3(image).toString("hex") } });

  const manifest = {
    note: "Frozen sample repository, format version 1. Test-only secrets. Never regenerate.",
    repositoryId: repo.id,
    password,
    passwordKeyId: idHex(passwordKey.header.keyId),
    kms: { kmsId: "sample-kms", kmsKeyId: "sample-key", aesKeyHex: kmsAesKey.toString("hex") },
    keysetId: keyset.id,
    points,
  };
  writeFileSync(SAMPLE_MANIFEST, JSON.stringify(manifest, null, 2) + "\n");
  console.log(`sample written: ${points.length} points in ${SAMPLE_DIR}`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
