// The compliance analyzer's vocabulary (SEC-5), shared by the services, the page and its client
// components: no server code here, only types and the catalogue of checks.

export type ComplianceStatus = "pass" | "fail" | "na";

export const CHECK_IDS = [
  "backup-encryption",
  "recovery-keyset",
  "passwords-approved",
  "nbdssl-for-encrypted",
  "hotadd-kms-match",
  "immutable-copy",
  "four-eyes",
  "kms-health",
  "metadata-protected",
  "replicas-encrypted",
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

/** What each check asks; the comment names the rules it stands for (ids in SPEC.md, never shown). */
export const CHECKS: Record<CheckId, { title: string }> = {
  "backup-encryption": { title: "Backup encryption is on for every job that protects encrypted VMs" }, // TRN-7
  "recovery-keyset": { title: "Password-loss protection: a current recovery keyset" }, // KEY-6
  "passwords-approved": { title: "Job passwords are approved by security" }, // SEC-3
  "nbdssl-for-encrypted": { title: "Encrypted disks travel over NBDSSL, never plain NBD" }, // TRN-4
  "hotadd-kms-match": { title: "HotAdd proxies match the key provider of the encrypted VMs they may serve" }, // TRN-3, TRN-5
  "immutable-copy": { title: "An immutable repository holds restore points" }, // BKP-8
  "four-eyes": { title: "Four-eyes approval is on, with at least two Security Officers" }, // SEC-2
  "kms-health": { title: "KMS clusters answer, and their certificates stay valid for 30 days or more" }, // VME-4, VME-3
  "metadata-protected": { title: "Chain metadata files (.vbm) are protected like the backups" }, // KEY-8, KEY-9
  "replicas-encrypted": { title: "Replicas of encrypted VMs stay encrypted" }, // REP-2, REP-4
};

/** One check's outcome as stored in ComplianceRun.results. */
export interface ComplianceResult {
  id: CheckId;
  title: string;
  status: ComplianceStatus;
  /** Why, in an administrator's words, naming the first offending objects and how many there are. */
  why: string;
  /** Where to fix it (or to look), an in-console path; "" when there is nowhere to go. */
  fixHref: string;
  fixLabel: string;
}

export interface ComplianceRunDto {
  id: string;
  at: string;
  trigger: "manual" | "daily";
  passCount: number;
  failCount: number;
  naCount: number;
  results: ComplianceResult[];
}

export interface ComplianceTrendPoint {
  id: string;
  at: string;
  trigger: "manual" | "daily";
  passCount: number;
  failCount: number;
}

export interface ComplianceOverviewDto {
  latest: ComplianceRunDto | null;
  /** The last runs, oldest first (at most 30). */
  trend: ComplianceTrendPoint[];
  /** When the console runs the checks by itself next (24 h after the last daily run), ISO. */
  nextDailyAt: string | null;
}
