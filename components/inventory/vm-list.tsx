"use client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, useState } from "react";
import { Badge, EncryptionBadge } from "@/components/ui/badge";
import { ErrorNotice } from "@/components/ui/states";
import { Table, Td, Th } from "@/components/ui/table";
import { formatBytes } from "@/lib/format";
import { VM_PAGE_SIZES } from "@/lib/schemas/inventory";
import type { FilterOptionsDto } from "@/lib/services/inventory/list-filter-options";
import type { VmPageDto } from "@/lib/services/inventory/inventory-dto";

export type VmFilters = Record<"q" | "site" | "tenant" | "keyProvider" | "encrypted" | "vtpm", string> & { page: number; pageSize: number };

function toSearch(f: VmFilters): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) {
    if (v === "" || (k === "page" && v === 1) || (k === "pageSize" && v === 25)) continue;
    p.set(k, String(v));
  }
  return p.toString();
}

async function fetchVms(search: string): Promise<VmPageDto> {
  const res = await fetch(`/api/vms?${search}`, { headers: { accept: "application/json" } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error ?? `The server answered ${res.status}.`);
  return body as VmPageDto;
}

export function VmList({ initialFilters, initialPage, options }: { initialFilters: VmFilters; initialPage: VmPageDto; options: FilterOptionsDto }) {
  const [filters, setFilters] = useState(initialFilters);
  const [searchText, setSearchText] = useState(initialFilters.q);
  const search = toSearch(filters);
  const initialSearch = toSearch(initialFilters);

  // Debounce typing into the search box; filters apply at once.
  useEffect(() => {
    const t = setTimeout(() => setFilters((f) => (f.q === searchText ? f : { ...f, q: searchText, page: 1 })), 250);
    return () => clearTimeout(t);
  }, [searchText]);

  // Keep the URL shareable without a server round trip for the page itself.
  useEffect(() => {
    window.history.replaceState(null, "", search ? `?${search}` : window.location.pathname);
  }, [search]);

  const query = useQuery({
    queryKey: ["vms", search],
    queryFn: () => fetchVms(search),
    placeholderData: keepPreviousData,
    initialData: search === initialSearch ? initialPage : undefined,
  });
  const set = (patch: Partial<VmFilters>) => setFilters((f) => ({ ...f, page: 1, ...patch }));
  const data = query.data;
  const filtered = Object.entries(filters).some(([k, v]) => !["page", "pageSize"].includes(k) && v !== "");

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end gap-3 rounded-lg border border-slate-200 bg-white p-3 shadow-sm" data-testid="vm-filters">
        <label className="flex flex-col text-xs font-medium text-slate-600">
          Search by name
          <input value={searchText} onChange={(e) => setSearchText(e.target.value)} maxLength={100} placeholder="e.g. sql" className="mt-1 w-56 rounded-md border border-slate-300 px-2 py-1.5 text-sm" data-testid="vm-search" />
        </label>
        <Select label="Site" value={filters.site} onChange={(site) => set({ site })} options={options.sites.map((s) => [s.id, s.name])} testId="filter-site" />
        <Select label="Tenant" value={filters.tenant} onChange={(tenant) => set({ tenant })} options={[...options.tenants.map((t) => [t.id, t.name] as [string, string]), ["none", "Provider (no tenant)"]]} testId="filter-tenant" />
        <Select label="Encryption" value={filters.encrypted} onChange={(encrypted) => set({ encrypted })} options={[["yes", "Encrypted"], ["no", "Not encrypted"]]} testId="filter-encrypted" />
        <Select label="Key provider" value={filters.keyProvider} onChange={(keyProvider) => set({ keyProvider })} options={options.keyProviders.map((k) => [k.id, `${k.name} (${k.siteName})`])} testId="filter-key-provider" />
        <Select label="vTPM" value={filters.vtpm} onChange={(vtpm) => set({ vtpm })} options={[["yes", "With vTPM"], ["no", "Without vTPM"]]} testId="filter-vtpm" />
        {filtered && (
          <button type="button" onClick={() => { setSearchText(""); setFilters({ ...initialFilters, q: "", site: "", tenant: "", keyProvider: "", encrypted: "", vtpm: "", page: 1 }); }} className="ml-auto text-sm font-medium text-brand-600 hover:underline">
            Clear filters
          </button>
        )}
      </div>

      {query.isError && (
        <ErrorNotice title="The VM list could not be loaded">
          {query.error.message}{" "}
          <button className="font-medium underline" onClick={() => query.refetch()}>Try again</button>
        </ErrorNotice>
      )}

      {data && data.total === 0 ? (
        <div className="rounded-lg border border-dashed border-slate-300 bg-white px-6 py-10 text-center" data-testid="empty-state">
          <p className="font-medium text-slate-800">No VMs match these filters</p>
          <p className="mt-1 text-sm text-slate-600">Change the search text or clear the filters to see every VM.</p>
        </div>
      ) : data ? (
        <div className={query.isFetching ? "opacity-60 transition-opacity" : ""} aria-busy={query.isFetching}>
          <Table testId="vm-table">
            <thead>
              <tr><Th>Name</Th><Th>Site</Th><Th>Tenant</Th><Th>Encryption</Th><Th>Key provider</Th><Th>Flags</Th><Th className="text-right">Disks</Th><Th className="text-right">Provisioned</Th></tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {data.rows.map((vm) => (
                <tr key={vm.id} className="hover:bg-slate-50" data-testid="vm-row">
                  <Td><Link href={`/vms/${vm.id}`} className="font-medium text-brand-600 hover:underline">{vm.name}</Link><div className="text-xs text-slate-400">{vm.folder}</div></Td>
                  <Td>{vm.siteName}</Td>
                  <Td>{vm.tenantName ?? <span className="text-slate-400">Provider</span>}</Td>
                  <Td><EncryptionBadge encrypted={vm.encrypted} keyProvider={vm.keyProviderName} /></Td>
                  <Td className="text-xs">{vm.keyProviderName ?? "—"}</Td>
                  <Td className="space-x-1 whitespace-nowrap">
                    {vm.vtpm && <Badge tone="info">vTPM</Badge>}
                    {vm.guestOsEncrypted && <Badge tone="warn" title="Encrypted inside the guest OS">Guest-OS encrypted</Badge>}
                    {vm.powerState !== "poweredOn" && <Badge>{vm.powerState === "poweredOff" ? "Powered off" : "Suspended"}</Badge>}
                  </Td>
                  <Td className="text-right">{vm.diskCount}</Td>
                  <Td className="text-right whitespace-nowrap">{formatBytes(vm.provisionedBytes)}</Td>
                </tr>
              ))}
            </tbody>
          </Table>
          <div className="mt-3 flex items-center justify-between text-sm text-slate-600" data-testid="vm-pagination">
            <span data-testid="vm-count">
              {data.total.toLocaleString("en")} VM{data.total === 1 ? "" : "s"} · page {data.page} of {data.pageCount}
            </span>
            <div className="flex items-center gap-2">
              <select aria-label="Rows per page" value={filters.pageSize} onChange={(e) => set({ pageSize: Number(e.target.value) })} className="rounded-md border border-slate-300 px-2 py-1">
                {VM_PAGE_SIZES.map((n) => <option key={n} value={n}>{n} per page</option>)}
              </select>
              <button type="button" disabled={data.page <= 1} onClick={() => setFilters((f) => ({ ...f, page: f.page - 1 }))} className="rounded-md border border-slate-300 px-3 py-1 disabled:opacity-40">Previous</button>
              <button type="button" disabled={data.page >= data.pageCount} onClick={() => setFilters((f) => ({ ...f, page: f.page + 1 }))} className="rounded-md border border-slate-300 px-3 py-1 disabled:opacity-40" data-testid="next-page">Next</button>
            </div>
          </div>
        </div>
      ) : null}
    </div>
  );
}

function Select({ label, value, onChange, options, testId }: { label: string; value: string; onChange: (v: string) => void; options: [string, string][]; testId: string }) {
  return (
    <label className="flex flex-col text-xs font-medium text-slate-600">
      {label}
      <select value={value} onChange={(e) => onChange(e.target.value)} className="mt-1 rounded-md border border-slate-300 px-2 py-1.5 text-sm" data-testid={testId}>
        <option value="">All</option>
        {options.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
      </select>
    </label>
  );
}
