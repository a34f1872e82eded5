"use client";
import Link from "next/link";
import type { ActionState } from "@/lib/auth/safe-action";

// Pieces the restore wizard's flows share: a labelled field, the step list, the Back/Next bar
// (Next blocked with the step's first problem), and the server's answer when Start was refused.

export function Field({ label, hint, error, children }: { label: string; hint?: string; error?: React.ReactNode; children: React.ReactNode }) {
  return (
    <label className="block text-sm">
      <span className="mb-1 block font-medium text-slate-700">{label}</span>
      {children}
      {hint && <span className="mt-1 block text-xs text-slate-500">{hint}</span>}
      {error}
    </label>
  );
}

export function StepList({ steps, step, problem, onGo }: { steps: readonly string[]; step: number; problem: (i: number) => string | undefined; onGo: (i: number) => void }) {
  return (
    <ol className="space-y-1 text-sm" aria-label="Steps">
      {steps.map((s, i) => (
        <li key={s}>
          <button
            type="button"
            onClick={() => (i <= step || steps.slice(0, i).every((_, j) => !problem(j)) ? onGo(i) : undefined)}
            aria-current={i === step ? "step" : undefined}
            className={`flex w-full items-center gap-2 rounded-md px-2 py-1.5 text-left ${i === step ? "bg-brand-50 font-medium text-brand-700" : "text-slate-600 hover:bg-slate-50"}`}
            data-testid={`step-link-${i}`}
          >
            <span className={`flex h-5 w-5 items-center justify-center rounded-full text-xs ${i < step && !problem(i) ? "bg-emerald-600 text-white" : i < step ? "bg-red-600 text-white" : "bg-slate-200 text-slate-700"}`}>{i + 1}</span>
            {s}
          </button>
        </li>
      ))}
    </ol>
  );
}

export function StepNav({ step, last, pending, problem, finishLabel, onBack, onNext, onFinish }: { step: number; last: number; pending: boolean; problem?: string; finishLabel: string; onBack: () => void; onNext: () => void; onFinish: () => void }) {
  return (
    <div className="mt-6 flex items-center gap-3 border-t border-slate-100 pt-4">
      <button type="button" className="btn-secondary" disabled={step === 0 || pending} onClick={onBack}>
        Back
      </button>
      {step < last ? (
        <button type="button" className="btn-primary" onClick={onNext} data-testid="wizard-next">
          Next
        </button>
      ) : (
        <button type="button" className="btn-primary" onClick={onFinish} disabled={pending} data-testid="wizard-finish">
          {pending ? "Starting…" : finishLabel}
        </button>
      )}
      {step < last && problem && (
        <span className="text-sm text-slate-600" data-testid="next-blocked">
          {problem}
        </span>
      )}
      <Link href="/restore" className="ml-auto text-sm text-slate-500 hover:underline">
        Cancel
      </Link>
    </div>
  );
}

export function ActionError({ result }: { result: ActionState }) {
  if (!result || result.ok) return null;
  return (
    <div className="mt-4 rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="action-error">
      {result.formError}
      {result.fieldErrors && (
        <ul className="mt-1 list-disc pl-5">
          {Object.values(result.fieldErrors).flat().map((v, i) => <li key={i}>{v}</li>)}
        </ul>
      )}
    </div>
  );
}

/** A field's message, shown once the user tried to leave the step. */
export function FieldError({ show, message, field }: { show: boolean; message?: string; field: string }) {
  return show && message ? (
    <span className="mt-1 block text-xs text-red-700" data-testid={`error-${field}`}>
      {message}
    </span>
  ) : null;
}
