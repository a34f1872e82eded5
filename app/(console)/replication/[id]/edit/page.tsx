import { notFound } from "next/navigation";
import { EditReplicationJob } from "@/components/replication/edit-replication-job";
import { PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { requireActor } from "@/lib/auth/session";
import { orNull } from "@/lib/errors/not-found";
import { hasPermission } from "@/lib/permissions/roles";
import { getReplicationWizardOptions } from "@/lib/services/replication/get-replication-wizard-options";
import { getReplicationJob } from "@/lib/services/replication/list-replication-jobs";
import { checkReplicationJobAction } from "../../actions";

export const metadata = { title: "Edit replication job" };
export const dynamic = "force-dynamic";

export default async function EditReplicationJobPage({ params }: { params: Promise<{ id: string }> }) {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "job:manage")) return <Forbidden what="edit replication jobs" />;
  const jobId = (await params).id;
  const job = await orNull(getReplicationJob(actor, { jobId }));
  if (!job) notFound();
  const all = await getReplicationWizardOptions(actor);
  // The job's own name and its own replica VMs are no conflict for this edit.
  const own = new Set(job.form.replicaVmNames);
  const options = { ...all, existingJobNames: all.existingJobNames.filter((n) => n !== job.name), sites: all.sites.map((s) => ({ ...s, vmNames: s.vmNames.filter((n) => !own.has(n)) })) };
  const { replicaVmNames: _names, ...form } = job.form;
  return (
    <>
      <PageHeader
        title={`Edit ${job.name}`}
        description="Changes apply from the next run. A new key mode, key provider, target or placement starts a new replica for the VMs it concerns: the next run deletes the old replica with its restore points and makes a full copy. With four-eyes on, a change that weakens the replicas' keys waits for another Security Officer's approval."
      />
      <EditReplicationJob jobId={job.id} options={options} initial={{ ...form, name: job.name, description: job.description }} checkAction={checkReplicationJobAction} />
    </>
  );
}
