// The frozen sample (testdata/README.md): a repository written once by format version 1. Every
// later version of the engine must open it, with each kind of key, block for block. If this fails,
// the change broke every repository already written — fix the change, never the sample.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { blake3 } from "@napi-rs/blake-hash";
import { describe, expect, it } from "vitest";
import { KeyRing } from "../keys/key-ring";
import { MemoryKms } from "../keys/memory-kms";
import { importKeyset } from "../keys/recovery-keyset";
import { MemoryStore } from "./memory-store";
import { openRepository, type Repository } from "./repository";

const TESTDATA = path.join(__dirname, "..", "testdata");
const SAMPLE = path.join(TESTDATA, "sample-repository-v1");

interface ManifestPoint {
  pointId: string;
  chainId: string;
  keyIds: string[];
  images: Record<string, string>;
}
const manifest = JSON.parse(readFileSync(path.join(TESTDATA, "sample-repository-v1.json"), "utf8")) as {
  repositoryId: string;
  password: string;
  kms: { kmsId: string; kmsKeyId: string; aesKeyHex: string };
  keysetId: string;
  points: ManifestPoint[];
};

/** The sample, loaded into memory so that tests cannot alter the committed files. */
function loadSample(): MemoryStore {
  const store = new MemoryStore();
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(SAMPLE, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(path.join(SAMPLE, r)).isDirectory()) walk(r);
      else store.files.set(r, readFileSync(path.join(SAMPLE, r)));
    }
  };
  walk("");
  return store;
}

async function imageHash(repo: Repository, pointId: string, diskId: string, ring: KeyRing): Promise<string> {
  const point = await repo.readPoint(pointId, ring);
  const disk = point.disks.find((d) => d.diskId === diskId)!;
  const parts: Buffer[] = [];
  for (let i = 0; i < disk.blockCount; i++) parts.push(await point.readBlock(diskId, i));
  return blake3(Buffer.concat(parts)).toString("hex");
}

describe("frozen sample repository v1", () => {
  it("lists its points and their key ids without keys", async () => {
    const repo = await openRepository(loadSample());
    expect(repo.id).toBe(manifest.repositoryId);
    const { points, unreadable } = await repo.listPoints();
    expect(unreadable).toEqual([]);
    expect(points.map((p) => ({ pointId: p.pointId, chainId: p.chainId, keyIds: p.keyIds }))).toEqual(
      manifest.points.map((p) => ({ pointId: p.pointId, chainId: p.chainId, keyIds: p.keyIds })),
    );
    expect(points[0].passwordHints).toEqual(["the sample one"]);
  });

  it("opens every password point block for block (Argon2id 64 MiB from the header) and verifies", async () => {
    const repo = await openRepository(loadSample());
    const ring = new KeyRing().addPassword(manifest.password);
    for (const p of manifest.points.filter((x) => x.keyIds.some((k) => k.startsWith("password:")))) {
      for (const [diskId, hash] of Object.entries(p.images)) expect(await imageHash(repo, p.pointId, diskId, ring)).toBe(hash);
    }
    const report = await repo.verify({ keyRing: ring });
    expect(report.points.filter((p) => p.status === "ok").length).toBe(2);
    expect(report.points.find((p) => p.status !== "ok")?.keysNeeded).toEqual(["kms:sample-kms/sample-key@1"]);
  });

  it("opens the KMS point with the KMS key", async () => {
    const repo = await openRepository(loadSample());
    const kms = new MemoryKms(manifest.kms.kmsId);
    kms.createKey(manifest.kms.kmsKeyId, "kms-encrypt", Buffer.from(manifest.kms.aesKeyHex, "hex"));
    const ring = new KeyRing().addKms(kms);
    const p = manifest.points.find((x) => x.keyIds[0].startsWith("kms:"))!;
    expect(await imageHash(repo, p.pointId, "scsi0:0", ring)).toBe(p.images["scsi0:0"]);
    expect((await repo.verify({ pointId: p.pointId, keyRing: ring })).ok).toBe(true);
  });

  it("opens the password points with the recovery keyset alone", async () => {
    const repo = await openRepository(loadSample());
    const keyset = importKeyset(readFileSync(path.join(TESTDATA, "sample-recovery-keyset.json"), "utf8"));
    expect(keyset.id).toBe(manifest.keysetId);
    const ring = new KeyRing().addRecoveryKeyset(keyset);
    const p = manifest.points[1];
    expect(await imageHash(repo, p.pointId, "scsi0:0", ring)).toBe(p.images["scsi0:0"]);
  });

  it("keeps the point attributes the pipeline stored (BKP-4)", async () => {
    const repo = await openRepository(loadSample());
    const point = await repo.readPoint(manifest.points[0].pointId, new KeyRing().addPassword(manifest.password));
    expect(point.attributes).toEqual({ vm: "sample-vm", keyId: "lab-kms/vm-key-1", "encryption.bundle": "sample-bundle" });
    expect(point.disks.map((d) => d.diskId)).toEqual(["scsi0:0", "nvram"]);
  });
});
