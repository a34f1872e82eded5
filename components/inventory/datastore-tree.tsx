import { Badge } from "@/components/ui/badge";
import { formatBytes } from "@/lib/format";
import type { DatastoreDto, DatastoreSiteGroupDto } from "@/lib/services/inventory/list-datastores";
import { LockIcon, SiteIcon, DatastoreIcon } from "@/components/ui/icons";

// Datastores as the restore and replication wizards show them (INV-3, RST-3, REP-3): under each
// site, the "VM Encryption Policy" node holds the datastores that can take encrypted disks.
export function DatastoreTree({ groups }: { groups: DatastoreSiteGroupDto[] }) {
  return (
    <div className="space-y-6" data-testid="datastore-tree">
      {groups.map((g) => (
        <section key={g.site.id} className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
          <h2 className="mb-3 font-semibold"><SiteIcon /> {g.site.name} <span className="text-xs font-normal text-slate-500">({g.site.role === "DR" ? "DR" : "Production"})</span></h2>
          <div className="ml-2 space-y-4">
            <div data-testid="encryption-policy-node">
              <div className="flex items-center gap-2 text-sm font-semibold text-violet-800">
                <LockIcon /> VM Encryption Policy
                <span className="text-xs font-normal text-slate-500">compatible with {g.encryptionPolicies.join(", ") || "no encryption policy on this site"}</span>
              </div>
              <DatastoreRows rows={g.encryptionNode} empty="No datastore on this site is compatible with an encryption storage policy: encrypted disks cannot be placed here." />
            </div>
            <div data-testid="other-datastores-node">
              <div className="text-sm font-semibold text-slate-700">Other datastores <span className="text-xs font-normal text-slate-500">(unencrypted disks only)</span></div>
              <DatastoreRows rows={g.otherDatastores} empty="Every datastore on this site is encryption-compatible." />
            </div>
          </div>
        </section>
      ))}
    </div>
  );
}

function DatastoreRows({ rows, empty }: { rows: DatastoreDto[]; empty: string }) {
  if (rows.length === 0) return <p className="ml-6 mt-1 text-xs text-slate-500">{empty}</p>;
  return (
    <ul className="ml-6 mt-1 divide-y divide-slate-100 border-l border-slate-200 pl-3">
      {rows.map((d) => {
        const usedPct = d.capacityBytes ? Math.round(((d.capacityBytes - d.freeBytes) / d.capacityBytes) * 100) : 0;
        return (
          <li key={d.id} className="flex flex-wrap items-center gap-x-4 gap-y-1 py-1.5 text-sm" data-testid="datastore-row">
            <span className="w-56 font-medium"><DatastoreIcon /> {d.name}</span>
            <Badge>{d.type}</Badge>
            <span className="w-48 text-xs text-slate-600">
              {formatBytes(d.freeBytes)} free of {formatBytes(d.capacityBytes)}
              <span className="mt-0.5 block h-1.5 w-40 rounded bg-slate-200"><span className={`block h-1.5 rounded ${usedPct > 85 ? "bg-red-500" : "bg-brand-600"}`} style={{ width: `${usedPct}%` }} /></span>
            </span>
            <span className="text-xs text-slate-500">{d.diskCount} disks</span>
            <span className="text-xs text-slate-500">{d.policies.map((p) => p.name + (p.encryption ? " (encryption)" : "")).join(" · ")}</span>
          </li>
        );
      })}
    </ul>
  );
}
