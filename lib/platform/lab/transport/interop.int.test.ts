// Interoperability with real NBD implementations, so "the real NBD protocol" is not just our
// server agreeing with our client: libnbd's nbdinfo/nbdcopy read from the lab's server (plain and
// TLS, GnuTLS verifying our certificate), and our client reads from nbdkit (plain and TLS). For
// restores, nbdcopy writes into a writable export of the lab's server (plain and TLS, zero runs
// included, which it sends as NBD_CMD_WRITE_ZEROES), and nbdsh (python3-libnbd) writes a sector.
//
// Needs Debian's `libnbd-bin` and `nbdkit` (apt-get install -y libnbd-bin nbdkit, a few seconds),
// and for the nbdsh case `python3-libnbd`; skipped with a note when they are missing.
// Run: npx vitest run --project integration lib/platform/lab/transport

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostError } from "../data-plane/types";
import { NbdClient } from "./nbd-client";
import { NbdServer } from "./nbd-server";
import { EncryptedMemoryDisk, MemoryDisk, patternBytes } from "./testing/memory-disk";
import { generateTestCertificates, type TestCertificates } from "./testing/test-certs";

const run = promisify(execFile);
const haveTools = ["/usr/bin/nbdinfo", "/usr/bin/nbdcopy", "/usr/bin/nbdkit"].every((p) => existsSync(p));
if (!haveTools) console.warn("interop tests skipped: apt-get install -y libnbd-bin nbdkit");
// nbdsh runs `python3 -m nbd`: the system's python3, whose nbd module a pyenv or venv first on PATH lacks.
const haveNbdsh = existsSync("/usr/bin/nbdsh") && existsSync("/usr/bin/python3");
const nbdsh = (...args: string[]) => run("/usr/bin/nbdsh", args, { env: { ...process.env, PATH: `/usr/bin:${process.env.PATH ?? ""}` } });
if (haveTools && !haveNbdsh) console.warn("nbdsh write test skipped: nbdsh is missing (apt-get install -y python3-libnbd)");

const data = patternBytes(6 * 1024 * 1024 + 512, 77);
let dir: string;
let certs: TestCertificates;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

describe.skipIf(!haveTools)("NBD interoperability with libnbd and nbdkit", () => {
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "strongroom-nbd-interop-"));
    certs = generateTestCertificates();
    // GnuTLS tools look for fixed file names in a certificates folder.
    writeFileSync(path.join(dir, "ca-cert.pem"), certs.ca);
    writeFileSync(path.join(dir, "server-cert.pem"), certs.hostCert);
    writeFileSync(path.join(dir, "server-key.pem"), certs.hostKey);
    writeFileSync(path.join(dir, "disk.bin"), data);
  });
  afterAll(() => {
    certs?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const tls of [false, true]) {
    it(`nbdinfo and nbdcopy read the lab server's export${tls ? " over TLS (FORCEDTLS)" : ""}`, async () => {
      const server = await NbdServer.listen(tls ? { tls: { cert: certs.hostCert, key: certs.hostKey, mode: "required" } } : {});
      try {
        server.addExport("vm-1042:2000", { reader: new MemoryDisk(data), decision: { allowed: true } });
        const uri = tls ? `nbds://127.0.0.1:${server.port}/vm-1042:2000?tls-certificates=${dir}` : `nbd://127.0.0.1:${server.port}/vm-1042:2000`;
        const info = await run("nbdinfo", ["--json", uri]);
        const parsed = JSON.parse(info.stdout) as { protocol: string; TLS: boolean; exports: Array<Record<string, unknown>> };
        expect(parsed.protocol).toBe("newstyle-fixed");
        expect(parsed.TLS).toBe(tls);
        expect(parsed.exports[0]).toMatchObject({ "export-size": data.length, is_read_only: true, block_size_minimum: 512 });
        const out = path.join(dir, `copy-${tls}.bin`);
        await run("nbdcopy", ["--requests=8", uri, out]);
        expect(readFileSync(out).equals(data)).toBe(true);
        if (tls) {
          // libnbd without TLS meets the TLS-required refusal and says so.
          const refused = await run("nbdinfo", [`nbd://127.0.0.1:${server.port}/vm-1042:2000`]).catch((e: { stderr: string }) => e);
          expect((refused as { stderr: string }).stderr).toMatch(/error|TLS/i);
        }
      } finally {
        await server.close();
      }
    });

    it(`nbdcopy writes into a writable export of the lab server${tls ? " over TLS" : ""}, and it reads back the same`, async () => {
      const server = await NbdServer.listen(tls ? { tls: { cert: certs.hostCert, key: certs.hostKey, mode: "required" } } : {});
      // The restore target is encrypted: what nbdcopy sends is cleartext, what is stored is ciphertext.
      const target = new EncryptedMemoryDisk(Buffer.alloc(data.length, 0xcc));
      const sink = target.writer();
      try {
        server.addExport("vm-2042:2000", { reader: target.cleartext(), writer: sink, decision: { allowed: true } });
        const uri = tls ? `nbds://127.0.0.1:${server.port}/vm-2042:2000?tls-certificates=${dir}` : `nbd://127.0.0.1:${server.port}/vm-2042:2000`;
        const info = JSON.parse((await run("nbdinfo", ["--json", uri])).stdout) as { exports: Array<Record<string, unknown>> };
        expect(info.exports[0]).toMatchObject({ is_read_only: false, can_flush: true, can_fua: true, can_zero: true, "export-size": data.length });
        // A run of zeros in the source, which nbdcopy sends as zero requests rather than data.
        const source = Buffer.from(data);
        source.fill(0, 1024 * 1024, 3 * 1024 * 1024);
        const file = path.join(dir, `restore-${tls}.bin`);
        writeFileSync(file, source);
        await run("nbdcopy", ["--requests=8", "--flush", file, uri]);
        expect(sink.stats.flushes).toBeGreaterThanOrEqual(1);
        const client = await NbdClient.connect({ host: "127.0.0.1", port: server.port, exportName: "vm-2042:2000", tls: tls ? { ca: certs.ca } : undefined });
        expect((await client.read(0, data.length)).equals(source)).toBe(true);
        await client.close();
        expect(target.ciphertext.subarray(0, 4096).equals(source.subarray(0, 4096))).toBe(false);
        const back = path.join(dir, `restored-${tls}.bin`);
        await run("nbdcopy", [uri, back]);
        expect(readFileSync(back).equals(source)).toBe(true);
      } finally {
        await server.close();
      }
    });

    it(`the lab client reads from nbdkit${tls ? " over TLS" : ""}`, async () => {
      const port = await freePort();
      const args = ["-f", "-p", String(port), "-i", "127.0.0.1", "--readonly"];
      if (tls) args.push("--tls=require", `--tls-certificates=${dir}`);
      const kit: ChildProcess = spawn("nbdkit", [...args, "file", path.join(dir, "disk.bin")], { stdio: "ignore" });
      try {
        await waitForPort(port);
        const client = await NbdClient.connect({ host: "127.0.0.1", port, exportName: "", tls: tls ? { ca: certs.ca } : undefined, maxRequestBytes: 1024 * 1024 });
        expect(client.tls).toBe(tls);
        expect(client.capacityBytes).toBe(data.length);
        expect((await client.read(0, data.length)).equals(data)).toBe(true);
        const beyond = await client.read(data.length, 512).catch((e: unknown) => e);
        expect(beyond).toBeInstanceOf(HostError);
        expect((beyond as HostError).code).toBe("InvalidArgument");
        await client.close();
      } finally {
        kit.kill("SIGTERM");
        await new Promise((r) => kit.once("exit", r));
      }
    });
  }

  it.skipIf(!haveNbdsh)("nbdsh writes a sector and flushes; a read-only export refuses its write with EPERM", async () => {
    const server = await NbdServer.listen();
    try {
      const disk = new MemoryDisk(Buffer.alloc(64 * 1024));
      const sink = disk.sink();
      server.addExport("rw", { reader: disk, writer: sink, decision: { allowed: true } });
      server.addExport("ro", { reader: new MemoryDisk(Buffer.alloc(64 * 1024)), decision: { allowed: true } });
      const script = 'h.pwrite(b"\\xab" * 512, 512); h.flush(); print(h.pread(512, 512) == b"\\xab" * 512)';
      const ok = await nbdsh(...["-u", `nbd://127.0.0.1:${server.port}/rw`, "-c", script]);
      expect(ok.stdout.trim()).toBe("True");
      expect(disk.data.subarray(512, 1024).equals(Buffer.alloc(512, 0xab))).toBe(true);
      expect(sink.stats.flushes).toBe(1);
      // libnbd refuses a write to a read-only export itself unless strict mode is off; then the
      // write reaches the server, and "command failed" is libnbd reporting the server's EPERM.
      const refused = await nbdsh(...["-u", `nbd://127.0.0.1:${server.port}/ro`, "-c", 'h.set_strict_mode(0); h.pwrite(b"x" * 512, 0)']).catch((e: { stderr: string }) => e);
      expect((refused as { stderr: string }).stderr).toMatch(/write: command failed: Operation not permitted/);
    } finally {
      await server.close();
    }
  });
});
