import { Card, PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { EmptyState } from "@/components/ui/states";
import { ReplicaTable } from "@/components/replication/replica-table";
import { requireActor } from "@/lib/auth/session";
import { hasPermission } from "@/lib/permissions/roles";
import { listReplicas } from "@/lib/services/replication/list-replicas";

export const metadata = { title: "Replicas" };
export const dynamic = "force-dynamic";

export default async function ReplicasPage() {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "job:read")) return <Forbidden what="see replicas" />;
  const replicas = await listReplicas(actor);
  return (
    <>
      <PageHeader title="Replicas" description="Copies of VMs at a DR site, kept up to date by replication jobs. The recovery point objective (RPO) is the age of a replica's newest restore point." />
      {replicas.length === 0 ? (
        <EmptyState title="No replicas yet">
          A replica comes to exist when a replication job runs: its first run creates a copy of each of the job&apos;s VMs at the target site, encrypted with shared keys or a new key of the target&apos;s key provider, and every later run ships only the blocks that changed. Replication jobs are set up by a Backup Administrator.
        </EmptyState>
      ) : (
        <Card title={`Replicas (${replicas.length})`}>
          <ReplicaTable replicas={replicas} />
        </Card>
      )}
    </>
  );
}
