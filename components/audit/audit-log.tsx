"use client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { Badge } from "@/components/ui/badge";
import { ErrorNotice } from "@/components/ui/states";
import { Table, Td, Th } from "@/components/ui/table";
import { AUDIT_EXPORT_MAX_ROWS, AUDIT_OUTCOMES, AUDIT_PAGE_SIZES, auditListQuerySchema, parseAuditTime } from "@/lib/schemas/audit";
import type { AuditEventDto, AuditFilterOptionsDto, AuditPageDto } from "@/lib/services/audit/list-audit-events";
import { useChainReport } from "./chain-status";
import { filterSearch, hasFilters, NO_FILTERS, viewSearch, type AuditFilterValues, type AuditViewState } from "./audit-search";

const OUTCOME_TONE = { success: "good", failure: "warn", denied: "bad" } as const;
const INPUT = "mt-1 rounded-md border px-2 py-1.5 text-sm";

async function fetchPage(search: string): Promise<AuditPageDto> {
  const res = await fetch(`/api/audit?${search}`, { headers: { accept: "application/json" } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error ?? `The server answered ${res.status}.`);
  return body as AuditPageDto;
}

/** A from/to value as a datetime-local field shows it (UTC, to the minute). */
function toInputValue(v: string): string {
  const t = v ? parseAuditTime(v) : null;
  return t ? t.start.toISOString().slice(0, 16) : "";
}

/** The problems zod finds in the filters, by field (the server says the same if asked). */
function validate(v: AuditViewState): Record<string, string> {
  const parsed = auditListQuerySchema.safeParse({ ...v, before: v.before || undefined, after: v.after || undefined });
  if (parsed.success) return {};
  const out: Record<string, string> = {};
  for (const i of parsed.error.issues) out[String(i.path[0] ?? "_")] ??= i.message;
  return out;
}

export function AuditLog({ initialView, initialPage, options }: { initialView: AuditViewState; initialPage: AuditPageDto | null; options: AuditFilterOptionsDto }) {
  const [view, setView] = useState(initialView);
  // Free text is applied after a pause in typing; selects and times at once.
  const [userText, setUserText] = useState(initialView.user);
  const [objectIdText, setObjectIdText] = useState(initialView.objectId);
  useEffect(() => {
    const t = setTimeout(() => setView((v) => (v.user === userText.trim() && v.objectId === objectIdText.trim() ? v : { ...v, user: userText.trim(), objectId: objectIdText.trim(), before: "", after: "" })), 300);
    return () => clearTimeout(t);
  }, [userText, objectIdText]);

  const errors = useMemo(() => validate(view), [view]);
  const valid = Object.keys(errors).length === 0;
  const search = viewSearch(view);
  const exportSearch = filterSearch(view);
  const initialSearch = viewSearch(initialView);

  // The address always holds the current view, so a filtered view can be shared or bookmarked.
  useEffect(() => {
    window.history.replaceState(null, "", search ? `?${search}` : window.location.pathname);
  }, [search]);

  const query = useQuery({
    queryKey: ["audit", search],
    queryFn: () => fetchPage(search),
    enabled: valid,
    placeholderData: keepPreviousData,
    initialData: search === initialSearch && initialPage ? initialPage : undefined,
    refetchOnWindowFocus: false,
  });

  const setFilter = (patch: Partial<AuditFilterValues>) => setView((v) => ({ ...v, ...patch, before: "", after: "" }));
  const clear = () => {
    setUserText("");
    setObjectIdText("");
    setView((v) => ({ ...v, ...NO_FILTERS, before: "", after: "" }));
  };
  const filtered = hasFilters(view);
  const data = valid ? query.data : undefined;
  const chain = useChainReport().data;
  const suspect = new Set(chain && !chain.ok ? [chain.firstBrokenSeq, chain.problem?.seq].filter((n): n is number => n != null) : []);

  // Offer every action prefix ("job.*") and every action in the log; keep an address's value even if the log has no such action.
  const actionValues = useMemo(() => {
    const prefixes = [...new Set(options.actions.filter((a) => a.includes(".")).map((a) => `${a.slice(0, a.indexOf("."))}.*`))].sort();
    const exact = [...options.actions];
    if (view.action && !prefixes.includes(view.action) && !exact.includes(view.action)) (view.action.endsWith(".") || view.action.endsWith(".*") ? prefixes : exact).push(view.action);
    return { prefixes, exact };
  }, [options.actions, view.action]);
  const objectTypes = view.objectType && !options.objectTypes.includes(view.objectType) ? [...options.objectTypes, view.objectType] : options.objectTypes;

  return (
    <div className="space-y-4">
      <form
        className="rounded-lg border border-slate-200 bg-white p-3 shadow-sm"
        data-testid="audit-filters"
        onSubmit={(e) => e.preventDefault()}
        aria-label="Filter the audit log"
      >
        <div className="flex flex-wrap items-start gap-3">
          <Field label="User" error={errors.user} hint="Part of an email, or a user id">
            <input
              value={userText}
              onChange={(e) => setUserText(e.target.value)}
              maxLength={254}
              placeholder="e.g. alice@ or smith"
              className={`${INPUT} w-52 ${errors.user ? "border-red-400" : "border-slate-300"}`}
              data-testid="filter-user"
            />
          </Field>
          <Field label="Action" error={errors.action}>
            <select value={view.action} onChange={(e) => setFilter({ action: e.target.value })} className={`${INPUT} w-56 border-slate-300`} data-testid="filter-action">
              <option value="">All actions</option>
              <optgroup label="Every action that starts with">
                {actionValues.prefixes.map((p) => <option key={p} value={p}>{p}</option>)}
              </optgroup>
              <optgroup label="One action">
                {actionValues.exact.map((a) => <option key={a} value={a}>{a}</option>)}
              </optgroup>
            </select>
          </Field>
          <Field label="Object type" error={errors.objectType}>
            <select value={view.objectType} onChange={(e) => setFilter({ objectType: e.target.value })} className={`${INPUT} border-slate-300`} data-testid="filter-object-type">
              <option value="">All</option>
              {objectTypes.map((t) => <option key={t} value={t}>{t}</option>)}
            </select>
          </Field>
          <Field label="Object id" error={errors.objectId} hint="Exact">
            <input value={objectIdText} onChange={(e) => setObjectIdText(e.target.value)} maxLength={128} className={`${INPUT} w-44 ${errors.objectId ? "border-red-400" : "border-slate-300"}`} data-testid="filter-object-id" />
          </Field>
          <Field label="Outcome" error={errors.outcome}>
            <select value={view.outcome} onChange={(e) => setFilter({ outcome: e.target.value })} className={`${INPUT} border-slate-300`} data-testid="filter-outcome">
              <option value="">All</option>
              {AUDIT_OUTCOMES.map((o) => <option key={o} value={o}>{o}</option>)}
            </select>
          </Field>
          <Field label="From (UTC)" error={errors.from}>
            <input type="datetime-local" value={toInputValue(view.from)} onChange={(e) => setFilter({ from: e.target.value })} className={`${INPUT} ${errors.from ? "border-red-400" : "border-slate-300"}`} data-testid="filter-from" />
          </Field>
          <Field label="To (UTC)" error={errors.to}>
            <input type="datetime-local" value={toInputValue(view.to)} onChange={(e) => setFilter({ to: e.target.value })} className={`${INPUT} ${errors.to ? "border-red-400" : "border-slate-300"}`} data-testid="filter-to" />
          </Field>
          <div className="ml-auto flex items-center gap-3 self-center">
            {filtered && (
              <button type="button" onClick={clear} className="text-sm font-medium text-brand-600 hover:underline" data-testid="clear-filters">
                Clear filters
              </button>
            )}
            <ExportButton search={exportSearch} total={data?.total} disabledReason={!valid ? "Fix the filters first" : undefined} />
          </div>
        </div>
        <p className="mt-2 text-xs text-slate-500">
          User matches part of the actor&apos;s email — emails are stored in lower case, so upper or lower case makes no difference — or exactly a user id. Action
          <code className="mx-1">job.*</code>matches every action starting with <code>job.</code>. Times are UTC and both ends are included, to the minute. The address
          keeps the filters: copy it to share this view.
        </p>
      </form>

      {errors._ && <ErrorNotice title="These filters cannot be applied">{errors._}</ErrorNotice>}

      {query.isError && valid && (
        <ErrorNotice title="The audit log could not be loaded">
          {query.error.message}{" "}
          <button type="button" className="font-medium underline" onClick={() => query.refetch()}>Try again</button>
        </ErrorNotice>
      )}

      {!valid ? (
        <div className="rounded-lg border border-dashed border-amber-300 bg-amber-50 px-6 py-8 text-center text-sm text-amber-900" data-testid="invalid-filters">
          <p className="font-medium">Fix the filters above to see events</p>
          <p className="mt-1">{Object.values(errors).join(" · ")}</p>
        </div>
      ) : data && data.rows.length === 0 ? (
        <Empty filtered={filtered} paged={!!(view.before || view.after)} onClear={clear} onNewest={() => setView((v) => ({ ...v, before: "", after: "" }))} />
      ) : data ? (
        <div className={query.isFetching ? "opacity-60 transition-opacity" : ""} aria-busy={query.isFetching}>
          <Table testId="audit-table">
            <thead>
              <tr>
                <Th>#</Th><Th>When (UTC)</Th><Th>Who</Th><Th>Action</Th><Th>Object</Th><Th>Outcome</Th><Th>From</Th><Th>Details</Th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {data.rows.map((e) => (
                <EventRow
                  key={e.seq}
                  e={e}
                  broken={suspect.has(e.seq)}
                  onUser={(user) => { setUserText(user); setFilter({ user }); }}
                  onAction={(action) => setFilter({ action })}
                  onObject={(objectType, objectId) => { setObjectIdText(objectId); setFilter({ objectType, objectId }); }}
                />
              ))}
            </tbody>
          </Table>
          <div className="mt-3 flex flex-wrap items-center justify-between gap-3 text-sm text-slate-600" data-testid="audit-pagination">
            <span data-testid="audit-count">
              {data.total.toLocaleString("en")} {filtered ? "matching " : ""}event{data.total === 1 ? "" : "s"} · showing #{data.rows[0].seq}–#{data.rows[data.rows.length - 1].seq}
            </span>
            <div className="flex items-center gap-2">
              <select aria-label="Rows per page" value={view.pageSize} onChange={(e) => setView((v) => ({ ...v, pageSize: Number(e.target.value), before: "", after: "" }))} className="rounded-md border border-slate-300 px-2 py-1">
                {AUDIT_PAGE_SIZES.map((n) => <option key={n} value={n}>{n} per page</option>)}
              </select>
              <button type="button" disabled={data.newerCursor === null} onClick={() => setView((v) => ({ ...v, before: "", after: "" }))} className="rounded-md border border-slate-300 px-3 py-1 disabled:opacity-40">Newest</button>
              <button type="button" disabled={data.newerCursor === null} onClick={() => setView((v) => ({ ...v, before: "", after: String(data.newerCursor) }))} className="rounded-md border border-slate-300 px-3 py-1 disabled:opacity-40" data-testid="newer-page">Newer</button>
              <button type="button" disabled={data.olderCursor === null} onClick={() => setView((v) => ({ ...v, after: "", before: String(data.olderCursor) }))} className="rounded-md border border-slate-300 px-3 py-1 disabled:opacity-40" data-testid="older-page">Older</button>
            </div>
          </div>
        </div>
      ) : (
        <div className="h-40 animate-pulse rounded-lg bg-slate-200/60" aria-busy="true" aria-label="Loading" />
      )}
    </div>
  );
}

function Field({ label, error, hint, children }: { label: string; error?: string; hint?: string; children: React.ReactNode }) {
  return (
    <label className="flex flex-col text-xs font-medium text-slate-600">
      <span>
        {label}
        {hint && <span className="ml-1 font-normal text-slate-400">· {hint}</span>}
      </span>
      {children}
      {error && <span className="mt-1 max-w-56 font-normal text-red-700" role="alert">{error}</span>}
    </label>
  );
}

function ExportButton({ search, total, disabledReason }: { search: string; total?: number; disabledReason?: string }) {
  const reason =
    disabledReason ??
    (total === 0 ? "No event to export" : total !== undefined && total > AUDIT_EXPORT_MAX_ROWS ? `${total.toLocaleString("en")} events match; one export holds at most ${AUDIT_EXPORT_MAX_ROWS.toLocaleString("en")}. Narrow the time range.` : undefined);
  const cls = "inline-flex items-center rounded-md px-3 py-1.5 text-sm font-medium shadow-sm";
  if (reason) {
    return (
      <span className={`${cls} cursor-not-allowed bg-slate-100 text-slate-400`} title={reason} aria-disabled="true" data-testid="export-csv">
        Export CSV
      </span>
    );
  }
  return (
    <a
      href={`/api/audit/export${search ? `?${search}` : ""}`}
      className={`${cls} bg-brand-600 text-white hover:bg-brand-700`}
      title={total === undefined ? "Download the matching events as CSV" : `Download the ${total.toLocaleString("en")} matching events as CSV (oldest first)`}
      data-testid="export-csv"
    >
      Export CSV
    </a>
  );
}

function Empty({ filtered, paged, onClear, onNewest }: { filtered: boolean; paged: boolean; onClear: () => void; onNewest: () => void }) {
  return (
    <div className="rounded-lg border border-dashed border-slate-300 bg-white px-6 py-10 text-center" data-testid="empty-state">
      {paged ? (
        <>
          <p className="font-medium text-slate-800">No more events this way</p>
          <p className="mt-1 text-sm text-slate-600">The page you asked for is past the end of the matching events.</p>
          <button type="button" onClick={onNewest} className="mt-3 text-sm font-medium text-brand-600 hover:underline">Back to the newest</button>
        </>
      ) : filtered ? (
        <>
          <p className="font-medium text-slate-800">No event matches these filters</p>
          <p className="mt-1 text-sm text-slate-600">Widen the time range, pick another action or user, or clear the filters to see every event.</p>
          <button type="button" onClick={onClear} className="mt-3 text-sm font-medium text-brand-600 hover:underline">Clear filters</button>
        </>
      ) : (
        <>
          <p className="font-medium text-slate-800">No audit events yet</p>
          <p className="mt-1 text-sm text-slate-600">Sign-ins, user and role changes, key and job changes appear here as they happen.</p>
        </>
      )}
    </div>
  );
}

/** Details as short "key: value" pairs; the full JSON on hover. */
function detailsText(details: string): string {
  try {
    const obj = JSON.parse(details) as Record<string, unknown>;
    return Object.entries(obj)
      .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" · ");
  } catch {
    return details;
  }
}

function CellButton({ onClick, title, children, className = "" }: { onClick: () => void; title: string; children: React.ReactNode; className?: string }) {
  return (
    <button type="button" onClick={onClick} title={title} className={`text-left hover:text-brand-700 hover:underline ${className}`}>
      {children}
    </button>
  );
}

function EventRow({ e, broken, onUser, onAction, onObject }: { e: AuditEventDto; broken: boolean; onUser: (u: string) => void; onAction: (a: string) => void; onObject: (t: string, id: string) => void }) {
  const details = e.details === "{}" ? "" : detailsText(e.details);
  return (
    <tr className={broken ? "bg-red-50 hover:bg-red-100" : "hover:bg-slate-50"} data-testid="audit-row" data-broken={broken || undefined}>
      <Td className={`text-xs ${broken ? "font-semibold text-red-700" : "text-slate-400"}`}>
        <span title={broken ? "The hash chain breaks here" : `hash ${e.hash}`}>{e.seq}</span>
      </Td>
      <Td className="whitespace-nowrap font-mono text-xs"><time dateTime={e.at} title={e.at}>{e.at.slice(0, 19).replace("T", " ")}</time></Td>
      <Td className="text-xs" >
        {e.actorEmail ? (
          <CellButton onClick={() => onUser(e.actorEmail!)} title={`Show only events by ${e.actorEmail}`}><span data-testid="audit-actor">{e.actorEmail}</span></CellButton>
        ) : (
          <span className="text-slate-400" data-testid="audit-actor">system</span>
        )}
      </Td>
      <Td className="font-mono text-xs">
        <CellButton onClick={() => onAction(e.action)} title={`Show only ${e.action}`}><span data-testid="audit-action">{e.action}</span></CellButton>
      </Td>
      <Td className="text-xs">
        {e.objectType ? (
          <CellButton onClick={() => onObject(e.objectType!, e.objectId ?? "")} title="Show only events about this object">
            <span className="text-slate-500">{e.objectType}</span>
            {e.objectId && <span className="ml-1 font-mono text-[11px] text-slate-400">{e.objectId.length > 14 ? `${e.objectId.slice(0, 12)}…` : e.objectId}</span>}
          </CellButton>
        ) : (
          <span className="text-slate-300">—</span>
        )}
      </Td>
      <Td><Badge tone={OUTCOME_TONE[e.outcome as keyof typeof OUTCOME_TONE] ?? "neutral"}>{e.outcome}</Badge></Td>
      <Td className="whitespace-nowrap text-xs">{e.sourceIp ?? "—"}</Td>
      <Td className="min-w-56 max-w-sm text-xs text-slate-500">
        <span title={e.details} className="line-clamp-2 break-words">{details}</span>
      </Td>
    </tr>
  );
}
