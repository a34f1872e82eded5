import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { parseInput } from "@/lib/errors/parse-input";
import { registerKmsClusterSchema, type RegisterKmsClusterInput } from "@/lib/schemas/kms";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { checkCredentialPems } from "./kms-credentials";
import { probeKms, type ProbeResult } from "./kms-probe";

/** "Test connection" on the registration form, before anything is stored. */
export async function testKmsConnection(actor: Actor, raw: RegisterKmsClusterInput): Promise<ProbeResult> {
  authorize(actor, "keyprovider:manage");
  const input = parseInput(registerKmsClusterSchema, raw);
  checkCredentialPems(input.caPem, input.clientCertPem, input.clientKeyPem);
  const result = await probeKms({ servers: input.servers, ca: input.caPem, cert: input.clientCertPem, key: input.clientKeyPem });
  await recordAuditEvent({
    actor,
    action: "kms.test-connection",
    objectType: "kms-cluster",
    outcome: result.ok ? "success" : "failure",
    details: { name: input.name, servers: input.servers, ...(result.ok ? { versions: result.versions } : { error: result.error }) },
  });
  return result;
}
