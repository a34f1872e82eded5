import Link from "next/link";
import { notFound } from "next/navigation";
import { KeyProviderReachability } from "@/components/kms/key-provider-reachability";
import { KeyProviderSettingsForm } from "@/components/kms/key-provider-settings-form";
import { hasPermission } from "@/lib/permissions/roles";
import { listFilterOptions } from "@/lib/services/inventory/list-filter-options";
import { assignKeyProviderTenantAction, setDefaultKeyProviderAction } from "../actions";
import { Card, DefinitionList, PageHeader } from "@/components/ui/card";
import { requireActor } from "@/lib/auth/session";
import { orNull } from "@/lib/errors/not-found";
import { TRANSPORT_LABELS } from "@/lib/format";
import { getKeyProvider } from "@/lib/services/inventory/list-key-providers";

const VM_LIMIT = 200;

export default async function KeyProviderPage({ params }: { params: Promise<{ id: string }> }) {
  const actor = await requireActor();
  const k = await orNull(getKeyProvider(actor, (await params).id, VM_LIMIT));
  if (!k) notFound();
  const canManage = hasPermission(actor.role, "keyprovider:manage");
  const tenants = canManage ? (await listFilterOptions(actor)).tenants : [];
  return (
    <>
      <div className="mb-2 text-sm text-slate-500"><Link href="/key-providers" className="hover:underline">Key providers</Link> / {k.name}</div>
      <PageHeader title={k.name} description={`${k.kind === "NATIVE" ? "Native key provider" : "Standard key provider (KMS cluster over KMIP)"} on ${k.site.name}`} />
      <div className="grid gap-6 lg:grid-cols-3">
        <Card title="Details">
          <DefinitionList
            items={[
              ["Site", k.site.name],
              ["Kind", k.kind === "NATIVE" ? "Native" : "Standard (KMIP)"],
              ["Tenant", k.tenant?.name ?? "— (provider)"],
              ["Default on site", k.isDefault ? "Yes" : "No"],
              ["KMS servers", k.servers.length ? k.servers.map((s) => `${s.host}:${s.port}`).join(", ") : "built in"],
              ["Reachability", <KeyProviderReachability key="r" kmsClusterId={k.kmsCluster?.id ?? null} kind={k.kind} />],
            ]}
          />
          {canManage && (
            <div className="mt-3">
              <KeyProviderSettingsForm keyProviderId={k.id} isDefault={k.isDefault} tenantId={k.tenant?.id ?? null} tenants={tenants} setDefault={setDefaultKeyProviderAction} assignTenant={assignKeyProviderTenantAction} />
            </div>
          )}
        </Card>
        <Card title={`Encrypted VMs (${k.vmCount})`} className="lg:col-span-2">
          {k.vmCount === 0 ? (
            <p className="text-sm text-slate-600">No VM is encrypted with this key provider.</p>
          ) : (
            <>
              <ul className="columns-2 text-sm" data-testid="dependent-vms">
                {k.vms.map((vm) => (
                  <li key={vm.id}><Link href={`/vms/${vm.id}`} className="text-brand-600 hover:underline">{vm.name}</Link>{vm.vtpm && <span className="ml-1 text-xs text-brand-700">vTPM</span>}</li>
                ))}
              </ul>
              {k.vmCount > k.vms.length && (
                <Link href={`/vms?keyProvider=${k.id}`} className="mt-2 inline-block text-sm text-brand-600 hover:underline">All {k.vmCount} VMs →</Link>
              )}
            </>
          )}
        </Card>
      </div>
      <Card title={`Proxies encrypted with this key provider (${k.proxies.length})`} className="mt-6">
        {k.proxies.length === 0 ? (
          <p className="text-sm text-slate-600">No proxy is encrypted with this key provider, so its VMs' disks cannot be read in HotAdd mode; network mode (NBDSSL) still works.</p>
        ) : (
          <ul className="text-sm">
            {k.proxies.map((p) => (
              <li key={p.id}>{p.name} <span className="text-xs text-slate-500">{p.transportModes.map((m) => TRANSPORT_LABELS[m] ?? m).join(" · ")}</span></li>
            ))}
          </ul>
        )}
      </Card>
    </>
  );
}
