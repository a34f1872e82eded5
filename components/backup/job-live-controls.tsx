"use client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useRef } from "react";
import { ErrorNotice } from "@/components/ui/states";
import { formatDateTime } from "@/lib/format";
import type { JobDetailDto } from "@/lib/services/backup/list-backup-jobs";
import { SessionStateBadge } from "./badges";
import { EditJobLink, EnableJobButton, RunNowButton, StopSessionButton, type Action } from "./job-actions";
import { useBackupJob } from "./queries";

/**
 * The job's live state and its buttons. When a session starts or ends, the server-rendered parts
 * of the page (sessions, restore points) are refreshed.
 */
export function JobLiveControls({ initial, canManage, actions }: { initial: JobDetailDto; canManage: boolean; actions: { run: Action; stop: Action; setEnabled: Action } }) {
  const router = useRouter();
  const q = useBackupJob(initial.id, initial);
  const j = q.data ?? initial;
  const signature = [j.activeSession?.id, j.activeSession?.state, j.lastSession?.id, j.restorePointCount, j.enabled].join("|");
  const seen = useRef(signature);
  useEffect(() => {
    if (seen.current !== signature) {
      seen.current = signature;
      router.refresh();
    }
  }, [signature, router]);

  return (
    <div className="flex flex-col items-end gap-2" data-testid="job-live-controls">
      <div className="flex items-center gap-2 text-sm">
        {j.activeSession ? (
          <Link href={`/sessions/${j.activeSession.id}`} className="flex items-center gap-2 font-medium text-brand-700 hover:underline" data-testid="active-session-link">
            <SessionStateBadge state={j.activeSession.state} /> Follow the session →
          </Link>
        ) : j.lastSession ? (
          <span className="flex items-center gap-2 text-slate-600">
            Last result
            <Link href={`/sessions/${j.lastSession.id}`} className="hover:opacity-80"><SessionStateBadge state={j.lastSession.state} /></Link>
            <span className="text-xs text-slate-500">{formatDateTime(j.lastSession.endedAt ?? j.lastSession.queuedAt)}</span>
          </span>
        ) : (
          <span className="text-slate-500">Never run</span>
        )}
      </div>
      {canManage && (
        <div className="flex flex-wrap justify-end gap-2">
          {j.activeSession ? (
            <StopSessionButton key={j.activeSession.id} sessionId={j.activeSession.id} action={actions.stop} size="md" />
          ) : (
            <RunNowButton jobId={j.id} action={actions.run} size="md" primary />
          )}
          <EditJobLink jobId={j.id} size="md" />
          <EnableJobButton jobId={j.id} enabled={j.enabled} action={actions.setEnabled} size="md" />
        </div>
      )}
      {q.isError && (
        <div className="max-w-sm text-left">
          <ErrorNotice title="Live status unavailable">{q.error.message}</ErrorNotice>
        </div>
      )}
    </div>
  );
}
