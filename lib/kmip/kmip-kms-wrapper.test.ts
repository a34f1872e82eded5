// KmipKmsWrapper against the in-memory fake KMS (no sockets): what PyKMIP cannot show — a KMS that
// offers only KMIP 1.2 or prefers it, RSA-OAEP Decrypt request encoding and a successful RSA unwrap
// through the engine, CryptographicFailure, a sick KMS — plus the kmsKeyId and blob codecs.

import { describe, it, expect } from "vitest";
import { constants, generateKeyPairSync, privateDecrypt } from "node:crypto";
import { WrongKeyError } from "../engine/errors";
import { kmsKeyHeader, unwrapWithKms, wrapWithKms, type KmsKeyVersion } from "../engine/keys/kms";
import { SecretKey } from "../engine/keys/secret-key";
import { CryptographicAlgorithm, HashingAlgorithm, Operation, PaddingMethod, ResultReason, ResultStatus } from "./enums";
import { bytes, find, need, needText, optEnum, text } from "./items";
import { KmipKmsError, KmipKmsWrapper, decodeKmsBlob, decodeKmsKeyId, encodeKmsBlob, encodeKmsKeyId } from "./kmip-kms-wrapper";
import { buildResponse, protocolVersionItem, type ParsedRequest, type ProtocolVersion } from "./messages";
import { Tag } from "./tags";
import { FakeKms, ok, type FakeHandler } from "./testing/fake-kms";

const KMS_ID = "kms-fake";
const V12 = { major: 1, minor: 2 };
const V14 = { major: 1, minor: 4 };

function wrapper(kms: FakeKms, protocolVersion?: "1.2" | "1.4"): KmipKmsWrapper {
  return new KmipKmsWrapper(KMS_ID, { host: "fake", port: 1, ca: "", cert: "", key: "", connector: kms.connector, requestTimeoutMs: 2000, protocolVersion });
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

const op = (req: ParsedRequest) => req.batchItems[0].operation;
const fail = (req: ParsedRequest, reason: number, message = "no") => ({
  reply: buildResponse({ version: req.version, operation: op(req), resultStatus: ResultStatus.OperationFailed, resultReason: reason, resultMessage: message }),
});

/** DiscoverVersions answered in the server's own order of preference. */
function prefers(order: ProtocolVersion[]): FakeHandler {
  return (req) => {
    if (op(req) !== Operation.DiscoverVersions) return undefined;
    const p = req.batchItems[0].payload;
    const asked = (p.type === "Structure" ? p.value : []).map((v) => ({ major: need(v, Tag.ProtocolVersionMajor, "Integer").value, minor: need(v, Tag.ProtocolVersionMinor, "Integer").value }));
    const answer = order.filter((o) => asked.length === 0 || asked.some((a) => a.major === o.major && a.minor === o.minor));
    return { reply: ok(req, answer.map(protocolVersionItem)) };
  };
}

const aesVersion: KmsKeyVersion = { kmsId: KMS_ID, kmsKeyId: encodeKmsKeyId("strongroom/job/1", "42"), keyVersion: 1_700_000_000, scheme: "kms-encrypt" };

describe("kmsKeyId and blob codecs", () => {
  it("kmsKeyId is <name>#<uri-encoded uid>; the last '#' splits, so names may contain '#'", () => {
    expect(encodeKmsKeyId("strongroom/job/7", "17")).toBe("strongroom/job/7#17");
    expect(encodeKmsKeyId("a#b", "x#y%z")).toBe("a#b#x%23y%25z");
    expect(decodeKmsKeyId("a#b#x%23y%25z")).toEqual({ name: "a#b", uniqueIdentifier: "x#y%z" });
    const uuid = "8a7c1f0e-3f7b-4b7e-9d55-0c9b2f6a1e11";
    expect(decodeKmsKeyId(encodeKmsKeyId("n", uuid))).toEqual({ name: "n", uniqueIdentifier: uuid });
    for (const bad of ["plain-name", "#17", "name#", "name#%zz"]) expect(decodeKmsKeyId(bad)).toBeUndefined();
  });

  it("blob = 0x01 || IV(12) || tag(16) || ciphertext", () => {
    const iv = Buffer.alloc(12, 1);
    const tag = Buffer.alloc(16, 2);
    const ct = Buffer.alloc(32, 3);
    const blob = encodeKmsBlob(iv, tag, ct);
    expect(blob.toString("hex")).toBe("01" + iv.toString("hex") + tag.toString("hex") + ct.toString("hex"));
    expect(decodeKmsBlob(blob)).toEqual({ iv, tag, ciphertext: ct });
    expect(decodeKmsBlob(Buffer.concat([Buffer.from([2]), blob.subarray(1)]))).toBeUndefined();
    expect(decodeKmsBlob(blob.subarray(0, 28))).toBeUndefined();
  });
});

describe("KmipKmsWrapper over a fake KMS", () => {
  it("a KMS offering only KMIP 1.2: AES-GCM is refused with gcm-needs-kmip-1.4, before any Encrypt is sent", async () => {
    const kms = new FakeKms(prefers([V12]));
    const w = wrapper(kms);
    const err = await rejection(w.encrypt(aesVersion, Buffer.alloc(32), Buffer.alloc(4)));
    expect(err).toBeInstanceOf(KmipKmsError);
    expect((err as KmipKmsError).problem).toBe("gcm-needs-kmip-1.4");
    expect(err.message).toBe(`key provider ${KMS_ID} is unavailable: AES-GCM key wrapping needs KMIP 1.4, and the KMS offers only KMIP 1.2`);
    expect(kms.requests.map(op)).toEqual([Operation.DiscoverVersions, Operation.DiscoverVersions]);
    await w.close();
  });

  it("a KMS that offers 1.4 but prefers 1.2: the error says to pin 1.4", async () => {
    const w = wrapper(new FakeKms(prefers([V12, V14])));
    const err = await rejection(w.decrypt(aesVersion, Buffer.alloc(61, 1), Buffer.alloc(4)));
    expect(err.message).toMatch(/needs KMIP 1\.4, and the KMS offers KMIP 1\.4 but prefers 1\.2: pin protocolVersion "1\.4"/);
    await w.close();
  });

  it("a blob that is not ours is a wrong key without any request; CryptographicFailure is a wrong key", async () => {
    const kms = new FakeKms((req) => (op(req) === Operation.Decrypt ? fail(req, ResultReason.CryptographicFailure) : undefined));
    const w = wrapper(kms, "1.4");
    expect(await rejection(w.decrypt(aesVersion, Buffer.alloc(20), Buffer.alloc(0)))).toBeInstanceOf(WrongKeyError);
    expect(kms.requests).toHaveLength(0);
    const err = await rejection(w.decrypt(aesVersion, encodeKmsBlob(Buffer.alloc(12), Buffer.alloc(16), Buffer.alloc(32)), Buffer.alloc(0)));
    expect(err).toBeInstanceOf(WrongKeyError);
    expect(err.message).toBe(`the key supplied for kms:${KMS_ID}/strongroom/job/1#42@1700000000 does not match (wrong password or key)`);
    await w.close();
  });

  it("GeneralFailure on Decrypt while the key cannot round-trip a probe either: the KMS is sick, not the key wrong", async () => {
    const kms = new FakeKms((req) => (op(req) === Operation.Decrypt || op(req) === Operation.Encrypt ? fail(req, ResultReason.GeneralFailure) : undefined));
    const w = wrapper(kms, "1.4");
    const err = await rejection(w.decrypt(aesVersion, encodeKmsBlob(Buffer.alloc(12), Buffer.alloc(16), Buffer.alloc(32)), Buffer.alloc(0)));
    expect(err).toBeInstanceOf(KmipKmsError);
    expect((err as KmipKmsError).problem).toBe("refused");
    expect(err.message).toMatch(/KMIP Decrypt failed \(OperationFailed \/ GeneralFailure\)$/);
    expect(kms.requests.map(op)).toEqual([Operation.Decrypt, Operation.Encrypt]);
    await w.close();
  });

  it.each([["1.4", V14], ["1.2", V12]] as const)(
    "RSA at KMIP %s: Decrypt carries RSA / OAEP / SHA-256 (MGF1-SHA-256 at 1.4) and a KMS that does RSA opens the engine's local wrap",
    async (pin, version) => {
      const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const seen: ParsedRequest[] = [];
      const kms = new FakeKms((req) => {
        if (op(req) !== Operation.Decrypt) return undefined;
        seen.push(req);
        const p = req.batchItems[0].payload;
        const data = need(p, Tag.Data, "ByteString").value;
        const plain = privateDecrypt({ key: pair.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, data);
        return { reply: ok(req, [text(Tag.UniqueIdentifier, needText(p, Tag.UniqueIdentifier)), bytes(Tag.Data, plain)]) };
      });
      const w = wrapper(kms, pin);
      const v: KmsKeyVersion = {
        kmsId: KMS_ID,
        kmsKeyId: encodeKmsKeyId("strongroom/job/rsa", "priv-9"),
        keyVersion: 1_700_000_001,
        scheme: "kms-rsa-oaep-sha256",
        publicKey: pair.publicKey.export({ type: "spki", format: "der" }),
      };
      const header = kmsKeyHeader(v, 0);
      const target = SecretKey.generate("storage");
      const ctx = Buffer.alloc(32, 9);
      const rec = await wrapWithKms(w, header, target, ctx); // local, no request
      expect(kms.requests).toHaveLength(0);
      const opened = await unwrapWithKms(w, header, rec, ctx, "storage", "p");
      expect(opened.expose().equals(target.expose())).toBe(true);

      expect(seen).toHaveLength(1);
      expect(seen[0].version).toEqual(version);
      const p = seen[0].batchItems[0].payload;
      expect(needText(p, Tag.UniqueIdentifier)).toBe("priv-9");
      const params = find(p, Tag.CryptographicParameters, "Structure")!;
      expect(optEnum(params, Tag.PaddingMethod)).toBe(PaddingMethod.OAEP);
      expect(optEnum(params, Tag.HashingAlgorithm)).toBe(HashingAlgorithm.SHA256);
      expect(optEnum(params, Tag.CryptographicAlgorithm)).toBe(CryptographicAlgorithm.RSA);
      expect(optEnum(params, Tag.BlockCipherMode)).toBeUndefined();
      expect(optEnum(params, Tag.MaskGenerator)).toBe(pin === "1.4" ? 1 : undefined);
      expect(optEnum(params, Tag.MaskGeneratorHashingAlgorithm)).toBe(pin === "1.4" ? HashingAlgorithm.SHA256 : undefined);
      expect(find(p, Tag.AuthenticatedEncryptionAdditionalData)).toBeUndefined();
      await w.close();
    },
  );

  it("RSA Decrypt answered OperationNotSupported: rsa-decrypt-unsupported, naming the limitation", async () => {
    const kms = new FakeKms((req) => (op(req) === Operation.Decrypt ? fail(req, ResultReason.OperationNotSupported, "no RSA here") : undefined));
    const w = wrapper(kms, "1.4");
    const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const v: KmsKeyVersion = { kmsId: KMS_ID, kmsKeyId: "n#5", keyVersion: 1, scheme: "kms-rsa-oaep-sha256", publicKey: publicKey.export({ type: "spki", format: "der" }) };
    const err = await rejection(w.decrypt(v, Buffer.alloc(256, 1), Buffer.alloc(0)));
    expect((err as KmipKmsError).problem).toBe("rsa-decrypt-unsupported");
    expect(err.message).toMatch(/private key object 5 \(OperationNotSupported\): it does not support RSA decryption/);
    expect(err.message).not.toMatch(/no RSA here/); // the KMS's free text stays on `cause`
    await w.close();
  });
});
