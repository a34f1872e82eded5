import "server-only";
import { env } from "@/lib/config/env";
import { db } from "@/lib/db/client";
import { KmipClient } from "@/lib/kmip";
import { KeyProviderError, KmipKeyProvider, type KeyEncryptionKeySource } from "@/lib/platform/lab/data-plane";
import { nativeOnlyKeySources, type LabKeyProviderRef } from "@/lib/platform/lab/lab-key-sources";
import { openCredentials } from "./kms-credentials";

// Where the lab's hosts get key-encryption keys (VME-1, VME-4). The native provider keeps sealed
// keys in the lab folder, one per site; a standard provider reaches the KMS cluster registered in
// the console for it, over KMIP with mutual TLS — exactly the connection the console monitors.

let native: ReturnType<typeof nativeOnlyKeySources> | undefined;
const standard = new Map<string, { stamp: number; source: KmipKeyProvider }>();

export async function keySourceFor(p: LabKeyProviderRef): Promise<KeyEncryptionKeySource> {
  if (p.kind === "native") {
    native ??= nativeOnlyKeySources(env.labDir);
    return native.forProvider(p);
  }
  const provider = await db.keyProvider.findFirst({
    where: { externalId: p.keyProviderExternalId, site: { externalId: p.siteExternalId } },
    include: { kmsCluster: true },
  });
  const cluster = provider?.kmsCluster;
  if (!cluster) {
    throw new KeyProviderError("unreachable", `No KMS cluster is registered for ${p.name}: register it under Key providers so the hosts can reach its keys.`);
  }
  // One client per cluster, rebuilt when its registration changes.
  const cached = standard.get(cluster.id);
  if (cached && cached.stamp === cluster.updatedAt.getTime()) return cached.source;
  await cached?.source.close().catch(() => undefined);
  const creds = openCredentials(cluster);
  const server = creds.servers[0];
  const client = new KmipClient({ host: server.host, port: server.port, ca: creds.ca, cert: creds.cert, key: creds.key, connectTimeoutMs: 5_000, requestTimeoutMs: 10_000 });
  const source = new KmipKeyProvider({ providerId: p.keyProviderExternalId, client });
  standard.set(cluster.id, { stamp: cluster.updatedAt.getTime(), source });
  return source;
}
