// What the backup pipeline reports while it runs, as typed values (never log text that a caller
// parses back). The session log is written from `text` for people; the job engine's accounting and
// the session page use the fields.
import type { TransportMode } from "../../platform/connector";

export type BackupEvent =
  | { type: "disk-planned"; vmExternalId: string; deviceKey: number; proxyExternalId: string; proxyName: string; mode: TransportMode; reason: string; rejected: string[]; text: string }
  | { type: "task-start"; vmExternalId: string; deviceKey: number; proxyExternalId: string; slot: number; text: string }
  | { type: "task-end"; vmExternalId: string; deviceKey: number; proxyExternalId: string; slot: number; text: string }
  | { type: "waiting"; vmExternalId: string; deviceKey: number; text: string }
  | { type: "warning"; vmExternalId: string; text: string }
  | { type: "disk-done"; vmExternalId: string; deviceKey: number; incremental: boolean; bytesRead: number; bytesTransferred: number; text: string }
  | { type: "vm-done"; vmExternalId: string; status: "success" | "warning" | "failed"; pointId: string | null; error: string | null; text: string };

/** One slot of a proxy's task limit (TRN-6), held while a disk is read. */
export interface ProxyTaskLease {
  slot: number;
  release(): Promise<void>;
}

/**
 * The proxies' task limits as the caller counts them (the job engine: in the database, across
 * workers). `counts` feeds proxy selection; `take` claims one slot or answers null when the proxy
 * filled up meanwhile.
 */
export interface ProxyTaskGate {
  counts(): Promise<Readonly<Record<string, number>>>;
  take(proxy: { externalId: string; maxTasks: number }, task: { vmExternalId: string; deviceKey: number }): Promise<ProxyTaskLease | null>;
}
