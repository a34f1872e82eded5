"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { Badge } from "@/components/ui/badge";
import type { TreeSiteDto, TreeVmDto } from "@/lib/services/inventory/get-inventory-tree";
import { LockIcon, SiteIcon, HostIcon, ClusterIcon } from "@/components/ui/icons";

// Site → cluster → host → VMs. Hosts' VMs load on demand (React Query caches them), so the tree
// stays light with 10 000 VMs.
export function InventoryTree({ sites }: { sites: TreeSiteDto[] }) {
  return (
    <ul className="space-y-3" data-testid="inventory-tree" role="tree">
      {sites.map((site) => (
        <li key={site.id} role="treeitem" aria-expanded="true" className="rounded-lg border border-slate-200 bg-white p-3 shadow-sm">
          <div className="flex items-center gap-2">
            <span className="font-semibold"><SiteIcon /> {site.name}</span>
            <Badge tone={site.role === "DR" ? "info" : "neutral"}>{site.role === "DR" ? "DR site" : "Production"}</Badge>
            <span className="text-xs text-slate-500">vCenter {site.vcenterHost}</span>
          </div>
          <ul className="ml-4 mt-2 space-y-2" role="group">
            {site.clusters.map((c) => (
              <li key={c.name} role="treeitem" aria-expanded="true">
                <div className="text-sm font-medium text-slate-700"><ClusterIcon /> {c.name}</div>
                <ul className="ml-4 mt-1" role="group">
                  {c.hosts.map((h) => <HostNode key={h.id} host={h} />)}
                </ul>
              </li>
            ))}
          </ul>
        </li>
      ))}
    </ul>
  );
}

function HostNode({ host }: { host: TreeSiteDto["clusters"][number]["hosts"][number] }) {
  const [open, setOpen] = useState(false);
  const vms = useQuery({
    queryKey: ["host-vms", host.id],
    enabled: open,
    queryFn: async (): Promise<TreeVmDto[]> => {
      const res = await fetch(`/api/inventory/hosts/${host.id}/vms`);
      const body = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(body.error ?? `The server answered ${res.status}.`);
      return body;
    },
  });
  return (
    <li role="treeitem" aria-expanded={open}>
      <button type="button" onClick={() => setOpen((o) => !o)} className="flex items-center gap-2 py-0.5 text-sm hover:text-brand-700" data-testid="tree-host">
        <span className="w-3 text-slate-400">{open ? "▾" : "▸"}</span>
        <span><HostIcon /> {host.name}</span>
        <span className="text-xs text-slate-500">{host.vmCount} VMs · {host.encryptedCount} encrypted</span>
        {host.connectionState !== "connected" && <Badge tone="warn">{host.connectionState}</Badge>}
      </button>
      {open && (
        <ul className="ml-7 border-l border-slate-200 pl-3" role="group">
          {vms.isPending && <li className="py-1 text-xs text-slate-500">Loading VMs…</li>}
          {vms.isError && (
            <li className="py-1 text-xs text-red-700">
              Could not load the VMs: {vms.error.message} <button className="underline" onClick={() => vms.refetch()}>Retry</button>
            </li>
          )}
          {vms.data?.length === 0 && <li className="py-1 text-xs text-slate-500">No VMs on this host.</li>}
          {vms.data?.map((vm) => (
            <li key={vm.id} className="py-0.5 text-sm" role="treeitem">
              <Link href={`/vms/${vm.id}`} className="text-brand-600 hover:underline" data-testid="tree-vm">{vm.name}</Link>
              {vm.encrypted && <span className="ml-1 text-violet-700" title="Encrypted"><LockIcon /></span>}
              {vm.vtpm && <span className="ml-1 text-xs text-brand-700">vTPM</span>}
              {vm.powerState !== "poweredOn" && <span className="ml-1 text-xs text-slate-400">({vm.powerState})</span>}
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}
