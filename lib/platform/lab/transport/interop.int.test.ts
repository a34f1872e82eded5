// Interoperability with real NBD implementations, so "the real NBD protocol" is not just our
// server agreeing with our client: libnbd's nbdinfo/nbdcopy read from the lab's server (plain and
// TLS, GnuTLS verifying our certificate), and our client reads from nbdkit (plain and TLS).
//
// Needs Debian's `libnbd-bin` and `nbdkit` (apt-get install -y libnbd-bin nbdkit, a few seconds);
// skipped with a note when they are missing. Run: npx vitest run --project integration lib/platform/lab/transport

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
import { MemoryDisk, patternBytes } from "./testing/memory-disk";
import { generateTestCertificates, type TestCertificates } from "./testing/test-certs";

const run = promisify(execFile);
const haveTools = ["/usr/bin/nbdinfo", "/usr/bin/nbdcopy", "/usr/bin/nbdkit"].every((p) => existsSync(p));
if (!haveTools) console.warn("interop tests skipped: apt-get install -y libnbd-bin nbdkit");

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
});
