// Which failover action each replica state allows (FOV-1), and what to say when it does not: the
// replicas view offers only the allowed ones, and every service and the job refuse the others.
// Pure, so the page, the services and the job give the same answers.

export type FailoverAction = "failover" | "planned" | "undo" | "permanent";

export const FAILOVER_ACTION_LABELS: Record<FailoverAction, string> = {
  failover: "Failover now",
  planned: "Planned failover",
  undo: "Undo failover",
  permanent: "Permanent failover",
};

const ALLOWED: Record<FailoverAction, string> = { failover: "Ready", planned: "Ready", undo: "Failover", permanent: "Failover" };

/** Why `action` is refused for a replica in `state`, in plain words; null when it is allowed. */
export function failoverRefusal(action: FailoverAction, state: string, name: string): string | null {
  if (state === ALLOWED[action]) return null;
  if (state === "PermanentFailover") return `${name} was made the production VM by a permanent failover: it is no replica any more, so it cannot be failed over, undone or made permanent again.`;
  if (state === "Failback") return `${name} is failing back: commit or undo the failback first.`;
  if (action === "failover" || action === "planned") return state === "Failover" ? `${name} is already failed over: undo the failover or make it permanent first.` : `${name} is ${state}: only a Ready replica can be failed over.`;
  if (action === "undo") return state === "Ready" ? `${name} is not failed over: there is nothing to undo.` : `${name} is ${state}: only a failed-over replica can be undone.`;
  return state === "Ready" ? `${name} is not failed over: fail it over first, check that it works, then make the failover permanent.` : `${name} is ${state}: only a failed-over replica can be made permanent.`;
}

// Failback (FBK-1): from Failover back to production, then commit (Ready: replication resumes
// from production) or undo (Failover again: the replica is production).
export type FailbackAction = "failback" | "commit-failback" | "undo-failback";

export const FAILBACK_ACTION_LABELS: Record<FailbackAction, string> = {
  failback: "Failback",
  "commit-failback": "Commit failback",
  "undo-failback": "Undo failback",
};

const FAILBACK_ALLOWED: Record<FailbackAction, string> = { failback: "Failover", "commit-failback": "Failback", "undo-failback": "Failback" };

/** Why failback `action` is refused for a replica in `state`, in plain words; null when it is allowed. */
export function failbackRefusal(action: FailbackAction, state: string, name: string): string | null {
  if (state === FAILBACK_ALLOWED[action]) return null;
  if (state === "PermanentFailover") return `${name} was made the production VM by a permanent failover: there is nothing to fail back.`;
  if (action === "failback") {
    if (state === "Failback") return `${name} is already failed back: commit or undo the failback first.`;
    return `${name} is not failed over (it is ${state}): only a failed-over replica can be failed back.`;
  }
  const what = action === "commit-failback" ? "commit" : "undo";
  if (state === "Failover") return `${name} is failed over but not failed back: fail it back first, then ${what} the failback.`;
  return `${name} is ${state}: there is no failback to ${what}.`;
}

/** The actions a replica in `state` allows (failover and failback). */
export function allowedFailoverActions(state: string): Array<FailoverAction | FailbackAction> {
  return [...(Object.keys(ALLOWED) as FailoverAction[]).filter((a) => ALLOWED[a] === state), ...(Object.keys(FAILBACK_ALLOWED) as FailbackAction[]).filter((a) => FAILBACK_ALLOWED[a] === state)];
}
