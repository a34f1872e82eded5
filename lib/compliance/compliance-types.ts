// The compliance analyzer's vocabulary (SEC-5), shared by the services, the page and its client
// components: no server code here, only types and the catalogue of checks.

export type ComplianceStatus = "pass" | "fail" | "na";

/** KMS certificates closer than this to their end fail (VME-4). */
export const CERT_WARNING_DAYS = 30;

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
  "replica-keys-reachable",
  "replica-tenant-keys",
  "dr-kms-certificates",
  "replica-rpo",
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
  "replica-keys-reachable": { title: "Every encrypted replica's key provider answers at its DR site" }, // REP-2, VME-3
  "replica-tenant-keys": { title: "Replicas are encrypted only with their own tenant's key provider" }, // REP-2
  "dr-kms-certificates": { title: "KMS certificates at the DR sites stay valid for 30 days or more" }, // VME-4
  "replica-rpo": { title: "Replicas are as recent as their schedules promise" }, // REP-1
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
