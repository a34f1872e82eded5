import { Badge } from "@/components/ui/badge";
import { PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { EmptyState, ErrorNotice } from "@/components/ui/states";
import { Table, Td, Th } from "@/components/ui/table";
import { hasPermission } from "@/lib/permissions/roles";
import { requireActor } from "@/lib/auth/session";
import { formatDateTime } from "@/lib/format";
import { listAuditEvents } from "@/lib/services/audit/list-audit-events";
import { verifyAuditChain } from "@/lib/services/audit/verify-audit-chain";

export const metadata = { title: "Audit log" };

const OUTCOME_TONE = { success: "good", failure: "warn", denied: "bad" } as const;

export default async function AuditPage() {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "audit:read")) return <Forbidden what="read the audit log" />;
  const [events, chain] = await Promise.all([listAuditEvents(actor), verifyAuditChain(actor)]);
  return (
    <>
      <PageHeader
        title="Audit log"
        description="Sign-ins, failed sign-ins, user and role changes, inventory syncs and refused actions, newest first. Each entry carries the hash of the one before it, so an edited or deleted entry is detected."
      />
      <div className="mb-4" data-testid="audit-chain">
        {chain.ok ? (
          <p className="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800">Hash chain intact: {chain.checked} entries verified.</p>
        ) : (
          <ErrorNotice title="The audit log has been tampered with">
            The hash chain breaks at entry #{chain.firstBrokenSeq}: that entry, or the one before it, was edited or deleted outside Strongroom.
          </ErrorNotice>
        )}
      </div>
      {events.length === 0 ? (
        <EmptyState title="No audit events yet" />
      ) : (
        <Table testId="audit-table">
          <thead>
            <tr><Th>#</Th><Th>When</Th><Th>Who</Th><Th>Action</Th><Th>Outcome</Th><Th>From</Th><Th>Details</Th></tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {events.map((e) => (
              <tr key={e.seq}>
                <Td className="text-xs text-slate-400">{e.seq}</Td>
                <Td className="whitespace-nowrap text-xs">{formatDateTime(e.at)}</Td>
                <Td className="text-xs">{e.actorEmail ?? "—"}</Td>
                <Td className="font-mono text-xs">{e.action}</Td>
                <Td><Badge tone={OUTCOME_TONE[e.outcome as keyof typeof OUTCOME_TONE] ?? "neutral"}>{e.outcome}</Badge></Td>
                <Td className="text-xs">{e.sourceIp ?? "—"}</Td>
                <Td className="max-w-md truncate font-mono text-xs text-slate-500" >{e.details === "{}" ? "" : e.details}</Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </>
  );
}
