// The lab host's NBD server against a hand-driven client that sends what a polite client would
// not: garbage, unknown flags and options, writes, oversized reads, floods. The server must answer
// each as the NBD specification says, or hang up — and keep serving everyone else.

import { afterEach, describe, expect, it } from "vitest";
import { HostError, type DiskReader } from "../data-plane/types";
import * as C from "./nbd-constants";
import { NbdClient } from "./nbd-client";
import {
  decodeInfo, encodeClientFlags, encodeGoData, encodeOption, encodeRequest, type ServerMessage,
} from "./nbd-protocol";
import { NbdServer, type NbdServerOptions } from "./nbd-server";
import { MemoryDisk, patternBytes } from "./testing/memory-disk";
import { RawNbdConnection } from "./testing/wire";

const data = patternBytes(1024 * 1024, 9);
const servers: NbdServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(options: NbdServerOptions = {}, reader: DiskReader = new MemoryDisk(data)): Promise<NbdServer> {
  const server = await NbdServer.listen({ handshakeTimeoutMs: 2000, ...options });
  server.addExport("disk", { reader, decision: { allowed: true } });
  servers.push(server);
  return server;
}

/** Connects, checks the greeting and sends client flags; ready for options. */
async function negotiating(port: number, flags = C.NBD_FLAG_C_FIXED_NEWSTYLE | C.NBD_FLAG_C_NO_ZEROES): Promise<RawNbdConnection> {
  const c = await RawNbdConnection.connect(port);
  const greeting = await c.next("greeting");
  expect(greeting).toEqual({ kind: "greeting", handshakeFlags: C.NBD_FLAG_FIXED_NEWSTYLE | C.NBD_FLAG_NO_ZEROES });
  c.send(encodeClientFlags(flags));
  c.decoder.noZeroes = (flags & C.NBD_FLAG_C_NO_ZEROES) !== 0;
  return c;
}

async function option(c: RawNbdConnection, opt: number, data?: Buffer): Promise<Extract<ServerMessage, { kind: "option-reply" }>> {
  c.send(encodeOption(opt, data));
  const m = await c.next("options");
  if (m.kind !== "option-reply") throw new Error(m.kind);
  expect(m.option).toBe(opt);
  return m;
}

async function transmitting(port: number): Promise<RawNbdConnection> {
  const c = await negotiating(port);
  expect((await option(c, C.NBD_OPT_GO, encodeGoData("disk"))).type).toBe(C.NBD_REP_INFO);
  expect((await c.next("options")).kind === "option-reply").toBe(true); // ACK
  return c;
}

const read = (cookie: bigint, offset: bigint, length: number, type = C.NBD_CMD_READ) => encodeRequest({ flags: 0, type, cookie, offset, length });

async function stillServes(server: NbdServer): Promise<void> {
  const client = await NbdClient.connect({ host: "127.0.0.1", port: server.port, exportName: "disk" });
  expect((await client.read(0, 512)).equals(data.subarray(0, 512))).toBe(true);
  await client.close();
}

describe("NBD server: negotiation", () => {
  it("hangs up on unknown client flags, on a client without fixed newstyle, and on a bad option magic", async () => {
    const server = await serve();
    for (const flags of [0x80, 0]) {
      const c = await negotiating(server.port, flags);
      await c.closed;
    }
    const c = await negotiating(server.port);
    c.send(Buffer.from("GET / HTTP/1.1\r\nHost: esx01\r\n\r\n"));
    await c.closed;
    await stillServes(server);
  });

  it("answers options as the specification says", async () => {
    const server = await serve();
    const c = await negotiating(server.port);
    expect((await option(c, 42)).type).toBe(C.NBD_REP_ERR_UNSUP);
    expect((await option(c, C.NBD_OPT_LIST)).type).toBe(C.NBD_REP_ERR_POLICY);
    expect((await option(c, C.NBD_OPT_STARTTLS)).type).toBe(C.NBD_REP_ERR_POLICY); // NOTLS host
    expect((await option(c, C.NBD_OPT_GO, Buffer.from([0, 0, 0, 9, 1]))).type).toBe(C.NBD_REP_ERR_INVALID);
    const unknown = await option(c, C.NBD_OPT_GO, encodeGoData("nope"));
    expect(unknown.type).toBe(C.NBD_REP_ERR_UNKNOWN);
    expect(unknown.data.toString()).toContain('"nope"');
    // NBD_OPT_INFO describes without entering transmission, with block sizes when asked.
    const infos: ReturnType<typeof decodeInfo>[] = [];
    let r = await option(c, C.NBD_OPT_INFO, encodeGoData("disk", [C.NBD_INFO_BLOCK_SIZE]));
    while (r.type === C.NBD_REP_INFO) {
      infos.push(decodeInfo(r.data));
      r = (await c.next("options")) as typeof r;
    }
    expect(r.type).toBe(C.NBD_REP_ACK);
    expect(infos).toEqual([
      { type: "export", size: BigInt(data.length), transmissionFlags: C.NBD_FLAG_HAS_FLAGS | C.NBD_FLAG_READ_ONLY | C.NBD_FLAG_CAN_MULTI_CONN },
      { type: "block-size", minimum: 512, preferred: 1024 * 1024, maximum: 32 * 1024 * 1024 },
    ]);
    expect((await option(c, C.NBD_OPT_ABORT)).type).toBe(C.NBD_REP_ACK);
    await c.closed;
  });

  it("NBD_OPT_EXPORT_NAME: 10-byte or 134-byte answer for a known export, hang-up for an unknown one", async () => {
    const server = await serve();
    for (const flags of [1, 3]) {
      const c = await negotiating(server.port, flags);
      c.send(encodeOption(C.NBD_OPT_EXPORT_NAME, Buffer.from("disk")));
      expect(await c.next("export-name")).toEqual({ kind: "export-name-reply", size: BigInt(data.length), transmissionFlags: 0x103 });
      expect(c.decoder.buffered).toBe(0);
    }
    const c = await negotiating(server.port);
    c.send(encodeOption(C.NBD_OPT_EXPORT_NAME, Buffer.from("nope")));
    await c.closed;
  });

  it("FORCEDTLS: everything but STARTTLS and ABORT is refused with NBD_REP_ERR_TLS_REQD, EXPORT_NAME hangs up", async () => {
    const { generateTestCertificates } = await import("./testing/test-certs");
    const certs = generateTestCertificates();
    try {
      const server = await serve({ tls: { cert: certs.hostCert, key: certs.hostKey, mode: "required" } });
      const c = await negotiating(server.port);
      for (const opt of [C.NBD_OPT_GO, C.NBD_OPT_INFO, C.NBD_OPT_LIST, 42]) {
        expect((await option(c, opt, opt === C.NBD_OPT_GO || opt === C.NBD_OPT_INFO ? encodeGoData("disk") : undefined)).type).toBe(C.NBD_REP_ERR_TLS_REQD);
      }
      c.send(encodeOption(C.NBD_OPT_EXPORT_NAME, Buffer.from("disk")));
      await c.closed;
      // Cleartext pipelined behind STARTTLS would be smuggled into the session: hang up.
      const d = await negotiating(server.port);
      d.send(Buffer.concat([encodeOption(C.NBD_OPT_STARTTLS), encodeOption(C.NBD_OPT_GO, encodeGoData("disk"))]));
      await d.closed;
    } finally {
      certs.cleanup();
    }
  });

  it("drops a client that never finishes negotiating", async () => {
    const server = await serve({ handshakeTimeoutMs: 150 });
    const c = await RawNbdConnection.connect(server.port);
    const started = Date.now();
    await c.closed;
    expect(Date.now() - started).toBeLessThan(1000);
    for (let i = 0; i < 20 && server.connectionCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(server.connectionCount).toBe(0);
  });
});

describe("NBD server: transmission", () => {
  it("refuses writes and unknown commands, bounds reads, serves zero-length reads", async () => {
    const server = await serve({ maxRequestBytes: 64 * 1024 });
    const c = await transmitting(server.port);
    const reply = async () => (await c.next("transmission")) as Extract<ServerMessage, { kind: "reply" }>;
    c.send(Buffer.concat([read(1n, 0n, 4, C.NBD_CMD_WRITE), Buffer.from("evil")]));
    expect(await reply()).toEqual({ kind: "reply", error: C.NBD_EPERM, cookie: 1n });
    c.send(read(2n, 0n, 512, C.NBD_CMD_TRIM));
    expect((await reply()).error).toBe(C.NBD_EPERM);
    c.send(read(3n, 0n, 0, C.NBD_CMD_FLUSH));
    expect((await reply()).error).toBe(C.NBD_EINVAL);
    c.send(read(4n, 0n, 64 * 1024 + 512));
    expect((await reply()).error).toBe(C.NBD_EOVERFLOW);
    c.send(read(5n, 0xffffffffffffffffn, 512));
    expect((await reply()).error).toBe(C.NBD_EINVAL);
    c.decoder.readTarget = (cookie) => (cookie === 6n ? Buffer.alloc(0) : cookie === 7n ? Buffer.alloc(3) : undefined);
    c.send(read(6n, 100n, 0));
    expect(await reply()).toMatchObject({ error: 0, cookie: 6n });
    c.send(read(7n, 511n, 3)); // unaligned: the host widens to sectors and cuts
    expect((await reply()).data).toEqual(data.subarray(511, 514));
    c.send(Buffer.alloc(28, 0xee)); // bad request magic: hang up
    await c.closed;
  });

  it("answers reader failures with EINVAL or EIO instead of data", async () => {
    const fail = async (offset: number) => {
      if (offset === 0) throw new HostError("InvalidArgument", "nope");
      if (offset === 512) throw new Error("disk file vanished");
      throw new HostError("KeyProviderUnavailable", "the host lost its KMS");
    };
    const failing: DiskReader = { capacityBytes: 4096, read: (o) => fail(o), readInto: (o) => fail(o), close: async () => undefined };
    const server = await serve({}, failing);
    const c = await transmitting(server.port);
    c.send(Buffer.concat([read(1n, 0n, 512), read(2n, 512n, 512), read(3n, 1024n, 512)]));
    const errors = new Map<bigint, number>();
    for (let i = 0; i < 3; i++) {
      const m = (await c.next("transmission")) as Extract<ServerMessage, { kind: "reply" }>;
      errors.set(m.cookie, m.error);
    }
    expect(Object.fromEntries([...errors].map(([k, v]) => [String(k), v]))).toEqual({ 1: C.NBD_EINVAL, 2: C.NBD_EIO, 3: C.NBD_EIO });
  });

  it("serves a flood of pipelined requests with bounded concurrency, replying to every one", async () => {
    let now = 0;
    let peak = 0;
    const inner = new MemoryDisk(data);
    const slow: DiskReader = {
      capacityBytes: data.length,
      read: async (o, l) => {
        peak = Math.max(peak, ++now);
        await new Promise((r) => setTimeout(r, 2));
        now--;
        return inner.read(o, l);
      },
      readInto: async (o, t) => void (await slow.read(o, t.length)).copy(t),
      close: async () => undefined,
    };
    const server = await serve({ maxInFlightPerConnection: 4 }, slow);
    const c = await transmitting(server.port);
    c.decoder.readTarget = () => Buffer.alloc(4096);
    c.send(Buffer.concat(Array.from({ length: 200 }, (_, i) => read(BigInt(i), BigInt((i % 256) * 4096), 4096))));
    const cookies = new Set<bigint>();
    for (let i = 0; i < 200; i++) {
      const m = (await c.next("transmission")) as Extract<ServerMessage, { kind: "reply" }>;
      const offset = Number(m.cookie % 256n) * 4096;
      expect(m.data!.equals(data.subarray(offset, offset + 4096))).toBe(true);
      cookies.add(m.cookie);
    }
    expect(cookies.size).toBe(200);
    expect(peak).toBe(4);
    c.send(read(999n, 0n, 0, C.NBD_CMD_DISC));
    await c.closed;
  });
});
