import { Badge } from "@/components/ui/badge";
import { LockIcon } from "@/components/ui/icons";

const SESSION_STATES: Record<string, { tone: "neutral" | "good" | "warn" | "bad" | "info"; label: string }> = {
  queued: { tone: "neutral", label: "Queued" },
  running: { tone: "info", label: "Running…" },
  success: { tone: "good", label: "Success" },
  warning: { tone: "warn", label: "Warning" },
  failed: { tone: "bad", label: "Failed" },
  stopped: { tone: "neutral", label: "Stopped" },
};

export function SessionStateBadge({ state }: { state: string }) {
  const s = SESSION_STATES[state] ?? { tone: "neutral" as const, label: state };
  return (
    <span data-testid="session-state" data-state={state}>
      <Badge tone={s.tone}>
        {state === "running" && <span className="h-1.5 w-1.5 animate-pulse rounded-full bg-current" aria-hidden />}
        {s.label}
      </Badge>
    </span>
  );
}

export function isActiveState(state: string): boolean {
  return state === "queued" || state === "running";
}

const VM_STATES: Record<string, { tone: "neutral" | "good" | "warn" | "bad" | "info"; label: string }> = {
  pending: { tone: "neutral", label: "Waiting" },
  running: { tone: "info", label: "Running…" },
  success: { tone: "good", label: "Success" },
  warning: { tone: "warn", label: "Warning" },
  failed: { tone: "bad", label: "Failed" },
  skipped: { tone: "neutral", label: "Not run" },
};

export function VmRunBadge({ status }: { status: string }) {
  const s = VM_STATES[status] ?? { tone: "neutral" as const, label: status };
  return <Badge tone={s.tone}>{s.label}</Badge>;
}

/** A job's backup encryption: password, KMS key, or a red "Off" (TRN-7). */
export function JobEncryptionBadge({ mode }: { mode: string }) {
  if (mode === "password") return <Badge tone="lock"><LockIcon /> Password</Badge>;
  if (mode === "kms") return <Badge tone="lock"><LockIcon /> KMS key</Badge>;
  return <span data-testid="encryption-off"><Badge tone="bad">Off</Badge></span>;
}

export const ENCRYPTION_OFF_HINT =
  "Backup encryption is off: restore points are sealed under a console key only. Data read from an encrypted VM leaves the host in cleartext, so its backup is no longer protected by a key you hold. Use a password or a KMS key for jobs that protect encrypted VMs.";

export function PointTypeBadge({ incremental }: { incremental: boolean }) {
  return incremental ? <Badge>Incremental</Badge> : <Badge tone="info">Full</Badge>;
}

export function PointStatusBadge({ status }: { status: string }) {
  if (status === "ok") return <Badge tone="good">OK</Badge>;
  if (status === "damaged") return <Badge tone="bad">Damaged</Badge>;
  if (status === "missing") return <Badge tone="bad" title="Its file is not in the repository folder: it cannot be restored">Missing</Badge>;
  return <Badge>{status}</Badge>;
}

export function VerifyOutcomeBadge({ outcome }: { outcome: string }) {
  if (outcome === "clean") return <Badge tone="good">Clean</Badge>;
  if (outcome === "damaged") return <Badge tone="bad">Damaged</Badge>;
  if (outcome === "incomplete") return <Badge tone="warn" title="No damage found, but some points were checked without their keys">No damage · keys missing</Badge>;
  if (outcome === "failed") return <Badge tone="bad">Verify failed</Badge>;
  return <Badge>{outcome}</Badge>;
}

/** Key ids that open a restore point (KEY-7), as small chips. */
export function KeyIds({ ids }: { ids: string[] }) {
  if (ids.length === 0) return <span className="text-xs text-slate-400">console key only</span>;
  return (
    <div className="flex max-w-xs flex-wrap gap-1" data-testid="key-ids">
      {ids.map((id) => (
        <code key={id} title={id} className="whitespace-nowrap rounded bg-slate-100 px-1.5 py-0.5 text-[11px] text-slate-700">
          {middleEllipsis(id, 44)}
        </code>
      ))}
    </div>
  );
}

/** "kms:kp-ams-provider/strongroom/backup-job/ee89…d6b2f15@1": the kind and the version stay visible. */
export function middleEllipsis(s: string, max: number): string {
  if (s.length <= max) return s;
  const tail = Math.floor((max - 1) / 3);
  return `${s.slice(0, max - 1 - tail)}…${s.slice(s.length - tail)}`;
}
