import { routeHandler } from "@/lib/auth/route";
import { listKmsClusters } from "@/lib/services/kms/list-kms-clusters";

export const dynamic = "force-dynamic";

/** The registered KMS clusters and their live status (polled by the key provider and VM pages). */
export const GET = routeHandler(async (actor) => listKmsClusters(actor));
