"use client";
import { useMemo, useState } from "react";
import { Badge, EncryptionBadge } from "@/components/ui/badge";
import type { ReplicationWizardOptionsDto } from "@/lib/services/replication/get-replication-wizard-options";

// The replication wizard's "Virtual machines" step: single VMs, found by name and narrowed by
// site, tenant and folder (a replication job keeps a placement per VM, so it names VMs, not
// containers). The selected VMs are listed beside.

const SHOW = 100;

export function WizardVmStep({ options, value, onChange }: { options: ReplicationWizardOptionsDto; value: string[]; onChange: (ids: string[]) => void }) {
  const [q, setQ] = useState("");
  const [site, setSite] = useState("");
  const [tenant, setTenant] = useState("");
  const [folder, setFolder] = useState("");
  const folders = useMemo(() => [...new Set(options.vms.filter((v) => !site || v.siteExternalId === site).map((v) => v.folder))].sort(), [options.vms, site]);
  const rows = useMemo(() => {
    const needle = q.trim().toLowerCase();
    return options.vms.filter((v) => (!needle || v.name.toLowerCase().includes(needle)) && (!site || v.siteExternalId === site) && (!tenant || (tenant === "-" ? v.tenantExternalId === null : v.tenantExternalId === tenant)) && (!folder || v.folder === folder));
  }, [options.vms, q, site, tenant, folder]);
  const byId = new Map(options.vms.map((v) => [v.externalId, v]));
  const toggle = (id: string) => onChange(value.includes(id) ? value.filter((x) => x !== id) : [...value, id]);

  return (
    <div className="grid gap-4 lg:grid-cols-[1fr_18rem]">
      <div>
        <div className="mb-2 flex flex-wrap items-center gap-2 text-sm">
          <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="Search VMs by name" aria-label="Search VMs" className="min-w-0 flex-1 rounded-md border border-slate-300 px-3 py-1.5" data-testid="vm-picker-search" />
          <select value={site} onChange={(e) => { setSite(e.target.value); setFolder(""); }} className="input w-44" aria-label="Site">
            <option value="">Every site</option>
            {options.sites.map((s) => <option key={s.externalId} value={s.externalId}>{s.name}</option>)}
          </select>
          <select value={tenant} onChange={(e) => setTenant(e.target.value)} className="input w-44" aria-label="Tenant">
            <option value="">Every tenant</option>
            <option value="-">No tenant (the provider&apos;s own)</option>
            {options.tenants.map((t) => <option key={t.externalId} value={t.externalId}>{t.name}</option>)}
          </select>
          <select value={folder} onChange={(e) => setFolder(e.target.value)} className="input w-52" aria-label="Folder">
            <option value="">Every folder</option>
            {folders.map((f) => <option key={f} value={f}>{f}</option>)}
          </select>
        </div>
        <div className="max-h-80 overflow-y-auto rounded-md border border-slate-200">
          {rows.length === 0 && <p className="p-3 text-sm text-slate-500">No VM matches these filters.</p>}
          {rows.slice(0, SHOW).map((vm) => (
            <label key={vm.externalId} className="flex cursor-pointer items-center gap-3 border-b border-slate-100 px-3 py-2 text-sm last:border-0 hover:bg-slate-50">
              <input type="checkbox" checked={value.includes(vm.externalId)} onChange={() => toggle(vm.externalId)} data-testid={`pick-vm-${vm.name}`} />
              <span className="whitespace-nowrap font-medium text-slate-800">{vm.name}</span>
              <span className="text-xs text-slate-500">
                {vm.siteName}
                {vm.tenantName ? ` · ${vm.tenantName}` : ""} · {vm.folder} · {vm.disks.length} disk{vm.disks.length === 1 ? "" : "s"}
              </span>
              <span className="ml-auto flex items-center gap-1">
                {vm.vtpm && <Badge tone="info">vTPM</Badge>}
                <EncryptionBadge encrypted={vm.encrypted} keyProvider={vm.keyProviderName} />
              </span>
            </label>
          ))}
          {rows.length > SHOW && <p className="p-2 text-xs text-slate-500">Showing {SHOW} of {rows.length}: refine the search or the filters.</p>}
          {options.vmTotal > options.vms.length && <p className="p-2 text-xs text-slate-500">The estate has {options.vmTotal} VMs; the first {options.vms.length} by name are listed.</p>}
        </div>
      </div>
      <div className="rounded-md border border-slate-200 bg-slate-50 p-3" data-testid="selection">
        <p className="mb-2 text-xs font-medium uppercase tracking-wide text-slate-500">Selected ({value.length})</p>
        {value.length === 0 && <p className="text-sm text-slate-500">Nothing yet. Tick the VMs to replicate; each gets a replica at the target site.</p>}
        <ul className="space-y-1">
          {value.map((id) => {
            const vm = byId.get(id);
            return (
              <li key={id} className="flex items-center gap-2 text-sm">
                <span className="min-w-0 flex-1 truncate">{vm?.name ?? id}</span>
                {vm?.encrypted && <Badge tone="lock">encrypted</Badge>}
                <button type="button" className="text-xs text-slate-500 hover:text-red-700" onClick={() => toggle(id)} aria-label={`Remove ${vm?.name ?? id}`}>
                  Remove
                </button>
              </li>
            );
          })}
        </ul>
      </div>
    </div>
  );
}
