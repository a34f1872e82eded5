import "server-only";
import crypto from "node:crypto";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { serializableTransaction } from "@/lib/db/transaction";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { registerKmsClusterSchema, type RegisterKmsClusterInput } from "@/lib/schemas/kms";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { checkKmsCluster } from "./check-kms-clusters";
import { sealSecret } from "./config-secrets";
import { toKmsClusterDto, type KmsClusterDto } from "./kms-cluster-dto";
import { checkCredentialPems, secretContext } from "./kms-credentials";

/**
 * Registers a KMS cluster (VME-4): servers, the CA that signs their certificates, and the client
 * certificate and key Strongroom presents. Secrets are sealed before they reach the database. The
 * cluster is checked once right away; an unreachable KMS is registered anyway and shown as such.
 */
export async function registerKmsCluster(actor: Actor, raw: RegisterKmsClusterInput): Promise<KmsClusterDto> {
  authorize(actor, "keyprovider:manage");
  const input = parseInput(registerKmsClusterSchema, raw);
  const client = checkCredentialPems(input.caPem, input.clientCertPem, input.clientKeyPem);
  const id = crypto.randomUUID();
  await serializableTransaction(async (tx) => {
    if (await tx.kmsCluster.findUnique({ where: { name: input.name }, select: { id: true } })) {
      throw new AppError("CONFLICT", `A KMS cluster named "${input.name}" already exists.`, { name: ["This name is already used"] });
    }
    const providers = await tx.keyProvider.findMany({ where: { id: { in: input.keyProviderIds } }, select: { id: true, kind: true } });
    if (providers.length !== input.keyProviderIds.length || providers.some((p) => p.kind !== "STANDARD")) {
      throw new AppError("INVALID_INPUT", "Only standard key providers can be served by a KMS cluster.", { keyProviderIds: ["Choose standard key providers only"] });
    }
    await tx.kmsCluster.create({
      data: {
        id,
        name: input.name,
        servers: JSON.stringify(input.servers),
        caSealed: sealSecret(input.caPem, secretContext(id, "ca")),
        clientCertSealed: sealSecret(input.clientCertPem, secretContext(id, "cert")),
        clientKeySealed: sealSecret(input.clientKeyPem, secretContext(id, "key")),
        clientCertSubject: client.subject,
        clientCertFingerprint: client.fingerprint,
        clientCertNotAfter: client.notAfter,
      },
    });
    if (input.keyProviderIds.length) {
      await tx.keyProvider.updateMany({ where: { id: { in: input.keyProviderIds } }, data: { kmsClusterId: id } });
    }
    await recordAuditEvent(
      {
        actor,
        action: "kms.register",
        objectType: "kms-cluster",
        objectId: id,
        outcome: "success",
        details: { name: input.name, servers: input.servers, clientCertFingerprint: client.fingerprint, keyProviders: input.keyProviderIds.length },
      },
      tx,
    );
  });
  await checkKmsCluster(id);
  const stored = await db.kmsCluster.findUniqueOrThrow({ where: { id }, include: { keyProviders: { include: { site: true } } } });
  return toKmsClusterDto(stored);
}
