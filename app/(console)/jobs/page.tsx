import Link from "next/link";
import { JobList } from "@/components/backup/job-list";
import { PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { requireActor } from "@/lib/auth/session";
import { hasPermission } from "@/lib/permissions/roles";
import { listBackupJobs } from "@/lib/services/backup/list-backup-jobs";
import { runBackupJobNowAction, setBackupJobEnabledAction } from "./actions";

export const metadata = { title: "Backup jobs" };

export default async function JobsPage() {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "job:read")) return <Forbidden what="see backup jobs" />;
  const jobs = await listBackupJobs(actor);
  const canManage = hasPermission(actor.role, "job:manage");
  return (
    <>
      <PageHeader
        title="Backup jobs"
        description="What is protected, where it goes, under which key and when. Results update live; open a result to follow its session disk by disk."
        actions={
          canManage ? (
            <Link href="/jobs/new" className="rounded-md bg-brand-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-brand-700" data-testid="new-job-link">
              New backup job
            </Link>
          ) : undefined
        }
      />
      <JobList initial={jobs} canManage={canManage} actions={{ run: runBackupJobNowAction, setEnabled: setBackupJobEnabledAction }} />
    </>
  );
}
