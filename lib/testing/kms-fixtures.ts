import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { generateCertificates } from "@/lib/kmip/testing/pykmip-server";

/** A CA, client certificate and key (PEM strings) made once per test run with openssl. */
let cached: { caPem: string; clientCertPem: string; clientKeyPem: string; otherKeyPem: string } | undefined;
export function testKmsPems() {
  if (cached) return cached;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "strongroom-kms-pems-"));
  const c = generateCertificates(dir);
  cached = { caPem: c.ca.toString(), clientCertPem: c.clientA.cert.toString(), clientKeyPem: c.clientA.key.toString(), otherKeyPem: c.clientB.key.toString() };
  fs.rmSync(dir, { recursive: true, force: true });
  return cached;
}
