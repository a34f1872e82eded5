import { Badge } from "@/components/ui/badge";
import { PageHeader } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/states";
import { Table, Td, Th } from "@/components/ui/table";
import { requireActor } from "@/lib/auth/session";
import { TRANSPORT_LABELS } from "@/lib/format";
import { listProxies } from "@/lib/services/inventory/list-proxies";
import { LockIcon } from "@/components/ui/icons";

export const metadata = { title: "Backup proxies" };

export default async function ProxiesPage() {
  const actor = await requireActor();
  const proxies = await listProxies(actor);
  return (
    <>
      <PageHeader
        title="Backup proxies"
        description="Proxies read VM disks with a transport mode. HotAdd of an encrypted disk works only from a proxy VM encrypted with the same key provider and holding Cryptographer.Access and Cryptographer.AddDisk."
      />
      {proxies.length === 0 ? (
        <EmptyState title="No backup proxies">No proxy is registered; backups cannot read disks until one is.</EmptyState>
      ) : (
        <Table testId="proxy-table">
          <thead>
            <tr><Th>Proxy</Th><Th>Site</Th><Th>Transport modes</Th><Th className="text-right">Max tasks</Th><Th>Encrypted with</Th><Th>Dedicated to</Th><Th>Privileges</Th></tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {proxies.map((p) => (
              <tr key={p.id} data-testid="proxy-row">
                <Td>
                  <div className="font-medium">{p.name}</div>
                  <div className="text-xs text-slate-500">{p.kind === "vm" ? `VM on ${p.hostName}` : "Physical server"}</div>
                  {p.warnings.map((w) => <div key={w} className="mt-1 text-xs text-amber-800" data-testid="proxy-warning">⚠ {w}</div>)}
                </Td>
                <Td>{p.site.name}</Td>
                <Td className="space-y-0.5">{p.transportModes.map((m) => <div key={m} className="text-xs">{TRANSPORT_LABELS[m] ?? m}</div>)}</Td>
                <Td className="text-right">{p.maxTasks}</Td>
                <Td>{p.keyProvider ? <Badge tone="lock"><LockIcon /> {p.keyProvider.name}</Badge> : <span className="text-slate-400">Not encrypted</span>}</Td>
                <Td>{p.tenant?.name ?? <span className="text-slate-400">Shared</span>}</Td>
                <Td className="text-xs">{p.privileges.join(", ") || "—"}</Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </>
  );
}
