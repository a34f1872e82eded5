// KmipKmsWrapper against a real PyKMIP 0.10 server (testing/pykmip-server.ts), through the engine's
// own KMS code: resolveProtection / protectKey / KeyRing / wrapWithKms / unwrapWithKms / guard.
// PyKMIP missing is a failure naming `apt-get install -y python3-pykmip`, not a skip.
// What PyKMIP cannot do (RSA Decrypt, Activation Date, Link) is tested up to its refusal only.

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { createDecipheriv, randomUUID } from "node:crypto";
import { ByteReader, ByteWriter } from "../engine/bytes";
import { KeysUnavailableError, KmsUnavailableError, WrongKeyError } from "../engine/errors";
import { WrapId } from "../engine/format-registry";
import { describeKey } from "../engine/keys/key-header";
import { KeyRing } from "../engine/keys/key-ring";
import { kmsKeyHeader, unwrapWithKms, wrapWithKms, type KmsKeyVersion } from "../engine/keys/kms";
import { decodeProtection, encodeProtection, keyIdsOf, protectKey, resolveProtection } from "../engine/keys/protection";
import { SecretKey } from "../engine/keys/secret-key";
import { wrapAad } from "../engine/keys/wrap";
import { KmipClient, type KmipClientOptions } from "./client";
import {
  KMS_BLOB_VERSION, KmipKmsError, KmipKmsWrapper, createKmsBackupKey, createKmsRsaBackupKey, decodeKmsKeyId, type KmipKmsProblem,
} from "./kmip-kms-wrapper";
import { assertPykmipInstalled, startPykmipServer, type PykmipServer } from "./testing/pykmip-server";

const KMS_ID = "kms-int-pykmip";
const ctx = Buffer.alloc(32, 7);

let server: PykmipServer | undefined;
let startError: unknown;
const closers: { close(): Promise<void> }[] = [];
/** Every error message seen, checked at the end for secrets. */
const messages: string[] = [];
/** Hex of every secret handled (storage keys, plaintexts). */
const secrets: string[] = [];

function srv(): PykmipServer {
  if (startError) throw startError;
  if (!server) throw new Error("the PyKMIP server is not running");
  return server;
}

function settings(extra: Partial<KmipClientOptions> = {}): KmipClientOptions {
  const s = srv();
  return { host: s.host, port: s.port, ca: s.ca, cert: s.clientA.cert, key: s.clientA.key, requestTimeoutMs: 10_000, ...extra };
}

function wrapper(extra: Partial<KmipClientOptions> = {}): KmipKmsWrapper {
  const w = new KmipKmsWrapper(KMS_ID, settings(extra));
  closers.push(w);
  return w;
}

function admin(): KmipClient {
  const c = new KmipClient(settings());
  closers.push(c);
  return c;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    messages.push(String((e as Error).message));
    return e as Error;
  }
  throw new Error("expected a rejection");
}

function problem(e: Error): KmipKmsProblem | undefined {
  return e instanceof KmipKmsError ? e.problem : undefined;
}

function storageKey(): SecretKey {
  const k = SecretKey.generate("storage");
  secrets.push(k.expose().toString("hex"));
  return k;
}

const jobName = () => `strongroom/job/${randomUUID()}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  try {
    server = await startPykmipServer();
  } catch (err) {
    startError = err;
  }
});

afterAll(async () => {
  await Promise.allSettled(closers.map((c) => c.close()));
  await server?.stop();
});

describe("KmipKmsWrapper against a real PyKMIP server", () => {
  it("has a PyKMIP server to test against (apt-get install -y python3-pykmip)", () => {
    assertPykmipInstalled();
    expect(srv().port).toBeGreaterThan(0);
  });

  it("createKmsBackupKey makes an Active AES-256 version; latestVersion names it <name>#<uid> @ its Initial Date", async () => {
    const name = jobName();
    const before = Math.floor(Date.now() / 1000);
    const v1 = await createKmsBackupKey(settings(), name, { kmsId: KMS_ID });
    expect(v1).toMatchObject({ kmsId: KMS_ID, scheme: "kms-encrypt" });
    expect(decodeKmsKeyId(v1.kmsKeyId)).toEqual({ name, uniqueIdentifier: v1.uniqueIdentifier });
    expect(v1.keyVersion).toBeGreaterThanOrEqual(before - 2);
    expect(v1.keyVersion).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 2);

    const attrs = await admin().getAttributes(v1.uniqueIdentifier);
    expect(attrs).toMatchObject({ state: "Active", objectType: "SymmetricKey", cryptographicAlgorithm: "AES", cryptographicLength: 256, names: [name] });

    const w = wrapper();
    const latest = await w.latestVersion(name);
    expect(latest).toEqual({ kmsId: KMS_ID, kmsKeyId: v1.kmsKeyId, keyVersion: v1.keyVersion, scheme: "kms-encrypt" });
    expect(await w.latestVersion(name)).toEqual(latest); // stable
    expect(await w.client.protocolVersion()).toEqual({ major: 1, minor: 4 }); // negotiated with DiscoverVersions
  });

  it("wraps a storage key through the engine (resolveProtection → protectKey → KeyRing); the blob has the documented layout; a fresh wrapper opens it from the encoded protection alone", async () => {
    const name = jobName();
    const v1 = await createKmsBackupKey(settings(), name, { kmsId: KMS_ID });
    const w = wrapper();
    const resolved = await resolveProtection({ kms: { wrapper: w, kmsKeyId: name } }, Date.now());
    const target = storageKey();
    const [prot] = await protectKey(resolved, target, ctx);
    expect(prot.header).toMatchObject({ kind: "kms", scheme: "kms-encrypt", kmsId: KMS_ID, kmsKeyId: v1.kmsKeyId, keyVersion: v1.keyVersion });
    expect(describeKey(prot.header)).toBe(`kms:${KMS_ID}/${name}#${v1.uniqueIdentifier}@${v1.keyVersion}`);
    expect(prot.wrap.wrapId).toBe(WrapId.kmsEncrypt);

    // layout: version byte, IV (12), tag (16), ciphertext (32) — checked against the key bytes
    // (PyKMIP lets the owner Get them; a production KMS need not).
    const blob = prot.wrap.wrapped;
    expect(blob).toHaveLength(1 + 12 + 16 + 32);
    expect(blob[0]).toBe(KMS_BLOB_VERSION);
    const kek = (await admin().get(v1.uniqueIdentifier)).keyMaterial!;
    const aad = wrapAad(WrapId.kmsEncrypt, prot.wrap.wrappingKeyId, prot.wrap.targetKeyId, ctx);
    const local = createDecipheriv("aes-256-gcm", kek, blob.subarray(1, 13)).setAAD(aad).setAuthTag(blob.subarray(13, 29));
    expect(Buffer.concat([local.update(blob.subarray(29)), local.final()]).equals(target.expose())).toBe(true);

    // what a restore years later has: the protection bytes from the point file, and a KMS connection
    const bytes = encodeProtection(new ByteWriter(), prot).finish();
    const decoded = decodeProtection(new ByteReader(bytes, "point"));
    const later = new KmipKmsWrapper(KMS_ID, settings());
    closers.push(later);
    const opened = await new KeyRing().addKms(later).unwrap([decoded], ctx, "storage", "restore point");
    expect(opened.expose().equals(target.expose())).toBe(true);
  });

  it("rotation (KEY-5): a newer version becomes the latest; wraps made under version 1 still unwrap; version 1's number and key id never change", async () => {
    const name = jobName();
    const v1 = await createKmsBackupKey(settings(), name, { kmsId: KMS_ID });
    const w = wrapper();
    const plan = { kms: { wrapper: w, kmsKeyId: name } };
    const t1 = storageKey();
    const old = await protectKey(await resolveProtection(plan, 0), t1, ctx);

    await sleep(1100); // a later Initial Date (PyKMIP keeps seconds)
    const v2 = await w.createVersion(name);
    const latest = await w.latestVersion(name);
    expect(latest).toMatchObject({ kmsKeyId: v2.kmsKeyId, keyVersion: v2.keyVersion });
    expect(latest.keyVersion).toBeGreaterThan(v1.keyVersion);
    const t2 = storageKey();
    const fresh = await protectKey(await resolveProtection(plan, 0), t2, ctx);
    expect(keyIdsOf(old)).toEqual([`kms:${KMS_ID}/${name}#${v1.uniqueIdentifier}@${v1.keyVersion}`]);
    expect(keyIdsOf(fresh)).toEqual([`kms:${KMS_ID}/${name}#${v2.uniqueIdentifier}@${v2.keyVersion}`]);
    expect(old[0].header.keyId.equals(fresh[0].header.keyId)).toBe(false);

    // a third version in the same second as v2 at most: newest by Initial Date, then unique identifier
    const v3 = await w.createVersion(name);
    expect((await w.latestVersion(name)).kmsKeyId).toBe(v3.kmsKeyId);

    const ring = new KeyRing().addKms(wrapper());
    expect((await ring.unwrap(old, ctx, "storage", "old point")).expose().equals(t1.expose())).toBe(true);
    expect((await ring.unwrap(fresh, ctx, "storage", "new point")).expose().equals(t2.expose())).toBe(true);
    // version 1 is unchanged: same header as when it was the latest
    expect(old[0].header).toEqual(kmsKeyHeader({ kmsId: KMS_ID, kmsKeyId: v1.kmsKeyId, keyVersion: v1.keyVersion, scheme: "kms-encrypt" }, 0));
  });

  it("ignores versions that are not Active (PreActive, Deactivated); none left is a clear no-active-key error", async () => {
    const name = jobName();
    const c = admin();
    const v1 = await createKmsBackupKey(c, name, { kmsId: KMS_ID });
    await sleep(1100);
    const v2 = await createKmsBackupKey(c, name, { kmsId: KMS_ID });
    const preActive = await c.create({ length: 256, name }); // newest, never activated
    const w = wrapper();
    expect((await w.latestVersion(name)).kmsKeyId).toBe(v2.kmsKeyId);
    await c.revoke(v2.uniqueIdentifier);
    expect((await w.latestVersion(name)).kmsKeyId).toBe(v1.kmsKeyId); // falls back to v1
    await c.revoke(v1.uniqueIdentifier);
    const err = await rejection(w.latestVersion(name));
    expect(problem(err)).toBe("no-active-key");
    expect(err.message).toBe(
      `key provider ${KMS_ID} is unavailable: no Active AES key or RSA private key is named "${name}" (3 objects: 2 SymmetricKey Deactivated, 1 SymmetricKey PreActive)`,
    );
    expect(preActive).not.toBe(v1.uniqueIdentifier);
    // through the engine's session start
    const viaEngine = await rejection(resolveProtection({ kms: { wrapper: w, kmsKeyId: name } }, 0));
    expect(viaEngine).toBeInstanceOf(KmsUnavailableError);
    expect(viaEngine.message).toMatch(/no Active AES key/);
    expect(problem(await rejection(w.latestVersion(jobName())))).toBe("no-active-key");
  });

  it("a Deactivated version: PyKMIP refuses to decrypt with it (KMIP would allow it) — a clear key-not-active error; the key ring says keys unavailable", async () => {
    const name = jobName();
    const c = admin();
    const v1 = await createKmsBackupKey(c, name, { kmsId: KMS_ID });
    const w = wrapper();
    const prot = await protectKey(await resolveProtection({ kms: { wrapper: w, kmsKeyId: name } }, 0), storageKey(), ctx);
    await createKmsBackupKey(c, name, { kmsId: KMS_ID });
    await c.revoke(v1.uniqueIdentifier, { reason: "Superseded" });
    const header = prot[0].header as Parameters<typeof unwrapWithKms>[1];
    const err = await rejection(unwrapWithKms(w, header, prot[0].wrap, ctx, "storage", "p"));
    expect(err).toBeInstanceOf(KmsUnavailableError);
    expect(problem(err)).toBe("key-not-active");
    expect(err.message).toMatch(new RegExp(`refuses to decrypt with key object ${v1.uniqueIdentifier} .* because it is Deactivated \\(PermissionDenied\\)`));
    await expect(new KeyRing().addKms(w).unwrap(prot, ctx, "storage", "p")).rejects.toBeInstanceOf(KeysUnavailableError);
  });

  it("a wrong aad is refused as a wrong key (WrongKeyError), not as an unavailable KMS", async () => {
    const name = jobName();
    await createKmsBackupKey(settings(), name, { kmsId: KMS_ID });
    const w = wrapper();
    const resolved = await resolveProtection({ kms: { wrapper: w, kmsKeyId: name } }, 0);
    const target = storageKey();
    const rec = await wrapWithKms(w, resolved.kms!.header, target, ctx);
    const otherContext = Buffer.alloc(32, 8);
    const err = await rejection(unwrapWithKms(w, resolved.kms!.header, rec, otherContext, "storage", "p"));
    expect(err).toBeInstanceOf(WrongKeyError);
    // directly at the wrapper
    const version = await w.latestVersion(name);
    const plaintext = Buffer.from("a storage key stand-in, 32 bytes");
    secrets.push(plaintext.toString("hex"));
    const blob = await w.encrypt(version, plaintext, Buffer.from("aad-1"));
    expect((await w.decrypt(version, blob, Buffer.from("aad-1"))).equals(plaintext)).toBe(true);
    expect(await rejection(w.decrypt(version, blob, Buffer.from("aad-2")))).toBeInstanceOf(WrongKeyError);
    expect(await rejection(w.decrypt(version, blob, Buffer.alloc(0)))).toBeInstanceOf(WrongKeyError);
  });

  it("a tampered blob is refused as a wrong key: ciphertext, IV, tag, version byte, truncation, another key version", async () => {
    const name = jobName();
    const v1 = await createKmsBackupKey(settings(), name, { kmsId: KMS_ID });
    const w = wrapper();
    const plaintext = Buffer.alloc(32, 0x5a);
    const aad = Buffer.from("bound");
    const blob = await w.encrypt(v1, plaintext, aad);
    const flip = (i: number) => {
      const b = Buffer.from(blob);
      b[i] ^= 0x01;
      return b;
    };
    const cases: Record<string, Buffer> = {
      ciphertext: flip(29 + 5),
      iv: flip(3),
      tag: flip(20),
      "version byte": flip(0),
      truncated: blob.subarray(0, 28),
      "tag cut short": blob.subarray(0, blob.length - 1),
      empty: Buffer.alloc(0),
    };
    for (const [what, bad] of Object.entries(cases)) {
      const err = await rejection(w.decrypt(v1, bad, aad));
      expect(err, what).toBeInstanceOf(WrongKeyError);
    }
    // the blob presented with another version of the same name
    const v2 = await w.createVersion(name);
    expect(await rejection(w.decrypt(v2, blob, aad))).toBeInstanceOf(WrongKeyError);
    // intact, it still opens
    expect((await w.decrypt(v1, blob, aad)).equals(plaintext)).toBe(true);
  });

  it("a destroyed version is key-not-found; a key id without #<uid> or from another provider is refused before any I/O", async () => {
    const name = jobName();
    const c = admin();
    const v1 = await createKmsBackupKey(c, name, { kmsId: KMS_ID });
    const w = wrapper();
    const blob = await w.encrypt(v1, Buffer.alloc(32, 1), Buffer.from("x"));
    await c.revoke(v1.uniqueIdentifier);
    await c.destroy(v1.uniqueIdentifier);
    const gone = await rejection(w.decrypt(v1, blob, Buffer.from("x")));
    expect(problem(gone)).toBe("key-not-found");
    expect(gone.message).toMatch(/KMIP Decrypt found no such key object/);

    const bare: KmsKeyVersion = { ...v1, kmsKeyId: name };
    expect((await rejection(w.decrypt(bare, blob, Buffer.from("x")))).message).toMatch(/does not name a KMIP object/);
    const foreign: KmsKeyVersion = { ...v1, kmsId: "other-kms" };
    expect((await rejection(w.encrypt(foreign, Buffer.alloc(32), Buffer.alloc(0)))).message).toMatch(/belongs to key provider other-kms/);
  });

  it("AES-GCM needs KMIP 1.4: a connection pinned to 1.2 is refused with a typed error", async () => {
    const name = jobName();
    const v1 = await createKmsBackupKey(settings(), name, { kmsId: KMS_ID });
    const w12 = wrapper({ protocolVersion: "1.2" });
    const calls = [() => w12.latestVersion(name), () => w12.encrypt(v1, Buffer.alloc(32), Buffer.alloc(1)), () => w12.decrypt(v1, Buffer.alloc(61, 1), Buffer.alloc(1))];
    for (const call of calls) {
      const err = await rejection(call());
      expect(err).toBeInstanceOf(KmsUnavailableError);
      expect(problem(err)).toBe("gcm-needs-kmip-1.4");
      expect(err.message).toBe(`key provider ${KMS_ID} is unavailable: AES-GCM key wrapping needs KMIP 1.4, and the connection settings pin KMIP 1.2`);
    }
  });

  it("RSA (kms-rsa-oaep-sha256): latestVersion returns the newest pair's public key (SPKI); the wrap is local; PyKMIP refuses KMIP Decrypt with RSA, reported as rsa-decrypt-unsupported", async () => {
    const name = jobName();
    const created = await createKmsRsaBackupKey(settings(), name, { kmsId: KMS_ID, length: 2048 });
    const w = wrapper();
    const latest = await w.latestVersion(name);
    expect(latest).toMatchObject({ kmsId: KMS_ID, kmsKeyId: created.kmsKeyId, keyVersion: created.keyVersion, scheme: "kms-rsa-oaep-sha256" });
    expect(latest.publicKey!.equals(created.publicKey!)).toBe(true);
    expect(decodeKmsKeyId(latest.kmsKeyId)?.uniqueIdentifier).toBe(created.uniqueIdentifier); // the private key

    const resolved = await resolveProtection({ kms: { wrapper: w, kmsKeyId: name } }, 0);
    const target = storageKey();
    const [prot] = await protectKey(resolved, target, ctx);
    expect(prot.wrap.wrapId).toBe(WrapId.kmsRsaOaepSha256);
    const err = await rejection(unwrapWithKms(w, resolved.kms!.header, prot.wrap, ctx, "storage", "p"));
    // At KMIP 1.4 PyKMIP cannot even parse the request (Mask Generator fields: InvalidMessage) …
    expect(err).toBeInstanceOf(KmsUnavailableError);
    expect(problem(err)).toBe("rsa-decrypt-unsupported");
    expect(err.message).toMatch(/\(InvalidMessage\): it does not support RSA decryption with these parameters/);
    await expect(new KeyRing().addKms(w).unwrap([prot], ctx, "storage", "p")).rejects.toBeInstanceOf(KeysUnavailableError);
    // … and at KMIP 1.2 (no Mask Generator fields) it parses it and refuses a private key (PermissionDenied).
    const w12 = wrapper({ protocolVersion: "1.2" });
    expect(await w12.latestVersion(name)).toEqual(latest); // RSA needs no GCM: KMIP 1.2 is fine for the lookup
    const err12 = await rejection(unwrapWithKms(w12, resolved.kms!.header, prot.wrap, ctx, "storage", "p"));
    expect(problem(err12)).toBe("rsa-decrypt-unsupported");
    expect(err12.message).toMatch(/\(PermissionDenied\): it does not support RSA decryption/);
    expect((err12 as { cause?: unknown }).cause).toMatchObject({ operation: "Decrypt", resultReason: "PermissionDenied", serverMessage: expect.stringMatching(/not a symmetric key/) });
  });

  it("never puts key material or plaintext into error messages or the server log", async () => {
    expect(messages.length).toBeGreaterThan(10);
    expect(secrets.length).toBeGreaterThan(5);
    const log = srv().log();
    for (const s of secrets) {
      for (const m of messages) expect(m.toLowerCase()).not.toContain(s.slice(0, 16));
      expect(log.toLowerCase()).not.toContain(s.slice(0, 16));
    }
    expect(log).not.toMatch(/DEBUG/);
  });

  // keep last: it stops the server
  it("a stopped server: the engine's guard reports KmsUnavailableError (transport), the key ring keys unavailable", async () => {
    const name = jobName();
    await createKmsBackupKey(settings(), name, { kmsId: KMS_ID });
    const w = wrapper();
    const plan = { kms: { wrapper: w, kmsKeyId: name } };
    const prot = await protectKey(await resolveProtection(plan, 0), storageKey(), ctx);
    const s = srv();
    await s.stop();
    server = undefined;

    const atStart = await rejection(resolveProtection(plan, 0));
    expect(atStart).toBeInstanceOf(KmsUnavailableError);
    expect(problem(atStart)).toBe("transport");
    expect(atStart.message).toMatch(new RegExp(`^key provider ${KMS_ID} is unavailable: looking up KMS key "${name}": (Connection refused by KMS 127\\.0\\.0\\.1:${s.port}|The connection to KMS 127\\.0\\.0\\.1:${s.port} was reset)`));

    const header = prot[0].header as Parameters<typeof unwrapWithKms>[1];
    const atRestore = await rejection(unwrapWithKms(w, header, prot[0].wrap, ctx, "storage", "p"));
    expect(atRestore).toBeInstanceOf(KmsUnavailableError);
    expect(problem(atRestore)).toBe("transport");
    await expect(new KeyRing().addKms(w).unwrap(prot, ctx, "storage", "p")).rejects.toBeInstanceOf(KeysUnavailableError);
    // and a brand-new wrapper (no connection yet)
    const cold = new KmipKmsWrapper(KMS_ID, { host: "127.0.0.1", port: s.port, ca: s.ca, cert: s.clientA.cert, key: s.clientA.key });
    closers.push(cold);
    expect(problem(await rejection(resolveProtection({ kms: { wrapper: cold, kmsKeyId: name } }, 0)))).toBe("transport");
  }, 60_000);
});
