import Link from "next/link";
import { KmsClusterTable } from "@/components/kms/kms-cluster-table";
import { LiveKmsStatus } from "@/components/kms/live-kms-status";
import { Badge } from "@/components/ui/badge";
import { PageHeader } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/states";
import { Table, Td, Th } from "@/components/ui/table";
import { hasPermission } from "@/lib/permissions/roles";
import { requireActor } from "@/lib/auth/session";
import { listKeyProviders } from "@/lib/services/inventory/list-key-providers";
import { listKmsClusters } from "@/lib/services/kms/list-kms-clusters";
import { checkKmsClusterNowAction, removeKmsClusterAction } from "./actions";

export const metadata = { title: "Key providers" };

export default async function KeyProvidersPage() {
  const actor = await requireActor();
  const [providers, clusters] = await Promise.all([listKeyProviders(actor), listKmsClusters(actor)]);
  const canManage = hasPermission(actor.role, "keyprovider:manage");
  return (
    <>
      <PageHeader
        title="Key providers"
        description="The key providers registered on each site: standard ones are external KMS clusters reached over KMIP with mutual TLS; the native one is built into the site. Encrypted VMs and HotAdd proxies depend on them."
        actions={canManage ? <Link href="/key-providers/kms/new" className="rounded-md bg-brand-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-brand-700" data-testid="register-kms-link">Register KMS cluster</Link> : undefined}
      />
      <h2 className="mb-2 text-lg font-semibold">KMS clusters</h2>
      <div className="mb-8">
        <KmsClusterTable initial={clusters} canManage={canManage} checkNow={checkKmsClusterNowAction} remove={removeKmsClusterAction} />
      </div>
      <h2 className="mb-2 text-lg font-semibold">Key providers reported by the platform</h2>
      {providers.length === 0 ? (
        <EmptyState title="No key providers">No site reports a key provider, so no VM can be encrypted. Register one in vCenter, then sync.</EmptyState>
      ) : (
        <Table testId="key-provider-table">
          <thead>
            <tr><Th>Key provider</Th><Th>Site</Th><Th>Kind</Th><Th>Tenant</Th><Th>KMS</Th><Th className="text-right">Encrypted VMs</Th><Th className="text-right">Proxies</Th></tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {providers.map((k) => (
              <tr key={k.id}>
                <Td>
                  <Link href={`/key-providers/${k.id}`} className="font-medium text-brand-600 hover:underline">{k.name}</Link>
                  {k.isDefault && <span className="ml-2"><Badge tone="good">Default</Badge></span>}
                  <div className="text-xs text-slate-400">{k.servers.map((s) => `${s.host}:${s.port}`).join(", ")}</div>
                </Td>
                <Td>{k.site.name}</Td>
                <Td>{k.kind === "NATIVE" ? <Badge>Native</Badge> : <Badge tone="info">Standard (KMIP)</Badge>}</Td>
                <Td>{k.tenant?.name ?? "—"}</Td>
                <Td className="text-xs">
                  {k.kind === "NATIVE" ? "built in" : k.kmsCluster ? <span>{k.kmsCluster.name}<br /><LiveKmsStatus clusterId={k.kmsCluster.id} initial={k.kmsCluster} /></span> : <span className="text-amber-700">no KMS cluster registered</span>}
                </Td>
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
