"use client";
import { useQuery } from "@tanstack/react-query";
import type { SelectionItem } from "@/lib/schemas/backup";
import type { JobPreviewDto } from "@/lib/services/backup/preview-backup-job";

/** The VMs a selection names today and, per disk, the proxy and mode the engine would pick (TRN-5). */
export function useJobPreview(p: { selection: SelectionItem[]; proxyMode: "automatic" | "manual"; proxyIds: string[]; failoverToNetwork: boolean }) {
  return useQuery({
    queryKey: ["job-preview", p],
    enabled: p.selection.length > 0,
    queryFn: async (): Promise<JobPreviewDto> => {
      const res = await fetch("/api/backup-preview", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(p) });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(body.error ?? `The server answered ${res.status}.`);
      return body;
    },
  });
}
