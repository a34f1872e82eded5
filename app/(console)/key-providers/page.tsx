import Link from "next/link";
import { Badge } from "@/components/ui/badge";
import { PageHeader } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/states";
import { Table, Td, Th } from "@/components/ui/table";
import { requireActor } from "@/lib/auth/session";
import { listKeyProviders } from "@/lib/services/inventory/list-key-providers";

export const metadata = { title: "Key providers" };

export default async function KeyProvidersPage() {
  const actor = await requireActor();
  const providers = await listKeyProviders(actor);
  return (
    <>
      <PageHeader
        title="Key providers"
        description="The key providers registered on each site: standard ones are external KMS clusters reached over KMIP; the native one is built into the site. Encrypted VMs and HotAdd proxies depend on them."
      />
      {providers.length === 0 ? (
        <EmptyState title="No key providers">No site reports a key provider, so no VM can be encrypted. Register one in vCenter, then sync.</EmptyState>
      ) : (
        <Table testId="key-provider-table">
          <thead>
            <tr><Th>Key provider</Th><Th>Site</Th><Th>Kind</Th><Th>Tenant</Th><Th>KMS servers</Th><Th className="text-right">Encrypted VMs</Th><Th className="text-right">Proxies</Th></tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {providers.map((k) => (
              <tr key={k.id}>
                <Td>
                  <Link href={`/key-providers/${k.id}`} className="font-medium text-brand-600 hover:underline">{k.name}</Link>
                  {k.isDefault && <span className="ml-2"><Badge tone="good">Default</Badge></span>}
                </Td>
                <Td>{k.site.name}</Td>
                <Td>{k.kind === "NATIVE" ? <Badge>Native</Badge> : <Badge tone="info">Standard (KMIP)</Badge>}</Td>
                <Td>{k.tenant?.name ?? "—"}</Td>
                <Td className="text-xs">{k.servers.map((s) => `${s.host}:${s.port}`).join(", ") || "built in"}</Td>
                <Td className="text-right">{k.vmCount}</Td>
                <Td className="text-right">{k.proxyCount}</Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </>
  );
}
