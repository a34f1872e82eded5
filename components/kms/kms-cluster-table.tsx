"use client";
import Link from "next/link";
import { useActionState } from "react";
import { ActionMessage } from "@/components/users/form-bits";
import { ErrorNotice } from "@/components/ui/states";
import type { ActionState } from "@/lib/auth/safe-action";
import { formatDateTime } from "@/lib/format";
import type { KmsClusterDto } from "@/lib/services/kms/kms-cluster-dto";
import { KmsStatusBadge } from "./kms-status-badge";
import { useKmsClusters } from "./use-kms-clusters";

type Action = (s: ActionState, f: FormData) => Promise<ActionState>;

export function KmsClusterTable({ initial, canManage, checkNow, remove }: { initial: KmsClusterDto[]; canManage: boolean; checkNow: Action; remove: Action }) {
  const q = useKmsClusters(initial);
  const clusters = q.data ?? [];
  return (
    <div className="space-y-3" data-testid="kms-clusters">
      {q.isError && <ErrorNotice title="Live status unavailable">{q.error.message} The list shows the last known state.</ErrorNotice>}
      {clusters.length === 0 ? (
        <div className="rounded-lg border border-dashed border-slate-300 bg-white px-6 py-8 text-center text-sm text-slate-600" data-testid="kms-empty">
          No KMS cluster is registered. Standard key providers are not monitored until their KMS cluster is registered here.
          {canManage && (
            <div className="mt-3">
              <Link href="/key-providers/kms/new" className="font-medium text-brand-600 hover:underline">Register a KMS cluster</Link>
            </div>
          )}
        </div>
      ) : (
        clusters.map((c) => <ClusterCard key={c.id} c={c} canManage={canManage} checkNow={checkNow} remove={remove} />)
      )}
    </div>
  );
}

function ClusterCard({ c, canManage, checkNow, remove }: { c: KmsClusterDto; canManage: boolean; checkNow: Action; remove: Action }) {
  const [checkState, checkAction, checking] = useActionState(checkNow, null);
  const [removeState, removeAction, removing] = useActionState(remove, null);
  const expiresSoon = new Date(c.clientCertNotAfter).getTime() - Date.now() < 30 * 86_400_000;
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm" data-testid="kms-cluster">
      <div className="flex flex-wrap items-center gap-3">
        <span className="font-semibold">{c.name}</span>
        <span data-testid="kms-status"><KmsStatusBadge status={c.status} unreachableSince={c.unreachableSince} /></span>
        <span className="text-xs text-slate-500">{c.servers.map((s) => `${s.host}:${s.port}`).join(", ")}</span>
        <div className="ml-auto flex gap-2">
          {canManage && (
            <form action={checkAction}>
              <input type="hidden" name="clusterId" value={c.id} />
              <button className="rounded-md border border-slate-300 px-2 py-1 text-xs" disabled={checking}>{checking ? "Checking…" : "Check now"}</button>
            </form>
          )}
          {canManage && (
            <form action={removeAction} onSubmit={(e) => { if (!confirm(`Remove ${c.name}? Its key providers will no longer be monitored. Keys on the KMS are not touched.`)) e.preventDefault(); }}>
              <input type="hidden" name="clusterId" value={c.id} />
              <button className="rounded-md border border-red-300 px-2 py-1 text-xs text-red-700" disabled={removing}>Remove</button>
            </form>
          )}
        </div>
      </div>
      <dl className="mt-2 grid grid-cols-1 gap-x-6 gap-y-1 text-xs text-slate-600 md:grid-cols-2">
        <div><dt className="inline text-slate-400">KMIP versions: </dt><dd className="inline">{c.kmipVersions.join(", ") || "—"}</dd></div>
        <div><dt className="inline text-slate-400">Server certificate: </dt><dd className="inline">{c.serverSubject ?? "—"}</dd></div>
        <div><dt className="inline text-slate-400">Client certificate: </dt><dd className="inline">{c.clientCertSubject}, expires {formatDateTime(c.clientCertNotAfter)}{expiresSoon && <strong className="ml-1 text-amber-700">(within 30 days)</strong>}</dd></div>
        <div><dt className="inline text-slate-400">Last checked: </dt><dd className="inline">{formatDateTime(c.statusCheckedAt)}</dd></div>
        <div className="md:col-span-2"><dt className="inline text-slate-400">Serves: </dt><dd className="inline">{c.keyProviders.map((k) => `${k.name} (${k.siteName})`).join(", ") || "no key provider yet"}</dd></div>
        {c.status === "unreachable" && c.lastError && <div className="text-red-700 md:col-span-2" data-testid="kms-error">Last error: {c.lastError}</div>}
      </dl>
      <div className="mt-2"><ActionMessage state={checkState ?? removeState} /></div>
    </div>
  );
}
