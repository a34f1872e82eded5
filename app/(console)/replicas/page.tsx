import Link from "next/link";
import { Card, PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { EmptyState } from "@/components/ui/states";
import { ReplicaTable } from "@/components/replication/replica-table";
import { requireActor } from "@/lib/auth/session";
import { hasPermission } from "@/lib/permissions/roles";
import { listReplicas } from "@/lib/services/replication/list-replicas";
import { commitFailbackAction, undoFailbackAction } from "./failback-actions";
import { permanentFailoverAction, undoFailoverAction } from "./failover-actions";

export const metadata = { title: "Replicas" };
export const dynamic = "force-dynamic";

export default async function ReplicasPage() {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "job:read")) return <Forbidden what="see replicas" />;
  const replicas = await listReplicas(actor);
  const canRun = hasPermission(actor.role, "failover:run");
  const canPermanent = hasPermission(actor.role, "failover:permanent");
  const canFailback = hasPermission(actor.role, "failback:run");
  const anyReady = replicas.some((r) => r.state === "Ready");
  return (
    <>
      <PageHeader title="Replicas" description="Copies of VMs at a DR site, kept up to date by replication jobs. The recovery point objective (RPO) is the age of a replica's newest restore point. Failing over powers a replica on at the DR site at one of its points." />
      {replicas.length === 0 ? (
        <EmptyState title="No replicas yet">
          A replica comes to exist when a replication job runs: its first run creates a copy of each of the job&apos;s VMs at the target site, encrypted with shared keys or a new key of the target&apos;s key provider, and every later run ships only the blocks that changed. Replication jobs are set up by a Backup Administrator.
        </EmptyState>
      ) : (
        <>
          {canRun ? (
            anyReady && (
              <div className="mb-4 flex items-center gap-3">
                <Link href="/replicas/failover" className="btn-primary" data-testid="open-failover-wizard">Fail over replicas…</Link>
                <span className="text-sm text-slate-600">Choose one or several Ready replicas, their points, and see the pre-failover check before anything changes.</span>
              </div>
            )
          ) : (
            <p className="mb-4 text-sm text-slate-600" data-testid="failover-view-only">You can see replicas. Failing over and undoing a failover need the Restore Operator or Backup Administrator role; making it permanent and failing back need a Backup Administrator.</p>
          )}
          <Card title={`Replicas (${replicas.length})`}>
            <ReplicaTable replicas={replicas} failover={{ canRun, canPermanent, canFailback, actions: { undo: undoFailoverAction, permanent: permanentFailoverAction, commitFailback: commitFailbackAction, undoFailback: undoFailbackAction } }} />
          </Card>
        </>
      )}
    </>
  );
}
