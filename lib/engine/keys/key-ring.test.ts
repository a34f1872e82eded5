// The key ring and KMS keys (KEY-5): kms-encrypt and kms-rsa-oaep wraps through the in-memory KMS
// twin, rotation, the KMS being down, wrong keys. Passwords use small Argon2 parameters here
// (this file is not about the KDF).
import { describe, expect, it } from "vitest";
import { KeysUnavailableError, KmsUnavailableError, WrongKeyError } from "../errors";
import { WrapId } from "../format-registry";
import { describeKey } from "./key-header";
import { KeyRing } from "./key-ring";
import { MemoryKms } from "./memory-kms";
import { keyIdsOf, protectKey, resolveProtection } from "./protection";
import { SecretKey } from "./secret-key";
import { createPasswordKey, TEST_ONLY_KDF_PARAMS } from "./user-key";

const ctx = Buffer.alloc(32, 3);
const weak = (pw: string) => createPasswordKey(pw, { params: TEST_ONLY_KDF_PARAMS, allowWeakKdf: "tests-only", hint: "test" });

describe("KeyRing", () => {
  it("opens with a password string (derived from the embedded header) and caches the user key", async () => {
    const plan = await resolveProtection({ password: await weak("s3cret") }, 0);
    const target = SecretKey.generate("storage");
    const protections = await protectKey(plan, target, ctx);
    const ring = new KeyRing().addPassword("s3cret");
    expect((await ring.unwrap(protections, ctx, "storage", "p")).expose().equals(target.expose())).toBe(true);
    expect(JSON.stringify(ring)).not.toContain("s3cret");
  });

  it("says WrongKeyError for a wrong password and KeysUnavailableError, with key ids, for no key", async () => {
    const plan = await resolveProtection({ password: await weak("s3cret") }, 0);
    const protections = await protectKey(plan, SecretKey.generate("storage"), ctx);
    await expect(new KeyRing().addPassword("nope").unwrap(protections, ctx, "storage", "p")).rejects.toBeInstanceOf(WrongKeyError);
    const err = await new KeyRing().unwrap(protections, ctx, "storage", "restore point x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeysUnavailableError);
    expect((err as KeysUnavailableError).needed).toEqual(keyIdsOf(protections));
    expect((err as Error).message).toMatch(/^cannot open restore point x: supply one of password:[0-9a-f]{32}$/);
  });

  it.each(["kms-encrypt", "kms-rsa-oaep-sha256"] as const)("wraps with a %s KMS key that never leaves the KMS", async (scheme) => {
    const kms = new MemoryKms("kms-tenant-a");
    kms.createKey("backup-key", scheme);
    const plan = await resolveProtection({ kms: { wrapper: kms, kmsKeyId: "backup-key" } }, 0);
    const target = SecretKey.generate("storage");
    const protections = await protectKey(plan, target, ctx);
    expect(protections[0].wrap.wrapId).toBe(scheme === "kms-encrypt" ? WrapId.kmsEncrypt : WrapId.kmsRsaOaepSha256);
    expect(describeKey(protections[0].header)).toBe("kms:kms-tenant-a/backup-key@1");
    // RSA: the wrap is local (public key), only unwrap reaches the KMS.
    expect(kms.calls.filter((c) => c.op === "encrypt")).toHaveLength(scheme === "kms-encrypt" ? 1 : 0);
    const opened = await new KeyRing().addKms(kms).unwrap(protections, ctx, "storage", "p");
    expect(opened.expose().equals(target.expose())).toBe(true);
    expect(kms.calls.at(-1)).toEqual({ op: "decrypt", kmsKeyId: "backup-key", keyVersion: 1 });
  });

  it("uses the rotated version for new wraps and still opens old ones (KEY-5)", async () => {
    const kms = new MemoryKms("kms-a");
    kms.createKey("k");
    const oldProt = await protectKey(await resolveProtection({ kms: { wrapper: kms, kmsKeyId: "k" } }, 0), SecretKey.generate("storage"), ctx);
    kms.rotate("k");
    const newProt = await protectKey(await resolveProtection({ kms: { wrapper: kms, kmsKeyId: "k" } }, 0), SecretKey.generate("storage"), ctx);
    expect(keyIdsOf(oldProt)).toEqual(["kms:kms-a/k@1"]);
    expect(keyIdsOf(newProt)).toEqual(["kms:kms-a/k@2"]);
    const ring = new KeyRing().addKms(kms);
    await expect(ring.unwrap(oldProt, ctx, "storage", "old")).resolves.toBeTruthy();
    await expect(ring.unwrap(newProt, ctx, "storage", "new")).resolves.toBeTruthy();
  });

  it("reports a KMS that is down as keys unavailable, and maps transport errors without their text", async () => {
    const kms = new MemoryKms("kms-a");
    kms.createKey("k");
    const protections = await protectKey(await resolveProtection({ kms: { wrapper: kms, kmsKeyId: "k" } }, 0), SecretKey.generate("storage"), ctx);
    kms.reachable = false;
    await expect(new KeyRing().addKms(kms).unwrap(protections, ctx, "storage", "p")).rejects.toBeInstanceOf(KeysUnavailableError);
    kms.reachable = true;
    kms.failNext = 1;
    await expect(resolveProtection({ kms: { wrapper: kms, kmsKeyId: "k" } }, 0)).rejects.toBeInstanceOf(KmsUnavailableError);
  });

  it("refuses a KMS answer that is not the wrapped key (target check)", async () => {
    const kms = new MemoryKms("kms-a");
    kms.createKey("k");
    const protections = await protectKey(await resolveProtection({ kms: { wrapper: kms, kmsKeyId: "k" } }, 0), SecretKey.generate("storage"), ctx);
    const lying = Object.assign(Object.create(kms) as MemoryKms, { decrypt: async () => Buffer.alloc(32, 1) });
    await expect(new KeyRing().addKms(lying).unwrap(protections, ctx, "storage", "p")).rejects.toBeInstanceOf(WrongKeyError);
  });
});
