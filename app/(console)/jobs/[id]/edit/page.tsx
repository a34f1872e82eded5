import { notFound } from "next/navigation";
import { BackupJobWizard } from "@/components/backup-wizard/backup-job-wizard";
import { PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { requireActor } from "@/lib/auth/session";
import { orNull } from "@/lib/errors/not-found";
import { hasPermission } from "@/lib/permissions/roles";
import { getJobWizardOptions } from "@/lib/services/backup/get-job-wizard-options";
import { getBackupJob } from "@/lib/services/backup/list-backup-jobs";
import { updateBackupJobAction } from "../../new/actions";

export const metadata = { title: "Edit backup job" };

export default async function EditBackupJobPage({ params }: { params: Promise<{ id: string }> }) {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "job:manage")) return <Forbidden what="edit backup jobs" />;
  const { id } = await params;
  const job = await orNull(getBackupJob(actor, { jobId: id }));
  if (!job) notFound();
  const options = await getJobWizardOptions(actor);
  const f = job.form;
  return (
    <>
      <PageHeader title={`Edit ${job.name}`} description="Changes apply from the next run. A new password or KMS key starts new chains (the next run is a full backup); older restore points keep opening with the key that protects them." />
      <BackupJobWizard
        options={options}
        save={updateBackupJobAction}
        initial={{
          jobId: job.id,
          hasPassword: job.encryptionMode === "password",
          form: {
            name: f.name,
            description: f.description ?? "",
            selection: f.selection,
            repositoryId: f.repositoryId,
            retentionPoints: Number(f.retentionPoints),
            proxyMode: f.proxyMode,
            proxyIds: f.proxyIds ?? [],
            failoverToNetwork: Boolean(f.failoverToNetwork),
            encryptionMode: f.encryptionMode,
            passwordHint: f.passwordHint ?? "",
            kmsKeyProviderId: f.kmsKeyProviderId ?? "",
            schedule: f.schedule,
          },
        }}
      />
    </>
  );
}
