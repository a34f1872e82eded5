"use client";
import { useEffect, useState } from "react";
import { parseAuditTime } from "@/lib/schemas/audit";
import { SESSION_KINDS, SESSION_STATE_FILTER_LABELS, SESSION_STATE_FILTERS } from "@/lib/services/jobs/list-sessions.schema";
import type { SessionPageDto } from "@/lib/services/jobs/list-sessions";
import { kindName } from "./session-format";
import type { SessionFilterValues } from "./session-search";

const INPUT = "mt-1 rounded-md border px-2 py-1.5 text-sm";

function toInputValue(v: string): string {
  const t = v ? parseAuditTime(v) : null;
  return t ? t.start.toISOString().slice(0, 16) : "";
}

/** The filter bar: kind, state, worker, text (applied after a pause in typing), queued between. */
export function SessionFilters({ values, errors, options, onChange, onClear, filtered }: {
  values: SessionFilterValues;
  errors: Record<string, string>;
  options: SessionPageDto["options"];
  onChange: (patch: Partial<SessionFilterValues>) => void;
  onClear: () => void;
  filtered: boolean;
}) {
  const [text, setText] = useState(values.q);
  useEffect(() => setText(values.q), [values.q]);
  useEffect(() => {
    const t = setTimeout(() => {
      if (text.trim() !== values.q) onChange({ q: text.trim() });
    }, 300);
    return () => clearTimeout(t);
  }, [text, values.q, onChange]);

  const kinds = [...new Set([...SESSION_KINDS, ...options.kinds, ...(values.kind ? [values.kind] : [])])];
  const workers = values.worker && !options.workers.some((w) => w.id === values.worker) ? [...options.workers, { id: values.worker, host: values.worker, role: "worker" }] : options.workers;
  return (
    <form className="rounded-lg border border-slate-200 bg-white p-3 shadow-sm" data-testid="session-filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter sessions">
      <div className="flex flex-wrap items-start gap-3">
        <Field label="Kind" error={errors.kind}>
          <select value={values.kind} onChange={(e) => onChange({ kind: e.target.value })} className={`${INPUT} border-slate-300`} data-testid="filter-kind">
            <option value="">All kinds</option>
            {kinds.map((k) => <option key={k} value={k}>{kindName(k)}</option>)}
          </select>
        </Field>
        <Field label="State" error={errors.state}>
          <select value={values.state} onChange={(e) => onChange({ state: e.target.value })} className={`${INPUT} border-slate-300`} data-testid="filter-state">
            <option value="">Any state</option>
            {SESSION_STATE_FILTERS.map((s) => <option key={s} value={s}>{SESSION_STATE_FILTER_LABELS[s]}</option>)}
          </select>
        </Field>
        <Field label="Worker" error={errors.worker}>
          <select value={values.worker} onChange={(e) => onChange({ worker: e.target.value })} className={`${INPUT} max-w-52 border-slate-300`} data-testid="filter-worker">
            <option value="">Any worker</option>
            {workers.map((w) => (
              <option key={w.id} value={w.id} title={w.id}>
                {w.role === "console" ? `${w.host} (console)` : w.host}
                {workers.filter((o) => o.host === w.host).length > 1 ? ` · ${w.id.slice(-6)}` : ""}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Search" error={errors.q}>
          <input value={text} onChange={(e) => setText(e.target.value)} maxLength={100} placeholder="Job, repository or title" className={`${INPUT} w-48 ${errors.q ? "border-red-400" : "border-slate-300"}`} data-testid="filter-q" />
        </Field>
        <Field label="Queued between (UTC)" error={errors.from ?? errors.to}>
          <span className="flex items-center gap-1.5">
            <input type="datetime-local" aria-label="Queued from (UTC)" value={toInputValue(values.from)} onChange={(e) => onChange({ from: e.target.value })} className={`${INPUT} w-[11.5rem] ${errors.from ? "border-red-400" : "border-slate-300"}`} data-testid="filter-from" />
            <span className="mt-1 text-slate-500">and</span>
            <input type="datetime-local" aria-label="Queued to (UTC)" value={toInputValue(values.to)} onChange={(e) => onChange({ to: e.target.value })} className={`${INPUT} w-[11.5rem] ${errors.to ? "border-red-400" : "border-slate-300"}`} data-testid="filter-to" />
          </span>
        </Field>
        {filtered && (
          <button type="button" onClick={() => { setText(""); onClear(); }} className="ml-auto self-center text-sm font-medium text-brand-600 hover:underline" data-testid="clear-filters">
            Clear filters
          </button>
        )}
      </div>
    </form>
  );
}

function Field({ label, error, children }: { label: string; error?: string; children: React.ReactNode }) {
  return (
    <label className="block text-xs font-medium text-slate-600">
      {label}
      <div>{children}</div>
      {error && <span className="mt-0.5 block max-w-56 text-xs font-normal text-red-700">{error}</span>}
    </label>
  );
}
