"use client";
import { useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useActionState, useEffect, useRef } from "react";
import { ErrorNotice } from "@/components/ui/states";
import type { RepositoryDetailDto } from "@/lib/services/backup/list-repositories";
import type { Action } from "./job-actions";
import { useBackupRepository } from "./queries";
import { VerifyReport } from "./verify-report";

/** Verify button, "Verifying…" while the runner checks every block, then the report (BKP-7). */
export function VerifyPanel({ initial, canManage, action, newestPointAt }: { initial: RepositoryDetailDto; canManage: boolean; action: Action; newestPointAt: string | null }) {
  const router = useRouter();
  const qc = useQueryClient();
  const q = useBackupRepository(initial.id, initial);
  const r = q.data ?? initial;
  const [state, formAction, pending] = useActionState(action, null);
  // Once started, ask at once: the repository row says verifyRunning, and polling follows it.
  useEffect(() => {
    if (state) void qc.invalidateQueries({ queryKey: ["backup-repository", initial.id] });
  }, [state, qc, initial.id]);
  // When a verify ends, point statuses on the page may have changed (damaged/ok): re-render it.
  const lastAt = r.lastVerify?.at ?? null;
  const seen = useRef(lastAt);
  useEffect(() => {
    if (seen.current !== lastAt) {
      seen.current = lastAt;
      router.refresh();
    }
  }, [lastAt, router]);

  const running = r.verifyRunning || pending;
  return (
    <section className="rounded-lg border border-slate-200 bg-white shadow-sm" data-testid="verify-panel">
      <header className="flex items-start justify-between gap-4 border-b border-slate-100 px-4 py-3">
        <div className="min-w-0 flex-1">
          <h2 className="text-sm font-semibold text-slate-800">Health check</h2>
          <p className="text-xs text-slate-500">Reads every block of every restore point, authenticates it with the point&apos;s keys and checks its hash; damage is named per point and block.</p>
        </div>
        <div className="flex shrink-0 items-center gap-3">
          {running && (
            <span className="flex items-center gap-2 text-sm font-medium text-brand-700" data-testid="verify-running">
              <span className="h-3.5 w-3.5 animate-spin rounded-full border-2 border-brand-600 border-t-transparent" aria-hidden />
              Verifying…
            </span>
          )}
          {canManage && (
            <form action={formAction}>
              <input type="hidden" name="repositoryId" value={r.id} />
              <button disabled={running} className="rounded-md bg-brand-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-brand-700 disabled:opacity-50" data-testid="verify-button">
                {r.lastVerify ? "Verify again" : "Verify now"}
              </button>
            </form>
          )}
        </div>
      </header>
      <div className="space-y-3 p-4">
        {state && !state.ok && <ErrorNotice title="The verify did not start">{state.formError}</ErrorNotice>}
        {q.isError && <ErrorNotice title="Live status unavailable">{q.error.message} The page shows the last known state.</ErrorNotice>}
        {r.report ? (
          <div className={running ? "opacity-60" : ""}>
            {running && <p className="mb-3 text-xs text-slate-500">The report below is from the previous verify; it is replaced when this one ends.</p>}
            {!running && r.lastVerify && newestPointAt && newestPointAt > r.lastVerify.at && (
              <p className="mb-3 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="verify-stale">
                Restore points were added after this verify; they are not covered by it. {canManage ? "Verify again to check them." : ""}
              </p>
            )}
            <VerifyReport report={r.report} at={r.lastVerify?.at ?? null} />
          </div>
        ) : running ? (
          <p className="py-6 text-center text-sm text-slate-600">Verifying for the first time. The report appears here when every block has been checked.</p>
        ) : (
          <p className="py-6 text-center text-sm text-slate-600" data-testid="verify-never">
            This repository has never been verified. {canManage ? "Verify it now to know every restore point can be restored." : "A Backup Administrator can start a verify."}
          </p>
        )}
      </div>
    </section>
  );
}
