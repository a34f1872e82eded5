// The Sessions page's state as it appears in the address: what the filter bar edits, what the
// polling route receives, what a shared link carries.
import { SESSION_FILTER_KEYS, sessionListQuerySchema, type SessionFilterKey } from "@/lib/services/jobs/list-sessions.schema";

export type SessionFilterValues = Record<SessionFilterKey, string>;
export interface SessionViewState extends SessionFilterValues {
  before: string;
}

export const NO_SESSION_FILTERS: SessionFilterValues = { kind: "", state: "", worker: "", q: "", from: "", to: "" };

export function sessionViewFrom(raw: Record<string, string | undefined>): SessionViewState {
  const s = (k: string) => (typeof raw[k] === "string" ? raw[k]!.slice(0, 300) : "");
  return { kind: s("kind"), state: s("state"), worker: s("worker"), q: s("q"), from: s("from"), to: s("to"), before: s("before") };
}

export function sessionSearch(v: SessionViewState): string {
  const p = new URLSearchParams();
  for (const k of SESSION_FILTER_KEYS) if (v[k] !== "") p.set(k, v[k]);
  if (v.before) p.set("before", v.before);
  return p.toString();
}

export function hasSessionFilters(v: SessionFilterValues): boolean {
  return SESSION_FILTER_KEYS.some((k) => v[k] !== "");
}

/** The problems zod finds, by field (the server says the same if asked). */
export function sessionFilterErrors(v: SessionViewState): Record<string, string> {
  const parsed = sessionListQuerySchema.safeParse(v);
  if (parsed.success) return {};
  const out: Record<string, string> = {};
  for (const i of parsed.error.issues) out[String(i.path[0] ?? "_")] ??= i.message;
  return out;
}
