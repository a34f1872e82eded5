import { routeHandler } from "@/lib/auth/route";
import { verifyAuditChain } from "@/lib/services/audit/verify-audit-chain";

export const dynamic = "force-dynamic";

/** GET /api/audit/verify — recomputes the whole hash chain and says where and how it breaks. */
export const GET = routeHandler(async (actor) => verifyAuditChain(actor));
