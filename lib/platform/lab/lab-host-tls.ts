// The lab ESXi host's TLS identity for NBDSSL: a lab CA and a host certificate it signs (SAN
// IP:127.0.0.1, DNS:localhost), made once with the openssl CLI in `<folder>/host-tls/` and reused
// on every start, so a proxy can pin the lab CA. EC P-256 keys (milliseconds to make). The files
// are made in a temporary folder and renamed into place, so a crash never leaves half a set.
// (transport/testing/test-certs.ts makes throwaway two-day certificates the same way, for tests.)

import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const VALID_DAYS = "3650"; // a lab certificate outlives the lab folder

export interface HostTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export async function loadOrCreateHostTls(labFolder: string): Promise<HostTls> {
  const dir = path.join(labFolder, "host-tls");
  const existing = await read(dir).catch(() => null);
  if (existing) return existing;
  await mkdir(labFolder, { recursive: true });
  const temp = await mkdtemp(path.join(labFolder, ".host-tls-"));
  try {
    const openssl = (args: string[]) => run("openssl", args, { cwd: temp });
    await openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
      "-days", VALID_DAYS, "-subj", "/CN=Strongroom Lab Host CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    await writeFile(path.join(temp, "host.ext"),
      "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n");
    await openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "host.key", "-out", "host.csr", "-subj", "/CN=esx.lab"]);
    await openssl(["x509", "-req", "-in", "host.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", `0x${Date.now().toString(16)}`, "-days", VALID_DAYS,
      "-sha256", "-extfile", "host.ext", "-out", "host.crt"]);
    await chmod(path.join(temp, "host.key"), 0o600);
    // The CA key is not needed again: without it nobody can issue another "lab host" certificate.
    for (const f of ["ca.key", "host.csr", "host.ext", "ca.srl"]) await rm(path.join(temp, f), { force: true });
    try {
      await rename(temp, dir);
    } catch (err) {
      // Another process made the set meanwhile: use theirs.
      if (!["EEXIST", "ENOTEMPTY"].includes((err as NodeJS.ErrnoException).code ?? "")) throw err;
    }
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return read(dir);
}

async function read(dir: string): Promise<HostTls> {
  const [ca, cert, key] = await Promise.all(["ca.crt", "host.crt", "host.key"].map((f) => readFile(path.join(/*turbopackIgnore: true*/ dir, f))));
  return { ca, cert, key };
}
