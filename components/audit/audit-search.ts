// The audit page's state as it appears in the address: what the filter bar edits, what the list
// route and the CSV export receive, what a shared link carries.
import { AUDIT_DEFAULT_PAGE_SIZE, AUDIT_FILTER_KEYS, type AuditFilterKey } from "@/lib/schemas/audit";

export type AuditFilterValues = Record<AuditFilterKey, string>;
export interface AuditViewState extends AuditFilterValues {
  pageSize: number;
  before: string;
  after: string;
}

export const NO_FILTERS: AuditFilterValues = { user: "", action: "", objectType: "", objectId: "", outcome: "", from: "", to: "" };

export function filterSearch(f: AuditFilterValues): string {
  const p = new URLSearchParams();
  for (const k of AUDIT_FILTER_KEYS) if (f[k] !== "") p.set(k, f[k]);
  return p.toString();
}

export function viewSearch(v: AuditViewState): string {
  const p = new URLSearchParams(filterSearch(v));
  if (v.pageSize !== AUDIT_DEFAULT_PAGE_SIZE) p.set("pageSize", String(v.pageSize));
  if (v.before) p.set("before", v.before);
  if (v.after) p.set("after", v.after);
  return p.toString();
}

export function hasFilters(f: AuditFilterValues): boolean {
  return AUDIT_FILTER_KEYS.some((k) => f[k] !== "");
}
