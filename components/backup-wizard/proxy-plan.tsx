"use client";
import { Badge } from "@/components/ui/badge";
import { TRANSPORT_LABELS } from "@/lib/format";
import type { JobPreviewDto } from "@/lib/services/backup/preview-backup-job";

/** Per disk: the proxy and transport mode the engine would pick and why, or why no proxy fits. */
export function ProxyPlan({ preview }: { preview: JobPreviewDto }) {
  return (
    <div className="max-h-96 overflow-y-auto rounded-md border border-slate-200" data-testid="proxy-plan">
      <table className="w-full text-left text-sm">
        <thead className="sticky top-0 bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
          <tr>
            <th className="px-3 py-2">VM / disk</th>
            <th className="px-3 py-2">Proxy and mode</th>
            <th className="px-3 py-2">Why</th>
          </tr>
        </thead>
        <tbody>
          {preview.vms.flatMap((vm) =>
            vm.disks.map((d, i) => (
              <tr key={`${vm.id}-${i}`} className={`border-t border-slate-100 align-top ${d.ok ? "" : "bg-red-50"}`}>
                <td className="px-3 py-2">
                  <span className="font-medium">{vm.name}</span> / {d.label} {d.encrypted && <Badge tone="lock">encrypted</Badge>}
                </td>
                <td className="whitespace-nowrap px-3 py-2">{d.ok ? `${d.proxy} · ${TRANSPORT_LABELS[d.mode!] ?? d.mode}` : <Badge tone="bad">No proxy</Badge>}</td>
                <td className="px-3 py-2 text-xs text-slate-600">
                  {d.reason}
                  {d.rejected.length > 0 && (
                    <details className="mt-1">
                      <summary className="cursor-pointer text-slate-500">{d.rejected.length} other candidate(s) not used</summary>
                      <ul className="mt-1 list-disc pl-4">
                        {d.rejected.map((r, j) => (
                          <li key={j}>{r}</li>
                        ))}
                      </ul>
                    </details>
                  )}
                </td>
              </tr>
            )),
          )}
        </tbody>
      </table>
    </div>
  );
}
