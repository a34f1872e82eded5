// KmipClient + KmipConnection against an in-memory fake KMS (no sockets):
// negotiation, queueing, timeouts, reconnects, typed errors.

import { describe, it, expect } from "vitest";
import { KmipClient } from "./client";
import { Operation } from "./enums";
import { KmipCodecError, KmipError, KmipTransportError, KmipUsageError, transportErrorFrom } from "./errors";
import { needText } from "./items";
import { buildResponse } from "./messages";
import { Tag } from "./tags";
import { FakeKms, ok, type FakeHandler } from "./testing/fake-kms";
import { vector } from "./testing/vectors";

function client(kms: FakeKms, extra: Partial<ConstructorParameters<typeof KmipClient>[0]> = {}) {
  return new KmipClient({ host: "fake", port: 1, ca: "", cert: "", key: "", connector: kms.connector, requestTimeoutMs: 2000, ...extra });
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

/** Serve the captured 1.4 vectors for Get (by uid) after negotiation. */
const vectorHandler: FakeHandler = (req) => {
  const { operation, payload } = req.batchItems[0];
  if (operation !== Operation.Get) return undefined;
  const uid = needText(payload, Tag.UniqueIdentifier);
  return { reply: vector(uid === "97" ? "kmip14-get.response" : "kmip14-get_error_not_found.response"), chunkSize: 1 };
};

describe("KmipClient over a fake KMS", () => {
  it("negotiates KMIP 1.4 with DiscoverVersions, then uses it on one connection", async () => {
    const kms = new FakeKms(vectorHandler);
    const c = client(kms);
    const key = await c.get("97");
    expect(key.keyMaterial?.toString("hex")).toBe("8e9b983981d5800e0ddd9af086a6905bd0488943afa20ee02d39923fc32bdf9a");
    expect(kms.requests.map((r) => r.batchItems[0].operation)).toEqual([Operation.DiscoverVersions, Operation.Get]);
    expect(kms.requests[0].version).toEqual({ major: 1, minor: 2 });
    expect(kms.requests[1].version).toEqual({ major: 1, minor: 4 });
    expect(await c.protocolVersion()).toEqual({ major: 1, minor: 4 });
    expect(c.stats).toEqual({ connects: 1, requests: 2, retries: 0 });
    await c.close();
  });

  it("falls back to 1.2 when the KMS offers only 1.2, and refuses a KMS with neither", async () => {
    const c12 = client(new FakeKms(() => undefined, [{ major: 1, minor: 2 }]));
    expect(await c12.protocolVersion()).toEqual({ major: 1, minor: 2 });
    const c10 = client(new FakeKms(() => undefined, [{ major: 1, minor: 0 }]));
    expect(await rejection(c10.protocolVersion())).toBeInstanceOf(KmipUsageError);
  });

  it("sends no DiscoverVersions when the version is fixed", async () => {
    const kms = new FakeKms(() => undefined);
    const c = client(kms, { protocolVersion: "1.2" });
    await c.activate("5");
    expect(kms.requests).toHaveLength(1);
    expect(kms.requests[0].version).toEqual({ major: 1, minor: 2 });
  });

  it("turns an error response into a typed KmipError (ItemNotFound)", async () => {
    const c = client(new FakeKms(vectorHandler));
    const err = await rejection(c.get("96"));
    expect(err).toBeInstanceOf(KmipError);
    expect((err as KmipError).resultReason).toBe("ItemNotFound");
    expect((err as KmipError).operation).toBe("Get");
  });

  it("serializes concurrent requests on one connection, answering each in order", async () => {
    const kms = new FakeKms((req, { index }) => (index === 0 ? undefined : { reply: ok(req, [{ tag: Tag.UniqueIdentifier, type: "TextString", value: needText(req.batchItems[0].payload, Tag.UniqueIdentifier) }]), delayMs: 5 }));
    const c = client(kms);
    const ids = ["a", "b", "c", "d", "e", "f"];
    await Promise.all(ids.map((id) => c.activate(id)));
    expect(kms.maxInFlight).toBe(1);
    expect(kms.requests.slice(1).map((r) => needText(r.batchItems[0].payload, Tag.UniqueIdentifier))).toEqual(ids);
    expect(c.stats.connects).toBe(1);
  });

  it("times out a silent KMS with KmipTransportError 'timeout', then reconnects", async () => {
    const kms = new FakeKms((_req, { index }) => (index === 1 ? { silent: true } : undefined));
    const c = client(kms, { requestTimeoutMs: 150 });
    const t0 = Date.now();
    const err = await rejection(c.activate("1"));
    const elapsed = Date.now() - t0;
    expect(err).toBeInstanceOf(KmipTransportError);
    expect((err as KmipTransportError).code).toBe("timeout");
    expect((err as KmipTransportError).details.phase).toBe("response");
    expect(err.message).toBe("KMS fake:1 did not answer within 150 ms");
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1000);
    await c.activate("2"); // a new connection; the late answer cannot be mistaken for this one
    expect(c.stats.connects).toBe(2);
  });

  it("reports a dropped connection and does not resend a non-idempotent request", async () => {
    const kms = new FakeKms((_req, { index }) => (index === 1 ? { drop: true } : undefined));
    const c = client(kms);
    const err = await rejection(c.create({ length: 256, name: "x" }));
    expect(err).toBeInstanceOf(KmipTransportError);
    expect((err as KmipTransportError).code).toBe("connection-reset");
    expect(kms.requests.filter((r) => r.batchItems[0].operation === Operation.Create)).toHaveLength(1);
    expect(await c.create({ length: 256, name: "y" })).toMatch(/^\d+$/);
    expect(c.stats.connects).toBe(2);
  });

  it("resends an idempotent request once when a reused connection turns out to be dead", async () => {
    const kms = new FakeKms((_req, { index }) => (index === 2 ? { drop: true } : undefined));
    const c = client(kms);
    await c.activate("1"); // discover + activate on connection 1
    await c.locate({ name: "n" }); // dropped on the reused connection, resent on a fresh one
    expect(c.stats).toMatchObject({ connects: 2, retries: 1 });
  });

  it("notices a KMS that hung up while idle and reconnects before sending", async () => {
    const kms = new FakeKms(() => undefined);
    const c = client(kms);
    await c.activate("1");
    kms.hangUp();
    await new Promise((r) => setTimeout(r, 10));
    await c.destroy("1");
    expect(c.stats).toMatchObject({ connects: 2, retries: 0 });
  });

  it("rejects garbage and oversized answers with KmipCodecError and drops the connection", async () => {
    const kms = new FakeKms((_req, { index }) =>
      index === 1 ? { reply: Buffer.from("42007b01fffffff8", "hex") } : index === 2 ? { reply: Buffer.from("42007b0200000004000000000000000", "hex") } : undefined,
    );
    const c = client(kms);
    const e1 = await rejection(c.activate("1"));
    expect(e1).toBeInstanceOf(KmipCodecError);
    expect((e1 as KmipCodecError).code).toBe("too-large");
    const e2 = await rejection(c.activate("1"));
    expect(e2).toBeInstanceOf(KmipCodecError);
    expect((e2 as KmipCodecError).code).toBe("bad-type");
    await c.activate("1");
    expect(c.stats.connects).toBe(3);
  });

  it("rejects an answer for another operation", async () => {
    const kms = new FakeKms((req, { index }) => (index === 1 ? { reply: buildResponse({ version: req.version, operation: Operation.Destroy, payload: [] }) } : undefined));
    const err = await rejection(client(kms).activate("1"));
    expect((err as KmipCodecError).code).toBe("bad-message");
    expect(err.message).toMatch(/asked for Activate, the KMS answered Destroy/);
  });

  it("refuses AES-GCM over KMIP 1.2 before sending anything", async () => {
    const kms = new FakeKms(() => undefined);
    const c = client(kms, { protocolVersion: "1.2" });
    const err = await rejection(c.encrypt("1", Buffer.from("data"), { mode: "GCM" }));
    expect(err).toBeInstanceOf(KmipUsageError);
    expect(kms.requests).toHaveLength(0);
  });

  it("close() lets queued requests finish, then refuses new ones", async () => {
    const kms = new FakeKms((req) => ({ reply: ok(req, [{ tag: Tag.UniqueIdentifier, type: "TextString", value: "1" }]), delayMs: 20 }));
    const c = client(kms, { protocolVersion: "1.4" });
    const pending = c.activate("1");
    await c.close();
    await pending;
    const err = await rejection(c.activate("1"));
    expect((err as KmipTransportError).code).toBe("closed");
  });
});

describe("transport error messages", () => {
  const mk = (code: string, message = "boom") => Object.assign(new Error(message), { code });
  it("names the cause, the endpoint, and never more", () => {
    expect(transportErrorFrom(mk("ECONNREFUSED"), "127.0.0.1:5696", "connect").message).toBe(
      "Connection refused by KMS 127.0.0.1:5696: is the KMIP server running and listening on this port?",
    );
    const cert = transportErrorFrom(mk("UNABLE_TO_VERIFY_LEAF_SIGNATURE", "unable to verify the first certificate"), "kms:5696", "connect");
    expect(cert.code).toBe("certificate");
    expect(cert.message).toMatch(/^TLS certificate verification failed for KMS kms:5696: unable to verify the first certificate/);
    const alert = transportErrorFrom(mk("ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE"), "kms:5696", "connect");
    expect(alert.code).toBe("tls");
    expect(alert.message).toMatch(/alert "bad certificate": it probably rejected the client certificate/);
    expect(transportErrorFrom(mk("ENOTFOUND"), "nowhere:5696", "connect").code).toBe("unreachable");
    expect(transportErrorFrom(mk("ECONNRESET"), "kms:5696", "response").code).toBe("connection-reset");
  });
});
