import Link from "next/link";
import { redirect } from "next/navigation";
import { RestoreWizard } from "@/components/restore-wizard/restore-wizard";
import { PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { EmptyState } from "@/components/ui/states";
import { requireActor } from "@/lib/auth/session";
import { orNull } from "@/lib/errors/not-found";
import { hasPermission } from "@/lib/permissions/roles";
import { getRestoreOptions } from "@/lib/services/restore/get-restore-options";
import { listDiskRestoreTargets } from "@/lib/services/restore/list-disk-restore-targets";
import { listRestorablePoints } from "@/lib/services/restore/list-restorable-vms";
import { checkDiskRestoreAction, checkRestoreAction, startDiskRestoreAction, startRestoreAction, startRollbackAction } from "../actions";

export const metadata = { title: "Restore a VM" };

export default async function NewRestorePage({ searchParams }: { searchParams: Promise<{ point?: string }> }) {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "restore:run")) return <Forbidden what="restore VMs" />;
  const { point } = await searchParams;
  if (!point) redirect("/restore");
  const options = await orNull(getRestoreOptions(actor, { pointId: point }));
  if (!options) {
    return (
      <>
        <PageHeader title="Restore a VM" />
        <EmptyState title="This restore point does not exist" action={{ href: "/restore", label: "Choose a VM and a restore point" }}>
          Retention may have removed it, or the link is wrong.
        </EmptyState>
      </>
    );
  }
  const points = await listRestorablePoints(actor, { vmExternalId: options.point.vmExternalId });
  const { targets } = options.point.vm ? await listDiskRestoreTargets(actor, { vmExternalId: options.point.vmExternalId, tenantExternalId: options.point.vm.tenant?.externalId ?? null }) : { targets: [] };
  return (
    <>
      <div className="mb-2 text-sm text-slate-500">
        <Link href="/restore" className="hover:underline">Restore</Link> / {options.point.vmName}
      </div>
      <PageHeader
        title={`Restore ${options.point.vmName}`}
        description="Choose the point and how to restore: a new VM where you choose (which disks stay encrypted, with which key), the VM itself in place (overwrite or quick rollback), or chosen disks attached to an existing VM. Each step checks your input before you move on."
      />
      <RestoreWizard key={options.point.id} options={options} points={points} checkAction={checkRestoreAction} startAction={startRestoreAction} rollbackAction={startRollbackAction} diskTargets={targets} diskRestoreAction={startDiskRestoreAction} diskCheckAction={checkDiskRestoreAction} />
    </>
  );
}
