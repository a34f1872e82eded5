// The live picture of one job session (BKP-5): per VM and disk, bytes to read, read and
// transferred, the rate, the proxy and transport mode with the reason, and the session log.
// The runner mutates it; the recorder writes it to the session row at most once a second, and the
// session page polls that row. Pure: shared by the runner and the page's types.

export type VmRunStatus = "pending" | "running" | "success" | "warning" | "failed" | "skipped";

/** A VM that will not change any more. */
export const VM_DONE: readonly VmRunStatus[] = ["success", "warning", "failed", "skipped"];

export interface DiskRunProgress {
  deviceKey: number;
  label: string;
  encrypted: boolean;
  bytesToRead: number;
  bytesRead: number;
  bytesTransferred: number;
  rate: number;
  done: boolean;
  proxy: string | null;
  mode: string | null;
  reason: string | null;
}

export interface VmRunProgress {
  vmExternalId: string;
  vmId: string | null;
  name: string;
  encrypted: boolean;
  status: VmRunStatus;
  incremental: boolean | null;
  pointId: string | null;
  keyIds: string[];
  error: string | null;
  warnings: string[];
  startedAt: string | null;
  endedAt: string | null;
  disks: DiskRunProgress[];
}

export interface SessionProgress {
  vms: VmRunProgress[];
}

export interface LogLine {
  at: string;
  level: "info" | "warning" | "error";
  text: string;
}

export const MAX_LOG_LINES = 2000;

export function sessionTotals(p: SessionProgress) {
  let bytesToRead = 0;
  let bytesRead = 0;
  let bytesTransferred = 0;
  let rate = 0;
  for (const vm of p.vms)
    for (const d of vm.disks) {
      bytesToRead += d.bytesToRead;
      bytesRead += d.bytesRead;
      bytesTransferred += d.bytesTransferred;
      if (!d.done) rate += d.rate;
    }
  const done = p.vms.filter((v) => v.status !== "pending" && v.status !== "running").length;
  return { bytesToRead, bytesRead, bytesTransferred, rate, vmsDone: done, vmCount: p.vms.length };
}
