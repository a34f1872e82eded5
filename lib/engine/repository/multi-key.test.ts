// Multi-key chains and the chain metadata file (KEY-5…9): a chain whose password changes and whose
// KMS key rotates; the .vbm re-encrypted with the newest key opens the whole chain; a recovery
// keyset opens points without the password; disaster recovery lists what is needed.
// Passwords use small Argon2 parameters (not about the KDF); RSA keysets are 2048-bit for speed.
import { describe, expect, it } from "vitest";
import { KeysUnavailableError, WrongKeyError } from "../errors";
import { KeyRing } from "../keys/key-ring";
import { MemoryKms } from "../keys/memory-kms";
import { answerRecoveryRequest, applyRecoveryResponse, createRecoveryRequest } from "../keys/recovery-exchange";
import { generateRecoveryKeyset } from "../keys/recovery-keyset";
import { backupSample, readImage, testRepository, weakPasswordKey } from "../testing/engine-fixtures";
import { pointContext } from "./point-file";
import { openRepository } from "./repository";

describe("multi-key chains", () => {
  it("records each point's own keys across a password change, and the .vbm opens the chain with the newest", async () => {
    const { repo, store } = await testRepository();
    const oldPw = await weakPasswordKey("first password", "old");
    const newPw = await weakPasswordKey("second password", "new");
    const p1 = await backupSample(repo, { password: oldPw }, { seed: "a" });
    // The session after the change holds both (the old opens the parent and the old .vbm).
    const ring = new KeyRing().addPasswordKey(oldPw);
    const p2 = await backupSample(repo, { password: newPw }, { chainId: p1.chainId, seed: "b", ring });
    expect(p1.keyIds).toEqual([`password:${oldPw.header.keyId.toString("hex")}`]);
    expect(p2.keyIds).toEqual([`password:${newPw.header.keyId.toString("hex")}`]);

    const fresh = await openRepository(store);
    const onlyNew = new KeyRing().addPassword("second password");
    // p1's own protection needs the old password; the chain file (newest key) opens it anyway.
    expect((await readImage(fresh, p1.pointId, onlyNew)).equals(p1.disk.image)).toBe(true);
    const chains = await fresh.listChains();
    expect(chains[0].keyIds).toEqual(p2.keyIds);
    expect(chains[0].points.map((p) => p.pointId)).toEqual([p1.pointId, p2.pointId]);

    // Without the .vbm, the old point needs its own key again (Veeam: "import without vbm").
    await store.delete(`chains/${p1.chainId}.vbm`);
    const noVbm = await openRepository(store);
    await expect(noVbm.readPoint(p1.pointId, new KeyRing().addPassword("second password"))).rejects.toBeInstanceOf(WrongKeyError);
    await expect(noVbm.readPoint(p1.pointId, new KeyRing())).rejects.toBeInstanceOf(KeysUnavailableError);
    expect(await noVbm.keysNeeded(p1.pointId, new KeyRing())).toEqual(p1.keyIds);
  });

  it("follows a KMS key rotation transparently and survives the loss of the old version through the .vbm", async () => {
    const { repo, store } = await testRepository();
    const kms = new MemoryKms("kms-tenant-a");
    kms.createKey("job-7");
    const plan = { kms: { wrapper: kms, kmsKeyId: "job-7" } };
    const p1 = await backupSample(repo, plan, { seed: "a" });
    kms.rotate("job-7");
    const p2 = await backupSample(repo, plan, { chainId: p1.chainId, seed: "b" });
    expect(p1.keyIds).toEqual(["kms:kms-tenant-a/job-7@1"]);
    expect(p2.keyIds).toEqual(["kms:kms-tenant-a/job-7@2"]);
    // The KMS administrator destroys version 1 (Strongroom never does, KEY-8).
    kms.destroyVersion("job-7", 1);
    const dr = await openRepository(store); // a new Strongroom with only the KMS connection (KEY-9)
    const ring = new KeyRing().addKms(kms);
    expect((await readImage(dr, p1.pointId, ring)).equals(p1.disk.image)).toBe(true);
    expect((await dr.verify({ keyRing: ring })).ok).toBe(true);
  });

  it("opens every point with a recovery keyset and no password, directly or by request/response", async () => {
    const { repo } = await testRepository();
    const keyset = await generateRecoveryKeyset({ modulusLength: 2048 });
    const password = await weakPasswordKey("lost password");
    const p1 = await backupSample(repo, { password, recoveryKeysets: [keyset.publicOnly()] });
    expect(p1.keyIds).toEqual([`password:${password.header.keyId.toString("hex")}`, `keyset:${keyset.id}`]);

    // The Security Officer's own ring.
    const officer = new KeyRing().addRecoveryKeyset(keyset);
    expect((await readImage(repo, p1.pointId, officer)).equals(p1.disk.image)).toBe(true);

    // The administrator's request, answered without the private key leaving the officer.
    const decoded = await repo.readPointFile(p1.pointId);
    const pending = createRecoveryRequest(decoded.header.protections, pointContext(decoded.header.repositoryId, decoded.header.pointId), keyset.id);
    const response = answerRecoveryRequest(pending.request, keyset);
    const admin = new KeyRing().addKnownKey(applyRecoveryResponse(pending, response));
    expect((await readImage(repo, p1.pointId, admin)).equals(p1.disk.image)).toBe(true);
  });

  it("lists encrypted backups and the keys they need without any key (KEY-9)", async () => {
    const { repo, store } = await testRepository();
    const kms = new MemoryKms("kms-b");
    kms.createKey("k", "kms-rsa-oaep-sha256");
    const password = await weakPasswordKey("pw", "the usual one");
    await backupSample(repo, { password, kms: { wrapper: kms, kmsKeyId: "k" } });
    const listing = await (await openRepository(store)).listPoints();
    expect(listing.points[0].keyIds).toEqual([`password:${password.header.keyId.toString("hex")}`, "kms:kms-b/k@1"]);
    expect(listing.points[0].passwordHints).toEqual(["the usual one"]);
  });
});
