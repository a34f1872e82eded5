"use client";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Badge, EncryptionBadge } from "@/components/ui/badge";
import type { SelectionItem } from "@/lib/schemas/backup";
import type { JobWizardOptionsDto } from "@/lib/services/backup/get-job-wizard-options";

type Tab = "vm" | "folder" | "tenant" | "site";
const TABS: Array<{ id: Tab; label: string }> = [
  { id: "vm", label: "VMs" },
  { id: "folder", label: "Folders" },
  { id: "tenant", label: "Tenants" },
  { id: "site", label: "Sites" },
];

interface VmRow {
  id: string;
  name: string;
  siteName: string;
  tenantName: string | null;
  folder: string;
  encrypted: boolean;
  keyProviderName: string | null;
}

/**
 * Step 2: what the job protects. Single VMs by search, or containers (folder, tenant, site) that
 * pick up VMs added later — the selection is resolved at every run.
 */
export function VmPicker({ options, value, onChange }: { options: JobWizardOptionsDto; value: SelectionItem[]; onChange: (v: SelectionItem[]) => void }) {
  const [tab, setTab] = useState<Tab>("vm");
  const [q, setQ] = useState("");
  const vms = useQuery({
    queryKey: ["wizard-vms", q],
    enabled: tab === "vm",
    queryFn: async (): Promise<{ rows: VmRow[]; total: number }> => {
      const res = await fetch(`/api/vms?pageSize=50&q=${encodeURIComponent(q)}`);
      const body = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(body.error ?? `The server answered ${res.status}.`);
      return body;
    },
  });
  const has = (kind: Tab, id: string) => value.some((s) => s.kind === kind && s.id === id);
  const toggle = (item: SelectionItem) => onChange(has(item.kind, item.id) ? value.filter((s) => !(s.kind === item.kind && s.id === item.id)) : [...value, item]);
  const filter = (label: string) => label.toLowerCase().includes(q.trim().toLowerCase());

  return (
    <div className="grid gap-4 lg:grid-cols-[1fr_18rem]">
      <div>
        <div className="mb-2 flex flex-wrap items-center gap-2">
          <div className="flex rounded-md border border-slate-300 text-sm" role="tablist">
            {TABS.map((t) => (
              <button key={t.id} type="button" role="tab" aria-selected={tab === t.id} onClick={() => setTab(t.id)} className={`px-3 py-1.5 ${tab === t.id ? "bg-brand-600 text-white" : "text-slate-700 hover:bg-slate-50"}`}>
                {t.label}
              </button>
            ))}
          </div>
          <input
            type="search"
            value={q}
            onChange={(e) => setQ(e.target.value)}
            placeholder={tab === "vm" ? "Search VMs by name" : `Filter ${tab}s`}
            aria-label="Search"
            className="min-w-0 flex-1 rounded-md border border-slate-300 px-3 py-1.5 text-sm"
            data-testid="vm-picker-search"
          />
        </div>
        <div className="max-h-80 overflow-y-auto rounded-md border border-slate-200">
          {tab === "vm" && (
            <>
              {vms.isPending && <p className="p-3 text-sm text-slate-500">Loading VMs…</p>}
              {vms.isError && <p className="p-3 text-sm text-red-700">The VM list did not load: {vms.error.message}</p>}
              {vms.data && vms.data.rows.length === 0 && <p className="p-3 text-sm text-slate-500">No VM matches “{q}”.</p>}
              {vms.data?.rows.map((vm) => (
                <label key={vm.id} className="flex cursor-pointer items-center gap-3 border-b border-slate-100 px-3 py-2 text-sm last:border-0 hover:bg-slate-50">
                  <input type="checkbox" checked={has("vm", vm.id)} onChange={() => toggle({ kind: "vm", id: vm.id, label: vm.name })} data-testid={`pick-vm-${vm.name}`} />
                  <span className="font-medium text-slate-800">{vm.name}</span>
                  <span className="text-xs text-slate-500">
                    {vm.siteName}
                    {vm.tenantName ? ` · ${vm.tenantName}` : ""} · {vm.folder}
                  </span>
                  <span className="ml-auto">
                    <EncryptionBadge encrypted={vm.encrypted} keyProvider={vm.keyProviderName} />
                  </span>
                </label>
              ))}
              {vms.data && vms.data.total > vms.data.rows.length && <p className="p-2 text-xs text-slate-500">Showing 50 of {vms.data.total}: refine the search, or select a folder, tenant or site.</p>}
            </>
          )}
          {tab === "folder" &&
            options.folders
              .filter((f) => filter(`${f.siteName} ${f.folder}`))
              .map((f) => (
                <ContainerRow key={f.id} checked={has("folder", f.id)} onToggle={() => toggle({ kind: "folder", id: f.id, label: `${f.siteName}: ${f.folder}` })} label={f.folder} hint={f.siteName} count={f.vmCount} />
              ))}
          {tab === "tenant" &&
            options.tenants.filter((t) => filter(t.name)).map((t) => <ContainerRow key={t.id} checked={has("tenant", t.id)} onToggle={() => toggle({ kind: "tenant", id: t.id, label: t.name })} label={t.name} count={t.vmCount} />)}
          {tab === "site" &&
            options.sites.filter((s) => filter(s.name)).map((s) => <ContainerRow key={s.id} checked={has("site", s.id)} onToggle={() => toggle({ kind: "site", id: s.id, label: s.name })} label={s.name} count={s.vmCount} />)}
        </div>
      </div>
      <div className="rounded-md border border-slate-200 bg-slate-50 p-3" data-testid="selection">
        <p className="mb-2 text-xs font-medium uppercase tracking-wide text-slate-500">Selected ({value.length})</p>
        {value.length === 0 && <p className="text-sm text-slate-500">Nothing yet. Tick VMs, or whole folders, tenants or sites: those pick up VMs added later.</p>}
        <ul className="space-y-1">
          {value.map((s) => (
            <li key={`${s.kind}:${s.id}`} className="flex items-center gap-2 text-sm">
              <Badge>{s.kind}</Badge>
              <span className="min-w-0 flex-1 truncate" title={s.label}>
                {s.label || s.id}
              </span>
              <button type="button" className="text-xs text-slate-500 hover:text-red-700" onClick={() => toggle(s)} aria-label={`Remove ${s.label}`}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}

function ContainerRow({ checked, onToggle, label, hint, count }: { checked: boolean; onToggle: () => void; label: string; hint?: string; count: number }) {
  return (
    <label className="flex cursor-pointer items-center gap-3 border-b border-slate-100 px-3 py-2 text-sm last:border-0 hover:bg-slate-50">
      <input type="checkbox" checked={checked} onChange={onToggle} />
      <span className="font-medium text-slate-800">{label}</span>
      {hint && <span className="text-xs text-slate-500">{hint}</span>}
      <span className="ml-auto text-xs text-slate-500">{count} VM{count === 1 ? "" : "s"}</span>
    </label>
  );
}
