// NBD and NBDSSL end to end over real loopback sockets: the lab's server and client, a TLS
// certificate made by openssl, and the failures a backup proxy meets (unknown export, wrong CA,
// TLS refused, host down, host silent).

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { HostError, SECTOR_SIZE, type DiskReader } from "../data-plane/types";
import { mulberry32 } from "../random";
import { TransportError } from "./errors";
import * as C from "./nbd-constants";
import { NbdClient, type NbdClientOptions } from "./nbd-client";
import { encodeOptionReply, encodeExportNameReply } from "./nbd-protocol";
import { NbdServer, type NbdServerOptions } from "./nbd-server";
import { MemoryDisk, patternBytes } from "./testing/memory-disk";
import { generateTestCertificates, type TestCertificates } from "./testing/test-certs";
import { acceptGo, recordingRelay, scriptedNbdServer, type ScriptedServer } from "./testing/wire";

const CAPACITY = 8 * 1024 * 1024;
const data = patternBytes(CAPACITY, 42);
let certs: TestCertificates;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(() => {
  certs = generateTestCertificates();
});
afterAll(() => certs.cleanup());
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(options: NbdServerOptions = {}, exportOptions: { tlsOnly?: boolean } = {}): Promise<NbdServer> {
  const server = await NbdServer.listen(options);
  server.addExport("disk", { reader: new MemoryDisk(data), decision: { allowed: true }, ...exportOptions });
  cleanups.push(() => server.close());
  return server;
}

async function connect(port: number, o: Partial<NbdClientOptions> = {}): Promise<NbdClient> {
  const client = await NbdClient.connect({ host: "127.0.0.1", port, exportName: "disk", ...o });
  cleanups.push(() => client.close());
  return client;
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a failure");
}

/** Random reads, aligned or not, some spanning many requests, all issued at once. */
async function expectSameBytes(reader: DiskReader, seed: number, aligned = true): Promise<void> {
  const rnd = mulberry32(seed);
  const unit = aligned ? SECTOR_SIZE : 1;
  const reads = Array.from({ length: 120 }, () => {
    const length = unit * (1 + Math.floor(rnd() * ((rnd() < 0.2 ? 3 * 1024 * 1024 : 64 * 1024) / unit)));
    const offset = unit * Math.floor(rnd() * ((CAPACITY - length) / unit));
    return { offset, length };
  });
  reads.push({ offset: 0, length: CAPACITY }, { offset: CAPACITY - SECTOR_SIZE, length: SECTOR_SIZE });
  const results = await Promise.all(reads.map((r) => reader.read(r.offset, r.length)));
  reads.forEach((r, i) => expect(results[i].equals(data.subarray(r.offset, r.offset + r.length)), `read ${r.offset}+${r.length}`).toBe(true));
}

describe("NBD over loopback", () => {
  it("reads the same bytes as the DiskReader, pipelined, for random offsets and lengths", async () => {
    const server = await serve();
    const client = await connect(server.port, { maxRequestBytes: 256 * 1024 });
    expect(client.capacityBytes).toBe(CAPACITY);
    expect(client.tls).toBe(false);
    expect(client.transmissionFlags & C.NBD_FLAG_READ_ONLY).toBeTruthy();
    await expectSameBytes(client, 1);
    await expectSameBytes(client, 2, false); // the host aligns to sectors itself
  });

  it("keeps several requests in flight on one connection", async () => {
    let now = 0;
    let peak = 0;
    const inner = new MemoryDisk(data);
    const slow: DiskReader = {
      capacityBytes: CAPACITY,
      read: async (o, l) => {
        peak = Math.max(peak, ++now);
        await new Promise((r) => setTimeout(r, 5));
        now--;
        return inner.read(o, l);
      },
      readInto: async (o, t) => void (await slow.read(o, t.length)).copy(t),
      close: async () => undefined,
    };
    const server = await NbdServer.listen();
    cleanups.push(() => server.close());
    server.addExport("disk", { reader: slow, decision: { allowed: true } });
    const client = await connect(server.port, { maxInFlight: 6, maxRequestBytes: 64 * 1024 });
    expect((await client.read(0, 1024 * 1024)).equals(data.subarray(0, 1024 * 1024))).toBe(true);
    expect(peak).toBe(6);
    // A read whose last part fails at once settles only after its slow parts: the caller may
    // recycle the buffer the moment readInto returns, so nothing may still be writing into it.
    const target = Buffer.alloc(256 * 1024);
    const err = await failure(client.readInto(CAPACITY - 192 * 1024, target));
    expect((err as HostError).code).toBe("InvalidArgument");
    expect(target.subarray(0, 192 * 1024).equals(data.subarray(CAPACITY - 192 * 1024))).toBe(true);
  });

  it("answers a read beyond capacity with an NBD error reply, mapped to HostError InvalidArgument; the connection survives", async () => {
    const server = await serve();
    const client = await connect(server.port);
    const err = await failure(client.read(CAPACITY - SECTOR_SIZE, 2 * SECTOR_SIZE));
    expect(err).toBeInstanceOf(HostError);
    expect((err as HostError).code).toBe("InvalidArgument");
    expect(err.message).toMatch(/EINVAL/);
    expect((await client.read(0, SECTOR_SIZE)).equals(data.subarray(0, SECTOR_SIZE))).toBe(true);
  });

  it("refuses an unknown export with HostError NotFound", async () => {
    const server = await serve();
    const err = await failure(connect(server.port, { exportName: "vm-9999:2000" }));
    expect(err).toBeInstanceOf(HostError);
    expect((err as HostError).code).toBe("NotFound");
    expect(err.message).toContain("vm-9999:2000");
  });

  it("carries a policy denial registered with the export back as the same HostError", async () => {
    const server = await serve();
    server.addExport("denied", { reader: null, decision: { allowed: false, error: new HostError("CryptoKeyMismatch", "proxy of kp-globex, disk of kp-acme") } });
    const err = await failure(connect(server.port, { exportName: "denied" }));
    expect(err).toBeInstanceOf(HostError);
    expect((err as HostError).code).toBe("CryptoKeyMismatch");
    expect(err.message).toBe("proxy of kp-globex, disk of kp-acme");
  });

  it("fails with connection-refused when the host's NBD service is stopped", async () => {
    const server = await NbdServer.listen();
    const port = server.port;
    await server.close();
    const err = await failure(connect(port));
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).code).toBe("connection-refused");
  });

  it("times out against a host that accepts and never answers", async () => {
    const silent = await scriptedNbdServer({ onOption: () => undefined });
    cleanups.push(() => silent.close());
    const started = Date.now();
    const err = await failure(connect(silent.port, { connectTimeoutMs: 300 }));
    expect((err as TransportError).code).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("times out a read the host never answers, and then refuses further reads with the same error", async () => {
    const mute: ScriptedServer = await scriptedNbdServer({ onOption: acceptGo(CAPACITY) });
    cleanups.push(() => mute.close());
    const client = await connect(mute.port, { requestTimeoutMs: 200 });
    const [a, b] = await Promise.all([failure(client.read(0, 512)), failure(client.read(512, 512))]);
    expect((a as TransportError).code).toBe("timeout");
    expect(b).toBe(a);
    expect(await failure(client.read(0, 512))).toBe(a);
  });

  it("falls back to NBD_OPT_EXPORT_NAME for a server without NBD_OPT_GO", async () => {
    const old = await scriptedNbdServer({
      onOption: (socket, option, _data, enter) => {
        if (option !== C.NBD_OPT_EXPORT_NAME) return void socket.write(encodeOptionReply(option, C.NBD_REP_ERR_UNSUP));
        socket.write(encodeExportNameReply(4096n, C.NBD_FLAG_HAS_FLAGS, true));
        enter();
      },
    });
    cleanups.push(() => old.close());
    const client = await connect(old.port);
    expect(client.capacityBytes).toBe(4096);
  });

  it("closes cleanly: NBD_CMD_DISC, then the host drops the connection", async () => {
    const server = await serve();
    const client = await NbdClient.connect({ host: "127.0.0.1", port: server.port, exportName: "disk" });
    await client.read(0, 4096);
    expect(server.connectionCount).toBe(1);
    await client.close();
    for (let i = 0; i < 50 && server.connectionCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(server.connectionCount).toBe(0);
    expect(((await failure(client.read(0, 512))) as TransportError).code).toBe("closed");
  });

  it("server shutdown closes every connection; clients see connection-reset", async () => {
    const server = await serve();
    const clients = await Promise.all([connect(server.port), connect(server.port)]);
    expect(server.connectionCount).toBe(2);
    await server.close();
    expect(server.connectionCount).toBe(0);
    for (const c of clients) expect(((await failure(c.read(0, 512))) as TransportError).code).toMatch(/connection-reset|closed/);
  });
});

describe("NBDSSL over loopback", () => {
  const tls = () => ({ cert: certs.hostCert, key: certs.hostKey });

  it("reads the same bytes inside TLS, and no disk data crosses the wire in clear", async () => {
    const server = await serve({ tls: { ...tls(), mode: "required" } });
    const relay = await recordingRelay(server.port);
    cleanups.push(() => relay.close());
    const client = await connect(relay.port, { tls: { ca: certs.ca } });
    expect(client.tls).toBe(true);
    await expectSameBytes(client, 3);
    const probe = data.subarray(4096, 4096 + 64);
    expect(relay.fromServer().length).toBeGreaterThan(CAPACITY);
    expect(relay.fromServer().includes(probe)).toBe(false);
  });

  it("plain NBD through the same relay does put the disk's bytes on the wire (TRN-4)", async () => {
    const server = await serve();
    const relay = await recordingRelay(server.port);
    cleanups.push(() => relay.close());
    const client = await connect(relay.port);
    await client.read(0, 64 * 1024);
    expect(relay.fromServer().includes(data.subarray(4096, 4096 + 64))).toBe(true);
  });

  it("fails with a clear 'tls' error when the host's certificate does not chain to the CA", async () => {
    const server = await serve({ tls: { ...tls(), mode: "required" } });
    const err = await failure(connect(server.port, { tls: { ca: certs.otherCa } }));
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).code).toBe("tls");
    expect(err.message).toMatch(/certificate/i);
  });

  it("fails with 'tls' when the certificate is valid but names another host", async () => {
    const server = await serve({ tls: { ...tls(), mode: "required" } });
    const err = await failure(connect(server.port, { tls: { ca: certs.ca, servername: "esx99.elsewhere" } }));
    expect((err as TransportError).code).toBe("tls");
  });

  it("a plain client meets NBD_REP_ERR_TLS_REQD from a TLS-required host", async () => {
    const server = await serve({ tls: { ...tls(), mode: "required" } });
    const err = await failure(connect(server.port));
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).code).toBe("tls-required");
    expect(err.message).toContain("NBD_REP_ERR_TLS_REQD");
  });

  it("an NBDSSL client refuses to continue in clear when the host offers no TLS", async () => {
    const server = await serve();
    const err = await failure(connect(server.port, { tls: { ca: certs.ca } }));
    expect((err as TransportError).code).toBe("tls");
    expect(err.message).toMatch(/will not start TLS/);
  });

  it("SELECTIVETLS: one port serves a plain export in clear and a TLS-only export only after STARTTLS", async () => {
    const server = await serve({ tls: { ...tls(), mode: "optional" } });
    server.addExport("secure", { reader: new MemoryDisk(data), decision: { allowed: true }, tlsOnly: true });
    expect((await connect(server.port)).tls).toBe(false);
    expect(((await failure(connect(server.port, { exportName: "secure" }))) as TransportError).code).toBe("tls-required");
    const secure = await connect(server.port, { exportName: "secure", tls: { ca: certs.ca } });
    expect((await secure.read(512, 512)).equals(data.subarray(512, 1024))).toBe(true);
  });
});
