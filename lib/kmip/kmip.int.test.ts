// Interop: KmipClient against a real PyKMIP 0.10 server started on loopback
// with certificates generated for this run (see testing/pykmip-server.ts).
// PyKMIP missing is a failure naming `apt-get install -y python3-pykmip`, not a skip.

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { createDecipheriv, createPrivateKey, createPublicKey } from "node:crypto";
import net from "node:net";
import tls from "node:tls";
import { readFileSync } from "node:fs";
import path from "node:path";
import { KmipClient, type KmipClientOptions } from "./client";
import { CryptographicUsageMask } from "./enums";
import { KmipError, KmipTransportError } from "./errors";
import { assertPykmipInstalled, groupMembers, startPykmipServer, type Identity, type PykmipServer } from "./testing/pykmip-server";

let server: PykmipServer | undefined;
let startError: unknown;
const clients: KmipClient[] = [];

/** The running server; every test fails with the start-up error (e.g. PyKMIP not installed) otherwise. */
function srv(): PykmipServer {
  if (startError) throw startError;
  if (!server) throw new Error("the PyKMIP server is not running");
  return server;
}

function client(who?: Identity, extra: Partial<KmipClientOptions> = {}): KmipClient {
  const s = srv();
  const id = who ?? s.clientA;
  const c = new KmipClient({ host: s.host, port: s.port, ca: s.ca, cert: id.cert, key: id.key, requestTimeoutMs: 10_000, ...extra });
  clients.push(c);
  return c;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

const sessionsIn = (log: string) => (log.match(/Dedicating session/g) ?? []).length;

beforeAll(async () => {
  try {
    server = await startPykmipServer();
  } catch (err) {
    startError = err; // reported as a failure by each test (a missing PyKMIP must fail the suite, not skip it)
  }
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await server?.stop();
});

describe("KmipClient against a real PyKMIP server", () => {
  it("has a PyKMIP server to test against (apt-get install -y python3-pykmip)", () => {
    assertPykmipInstalled();
    expect(srv().port).toBeGreaterThan(0);
  });

  it("DiscoverVersions lists what the server speaks; the client negotiates 1.4", async () => {
    const c = client();
    const all = await c.discoverVersions();
    expect(all).toContainEqual({ major: 1, minor: 4 });
    expect(all).toContainEqual({ major: 1, minor: 2 });
    expect(await c.discoverVersions([{ major: 1, minor: 4 }, { major: 1, minor: 2 }])).toEqual([{ major: 1, minor: 4 }, { major: 1, minor: 2 }]);
    expect(await c.protocolVersion()).toEqual({ major: 1, minor: 4 });
  });

  it("Query names the server and its operations", async () => {
    const q = await client().query();
    expect(q.vendorIdentification).toMatch(/PyKMIP/);
    expect(q.operations).toEqual(expect.arrayContaining(["Create", "Get", "Locate", "Activate", "Revoke", "Destroy", "Encrypt", "Decrypt", "CreateKeyPair", "Register"]));
  });

  it("full lifecycle at KMIP 1.4: Create AES-256 → Get → Locate → GetAttributes → Activate → GCM round trip → Revoke → Destroy → Get is ItemNotFound", async () => {
    const c = client(undefined, { protocolVersion: "1.4" });
    const name = `int-aes-${Date.now()}`;
    const id = await c.create({ length: 256, name, usageMask: CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt });

    const key = await c.get(id);
    expect(key).toMatchObject({ objectType: "SymmetricKey", uniqueIdentifier: id, keyFormatType: "Raw", cryptographicAlgorithm: "AES", cryptographicLength: 256 });
    expect(key.keyMaterial).toHaveLength(32);

    expect(await c.locate({ name })).toEqual([id]);
    expect(await c.locate({ name: `${name}-nope` })).toEqual([]);

    const before = await c.getAttributes(id);
    expect(before).toMatchObject({ uniqueIdentifier: id, names: [name], objectType: "SymmetricKey", cryptographicAlgorithm: "AES", cryptographicLength: 256, cryptographicUsageMask: 12, state: "PreActive" });
    expect(before.initialDate).toBeInstanceOf(Date);

    await c.activate(id);
    expect((await c.getAttributes(id, ["State"])).state).toBe("Active");

    const plaintext = Buffer.from("Strongroom backs up encrypted VMs");
    const aad = Buffer.from("vm-42/disk-0");
    const enc = await c.encrypt(id, plaintext, { mode: "GCM", aad });
    expect(enc.iv).toHaveLength(12);
    expect(enc.tag).toHaveLength(16);
    expect(enc.data.equals(plaintext)).toBe(false);
    expect((await c.decrypt(id, enc.data, { mode: "GCM", iv: enc.iv, tag: enc.tag, aad })).equals(plaintext)).toBe(true);
    // the KMS really used AES-256-GCM with the key Get returned
    const local = createDecipheriv("aes-256-gcm", key.keyMaterial!, enc.iv!).setAAD(aad).setAuthTag(enc.tag!);
    expect(Buffer.concat([local.update(enc.data), local.final()]).equals(plaintext)).toBe(true);
    // a wrong tag is the KMS's CryptographicFailure-style refusal, typed
    const bad = await rejection(c.decrypt(id, enc.data, { mode: "GCM", iv: enc.iv, tag: Buffer.alloc(16), aad }));
    expect(bad).toBeInstanceOf(KmipError);

    const activeDestroy = await rejection(c.destroy(id));
    expect(activeDestroy).toBeInstanceOf(KmipError); // PyKMIP refuses to destroy an Active key
    expect((activeDestroy as KmipError).resultReason).toBe("PermissionDenied");

    await c.revoke(id, { reason: "CessationOfOperation" });
    expect((await c.getAttributes(id, ["State"])).state).toBe("Deactivated");
    await c.destroy(id);

    const gone = await rejection(c.get(id));
    expect(gone).toBeInstanceOf(KmipError);
    expect(gone).toMatchObject({ resultStatus: "OperationFailed", resultReason: "ItemNotFound", operation: "Get" });
    expect(gone.message).toBe(`KMIP Get failed: OperationFailed / ItemNotFound — Could not locate object: ${id}`);
  });

  it("lifecycle at KMIP 1.2: AES-128 with CBC (server-generated IV)", async () => {
    const c = client(undefined, { protocolVersion: "1.2" });
    const id = await c.create({ length: 128, name: `int-cbc-${Date.now()}` });
    await c.activate(id);
    const data = Buffer.from("exactly sixteen!and some more");
    const enc = await c.encrypt(id, data, { mode: "CBC" });
    expect(enc.iv).toHaveLength(16);
    expect(enc.data.length % 16).toBe(0);
    expect((await c.decrypt(id, enc.data, { mode: "CBC", iv: enc.iv })).equals(data)).toBe(true);
    const key = (await c.get(id)).keyMaterial!;
    const local = createDecipheriv("aes-128-cbc", key, enc.iv!);
    expect(Buffer.concat([local.update(enc.data), local.final()]).equals(data)).toBe(true);
    await c.revoke(id);
    await c.destroy(id);
  });

  it("Register imports a key; Get returns the same bytes, and wrapped with a KEK (RFC 3394)", async () => {
    const c = client();
    const material = Buffer.from("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "hex");
    const id = await c.register({ key: material, name: `int-reg-${Date.now()}` });
    expect((await c.get(id)).keyMaterial?.equals(material)).toBe(true);

    const kek = await c.create({ length: 256, usageMask: CryptographicUsageMask.WrapKey | CryptographicUsageMask.UnwrapKey });
    await c.activate(kek);
    const wrapped = await c.get(id, { wrapWith: { wrappingKeyId: kek } });
    expect(wrapped.wrapping).toEqual({ method: "Encrypt", wrappingKeyId: kek, blockCipherMode: "NISTKeyWrap" });
    expect(wrapped.keyMaterial).toHaveLength(40);
    const kekBytes = (await c.get(kek)).keyMaterial!;
    const unwrap = createDecipheriv("id-aes256-wrap", kekBytes, Buffer.from("a6a6a6a6a6a6a6a6", "hex"));
    expect(Buffer.concat([unwrap.update(wrapped.keyMaterial!), unwrap.final()]).equals(material)).toBe(true);
  });

  it("CreateKeyPair RSA-2048 gives a usable private (PKCS#8) and public (PKCS#1) key", async () => {
    const c = client();
    const tag = Date.now();
    const pair = await c.createKeyPair({ length: 2048, privateKeyName: `int-rsa-${tag}`, publicKeyName: `int-rsa-${tag}.pub` });
    expect(pair.privateKeyId).not.toBe(pair.publicKeyId);
    const priv = await c.get(pair.privateKeyId);
    const pub = await c.get(pair.publicKeyId);
    expect(priv).toMatchObject({ objectType: "PrivateKey", cryptographicAlgorithm: "RSA", cryptographicLength: 2048 });
    expect(pub).toMatchObject({ objectType: "PublicKey", cryptographicAlgorithm: "RSA", cryptographicLength: 2048 });
    const format = (f?: string) => (f === "PKCS8" ? "pkcs8" : "pkcs1");
    const privKey = createPrivateKey({ key: priv.keyMaterial!, format: "der", type: format(priv.keyFormatType) as "pkcs8" });
    const pubKey = createPublicKey({ key: pub.keyMaterial!, format: "der", type: "pkcs1" });
    expect(privKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(createPublicKey(privKey).export({ format: "der", type: "pkcs1" }).equals(pubKey.export({ format: "der", type: "pkcs1" }))).toBe(true);
    expect(await c.locate({ name: `int-rsa-${tag}` })).toEqual([pair.privateKeyId]);
  });

  it("a client with another certificate CN gets PermissionDenied", async () => {
    const owner = client();
    const id = await owner.create({ length: 256, name: `int-owned-${Date.now()}` });
    const other = client(srv().clientB);
    const err = await rejection(other.get(id));
    expect(err).toBeInstanceOf(KmipError);
    expect((err as KmipError).resultReason).toBe("PermissionDenied");
    expect((await owner.get(id)).keyMaterial).toHaveLength(32);
  });

  it("reuses one TLS connection for many operations; measures Get round trips", async () => {
    const s = srv();
    const sessionsBefore = sessionsIn(s.log());
    const c = client(undefined, { protocolVersion: "1.4" });
    const id = await c.create({ length: 256 });
    const n = 40;
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await c.get(id);
      times.push(performance.now() - t0);
    }
    await Promise.all([c.getAttributes(id), c.locate({ name: "none" }), c.get(id), c.activate(id)]);
    expect(c.stats).toEqual({ connects: 1, requests: n + 5, retries: 0 });
    await new Promise((r) => setTimeout(r, 200)); // let the server flush its log
    expect(sessionsIn(s.log()) - sessionsBefore).toBe(1);
    times.sort((a, b) => a - b);
    const median = times[Math.floor(n / 2)];
    console.log(`[kmip] Get over a reused connection: median ${median.toFixed(2)} ms, p90 ${times[Math.floor(n * 0.9)].toFixed(2)} ms (n=${n})`);
    expect(median).toBeLessThan(200);
  });

  it("never lets key material reach the server log (INFO)", async () => {
    const c = client();
    const material = Buffer.from("f00dfacef00dfacef00dfacef00dfacef00dfacef00dfacef00dfacef00dface", "hex");
    const id = await c.register({ key: material });
    await c.get(id);
    expect(srv().log()).not.toMatch(/f00dface/i);
    expect(srv().log()).not.toMatch(/DEBUG/);
  });

  it("times out against a TCP server that accepts and never answers", async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((sock) => sockets.push(sock));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const c = client(undefined, { port, connectTimeoutMs: 400 });
      const t0 = Date.now();
      const err = await rejection(c.get("1"));
      const elapsed = Date.now() - t0;
      expect(err).toBeInstanceOf(KmipTransportError);
      expect(err).toMatchObject({ code: "timeout", details: { phase: "connect" } });
      expect(err.message).toBe(`No TLS handshake with KMS 127.0.0.1:${port} within 400 ms`);
      expect(elapsed).toBeGreaterThanOrEqual(390);
      expect(elapsed).toBeLessThan(2000);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise((r) => silent.close(r));
    }
  });

  it("times out against a TLS server that completes the handshake and never answers", async () => {
    const s = srv();
    const silent = tls.createServer({
      key: readFileSync(path.join(s.dir, "server.key")),
      cert: readFileSync(path.join(s.dir, "server.crt")),
      ca: s.ca,
      requestCert: true,
      rejectUnauthorized: true,
    });
    const sockets: tls.TLSSocket[] = [];
    silent.on("secureConnection", (sock) => sockets.push(sock));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const c = client(undefined, { port, requestTimeoutMs: 500, protocolVersion: "1.4" });
      const t0 = Date.now();
      const err = await rejection(c.get("1"));
      const elapsed = Date.now() - t0;
      expect(err).toMatchObject({ code: "timeout", details: { phase: "response" } });
      expect(elapsed).toBeGreaterThanOrEqual(490);
      expect(elapsed).toBeLessThan(2500);
    } finally {
      sockets.forEach((x) => x.destroy());
      await new Promise((r) => silent.close(r));
    }
  });

  it("a wrong CA is a certificate verification error", async () => {
    const err = await rejection(client(undefined, { ca: srv().otherCa }).query());
    expect(err).toBeInstanceOf(KmipTransportError);
    expect((err as KmipTransportError).code).toBe("certificate");
    expect(err.message).toMatch(/^TLS certificate verification failed for KMS 127\.0\.0\.1:\d+: /);
  });

  it("a client certificate from an unknown CA is refused by the server, as a TLS error", async () => {
    const err = await rejection(client(srv().stranger).query());
    expect(err).toBeInstanceOf(KmipTransportError);
    expect(["tls", "connection-reset"]).toContain((err as KmipTransportError).code);
    expect(err.message).toMatch(/client certificate/);
  });

  it("a key file that is not a key is a config error", async () => {
    const err = await rejection(client(undefined, { key: Buffer.from("not a key") }).query());
    expect(err).toMatchObject({ code: "config" });
    expect(err.message).toMatch(/^Could not load the TLS CA, client certificate or key/);
  });

  // keep last: it stops the server
  it("a stopped server is 'connection refused'; a live client reports it on its next request", async () => {
    const c = client(undefined, { protocolVersion: "1.4" });
    await c.query();
    const s = srv();
    expect(groupMembers(s.pid).length).toBeGreaterThanOrEqual(3); // pykmip-server and the two children it forks
    await s.stop();
    server = undefined;
    expect(groupMembers(s.pid)).toEqual([]); // the whole process group is gone
    const first = await rejection(c.query());
    expect(first).toBeInstanceOf(KmipTransportError);
    expect(["connection-reset", "connection-refused"]).toContain((first as KmipTransportError).code);
    const err = await rejection(c.query());
    expect(err).toMatchObject({ code: "connection-refused" });
    expect(err.message).toBe(`Connection refused by KMS 127.0.0.1:${s.port}: is the KMIP server running and listening on this port?`);
    const fresh = new KmipClient({ host: "127.0.0.1", port: s.port, ca: s.ca, cert: s.clientA.cert, key: s.clientA.key });
    expect(await rejection(fresh.query())).toMatchObject({ code: "connection-refused" });
  }, 60_000);
});
