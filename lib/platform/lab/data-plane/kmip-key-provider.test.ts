// Unit tests of the standard key provider against a stub KMIP client that throws the real
// lib/kmip error classes; the same behaviour against a real PyKMIP is in kmip-key-provider.int.test.ts.

import { describe, it, expect } from "vitest";
import { randomBytes } from "node:crypto";
import { KmipCodecError, KmipError, KmipTransportError, Operation, ResultReason, ResultStatus } from "../../../kmip";
import { KEK_USAGE_MASK, KmipKeyProvider, keyProviderErrorFrom, type KmsKeyClient } from "./kmip-key-provider";
import { KeyProviderError } from "./types";

type Get = KmsKeyClient["get"];

function stub(get: Get, extra: Partial<KmsKeyClient> = {}) {
  const calls = { get: 0, create: [] as unknown[], activate: [] as string[] };
  const client: KmsKeyClient = {
    create: async (o) => {
      calls.create.push(o);
      return "uid-1";
    },
    activate: async (id) => {
      calls.activate.push(id);
    },
    get: async (id, o) => {
      calls.get++;
      return get(id, o);
    },
    close: async () => undefined,
    ...extra,
  };
  return { client, calls };
}

const symmetric = (key: Buffer) => async (id: string) => ({ objectType: "SymmetricKey", uniqueIdentifier: id, keyMaterial: Buffer.from(key) }) as Awaited<ReturnType<Get>>;
const kmipError = (reason: number) => new KmipError({ operation: Operation.Get, resultStatus: ResultStatus.OperationFailed, resultReason: reason, resultMessage: "no" });

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(KeyProviderError);
    return (e as KeyProviderError).code;
  }
  throw new Error("expected a KeyProviderError");
}

describe("KmipKeyProvider", () => {
  it("createKey = Create AES-256 with Encrypt|Decrypt|WrapKey|UnwrapKey, then Activate", async () => {
    const { client, calls } = stub(symmetric(randomBytes(32)));
    const kp = new KmipKeyProvider({ providerId: "kp-prod-acme", client, keyName: () => "kek-1" });
    expect(await kp.createKey()).toBe("uid-1");
    expect(calls.create).toEqual([{ length: 256, name: "kek-1", usageMask: KEK_USAGE_MASK }]);
    expect(KEK_USAGE_MASK).toBe(0x4 | 0x8 | 0x10 | 0x20);
    expect(calls.activate).toEqual(["uid-1"]);
  });

  it("caches a KEK for the TTL, returns copies, and fetches again after expiry", async () => {
    const key = randomBytes(32);
    const { client, calls } = stub(symmetric(key));
    let now = 1_000;
    const kp = new KmipKeyProvider({ providerId: "kp", client, cacheTtlMs: 60_000, now: () => now });
    const first = await kp.getKey("k");
    expect(first.equals(key)).toBe(true);
    first.fill(0); // a caller wiping its copy must not wipe the cache
    expect((await kp.getKey("k")).equals(key)).toBe(true);
    expect(calls.get).toBe(1);
    now += 60_001;
    await kp.getKey("k");
    expect(calls.get).toBe(2);
  });

  it("while cached, a KMS outage does not matter (a host keeps pushed keys); after expiry it is 'unreachable'", async () => {
    const key = randomBytes(32);
    let down = false;
    const { client } = stub(async (id) => {
      if (down) throw new KmipTransportError("connection-refused", "refused", { endpoint: "kms:5696", osCode: "ECONNREFUSED" });
      return symmetric(key)(id);
    });
    let now = 0;
    const kp = new KmipKeyProvider({ providerId: "kp", client, now: () => now });
    await kp.getKey("k");
    down = true;
    expect((await kp.getKey("k")).equals(key)).toBe(true);
    now += 5 * 60_000 + 1; // the default TTL is 5 minutes
    expect(await codeOf(kp.getKey("k"))).toBe("unreachable");
  });

  it("concurrent getKey calls share one Get; cacheTtlMs 0 disables the cache", async () => {
    const { client, calls } = stub(symmetric(randomBytes(32)));
    const kp = new KmipKeyProvider({ providerId: "kp", client, cacheTtlMs: 0 });
    await Promise.all([kp.getKey("k"), kp.getKey("k"), kp.getKey("k")]);
    expect(calls.get).toBe(1);
    await kp.getKey("k");
    expect(calls.get).toBe(2);
  });

  it("forget() drops a cached key", async () => {
    const { client, calls } = stub(symmetric(randomBytes(32)));
    const kp = new KmipKeyProvider({ providerId: "kp", client });
    await kp.getKey("k");
    kp.forget("k");
    await kp.getKey("k");
    expect(calls.get).toBe(2);
  });

  it("maps KMIP failures to key provider error codes", async () => {
    const cases: [unknown, string][] = [
      [new KmipTransportError("connection-refused", "x", { endpoint: "e" }), "unreachable"],
      [new KmipTransportError("timeout", "x", { endpoint: "e", phase: "response" }), "unreachable"],
      [new KmipTransportError("tls", "x", { endpoint: "e" }), "unreachable"],
      [new KmipTransportError("certificate", "x", { endpoint: "e" }), "bad-response"],
      [kmipError(ResultReason.ItemNotFound), "key-not-found"],
      [kmipError(ResultReason.PermissionDenied), "permission-denied"],
      [kmipError(ResultReason.InvalidField), "bad-response"],
      [new KmipCodecError("truncated", "x"), "bad-response"],
    ];
    for (const [err, code] of cases) {
      const { client } = stub(async () => {
        throw err;
      });
      expect(await codeOf(new KmipKeyProvider({ providerId: "kp", client }).getKey("k"))).toBe(code);
    }
    const bug = new TypeError("a bug");
    expect(keyProviderErrorFrom(bug, "kp", "x")).toBe(bug);
  });

  it("a KMS answer that is not a 256-bit symmetric key is 'bad-response'", async () => {
    const { client } = stub(async (id) => ({ objectType: "SymmetricKey", uniqueIdentifier: id, keyMaterial: randomBytes(16) }) as Awaited<ReturnType<Get>>);
    expect(await codeOf(new KmipKeyProvider({ providerId: "kp", client }).getKey("k"))).toBe("bad-response");
    const { client: c2 } = stub(async (id) => ({ objectType: "PrivateKey", uniqueIdentifier: id, keyMaterial: randomBytes(32) }) as Awaited<ReturnType<Get>>);
    expect(await codeOf(new KmipKeyProvider({ providerId: "kp", client: c2 }).getKey("k"))).toBe("bad-response");
  });

  it("createKey failures are mapped too", async () => {
    const { client } = stub(symmetric(randomBytes(32)), {
      create: async () => {
        throw new KmipTransportError("timeout", "x", { endpoint: "e", phase: "connect" });
      },
    });
    expect(await codeOf(new KmipKeyProvider({ providerId: "kp", client }).createKey())).toBe("unreachable");
  });
});
