import { FailoverWizard } from "@/components/failover/failover-wizard";
import { PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { requireActor } from "@/lib/auth/session";
import { hasPermission } from "@/lib/permissions/roles";
import { listReplicas } from "@/lib/services/replication/list-replicas";
import { checkFailoverAction, startFailoverAction, startPlannedFailoverAction } from "../failover-actions";

export const metadata = { title: "Fail over replicas" };
export const dynamic = "force-dynamic";

export default async function FailoverWizardPage({ searchParams }: { searchParams: Promise<{ replica?: string; kind?: string }> }) {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "failover:run")) return <Forbidden what="fail over replicas" />;
  const { replica, kind } = await searchParams;
  const replicas = (await listReplicas(actor)).map((r) => ({ id: r.id, replicaVmName: r.replicaVmName, sourceVmName: r.sourceVmName, jobId: r.jobId, jobName: r.jobName, state: r.state, keyMode: r.keyMode, points: r.points.map((p) => ({ id: p.id, createdAt: p.createdAt, keyIds: p.keyIds, keyMode: p.keyMode })) }));
  return (
    <>
      <PageHeader title="Fail over replicas" description="Power replicas on at the DR site at a point you choose. Each step checks your choices before you move on; the pre-failover check says go or no-go per replica before anything changes." />
      <FailoverWizard replicas={replicas} preselect={typeof replica === "string" ? replica : null} kind={typeof kind === "string" ? kind : null} actions={{ check: checkFailoverAction, start: startFailoverAction, planned: startPlannedFailoverAction }} />
    </>
  );
}
