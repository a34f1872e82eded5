"use client";
import { formatDateTime } from "@/lib/format";
import { KmsStatusBadge } from "./kms-status-badge";
import { useKmsClusters } from "./use-kms-clusters";

/**
 * Live reachability of a standard key provider's KMS (VME-3): shown on the VM and key provider
 * pages. A VM whose key provider cannot be reached cannot be opened or powered on.
 */
export function KeyProviderReachability({ kmsClusterId, kind, forVm }: { kmsClusterId: string | null; kind: string; forVm?: string }) {
  const q = useKmsClusters();
  if (kind === "NATIVE") return <span className="text-sm text-slate-600">Built into the site: always available to its hosts.</span>;
  if (!kmsClusterId) return <span className="text-sm text-slate-600" data-testid="kms-reachability">Not monitored: no KMS cluster is registered for this key provider.</span>;
  const c = q.data?.find((x) => x.id === kmsClusterId);
  if (!c) return <span className="text-sm text-slate-500">Checking…</span>;
  return (
    <div data-testid="kms-reachability">
      <div className="flex items-center gap-2 text-sm">
        <KmsStatusBadge status={c.status} unreachableSince={c.unreachableSince} /> <span className="text-slate-500">via {c.name}, checked {formatDateTime(c.statusCheckedAt)}</span>
      </div>
      {c.status === "unreachable" && forVm && (
        <p className="mt-2 rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="vm-kms-warning">
          The key provider of {forVm} cannot be reached{c.unreachableSince ? ` since ${formatDateTime(c.unreachableSince)}` : ""}. Its hosts cannot get the key: the VM cannot be opened or powered on, and its encrypted disks cannot be backed up, until the KMS answers again.
        </p>
      )}
    </div>
  );
}
