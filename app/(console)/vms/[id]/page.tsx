import Link from "next/link";
import { notFound } from "next/navigation";
import { VmLabPanel } from "@/components/inventory/vm-lab-panel";
import { KeyProviderReachability } from "@/components/kms/key-provider-reachability";
import { Badge, EncryptionBadge } from "@/components/ui/badge";
import { Card, DefinitionList, PageHeader } from "@/components/ui/card";
import { Table, Td, Th } from "@/components/ui/table";
import { hasPermission } from "@/lib/permissions/roles";
import { requireActor } from "@/lib/auth/session";
import { orNull } from "@/lib/errors/not-found";
import { formatBytes } from "@/lib/format";
import { getVm } from "@/lib/services/inventory/get-vm";
import { changeVmEncryptionAction, guestWritesAction, powerVmAction } from "./actions";
import { LockIcon } from "@/components/ui/icons";
import { VmRestorePoints } from "@/components/backup/vm-restore-points";
import { listRestorePoints } from "@/lib/services/backup/list-restore-points";

export default async function VmPage({ params }: { params: Promise<{ id: string }> }) {
  const actor = await requireActor();
  const vm = await orNull(getVm(actor, (await params).id));
  if (!vm) notFound();
  const points = hasPermission(actor.role, "job:read") ? await listRestorePoints(actor, { vmId: vm.id }) : null;
  const total = vm.disks.reduce((n, d) => n + d.capacityBytes, 0);
  return (
    <>
      <div className="mb-2 text-sm text-slate-500">
        <Link href="/vms" className="hover:underline">Virtual machines</Link> / {vm.name}
      </div>
      <PageHeader
        title={vm.name}
        description={`${vm.guestOs} · ${vm.cpuCount} vCPU · ${vm.memoryMiB / 1024} GiB memory · ${vm.disks.length} disk${vm.disks.length === 1 ? "" : "s"} (${formatBytes(total)})`}
        actions={
          <div className="flex gap-2">
            <EncryptionBadge encrypted={vm.encrypted} keyProvider={vm.keyProvider?.name} />
            {vm.vtpm && <Badge tone="info">vTPM</Badge>}
            {vm.guestOsEncrypted && <Badge tone="warn">Guest-OS encrypted</Badge>}
          </div>
        }
      />
      <div className="grid gap-6 lg:grid-cols-2">
        <Card title="Placement">
          <DefinitionList
            items={[
              ["Site", <span key="s">{vm.site.name} <Badge tone={vm.site.role === "DR" ? "info" : "neutral"}>{vm.site.role === "DR" ? "DR" : "Production"}</Badge></span>],
              ["Host / cluster", `${vm.host.name} · ${vm.host.cluster}`],
              ["Tenant", vm.tenant?.name ?? "Provider (no tenant)"],
              ["Folder", vm.folder],
              ["Power state", vm.powerState],
              ["VM home", `${vm.home.datastoreName} · ${vm.home.storagePolicyName}`],
              ["Managed object", <code key="m" className="text-xs">{vm.externalId}</code>],
            ]}
          />
        </Card>
        <Card title="VM Encryption" >
          <div data-testid="vm-encryption">
            <DefinitionList
              items={[
                ["Encrypted", vm.encrypted ? "Yes — disks, NVRAM and parts of the VMX are encrypted" : "No"],
                ["Key provider", vm.keyProvider ? <Link key="k" href={`/key-providers/${vm.keyProvider.id}`} className="text-brand-600 hover:underline">{vm.keyProvider.name} ({vm.keyProvider.kind === "NATIVE" ? "native" : "standard KMS"})</Link> : "—"],
                ...(vm.keyProvider ? [["KMS reachability", <KeyProviderReachability key="r" kmsClusterId={vm.keyProvider.kmsClusterId} kind={vm.keyProvider.kind} forVm={vm.name} />] as [string, React.ReactNode]] : []),
                ["keyId (KEK)", vm.keyId ? <code key="kid" className="break-all text-xs" data-testid="vm-key-id">{vm.keyId}</code> : "—"],
                ["encryption.bundle", vm.hasEncryptionBundle ? "Present in the configuration" : "None"],
                ["vTPM", vm.vtpm ? "Yes — its state lives in the encrypted NVRAM" : "No"],
                ["Guest-OS encryption", vm.guestOsEncrypted ? "Yes — opaque to the host; a restored VM needs the guest's own key server to boot" : "Not known"],
              ]}
            />
          </div>
        </Card>
      </div>
      <Card title="Host view (lab)" className="mt-6">
        <VmLabPanel
          vmId={vm.id}
          encrypted={vm.encrypted}
          vtpm={vm.vtpm}
          canOperate={hasPermission(actor.role, "vm:operate")}
          keyProviders={vm.site.keyProviders.filter((k) => k.id !== vm.keyProvider?.id)}
          actions={{ power: powerVmAction, guestWrites: guestWritesAction, encryption: changeVmEncryptionAction }}
        />
      </Card>
      <h2 className="mb-2 mt-8 text-lg font-semibold">Virtual disks</h2>
      <Table testId="vm-disks">
        <thead>
          <tr><Th>Disk</Th><Th className="text-right">Capacity</Th><Th>Datastore</Th><Th>Storage policy</Th><Th>Encryption</Th><Th>Disk key id</Th></tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {vm.disks.map((d) => (
            <tr key={d.id}>
              <Td><div className="font-medium">{d.label}</div><div className="text-xs text-slate-400">{d.fileName}</div></Td>
              <Td className="text-right whitespace-nowrap">{formatBytes(d.capacityBytes)}</Td>
              <Td>{d.datastoreName}{d.datastoreEncryptionCompatible && <div className="text-xs text-violet-700">under VM Encryption Policy</div>}</Td>
              <Td>{d.storagePolicyName}{d.storagePolicyEncryption && <span className="ml-1 text-violet-700"><LockIcon /></span>}</Td>
              <Td><EncryptionBadge encrypted={d.encrypted} /></Td>
              <Td>{d.keyId ? <code className="break-all text-xs">{d.keyId}</code> : "—"}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
      {points && <VmRestorePoints points={points} canManage={hasPermission(actor.role, "job:manage")} canRestore={hasPermission(actor.role, "restore:run")} />}
    </>
  );
}
