import Link from "next/link";
import { ReplicationJobList } from "@/components/replication/replication-job-list";
import { PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { EmptyState } from "@/components/ui/states";
import { requireActor } from "@/lib/auth/session";
import { hasPermission } from "@/lib/permissions/roles";
import { listReplicationJobs } from "@/lib/services/replication/list-replication-jobs";
import { runReplicationJobNowAction } from "./actions";

export const metadata = { title: "Replication jobs" };
export const dynamic = "force-dynamic";

export default async function ReplicationJobsPage() {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "job:read")) return <Forbidden what="see replication jobs" />;
  const jobs = await listReplicationJobs(actor);
  const canManage = hasPermission(actor.role, "job:manage");
  return (
    <>
      <PageHeader
        title="Replication jobs"
        description="Each job keeps copies (replicas) of VMs at another site, up to date on a schedule, encrypted with shared keys or a new key of the target site. The replicas themselves are under Replicas."
        actions={
          canManage ? (
            <Link href="/replication/new" className="rounded-md bg-brand-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-brand-700" data-testid="new-replication-link">
              New replication job
            </Link>
          ) : undefined
        }
      />
      {jobs.length === 0 ? (
        <EmptyState title="No replication jobs yet" action={canManage ? { href: "/replication/new", label: "New replication job" } : undefined}>
          Replication copies VMs to a DR site and keeps the copies current: the first run copies every disk, later runs only the blocks that changed, and each run leaves a restore point on the replica to fail over to. An encrypted VM&apos;s replica keeps its key (when both sites reach the same KMS) or is re-keyed by the DR site&apos;s own key provider.
          {!canManage && " Replication jobs are set up by a Backup Administrator."}
        </EmptyState>
      ) : (
        <ReplicationJobList jobs={jobs} canManage={canManage} run={runReplicationJobNowAction} />
      )}
    </>
  );
}
