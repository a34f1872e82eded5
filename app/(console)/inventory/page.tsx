import { InventoryTree } from "@/components/inventory/inventory-tree";
import { PageHeader } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/states";
import { requireActor } from "@/lib/auth/session";
import { getInventoryTree } from "@/lib/services/inventory/get-inventory-tree";

export const metadata = { title: "Inventory" };

export default async function InventoryPage() {
  const actor = await requireActor();
  const sites = await getInventoryTree(actor);
  return (
    <>
      <PageHeader title="Inventory" description="Sites (vCenters), clusters, ESXi hosts and their VMs. Open a host to see its VMs; a lock marks VMs encrypted with VM Encryption." />
      {sites.length === 0 ? <EmptyState title="No sites yet">The platform has not been synced. A Backup Administrator can sync it from the dashboard.</EmptyState> : <InventoryTree sites={sites} />}
    </>
  );
}
