// Throwaway TLS material for NBDSSL tests and the benchmark, made with the openssl CLI in a temp
// folder: a CA, a host certificate it signs (SAN IP:127.0.0.1 and DNS:localhost), and a second,
// unrelated CA for "wrong CA" tests. EC P-256 keys: generated in milliseconds, unlike RSA.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export interface TestCertificates {
  /** CA that issued the host certificate. */
  ca: Buffer;
  /** A CA that did not: verification against it must fail. */
  otherCa: Buffer;
  hostCert: Buffer;
  hostKey: Buffer;
  /** Removes the temp folder. */
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

function makeCa(dir: string, name: string, cn: string): void {
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${name}.key`,
    "-out", `${name}.crt`, "-days", "2", "-subj", `/CN=${cn}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
}

export function generateTestCertificates(): TestCertificates {
  const dir = mkdtempSync(path.join(os.tmpdir(), "strongroom-nbd-certs-"));
  makeCa(dir, "ca", "Strongroom Lab Host CA");
  makeCa(dir, "other-ca", "Some Other CA");
  writeFileSync(path.join(dir, "host.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n");
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "host.key", "-out", "host.csr",
    "-subj", "/CN=esx01.lab"], dir);
  openssl(["x509", "-req", "-in", "host.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", "0x01", "-days", "2", "-sha256",
    "-extfile", "host.ext", "-out", "host.crt"], dir);
  const read = (f: string) => readFileSync(path.join(dir, f));
  return {
    ca: read("ca.crt"),
    otherCa: read("other-ca.crt"),
    hostCert: read("host.crt"),
    hostKey: read("host.key"),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
