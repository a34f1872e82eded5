import { AuditLog } from "@/components/audit/audit-log";
import type { AuditViewState } from "@/components/audit/audit-search";
import { ChainStatus } from "@/components/audit/chain-status";
import { PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { requireActor } from "@/lib/auth/session";
import { hasPermission } from "@/lib/permissions/roles";
import { AUDIT_DEFAULT_PAGE_SIZE, auditListQuerySchema } from "@/lib/schemas/audit";
import { listAuditEvents, listAuditFilterOptions } from "@/lib/services/audit/list-audit-events";

export const metadata = { title: "Audit log" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export default async function AuditPage({ searchParams }: { searchParams: SearchParams }) {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "audit:read")) return <Forbidden what="read the audit log" />;
  const raw = Object.fromEntries(Object.entries(await searchParams).map(([k, v]) => [k, (Array.isArray(v) ? v[0] : v) ?? ""]));
  const s = (k: string) => (typeof raw[k] === "string" ? raw[k].slice(0, 300) : "");
  const pageSize = Number(raw.pageSize);
  const initialView: AuditViewState = {
    user: s("user"),
    action: s("action"),
    objectType: s("objectType"),
    objectId: s("objectId"),
    outcome: s("outcome"),
    from: s("from"),
    to: s("to"),
    pageSize: Number.isInteger(pageSize) && pageSize > 0 ? pageSize : AUDIT_DEFAULT_PAGE_SIZE,
    before: s("before"),
    after: s("after"),
  };
  // Invalid filters in the address are shown in the filter bar with what is wrong (nothing is listed until they are fixed).
  const valid = auditListQuerySchema.safeParse(raw).success;
  const [page, options] = await Promise.all([valid ? listAuditEvents(actor, raw) : null, listAuditFilterOptions(actor)]);
  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every security-relevant event, newest first: sign-ins and failed sign-ins, user and role changes, key provider, keyset and job changes, exports and refused actions. Each entry carries the hash of the one before it, so an edited, deleted or reordered entry is detected."
      />
      <ChainStatus />
      <AuditLog initialView={initialView} initialPage={page} options={options} />
    </>
  );
}
