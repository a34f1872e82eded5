// Writes over NBD (a restore's data path): the lab's client against the lab's server on loopback,
// and a hand-driven client sending what a polite one would not (oversized, misaligned, flagged,
// cut-short and flooding writes). The server must answer each as the NBD specification says and
// keep serving; the client must turn every answer into the right typed error.

import { afterEach, describe, expect, it } from "vitest";
import { HostError, SECTOR_SIZE, type DiskReader } from "../data-plane/types";
import { mulberry32 } from "../random";
import type { DiskSink } from "./disk-sink";
import { TransportError } from "./errors";
import * as C from "./nbd-constants";
import { NbdClient, type NbdClientOptions } from "./nbd-client";
import { encodeRequest, encodeSimpleReplyHeader } from "./nbd-protocol";
import { NbdServer, type NbdServerOptions } from "./nbd-server";
import { MemoryDisk, memorySink, patternBytes } from "./testing/memory-disk";
import { RawNbdConnection, acceptGo, scriptedNbdServer } from "./testing/wire";

const CAPACITY = 4 * 1024 * 1024;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A writable export over an in-memory disk; `disk.data` is what the host holds. */
async function serveWritable(options: NbdServerOptions = {}, io?: { reader: DiskReader; writer: DiskSink }) {
  const disk = new MemoryDisk(patternBytes(CAPACITY, 3));
  const sink = disk.sink();
  const server = await NbdServer.listen({ handshakeTimeoutMs: 2000, ...options });
  server.addExport("disk", { reader: io?.reader ?? disk, writer: io?.writer ?? sink, decision: { allowed: true } });
  cleanups.push(() => server.close());
  return { server, disk, sink };
}

async function connect(port: number, o: Partial<NbdClientOptions> = {}): Promise<NbdClient> {
  const client = await NbdClient.connect({ host: "127.0.0.1", port, exportName: "disk", ...o });
  cleanups.push(() => client.close());
  return client;
}

async function transmitting(port: number): Promise<RawNbdConnection> {
  const { c } = await RawNbdConnection.transmitting(port);
  cleanups.push(() => void c.socket.destroy());
  return c;
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a failure");
}

const request = (type: number, cookie: bigint, offset: number | bigint, length: number, flags = 0) =>
  encodeRequest({ flags, type, cookie, offset: BigInt(offset), length });
const writeRequest = (cookie: bigint, offset: number | bigint, data: Buffer, flags = 0) => Buffer.concat([request(C.NBD_CMD_WRITE, cookie, offset, data.length, flags), data]);

/** A sink/reader pair over `disk` whose every call waits `ms` first (and counts how many run at once). */
function slowIo(disk: MemoryDisk, ms: number) {
  const sink = disk.sink();
  const seen = { now: 0, peak: 0 };
  const slow = async <T>(work: () => Promise<T>): Promise<T> => {
    seen.peak = Math.max(seen.peak, ++seen.now);
    await new Promise((r) => setTimeout(r, ms));
    seen.now--;
    return work();
  };
  const reader: DiskReader = {
    capacityBytes: disk.capacityBytes,
    read: (o, l) => slow(() => disk.read(o, l)),
    readInto: (o, t) => slow(() => disk.readInto(o, t)),
    close: async () => undefined,
  };
  const writer: DiskSink = { capacityBytes: disk.capacityBytes, write: (o, d) => slow(() => sink.write(o, d)), flush: () => slow(() => sink.flush()), close: () => sink.close() };
  return { reader, writer, sink, seen };
}

describe("NBD writes: the lab client and server", () => {
  it("a writable export offers writes, flush, FUA and write-zeroes, and is not read-only", async () => {
    const { server } = await serveWritable();
    const client = await connect(server.port);
    expect(client.writable).toBe(true);
    const f = client.transmissionFlags;
    expect(f & C.NBD_FLAG_READ_ONLY).toBe(0);
    for (const flag of [C.NBD_FLAG_SEND_FLUSH, C.NBD_FLAG_SEND_FUA, C.NBD_FLAG_SEND_WRITE_ZEROES]) expect(f & flag).toBe(flag);
  });

  it("concurrent writes at random offsets, aligned or not, many split over requests, read back bit for bit", async () => {
    const { server, disk } = await serveWritable();
    const client = await connect(server.port, { maxRequestBytes: 64 * 1024, maxInFlight: 6 });
    const model = Buffer.from(disk.data);
    const rnd = mulberry32(11);
    // Disjoint byte ranges (so the outcome does not depend on order), often sharing a sector.
    const writes: Array<{ offset: number; data: Buffer }> = [];
    for (let at = 0; at < CAPACITY - 300 * 1024; ) {
      const aligned = rnd() < 0.6;
      const offset = aligned ? Math.ceil(at / SECTOR_SIZE) * SECTOR_SIZE : at + Math.floor(rnd() * 700);
      const length = aligned ? SECTOR_SIZE * (1 + Math.floor(rnd() * 400)) : 1 + Math.floor(rnd() * 5000);
      const data = patternBytes(length, writes.length + 100);
      writes.push({ offset, data });
      data.copy(model, offset);
      at = offset + length;
    }
    await Promise.all(writes.map((w) => client.write(w.offset, w.data)));
    await client.flush();
    expect(disk.data.equals(model)).toBe(true);
    expect((await client.read(0, CAPACITY)).equals(model)).toBe(true);
    expect(server.stats.bytesWritten).toBe(writes.reduce((n, w) => n + w.data.length, 0));
  });

  it("keeps several writes in flight on one connection, and flush waits for the writes before it", async () => {
    const disk = new MemoryDisk(Buffer.alloc(CAPACITY));
    const io = slowIo(disk, 5);
    const { server } = await serveWritable({}, io);
    const client = await connect(server.port, { maxInFlight: 6, maxRequestBytes: 64 * 1024 });
    const data = patternBytes(1024 * 1024, 8);
    const written = client.write(0, data);
    const flushed = client.flush();
    let flushDone = false;
    void flushed.then(() => (flushDone = true));
    await written;
    expect(io.seen.peak).toBe(6);
    await flushed;
    expect(flushDone).toBe(true);
    expect(io.sink.stats.flushes).toBe(1);
    expect(disk.data.subarray(0, data.length).equals(data)).toBe(true);
  });

  it("a write beyond the disk: ENOSPC on the wire, HostError InvalidArgument to the caller, and the connection goes on", async () => {
    const { server, disk } = await serveWritable();
    const client = await connect(server.port);
    const before = Buffer.from(disk.data);
    const err = await failure(client.write(CAPACITY - SECTOR_SIZE, Buffer.alloc(2 * SECTOR_SIZE, 1)));
    expect(err).toBeInstanceOf(HostError);
    expect((err as HostError).code).toBe("InvalidArgument");
    expect(err.message).toMatch(/beyond the disk.*ENOSPC/);
    expect(disk.data.equals(before)).toBe(true);
    await client.write(0, Buffer.alloc(SECTOR_SIZE, 7));
    expect(disk.data[0]).toBe(7);
  });

  it("a read-only export: the client refuses a write itself (NoPermission); a write sent anyway gets EPERM", async () => {
    const server = await NbdServer.listen();
    cleanups.push(() => server.close());
    const data = patternBytes(CAPACITY, 4);
    server.addExport("disk", { reader: new MemoryDisk(data), decision: { allowed: true } });
    const client = await connect(server.port);
    expect(client.writable).toBe(false);
    const err = await failure(client.write(0, Buffer.alloc(512)));
    expect(err).toBeInstanceOf(HostError);
    expect((err as HostError).code).toBe("NoPermission");
    expect(err.message).toMatch(/read-only/);
    await client.flush(); // nothing to flush, nothing to refuse
    const c = await transmitting(server.port);
    c.send(writeRequest(1n, 0, Buffer.alloc(512, 9)));
    c.send(request(C.NBD_CMD_WRITE_ZEROES, 2n, 0, 512));
    expect(await c.reply()).toMatchObject({ cookie: 1n, error: C.NBD_EPERM });
    expect(await c.reply()).toMatchObject({ cookie: 2n, error: C.NBD_EPERM });
    expect(data[0]).not.toBe(9);
  });

  it("maps a host's write errors: EPERM → NoPermission, ENOSPC inside the disk → InsufficientSpace, EIO → TransportError io", async () => {
    const errnoAt = new Map([[0, C.NBD_EPERM], [512, C.NBD_ENOSPC], [1024, C.NBD_EIO]]);
    const host = await scriptedNbdServer({
      onOption: acceptGo(CAPACITY, C.NBD_FLAG_HAS_FLAGS | C.NBD_FLAG_SEND_FLUSH),
      onRequest: (socket, r) => void socket.write(encodeSimpleReplyHeader(r.type === C.NBD_CMD_WRITE ? (errnoAt.get(Number(r.offset)) ?? 0) : 0, r.cookie)),
    });
    cleanups.push(() => host.close());
    const client = await connect(host.port);
    const [perm, space, io] = await Promise.all([0, 512, 1024].map((o) => failure(client.write(o, Buffer.alloc(512)))));
    expect((perm as HostError).code).toBe("NoPermission");
    expect((space as HostError).code).toBe("InsufficientSpace");
    expect(io).toBeInstanceOf(TransportError);
    expect((io as TransportError).code).toBe("io");
    expect(io.message).toContain("the write of 512 bytes at offset 1024");
    await client.write(2048, Buffer.alloc(512));
    await client.flush();
  });

  it("times out a write the host never answers, failing later requests with the same error", async () => {
    const mute = await scriptedNbdServer({ onOption: acceptGo(CAPACITY, C.NBD_FLAG_HAS_FLAGS) });
    cleanups.push(() => mute.close());
    const client = await connect(mute.port, { requestTimeoutMs: 200 });
    const err = await failure(client.write(0, Buffer.alloc(4096)));
    expect((err as TransportError).code).toBe("timeout");
    expect(err.message).toContain("the write of 4096 bytes at offset 0");
    expect(await failure(client.write(0, Buffer.alloc(512)))).toBe(err);
  });

  it("abort fails the writes still outstanding with 'closed', and the server goes on serving", async () => {
    const disk = new MemoryDisk(Buffer.alloc(CAPACITY));
    const io = slowIo(disk, 30);
    const { server } = await serveWritable({}, io);
    const client = await connect(server.port, { maxRequestBytes: 64 * 1024, maxInFlight: 2 });
    const pending = client.write(0, Buffer.alloc(1024 * 1024, 5)).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 10));
    await client.abort();
    const err = (await pending) as TransportError;
    expect(err).toBeInstanceOf(TransportError);
    expect(err.code).toBe("closed");
    expect(err.message).toMatch(/aborted/);
    expect(((await failure(client.write(0, Buffer.alloc(512)))) as TransportError).code).toBe("closed");
    expect(io.sink.stats.bytesWritten).toBeLessThan(1024 * 1024);
    const other = await connect(server.port);
    await other.write(0, Buffer.alloc(512, 1));
    expect(disk.data[0]).toBe(1);
  });

  it("two connections writing different bytes of the same sectors at once: every byte lands (one gate per export)", async () => {
    const disk = new MemoryDisk(Buffer.alloc(CAPACITY));
    const io = slowIo(disk, 2);
    const { server } = await serveWritable({}, io);
    const [a, b] = await Promise.all([connect(server.port), connect(server.port)]);
    const writes: Promise<void>[] = [];
    for (let sector = 0; sector < 20; sector++) {
      writes.push(a.write(sector * SECTOR_SIZE + 10, Buffer.from([0xaa])));
      writes.push(b.write(sector * SECTOR_SIZE + 20, Buffer.from([0xbb])));
    }
    await Promise.all(writes);
    for (let sector = 0; sector < 20; sector++) {
      expect([disk.data[sector * SECTOR_SIZE + 10], disk.data[sector * SECTOR_SIZE + 20]]).toEqual([0xaa, 0xbb]);
    }
  });
});

describe("NBD server: hand-driven writes", () => {
  it("an oversized write: its payload is read and dropped, EOVERFLOW, and the next request is served", async () => {
    const { server, disk, sink } = await serveWritable({ maxRequestBytes: 64 * 1024 });
    const c = await transmitting(server.port);
    c.send(writeRequest(1n, 0, Buffer.alloc(1024 * 1024 + 3, 0xee)));
    c.send(writeRequest(2n, 0, Buffer.alloc(512, 0x11)));
    expect(await c.reply()).toEqual({ kind: "reply", cookie: 1n, error: C.NBD_EOVERFLOW });
    expect(await c.reply()).toMatchObject({ cookie: 2n, error: 0 });
    expect(sink.stats.writes).toBe(1);
    expect(disk.data.subarray(0, 512).equals(Buffer.alloc(512, 0x11))).toBe(true);
    expect(disk.data.includes(Buffer.alloc(1024, 0xee))).toBe(false);
  });

  it("refuses what it must: bad flags, ranges beyond the disk, trim not offered, flush with a range", async () => {
    const { server, disk, sink } = await serveWritable();
    const before = Buffer.from(disk.data);
    const c = await transmitting(server.port);
    const cases: Array<[Buffer, number]> = [
      [writeRequest(1n, 0, Buffer.alloc(512), 1 << 5), C.NBD_EINVAL], // a flag not defined for writes
      [writeRequest(2n, CAPACITY, Buffer.alloc(512)), C.NBD_ENOSPC],
      [writeRequest(3n, 0xfffffffffffffe00n, Buffer.alloc(512)), C.NBD_ENOSPC],
      [request(C.NBD_CMD_WRITE_ZEROES, 4n, CAPACITY - 512, 1024), C.NBD_ENOSPC],
      [request(C.NBD_CMD_WRITE_ZEROES, 5n, 0, 512, 1 << 2), C.NBD_EINVAL],
      [request(C.NBD_CMD_TRIM, 6n, 0, 512), C.NBD_EINVAL],
      [request(C.NBD_CMD_FLUSH, 7n, 0, 512), C.NBD_EINVAL],
      [request(C.NBD_CMD_FLUSH, 8n, 0, 0, 1 << 3), C.NBD_EINVAL],
      [writeRequest(9n, 4096, Buffer.alloc(0)), 0], // empty writes are fine
      [request(C.NBD_CMD_FLUSH, 10n, 0, 0), 0],
    ];
    for (const [bytes, errno] of cases) {
      c.send(bytes);
      expect((await c.reply()).error, bytes.subarray(0, 28).toString("hex")).toBe(errno);
    }
    expect(disk.data.equals(before)).toBe(true);
    expect(sink.stats.writes).toBe(0);
    expect(sink.stats.flushes).toBe(1);
  });

  it("unaligned writes and write-zeroes land byte-exact (partial sectors are read, patched and written back)", async () => {
    const { server, disk } = await serveWritable();
    const model = Buffer.from(disk.data);
    const c = await transmitting(server.port);
    const writes: Array<[number, number]> = [[1, 3], [511, 2], [1000, 2000], [8191, 1], [CAPACITY - 7, 7], [4 * 4096 + 512, 512]];
    let cookie = 1n;
    for (const [offset, length] of writes) {
      const data = patternBytes(length, offset + 1);
      data.copy(model, offset);
      c.send(writeRequest(cookie++, offset, data));
    }
    for (const [offset, length] of [[20_000, 700], [65_536, 3 * 1024 * 1024 + 5]]) {
      model.fill(0, offset, offset + length);
      c.send(request(C.NBD_CMD_WRITE_ZEROES, cookie++, offset, length, C.NBD_CMD_FLAG_NO_HOLE));
    }
    for (let i = 1n; i < cookie; i++) expect((await c.reply()).error).toBe(0);
    expect(disk.data.equals(model)).toBe(true);
  });

  it("FUA: the sink is flushed before the write is answered", async () => {
    const { server, sink } = await serveWritable();
    const c = await transmitting(server.port);
    c.send(writeRequest(1n, 0, Buffer.alloc(512, 1)));
    await c.reply();
    expect(sink.stats.flushes).toBe(0);
    c.send(writeRequest(2n, 512, Buffer.alloc(512, 1), C.NBD_CMD_FLAG_FUA));
    await c.reply();
    expect(sink.stats.flushes).toBe(1);
  });

  it("answers a failing disk by HostError code: InvalidArgument → EINVAL, InsufficientSpace → ENOSPC, anything else → EIO", async () => {
    const disk = new MemoryDisk(Buffer.alloc(CAPACITY));
    const failing = memorySink(CAPACITY, (offset) => {
      if (offset === 0) throw new HostError("InvalidArgument", "no");
      if (offset === 512) throw new HostError("InsufficientSpace", "datastore full");
      throw new Error("disk file vanished");
    });
    const { server } = await serveWritable({}, { reader: disk, writer: failing });
    const c = await transmitting(server.port);
    c.send(Buffer.concat([0, 512, 1024].map((o, i) => writeRequest(BigInt(i + 1), o, Buffer.alloc(512)))));
    const errors = new Map<bigint, number>();
    for (let i = 0; i < 3; i++) {
      const r = await c.reply();
      errors.set(r.cookie, r.error);
    }
    expect([...errors.entries()].sort()).toEqual([[1n, C.NBD_EINVAL], [2n, C.NBD_ENOSPC], [3n, C.NBD_EIO]]);
  });

  it("a write cut short by the client, or garbage where a payload's successor should be, ends only that connection", async () => {
    const { server, disk } = await serveWritable();
    const cut = await transmitting(server.port);
    cut.send(request(C.NBD_CMD_WRITE, 1n, 0, 64 * 1024));
    cut.send(Buffer.alloc(1000, 0x77));
    await new Promise((r) => setTimeout(r, 20));
    cut.socket.destroy();
    const garbage = await transmitting(server.port);
    garbage.send(writeRequest(1n, 0, Buffer.alloc(512, 0x66)));
    expect((await garbage.reply()).error).toBe(0);
    garbage.send(Buffer.from("GET / HTTP/1.1\r\nHost: esx01\r\n\r\n"));
    await garbage.closed;
    const client = await connect(server.port);
    await client.write(512, Buffer.alloc(512, 0x55));
    expect(disk.data[0]).toBe(0x66);
    expect(disk.data[512]).toBe(0x55);
    expect(disk.data.includes(Buffer.alloc(1000, 0x77))).toBe(false);
  });

  it("survives random and mutated write traffic on many connections, then serves a polite client", async () => {
    const { server, disk } = await serveWritable({ maxRequestBytes: 64 * 1024 });
    const rnd = mulberry32(99);
    const int = (n: number) => Math.floor(rnd() * n);
    for (let i = 0; i < 30; i++) {
      const parts: Buffer[] = [];
      for (let j = 0; j < 12; j++) {
        const type = [C.NBD_CMD_WRITE, C.NBD_CMD_WRITE, C.NBD_CMD_WRITE_ZEROES, C.NBD_CMD_FLUSH, C.NBD_CMD_TRIM, 9][int(6)];
        const length = [0, 1, 512, 4096, 70_000, 200_000][int(6)];
        const offset = [0, 1, 511, CAPACITY - 512, CAPACITY, 2 ** 40][int(6)];
        parts.push(type === C.NBD_CMD_WRITE ? writeRequest(BigInt(j), offset, patternBytes(length, j)) : request(type, BigInt(j), offset, length, int(4) ? 0 : int(1 << 16)));
      }
      const bytes = Buffer.concat(parts);
      // Flip a byte or cut the stream short now and then: lying lengths, bad magic, half payloads.
      if (int(3) === 0) bytes[int(bytes.length)] ^= 1 << int(8);
      const c = await transmitting(server.port);
      c.send(int(3) === 0 ? bytes.subarray(0, int(bytes.length)) : bytes);
      await new Promise((r) => setTimeout(r, 5));
      c.socket.destroy();
    }
    const client = await connect(server.port);
    await client.write(4096, Buffer.alloc(4096, 0x42));
    expect((await client.read(4096, 4096)).equals(Buffer.alloc(4096, 0x42))).toBe(true);
    expect(disk.data.subarray(4096, 8192).equals(Buffer.alloc(4096, 0x42))).toBe(true);
  });

  it("backpressure: a client streaming writes faster than the disk takes them is read no further than the budget", async () => {
    const disk = new MemoryDisk(Buffer.alloc(CAPACITY));
    const sink = disk.sink();
    const gates: Array<() => void> = [];
    let blocked = true;
    const stalled: DiskSink = {
      capacityBytes: CAPACITY,
      write: async (o, d) => {
        if (blocked) await new Promise<void>((r) => gates.push(r));
        await sink.write(o, d);
      },
      flush: () => sink.flush(),
      close: () => sink.close(),
    };
    const chunk = 64 * 1024;
    const budget = 4 * chunk;
    const { server } = await serveWritable({ maxRequestBytes: chunk, maxWriteBytesInFlightPerConnection: budget }, { reader: disk, writer: stalled });
    const c = await transmitting(server.port);
    const count = 128; // 8 MiB, far more than the budget
    c.send(Buffer.concat(Array.from({ length: count }, (_, i) => writeRequest(BigInt(i), (i * chunk) % CAPACITY, Buffer.alloc(chunk, i)))));
    await new Promise((r) => setTimeout(r, 300));
    expect(gates.length).toBe(budget / chunk);
    const [load] = server.sessionLoads;
    // Held: the writes waiting on the disk, plus at most one payload being gathered and one socket chunk.
    expect(load.writeBytesHeld).toBe(budget);
    expect(load.bufferedBytes).toBeLessThanOrEqual(chunk + 28 + 64 * 1024);
    blocked = false;
    for (const g of gates.splice(0)) g();
    const cookies = new Set<bigint>();
    for (let i = 0; i < count; i++) {
      const r = await c.reply(5000);
      expect(r.error).toBe(0);
      cookies.add(r.cookie);
    }
    expect(cookies.size).toBe(count);
    expect(sink.stats.writes).toBe(count);
  });
});
