import type { FailoverCheckResult } from "@/lib/services/failover/check-failover";

// The failover wizard's form and its per-step problems (FOV-1), pure so it is tested without a
// browser: replicas → restore point per replica → pre-failover check → kind → reason → summary.
// Each step's first problem blocks Next and says what to do.

export const STEPS = ["Replicas", "Restore points", "Pre-failover check", "Kind of failover", "Reason", "Summary"] as const;

export type FailoverKind = "failover" | "planned";

export interface WizardReplica {
  id: string;
  replicaVmName: string;
  sourceVmName: string;
  jobId: string;
  jobName: string;
  state: string;
  keyMode: string;
  points: Array<{ id: string; createdAt: string; keyIds: string[]; keyMode: string }>;
}

export interface FailoverWizardForm {
  replicaIds: string[];
  /** replica id → point id */
  points: Record<string, string>;
  kind: FailoverKind;
  reason: string;
}

export interface CheckState {
  /** The choices the check ran for (checkKey of them). */
  key: string;
  results: FailoverCheckResult[] | null;
  error: string | null;
}

export function initialForm(replicas: WizardReplica[], preselect?: string | null, kind?: string | null): FailoverWizardForm {
  const ready = replicas.filter((r) => r.state === "Ready" && r.points.length > 0);
  const chosen = preselect && ready.some((r) => r.id === preselect) ? [preselect] : [];
  return { replicaIds: chosen, points: Object.fromEntries(ready.map((r) => [r.id, r.points[r.points.length - 1].id])), kind: kind === "planned" ? "planned" : "failover", reason: "" };
}

/** What the check must have run for: the replicas and their points, in order. */
export function checkKey(form: FailoverWizardForm): string {
  return form.replicaIds.map((id) => `${id}@${form.points[id] ?? ""}`).join(",");
}

export function checkInput(form: FailoverWizardForm): { replicas: Array<{ replicaId: string; pointId?: string }> } {
  return { replicas: form.replicaIds.map((id) => ({ replicaId: id, pointId: form.points[id] || undefined })) };
}

export function reasonProblem(reason: string): string | undefined {
  const t = reason.trim();
  if (t.length < 3) return "Say why you fail over (at least 3 characters): it is kept in the session and the audit log.";
  if (t.length > 500) return "Use at most 500 characters.";
  return undefined;
}

/** The first problem of a step, or undefined when Next may go on. */
export function stepProblem(step: number, form: FailoverWizardForm, replicas: WizardReplica[], check: CheckState | null): string | undefined {
  const byId = new Map(replicas.map((r) => [r.id, r]));
  if (step === 0) {
    if (form.replicaIds.length === 0) return "Choose at least one Ready replica to fail over.";
    const notReady = form.replicaIds.map((id) => byId.get(id)).find((r) => !r || r.state !== "Ready");
    if (notReady) return `${notReady.replicaVmName} is not Ready: only a Ready replica can be failed over.`;
    return undefined;
  }
  if (step === 1) {
    for (const id of form.replicaIds) {
      const r = byId.get(id);
      if (!r || !r.points.some((p) => p.id === form.points[id])) return `Choose a restore point for ${r?.replicaVmName ?? "the replica"}.`;
    }
    return undefined;
  }
  if (step === 2) {
    if (!check || check.key !== checkKey(form)) return "The pre-failover check is running…";
    if (check.error) return `The check could not run: ${check.error}`;
    const noGo = (check.results ?? []).filter((r) => !r.go);
    if (noGo.length) return `No-go for ${noGo.map((r) => r.replicaVmName).join(", ")}: fix what the check says, then run the check again (or go back and leave it out).`;
    return undefined;
  }
  if (step === 4) return reasonProblem(form.reason);
  return undefined;
}

export type CheckItemState = "ok" | "failed" | "not-checked" | "not-needed";

/** The things the check looks at, each with its outcome from the reasons, in plain words. */
export function checkItems(result: FailoverCheckResult, encrypted: boolean): Array<{ label: string; state: CheckItemState; reasons: string[] }> {
  const reasons = result.reasons;
  const early = reasons.some((r) => /has no replica point yet|chosen point no longer exists|no longer exists at the DR site|does not exist/.test(r));
  const pick = (re: RegExp) => reasons.filter((r) => re.test(r));
  const item = (label: string, re: RegExp, needed = true) => {
    const rs = pick(re);
    return { label, reasons: rs, state: (rs.length ? "failed" : !needed ? "not-needed" : early ? "not-checked" : "ok") as CheckItemState };
  };
  const replica = pick(/has no replica point yet|chosen point no longer exists|no longer exists at the DR site|does not exist|does not answer for|no longer has the point|powered on at the DR site|only a Ready|already failed over|permanent failover|failing back/);
  const keyProvider = /which the DR site does not have|cannot reach key provider|could not ask/;
  const keys = /does not hold key|refused the DR site's request/;
  return [
    { label: "The replica and its point are at the DR site, powered off", reasons: replica, state: replica.length ? "failed" : "ok" },
    item("The DR site reaches the replica's key provider", keyProvider, encrypted),
    item("The keys of the point unlock", keys, encrypted),
    item("A vTPM is there where the source VM has one", /vTPM/),
    item("Encrypted files sit on VM Encryption Policy datastores", /VM Encryption Policy/, encrypted),
    item("The job's network mapping fits the replica's host", /network/i),
  ];
}
