import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { toKmsClusterDto, type KmsClusterDto } from "./kms-cluster-dto";

export async function listKmsClusters(actor: Actor): Promise<KmsClusterDto[]> {
  authorize(actor, "inventory:read");
  const rows = await db.kmsCluster.findMany({ orderBy: { name: "asc" }, include: { keyProviders: { include: { site: true }, orderBy: { name: "asc" } } } });
  return rows.map(toKmsClusterDto);
}
