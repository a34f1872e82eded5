import { BackupJobWizard } from "@/components/backup-wizard/backup-job-wizard";
import { PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { requireActor } from "@/lib/auth/session";
import { hasPermission } from "@/lib/permissions/roles";
import { getJobWizardOptions } from "@/lib/services/backup/get-job-wizard-options";
import { createBackupJobAction } from "./actions";

export const metadata = { title: "New backup job" };

export default async function NewBackupJobPage() {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "job:manage")) return <Forbidden what="create backup jobs" />;
  const options = await getJobWizardOptions(actor);
  return (
    <>
      <PageHeader
        title="New backup job"
        description="Choose what to protect, where the restore points go, which proxies read the disks, how the backups are encrypted and when the job runs. Each step checks your input before you move on."
      />
      <BackupJobWizard options={options} save={createBackupJobAction} />
    </>
  );
}
