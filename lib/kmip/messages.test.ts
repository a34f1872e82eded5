import { describe, it, expect } from "vitest";
import { CryptographicUsageMask, Operation, ResultReason, ResultStatus } from "./enums";
import { KmipCodecError, KmipError, KmipUsageError } from "./errors";
import { needText } from "./items";
import { KMIP_1_2, KMIP_1_4, buildResponse, decodeResponse, encodeRequest, parseRequest, type ProtocolVersion } from "./messages";
import * as ops from "./operations";
import { Tag } from "./tags";
import { decodeTtlv, encodeTtlv } from "./ttlv";
import { vector } from "./testing/vectors";

const KEY12 = "8e843b23c58466b34fe5263b5252108c9c6f472a9697a959325ae3c185c27f4b";
const KEY14 = "8e9b983981d5800e0ddd9af086a6905bd0488943afa20ee02d39923fc32bdf9a";

const versions: [string, ProtocolVersion, string, string][] = [
  ["12", KMIP_1_2, "96", KEY12],
  ["14", KMIP_1_4, "97", KEY14],
];

describe("request builders reproduce the captured PyKMIP requests byte for byte", () => {
  for (const [tag, version, uid] of versions) {
    const same = (name: string, op: number, payload: ReturnType<typeof ops.uidPayload>) =>
      expect(encodeRequest(op, payload, { version }).toString("hex")).toBe(vector(`kmip${tag}-${name}.request`).toString("hex"));

    it(`KMIP ${tag}: Create AES-256 with Name and usage mask Encrypt|Decrypt`, () => {
      same("create", Operation.Create, ops.createPayload({ length: 256, name: `vector-aes-${version.major}.${version.minor}`, usageMask: CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt }));
      same("create", Operation.Create, ops.createPayload({ length: 256, name: `vector-aes-${version.major}.${version.minor}` })); // the default mask is 12
    });
    it(`KMIP ${tag}: Get, Activate, Destroy, Get (error)`, () => {
      same("get", Operation.Get, ops.getPayload(uid));
      same("activate", Operation.Activate, ops.uidPayload(uid));
      same("destroy", Operation.Destroy, ops.uidPayload(uid));
      same("get_error_not_found", Operation.Get, ops.getPayload(uid));
    });
    it(`KMIP ${tag}: Locate by Name`, () => {
      same("locate", Operation.Locate, ops.locatePayload({ name: `vector-aes-${version.major}.${version.minor}` }));
    });
    it(`KMIP ${tag}: Revoke (Cessation of Operation)`, () => {
      same("revoke", Operation.Revoke, ops.revokePayload(uid, { reason: "CessationOfOperation" }));
    });
    it(`KMIP ${tag}: DiscoverVersions with an empty payload`, () => {
      same("discover_versions", Operation.DiscoverVersions, ops.discoverVersionsPayload());
    });
    it(`KMIP ${tag}: parseRequest reads the captured requests`, () => {
      const req = parseRequest(decodeTtlv(vector(`kmip${tag}-get.request`)));
      expect(req.version).toEqual(version);
      expect(req.batchItems).toHaveLength(1);
      expect(req.batchItems[0].operation).toBe(Operation.Get);
      expect(needText(req.batchItems[0].payload, Tag.UniqueIdentifier)).toBe(uid);
    });
  }
});

describe("response parsers on the captured PyKMIP responses", () => {
  for (const [tag, version, uid, key] of versions) {
    const res = (name: string) => {
      const r = decodeResponse(vector(`kmip${tag}-${name}.response`));
      expect(r.version).toEqual(version);
      expect(r.batchItems).toHaveLength(1);
      return r.batchItems[0];
    };
    it(`KMIP ${tag}: header and Create`, () => {
      const r = decodeResponse(vector(`kmip${tag}-create.response`));
      expect(Number(r.timeStamp)).toBeGreaterThan(1.7e9); // a real time stamp (compared loosely)
      const item = res("create");
      expect(item.resultStatus).toBe(ResultStatus.Success);
      expect(item.operation).toBe(Operation.Create);
      expect(ops.parseCreate(item.payload)).toEqual({ objectType: "SymmetricKey", uniqueIdentifier: uid });
    });
    it(`KMIP ${tag}: Get returns the key material`, () => {
      const obj = ops.parseGet(res("get").payload);
      expect(obj.uniqueIdentifier).toBe(uid);
      expect(obj.objectType).toBe("SymmetricKey");
      expect(obj.keyFormatType).toBe("Raw");
      expect(obj.cryptographicAlgorithm).toBe("AES");
      expect(obj.cryptographicLength).toBe(256);
      expect(obj.keyMaterial?.toString("hex")).toBe(key);
      expect(obj.wrapping).toBeUndefined();
    });
    it(`KMIP ${tag}: Locate, Activate, Revoke, Destroy`, () => {
      expect(ops.parseLocate(res("locate").payload)).toEqual([uid]);
      for (const op of ["activate", "revoke", "destroy"]) expect(ops.parseUid(res(op).payload, op)).toBe(uid);
    });
    it(`KMIP ${tag}: DiscoverVersions lists 2.0 … 1.0`, () => {
      expect(ops.parseDiscoverVersions(res("discover_versions").payload)).toEqual([
        { major: 2, minor: 0 }, { major: 1, minor: 4 }, { major: 1, minor: 3 },
        { major: 1, minor: 2 }, { major: 1, minor: 1 }, { major: 1, minor: 0 },
      ]);
    });
    it(`KMIP ${tag}: Get of a destroyed object is OperationFailed / ItemNotFound`, () => {
      const item = res("get_error_not_found");
      expect(item.resultStatus).toBe(ResultStatus.OperationFailed);
      expect(item.resultReason).toBe(ResultReason.ItemNotFound);
      const err = new KmipError({ operation: item.operation!, resultStatus: item.resultStatus, resultReason: item.resultReason, resultMessage: item.resultMessage });
      expect(err.resultReason).toBe("ItemNotFound");
      expect(err.resultStatus).toBe("OperationFailed");
      expect(err.operation).toBe("Get");
      expect(err.message).toBe(`KMIP Get failed: OperationFailed / ItemNotFound — Could not locate object: ${uid}`);
    });
  }

  it("buildResponse round-trips through decodeResponse", () => {
    const msg = buildResponse({ version: KMIP_1_4, timeStamp: 1795323264n, operation: Operation.Get, resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.PermissionDenied, resultMessage: "no" });
    const r = decodeResponse(encodeTtlv(msg));
    expect(r.timeStamp).toBe(1795323264n);
    expect(r.batchItems[0]).toMatchObject({ operation: Operation.Get, resultStatus: 1, resultReason: ResultReason.PermissionDenied, resultMessage: "no" });
  });

  it("rejects messages with a Batch Count that lies, or missing headers", () => {
    const msg = decodeTtlv(vector("kmip12-create.response"));
    const header = (msg as { value: { value: unknown[] }[] }).value[0];
    const count = header.value[2] as { value: number };
    count.value = 2;
    expect(() => decodeResponse(encodeTtlv(msg))).toThrow(KmipCodecError);
    (msg as { value: unknown[] }).value.shift();
    expect(() => decodeResponse(encodeTtlv(msg))).toThrow(/lacks ResponseHeader/);
  });
});

describe("payload builders for the operations without vectors", () => {
  const payloadTree = (op: number, payload: ReturnType<typeof ops.uidPayload>, version = KMIP_1_4) =>
    parseRequest(decodeTtlv(encodeRequest(op, payload, { version }))).batchItems[0].payload;

  it("Register: Template-Attribute plus a Raw symmetric key block", () => {
    const p = payloadTree(Operation.Register, ops.registerPayload({ key: Buffer.alloc(32, 7), name: "imported" }));
    const tags = (p as { value: { tag: number }[] }).value.map((c) => c.tag);
    expect(tags).toEqual([Tag.ObjectType, Tag.TemplateAttribute, Tag.SymmetricKey]);
  });
  it("CreateKeyPair: common, private and public template attributes", () => {
    const p = payloadTree(Operation.CreateKeyPair, ops.createKeyPairPayload({ length: 2048, privateKeyName: "a", publicKeyName: "b" }));
    expect((p as { value: { tag: number }[] }).value.map((c) => c.tag)).toEqual([Tag.CommonTemplateAttribute, Tag.PrivateKeyTemplateAttribute, Tag.PublicKeyTemplateAttribute]);
  });
  it("Get with key wrapping: Key Wrapping Specification with NIST key wrap and no encoding", () => {
    const p = ops.getPayload("5", { wrapWith: { wrappingKeyId: "9" } });
    expect(p.map((x) => x.tag)).toEqual([Tag.UniqueIdentifier, Tag.KeyWrappingSpecification]);
  });
  it("Encrypt/Decrypt: GCM refused at 1.2, CBC carries PKCS5 padding, decrypt needs IV and tag", () => {
    expect(() => ops.encryptPayload("1", Buffer.from("x"), { mode: "GCM" }, KMIP_1_2)).toThrow(KmipUsageError);
    expect(() => ops.encryptPayload("1", Buffer.from("x"), { mode: "CBC", aad: Buffer.from("a") }, KMIP_1_4)).toThrow(KmipUsageError);
    expect(() => ops.decryptPayload("1", Buffer.from("x"), { mode: "GCM", iv: Buffer.alloc(12) }, KMIP_1_4)).toThrow(/tag/);
    expect(() => ops.decryptPayload("1", Buffer.from("x"), { mode: "CBC" }, KMIP_1_4)).toThrow(/IV/);
    const enc = ops.encryptPayload("1", Buffer.from("x"), { mode: "CBC" }, KMIP_1_2);
    const params = enc[1] as { value: { tag: number; value: number }[] };
    expect(params.value.map((c) => [c.tag, c.value])).toEqual([[Tag.BlockCipherMode, 1], [Tag.PaddingMethod, 3], [Tag.CryptographicAlgorithm, 3]]);
  });
  it("refuses key sizes it cannot ask for", () => {
    expect(() => ops.createPayload({ length: 512 as 256 })).toThrow(KmipUsageError);
    expect(() => ops.registerPayload({ key: Buffer.alloc(20) })).toThrow(KmipUsageError);
    expect(() => ops.createKeyPairPayload({ length: 1024 as 2048 })).toThrow(KmipUsageError);
  });
  it("Revoke for KeyCompromise carries a Compromise Occurrence Date", () => {
    const p = ops.revokePayload("1", { reason: "KeyCompromise" });
    expect(p.map((x) => x.tag)).toEqual([Tag.UniqueIdentifier, Tag.RevocationReason, Tag.CompromiseOccurrenceDate]);
  });
});
