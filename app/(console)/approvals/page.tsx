import { ApprovalCard } from "@/components/approvals/approval-card";
import { FourEyesForm } from "@/components/approvals/four-eyes-form";
import { Badge } from "@/components/ui/badge";
import { Card, PageHeader } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/states";
import { requireActor } from "@/lib/auth/session";
import { hasPermission } from "@/lib/permissions/roles";
import { getFourEyes } from "@/lib/services/approvals/four-eyes-settings";
import { listApprovalRequests } from "@/lib/services/approvals/list-approval-requests";
import { approveRequestAction, cancelRequestAction, confirmApprovalAction, rejectRequestAction, setFourEyesAction } from "./actions";

export const metadata = { title: "Approvals" };

export default async function ApprovalsPage() {
  const actor = await requireActor();
  const decider = hasPermission(actor.role, "approval:decide");
  const [fourEyes, inbox, mine, all] = await Promise.all([
    getFourEyes(actor),
    decider ? listApprovalRequests(actor, { scope: "inbox" }) : Promise.resolve([]),
    listApprovalRequests(actor, { scope: "mine" }),
    decider ? listApprovalRequests(actor, { scope: "all" }) : Promise.resolve([]),
  ]);
  const actions = { confirm: confirmApprovalAction, approve: approveRequestAction, reject: rejectRequestAction, cancel: cancelRequestAction };
  const decided = all.filter((r) => r.state !== "pending").slice(0, 30);
  return (
    <>
      <PageHeader
        title="Approvals"
        description="Four-eyes approval: while it is on, changing how backups are encrypted, a user's role, who the Security Officers are or how they sign in, or a KMS cluster, and restoring an encrypted VM unencrypted, creates a request that another Security Officer approves or rejects. Approval applies exactly what was requested, once. An officer whose account or password was set by the requester cannot approve that person's requests."
        actions={fourEyes.enabled ? <Badge tone="good">Four-eyes on</Badge> : <Badge tone="warn">Four-eyes off</Badge>}
      />
      {decider && (
        <Card title="Four-eyes approval" className="mb-6">
          <FourEyesForm action={setFourEyesAction} enabled={fourEyes.enabled} expiryHours={fourEyes.expiryHours} securityOfficers={fourEyes.securityOfficers} />
        </Card>
      )}
      {decider && (
        <section className="mb-8" data-testid="inbox">
          <h2 className="mb-3 text-lg font-semibold text-slate-900">Waiting for your decision ({inbox.length})</h2>
          {inbox.length === 0 ? (
            <EmptyState title="Nothing waits for you">Requests of other people appear here while four-eyes is on. You never decide your own.</EmptyState>
          ) : (
            <div className="space-y-4">
              {inbox.map((r) => (
                <ApprovalCard key={r.id} r={r} actions={actions} />
              ))}
            </div>
          )}
        </section>
      )}
      <section className="mb-8" data-testid="my-requests">
        <h2 className="mb-3 text-lg font-semibold text-slate-900">My requests</h2>
        {mine.length === 0 ? (
          <EmptyState title="You have made no request">{fourEyes.enabled ? "Guarded changes you make become requests and show here with their state." : "Four-eyes is off: guarded changes apply at once."}</EmptyState>
        ) : (
          <div className="space-y-4">
            {mine.map((r) => (
              <ApprovalCard key={r.id} r={r} actions={actions} />
            ))}
          </div>
        )}
      </section>
      {decider && decided.length > 0 && (
        <section data-testid="decided">
          <h2 className="mb-3 text-lg font-semibold text-slate-900">Recently decided</h2>
          <div className="space-y-4">
            {decided.map((r) => (
              <ApprovalCard key={r.id} r={r} actions={actions} />
            ))}
          </div>
        </section>
      )}
    </>
  );
}
