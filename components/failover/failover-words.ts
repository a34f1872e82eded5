import { formatDateTime } from "@/lib/format";
import type { ReplicaDto } from "@/lib/services/replication/list-replicas";

// Plain words for a replica's failover state and its failover sessions (FOV-1), shared by the
// replicas view, the wizard and the session page.

export const ACTION_WORDS: Record<string, string> = {
  failover: "Failover",
  planned: "Planned failover",
  undo: "Undo failover",
  permanent: "Permanent failover",
  failback: "Failback",
  "commit-failback": "Commit failback",
  "undo-failback": "Undo failback",
};

/** "Ready", "Failover since <time> at point <time>", "Permanent failover", … */
export function replicaStateWords(r: Pick<ReplicaDto, "state" | "failover">): string {
  if (r.state === "Ready") return "Ready";
  if (r.state === "Failover") {
    const since = r.failover?.at ? ` since ${formatDateTime(r.failover.at)}` : "";
    const at = r.failover?.pointCreatedAt ? ` at point ${formatDateTime(r.failover.pointCreatedAt)}` : r.failover?.pointSnapshotId ? ` at point ${r.failover.pointSnapshotId}` : "";
    return `Failover${since}${at}`;
  }
  if (r.state === "PermanentFailover") return "Permanent failover";
  if (r.state === "Failback") return "Failing back";
  return r.state;
}

export const SESSION_STATE_WORDS: Record<string, string> = { queued: "queued", running: "running", success: "Success", warning: "Warning", failed: "Failed", stopped: "stopped" };
