import { AnswerRequestForm, ApplyResponseForm, CreateRequestForm } from "@/components/password-recovery/recovery-forms";
import { Badge } from "@/components/ui/badge";
import { Card, PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { requireActor } from "@/lib/auth/session";
import { formatDateTime } from "@/lib/format";
import { hasPermission } from "@/lib/permissions/roles";
import { listRestorePoints } from "@/lib/services/backup/list-restore-points";
import { listPasswordRecoveryRequests } from "@/lib/services/password-recovery/list-recovery-requests";
import { answerRecoveryRequestAction, applyRecoveryResponseAction, createRecoveryRequestAction } from "./actions";

export const metadata = { title: "Password recovery" };

export default async function PasswordRecoveryPage() {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "job:read")) return <Forbidden what="see password recovery" />;
  const admin = hasPermission(actor.role, "job:manage");
  const officer = hasPermission(actor.role, "keyset:manage");
  const [points, requests] = await Promise.all([admin ? listRestorePoints(actor, {}) : Promise.resolve([]), listPasswordRecoveryRequests(actor)]);
  return (
    <>
      <PageHeader
        title="Password recovery"
        description="A lost backup password is not lost data: every restore point's key is also wrapped by the recovery keysets. The administrator makes a request for the points, a Security Officer answers it with the keyset, and the administrator applies the answer. The documents carry no usable secret; each step is audited."
      />
      <div className="grid gap-6">
        {admin && (
          <Card title="1. Request recovery of restore points (Backup Administrator)">
            <CreateRequestForm
              action={createRecoveryRequestAction}
              points={points.map((p) => ({ id: p.id, vmName: p.vmName, jobName: p.job?.name ?? null, createdAt: p.createdAt, keyIds: p.keyIds, repositoryName: p.repository.name }))}
            />
          </Card>
        )}
        {officer && (
          <Card title="2. Answer a request (Security Officer)">
            <AnswerRequestForm action={answerRecoveryRequestAction} />
          </Card>
        )}
        {admin && (
          <Card title="3. Apply the answer (Backup Administrator)">
            <ApplyResponseForm action={applyRecoveryResponseAction} />
          </Card>
        )}
        <Card title="Requests">
          {requests.length === 0 ? (
            <p className="text-sm text-slate-600" data-testid="recovery-requests-empty">No recovery request yet.</p>
          ) : (
            <table className="w-full text-left text-sm" data-testid="recovery-requests">
              <thead className="text-xs uppercase tracking-wide text-slate-500">
                <tr>
                  <th className="py-1">Made</th>
                  <th className="py-1">By</th>
                  <th className="py-1">Repository</th>
                  <th className="py-1">Points</th>
                  <th className="py-1">State</th>
                </tr>
              </thead>
              <tbody>
                {requests.map((r) => (
                  <tr key={r.id} className="border-t border-slate-100">
                    <td className="py-1">{formatDateTime(r.createdAt)}</td>
                    <td className="py-1">{r.createdBy ?? "—"}</td>
                    <td className="py-1">{r.repositoryName}</td>
                    <td className="py-1">{r.pointCount}</td>
                    <td className="py-1">{r.state === "applied" ? <Badge tone="good">Applied {formatDateTime(r.appliedAt)}</Badge> : <Badge tone="warn">Waiting for the answer</Badge>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
      </div>
    </>
  );
}
