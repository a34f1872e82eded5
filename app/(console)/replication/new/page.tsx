import { ReplicationWizard } from "@/components/replication/replication-wizard";
import { PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { requireActor } from "@/lib/auth/session";
import { hasPermission } from "@/lib/permissions/roles";
import { getReplicationWizardOptions } from "@/lib/services/replication/get-replication-wizard-options";
import { checkReplicationJobAction, createReplicationJobAction } from "../actions";

export const metadata = { title: "New replication job" };

export default async function NewReplicationJobPage() {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "job:manage")) return <Forbidden what="create replication jobs" />;
  const options = await getReplicationWizardOptions(actor);
  return (
    <>
      <PageHeader
        title="New replication job"
        description="Copy VMs to another site on a schedule: choose the VMs, where their replicas go, how the replicas are encrypted, how many restore points each keeps, which proxies move the data and when the job runs. Each step checks your choices before you move on."
      />
      <ReplicationWizard options={options} checkAction={checkReplicationJobAction} save={createReplicationJobAction} />
    </>
  );
}
