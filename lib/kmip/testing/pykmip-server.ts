// A real PyKMIP server (Debian package python3-pykmip) for integration tests:
// generates a CA, a server certificate (SAN IP 127.0.0.1) and two client
// certificates (extendedKeyUsage clientAuth, different CNs) with the openssl
// CLI in a temporary folder, writes server.conf, starts /usr/bin/pykmip-server
// under setsid on a free loopback port, waits for "Starting connection
// service" in its log, and stops the whole process group afterwards.
// Logging stays at INFO: at DEBUG PyKMIP logs every message in hex, keys included.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export const PYKMIP_SERVER = "/usr/bin/pykmip-server";
export const PYKMIP_INSTALL_HINT = "apt-get install -y python3-pykmip";

export interface Identity {
  cn: string;
  cert: Buffer;
  key: Buffer;
}

export interface PykmipServer {
  host: "127.0.0.1";
  port: number;
  dir: string;
  /** The CA that issued the server and client certificates (PEM). */
  ca: Buffer;
  /** A CA that issued nothing here: for "wrong CA" tests. */
  otherCa: Buffer;
  /** Issued by `otherCa`: a client certificate the server must refuse. */
  stranger: Identity;
  clientA: Identity;
  clientB: Identity;
  /** Process group id: the reaper that leads setsid's group (pykmip-server is its child). */
  pid: number;
  log(): string;
  stop(): Promise<void>;
}

/** Throws (does not skip) when PyKMIP is missing, naming the package to install. */
export function assertPykmipInstalled(): void {
  if (!existsSync(PYKMIP_SERVER)) {
    throw new Error(`PyKMIP is not installed (${PYKMIP_SERVER} is missing). The KMIP integration tests need a real KMIP server: run \`${PYKMIP_INSTALL_HINT}\` (as root, about 15 s).`);
  }
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

function makeCa(dir: string, name: string, cn: string): void {
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", "2",
    "-subj", `/CN=${cn}`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
}

function issue(dir: string, ca: string, name: string, cn: string, ext: string): void {
  writeFileSync(path.join(dir, `${name}.ext`), `${ext}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n`);
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`], dir);
  openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-set_serial", `0x${Date.now().toString(16)}${Math.floor(Math.random() * 1e6).toString(16)}`,
    "-days", "2", "-sha256", "-extfile", `${name}.ext`, "-out", `${name}.crt`], dir);
}

const identity = (dir: string, name: string, cn: string): Identity => ({
  cn,
  cert: readFileSync(path.join(dir, `${name}.crt`)),
  key: readFileSync(path.join(dir, `${name}.key`)),
});

/** Generate all certificates into `dir`. */
export function generateCertificates(dir: string) {
  makeCa(dir, "ca", "Strongroom Test KMIP CA");
  makeCa(dir, "other-ca", "Some Other CA");
  issue(dir, "ca", "server", "127.0.0.1", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth");
  issue(dir, "ca", "client-a", "strongroom-a", "extendedKeyUsage=clientAuth");
  issue(dir, "ca", "client-b", "strongroom-b", "extendedKeyUsage=clientAuth");
  issue(dir, "other-ca", "stranger", "strongroom-stranger", "extendedKeyUsage=clientAuth");
  return readCertificates(dir);
}

/** The certificates `generateCertificates` wrote into `dir`. */
export function readCertificates(dir: string) {
  return {
    ca: readFileSync(path.join(dir, "ca.crt")),
    otherCa: readFileSync(path.join(dir, "other-ca.crt")),
    clientA: identity(dir, "client-a", "strongroom-a"),
    clientB: identity(dir, "client-b", "strongroom-b"),
    stranger: identity(dir, "stranger", "strongroom-stranger"),
  };
}

/** A loopback port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Live (non-zombie) processes of a process group, read from /proc. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // state ppid pgrp ...
      if (Number(f[2]) === pgid && f[0] !== "Z" && f[0] !== "X") out.push(Number(d));
    } catch {
      // the process went away while we looked
    }
  }
  return out;
}

/**
 * Group leader between setsid and pykmip-server. It makes itself the "child
 * subreaper" so the processes PyKMIP forks are reaped here when they die,
 * instead of lingering as zombies under a PID 1 that does not reap (as in
 * containers), and exits once all of them are gone.
 */
const REAPER = `import ctypes, os, signal, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
signal.signal(signal.SIGTERM, signal.SIG_IGN)
pid = os.fork()
if pid == 0:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.execv(sys.argv[1], sys.argv[1:])
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
    except InterruptedError:
        continue
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface StartOptions {
  /** Default 20 s. */
  readyTimeoutMs?: number;
  /** Keep the temporary folder (certificates, log, database) after stop(). */
  keepDir?: boolean;
  /** How long stop() waits after SIGTERM before SIGKILL. Default 2 s. */
  stopGraceMs?: number;
  /** Restart a stopped server: same folder (certificates, database) and port. Use with keepDir. */
  reuse?: { dir: string; port: number };
}

export async function startPykmipServer(options: StartOptions = {}): Promise<PykmipServer> {
  assertPykmipInstalled();
  const dir = options.reuse?.dir ?? mkdtempSync(path.join(os.tmpdir(), "strongroom-pykmip-"));
  const certs = options.reuse ? readCertificates(dir) : generateCertificates(dir);
  mkdirSync(path.join(dir, "policies"), { recursive: true });
  const port = options.reuse?.port ?? (await freePort());
  const logPath = path.join(dir, "server.log");
  // A restarted server must not be taken as ready because of the previous run's log line.
  rmSync(logPath, { force: true });
  const conf = [
    "[server]",
    "hostname=127.0.0.1",
    `port=${port}`,
    `certificate_path=${path.join(dir, "server.crt")}`,
    `key_path=${path.join(dir, "server.key")}`,
    `ca_path=${path.join(dir, "ca.crt")}`,
    "auth_suite=TLS1.2",
    `policy_path=${path.join(dir, "policies")}`,
    "enable_tls_client_auth=True",
    "logging_level=INFO",
    `database_path=${path.join(dir, "pykmip.db")}`,
    "",
  ].join("\n");
  writeFileSync(path.join(dir, "server.conf"), conf);

  writeFileSync(path.join(dir, "reaper.py"), REAPER);
  const out = openSync(path.join(dir, "server.out"), "a");
  // setsid: the reaper, pykmip-server and the two children it forks get their own
  // process group (PGID = the reaper's pid), stopped as one.
  const child: ChildProcess = spawn(
    "/usr/bin/setsid",
    ["/usr/bin/python3", path.join(dir, "reaper.py"), PYKMIP_SERVER, "-f", path.join(dir, "server.conf"), "-l", logPath],
    {
      cwd: dir,
      stdio: ["ignore", out, out],
      env: { ...process.env, PATH: "/usr/sbin:/usr/bin:/sbin:/bin" }, // Debian's python3, not a pyenv shim
    },
  );
  closeSync(out);
  const pid = child.pid!;
  let exited = false;
  const childExit = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      resolve();
    }),
  );
  const killAll = () => {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  process.once("exit", killAll); // never leave a server behind, even if the test run dies

  const log = () => (existsSync(logPath) ? readFileSync(logPath, "utf8") : "");
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= doStop());
  const doStop = async () => {
    process.removeListener("exit", killAll);
    try {
      process.kill(-pid, "SIGTERM"); // kill -- -PID (the reaper ignores it)
    } catch {
      // already gone
    }
    // PyKMIP answers SIGTERM by joining every thread with a 10 s timeout (10-20 s
    // in practice); its data is throwaway, so after a short grace it gets SIGKILL.
    const others = () => groupMembers(pid).filter((p) => p !== pid);
    const grace = Date.now() + (options.stopGraceMs ?? 2_000);
    while (others().length > 0 && Date.now() < grace) await sleep(50);
    for (const p of others()) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
    // the reaper collects every descendant, then exits; Node collects the reaper
    const last = Date.now() + 5_000;
    while (!exited && Date.now() < last) await sleep(50);
    if (!exited) killAll();
    await childExit;
    while (groupMembers(pid).length > 0) await sleep(50);
    if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
  while (!log().includes("Starting connection service")) {
    if (exited || Date.now() > deadline) {
      const why = exited ? "exited during start-up" : "did not become ready in time";
      const tail = (log() + readFileSync(path.join(dir, "server.out"), "utf8")).split("\n").slice(-15).join("\n");
      await stop();
      throw new Error(`pykmip-server ${why}. Last output:\n${tail}`);
    }
    await sleep(50);
  }
  return { host: "127.0.0.1", port, dir, pid, log, stop, ...certs };
}
