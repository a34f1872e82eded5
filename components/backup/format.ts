// Display formatting for jobs, sessions and repositories (shared by server and client components).
import type { SelectionItem } from "@/lib/schemas/backup";

/** Bytes per second as MB/s (decimal, as transfer rates are read). */
export function formatRate(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return "—";
  const mb = bytesPerSecond / 1_000_000;
  return `${mb >= 100 ? Math.round(mb) : mb.toFixed(1)} MB/s`;
}

/** "850 ms", "4.2 s", "3 min 05 s", "2 h 07 min". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const totalS = Math.round(s);
  const m = Math.floor(totalS / 60);
  if (m < 60) return `${m} min ${String(totalS % 60).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

/** Duration between two ISO times; an open end uses `now` (null while the clock is not known yet). */
export function durationOf(start: string | null, end: string | null, now: number | null = null): string {
  if (!start) return "—";
  const endMs = end ? Date.parse(end) : now;
  return endMs === null ? "…" : formatDuration(endMs - Date.parse(start));
}

export function percent(part: number, whole: number): number {
  if (!whole || whole <= 0) return 0;
  return Math.max(0, Math.min(100, (part / whole) * 100));
}

const KIND_LABELS: Record<SelectionItem["kind"], [string, string]> = {
  vm: ["VM", "VMs"],
  folder: ["folder", "folders"],
  tenant: ["tenant", "tenants"],
  site: ["site", "sites"],
};

/** "3 VMs · 1 folder" and readable labels ("Folder prod/web", "Tenant Acme", plain VM names). */
export function describeSelection(items: SelectionItem[]): { headline: string; labels: string[] } {
  const counts = new Map<SelectionItem["kind"], number>();
  for (const i of items) counts.set(i.kind, (counts.get(i.kind) ?? 0) + 1);
  const headline = [...counts].map(([k, n]) => `${n} ${KIND_LABELS[k][n === 1 ? 0 : 1]}`).join(" · ") || "Nothing selected";
  const labels = items.map((i) => {
    const label = i.label || i.id;
    return i.kind === "vm" ? label : `${KIND_LABELS[i.kind][0][0].toUpperCase()}${KIND_LABELS[i.kind][0].slice(1)} ${label}`;
  });
  return { headline, labels };
}

export const TRIGGER_LABELS: Record<string, string> = { manual: "Run now", schedule: "Scheduled" };
