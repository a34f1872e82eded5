import { describe, it, expect } from "vitest";
import { BundleError, generateVmSecrets, inspectBundle, openBundle, rewrapBundle, sealBundle, wipeVmSecrets } from "./bundle";
import { unwrapKey } from "./key-wrap";
import { MemoryKeySource } from "./testing/memory-key-source";
import { KeyProviderError } from "./types";

async function sealed(deviceKeys = [2000, 2001]) {
  const kms = new MemoryKeySource("kp-prod-acme");
  const keyId = await kms.createKey();
  const secrets = generateVmSecrets(deviceKeys);
  const bundle = await sealBundle(secrets, kms, keyId);
  return { kms, keyId, secrets, bundle };
}

const decode = (bundle: string) => Buffer.from(bundle.slice("strongroom:bundle/v1:".length), "base64");
const encode = (raw: Buffer) => "strongroom:bundle/v1:" + raw.toString("base64");

describe("encryption.bundle", () => {
  it("generates a VM key, one distinct 64-byte DEK per disk and an NVRAM key", () => {
    const s = generateVmSecrets([2000, 2001, 2002]);
    expect(s.vmKey).toHaveLength(32);
    expect(s.nvramKey).toHaveLength(32);
    expect([...s.diskKeys.keys()]).toEqual([2000, 2001, 2002]);
    const deks = [...s.diskKeys.values()];
    expect(deks.every((d) => d.length === 64)).toBe(true);
    expect(new Set(deks.map((d) => d.toString("hex"))).size).toBe(3);
  });

  it("seals and opens: same secrets back; the header is readable without keys", async () => {
    const { kms, keyId, secrets, bundle } = await sealed();
    expect(bundle.startsWith("strongroom:bundle/v1:")).toBe(true);
    expect(inspectBundle(bundle)).toEqual({ version: 1, providerId: "kp-prod-acme", keyId, deviceKeys: [2000, 2001] });
    const { header, secrets: back } = await openBundle(bundle, kms);
    expect(header.keyId).toBe(keyId);
    expect(back.vmKey.equals(secrets.vmKey)).toBe(true);
    expect(back.nvramKey.equals(secrets.nvramKey)).toBe(true);
    for (const [k, dek] of secrets.diskKeys) expect(back.diskKeys.get(k)!.equals(dek)).toBe(true);
  });

  it("holds no plaintext key, and its layout is the documented one (VM key under the KEK, DEKs under the VM key)", async () => {
    const { kms, keyId, secrets, bundle } = await sealed([2000]);
    const raw = decode(bundle);
    for (const k of [secrets.vmKey, secrets.nvramKey, secrets.diskKeys.get(2000)!]) expect(raw.includes(k)).toBe(false);
    let at = 1;
    const text = () => {
      const n = raw.readUInt16BE(at);
      at += 2 + n;
      return raw.toString("utf8", at - n, at);
    };
    expect(raw[0]).toBe(1);
    expect(text()).toBe("kp-prod-acme");
    expect(text()).toBe(keyId);
    expect(raw[at]).toBe(40);
    const wrappedVmKey = raw.subarray(at + 1, at + 41);
    at += 41;
    expect(unwrapKey(kms.keys.get(keyId)!, wrappedVmKey).equals(secrets.vmKey)).toBe(true);
    expect(raw.readUInt16BE(at)).toBe(1);
    expect(raw.readUInt32BE(at + 2)).toBe(2000);
    expect(raw[at + 6]).toBe(72);
    expect(unwrapKey(secrets.vmKey, raw.subarray(at + 7, at + 79)).equals(secrets.diskKeys.get(2000)!)).toBe(true);
    at += 79;
    expect(raw[at]).toBe(40);
    expect(unwrapKey(secrets.vmKey, raw.subarray(at + 1, at + 41)).equals(secrets.nvramKey)).toBe(true);
    expect(raw.length).toBe(at + 41 + 32);
  });

  it("an unreachable key provider surfaces as KeyProviderError (VME-3); a lost key as key-not-found", async () => {
    const { kms, keyId, bundle } = await sealed();
    kms.unreachable = true;
    await expect(openBundle(bundle, kms)).rejects.toMatchObject({ name: "KeyProviderError", code: "unreachable" });
    kms.unreachable = false;
    kms.keys.delete(keyId);
    await expect(openBundle(bundle, kms)).rejects.toBeInstanceOf(KeyProviderError);
  });

  it("another KEK under the same id, a flipped bit or swapped disk entries ⇒ BundleError('integrity')", async () => {
    const { kms, keyId, bundle } = await sealed([2000, 2001]);
    const impostor = new MemoryKeySource("kp-prod-acme");
    impostor.keys.set(keyId, Buffer.alloc(32, 9));
    await expect(openBundle(bundle, impostor)).rejects.toMatchObject({ code: "integrity" });

    const raw = decode(bundle);
    const flipped = Buffer.from(raw);
    flipped[raw.length - 40] ^= 1; // inside the wrapped NVRAM key
    await expect(openBundle(encode(flipped), kms)).rejects.toMatchObject({ code: "integrity" });

    // swap the two disks' device keys: each wrapped DEK still unwraps, only the MAC notices
    const swapped = Buffer.from(raw);
    const first = swapped.indexOf(Buffer.from([0, 0, 0x07, 0xd0, 72]));
    const second = swapped.indexOf(Buffer.from([0, 0, 0x07, 0xd1, 72]));
    swapped.writeUInt32BE(2001, first);
    swapped.writeUInt32BE(2000, second);
    await expect(openBundle(encode(swapped), kms)).rejects.toMatchObject({ code: "integrity" });
  });

  it("malformed and future bundles are refused by code", () => {
    expect(() => inspectBundle("vmware:key/list/(pair/x)")).toThrow(BundleError);
    expect(() => inspectBundle(encode(Buffer.from([1, 0])))).toThrow(/truncated/);
    const future = Buffer.alloc(40);
    future[0] = 2;
    try {
      inspectBundle(encode(future));
      throw new Error("expected");
    } catch (e) {
      expect((e as BundleError).code).toBe("unsupported-version");
    }
  });

  it("rewrap (shallow re-key) moves the chain to another KEK/provider and keeps the DEKs", async () => {
    const { kms, secrets, bundle } = await sealed();
    const dr = new MemoryKeySource("kp-dr-native");
    const drKey = await dr.createKey();
    const moved = await rewrapBundle(bundle, kms, dr, drKey);
    expect(inspectBundle(moved)).toMatchObject({ providerId: "kp-dr-native", keyId: drKey });
    const { secrets: back } = await openBundle(moved, dr);
    expect(back.diskKeys.get(2001)!.equals(secrets.diskKeys.get(2001)!)).toBe(true);
    wipeVmSecrets(back);
    expect(back.vmKey.every((b) => b === 0)).toBe(true);
  });
});
