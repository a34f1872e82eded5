import { DatastoreTree } from "@/components/inventory/datastore-tree";
import { PageHeader } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/states";
import { requireActor } from "@/lib/auth/session";
import { listDatastoresGrouped } from "@/lib/services/inventory/list-datastores";

export const metadata = { title: "Datastores" };

export default async function DatastoresPage() {
  const actor = await requireActor();
  const groups = await listDatastoresGrouped(actor);
  return (
    <>
      <PageHeader
        title="Datastores"
        description="Grouped as every wizard shows them: an encrypted VM's configuration and encrypted disks can be placed only on datastores under the VM Encryption Policy node."
      />
      {groups.length === 0 ? <EmptyState title="No datastores yet">Sync the platform inventory from the dashboard.</EmptyState> : <DatastoreTree groups={groups} />}
    </>
  );
}
