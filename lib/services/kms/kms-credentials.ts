import "server-only";
import crypto from "node:crypto";
import { AppError } from "@/lib/errors/app-error";
import { openSecret } from "./config-secrets";
import { parseServers } from "./kms-cluster-dto";
import type { KmsCredentials } from "./kms-probe";

export interface CheckedClientCertificate {
  subject: string;
  fingerprint: string;
  notAfter: Date;
}

/**
 * Checks what an administrator pasted before anything is stored or sent: each PEM parses, the
 * private key belongs to the client certificate, and the certificate has not expired. Errors name
 * the field and never echo the key.
 */
export function checkCredentialPems(caPem: string, clientCertPem: string, clientKeyPem: string): CheckedClientCertificate {
  const fieldError = (field: string, message: string) => new AppError("INVALID_INPUT", message, { [field]: [message] });
  try {
    new crypto.X509Certificate(caPem);
  } catch {
    throw fieldError("caPem", "The CA certificate could not be read. Paste the whole PEM, including the BEGIN/END lines.");
  }
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(clientCertPem);
  } catch {
    throw fieldError("clientCertPem", "The client certificate could not be read. Paste the whole PEM, including the BEGIN/END lines.");
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(clientKeyPem);
  } catch {
    throw fieldError("clientKeyPem", "The private key could not be read (encrypted keys are not supported). Paste an unencrypted PEM key.");
  }
  if (!cert.checkPrivateKey(key)) {
    throw fieldError("clientKeyPem", "This private key does not belong to the client certificate.");
  }
  const notAfter = new Date(cert.validTo);
  if (notAfter.getTime() < Date.now()) {
    throw fieldError("clientCertPem", `The client certificate expired on ${notAfter.toISOString().slice(0, 10)}.`);
  }
  return { subject: cert.subject.replace(/\n/g, ", "), fingerprint: cert.fingerprint256, notAfter };
}

export const secretContext = (clusterId: string, field: "ca" | "cert" | "key") => `kms-cluster:${clusterId}:${field}`;

/** Opens a stored cluster's credentials, in memory only, for one connection. */
export function openCredentials(c: { id: string; servers: string; caSealed: string; clientCertSealed: string; clientKeySealed: string }): KmsCredentials {
  return {
    servers: parseServers(c.servers),
    ca: openSecret(c.caSealed, secretContext(c.id, "ca")),
    cert: openSecret(c.clientCertSealed, secretContext(c.id, "cert")),
    key: openSecret(c.clientKeySealed, secretContext(c.id, "key")),
  };
}
