// The compliance analyzer's replication checks (SEC-5), pure like compliance-checks.ts (which
// registers them): each reads ComplianceData.replication and answers pass / fail / n/a with the
// offenders named and the fix. "The replica's key provider" is the provider the replica VM is
// encrypted with as the inventory shows it, or — while the replica does not exist yet — the one
// its job will use.

import type { Schedule } from "@/lib/schemas/backup";
import { CERT_WARNING_DAYS, CHECKS, type CheckId, type ComplianceResult, type ComplianceStatus } from "./compliance-types";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Slack on top of twice the schedule's interval before a replica counts as late (a run takes time). */
export const RPO_SLACK_MS = 15 * 60_000;
const NAMED = 3;

export interface ComplianceReplicationJob {
  id: string;
  name: string;
  enabled: boolean;
  createdAt: Date;
  keyMode: string;
  targetSiteExternalId: string;
  targetKeyProviderExternalId: string | null;
  refuseUnencrypted: boolean;
  schedule: Schedule;
  /** The job's source VMs as the inventory shows them now. */
  vms: Array<{ externalId: string; name: string; encrypted: boolean; tenantExternalId: string | null }>;
}

export interface ComplianceReplica {
  id: string;
  jobId: string;
  sourceVmExternalId: string;
  sourceVmName: string;
  replicaVmName: string;
  /** The replica VM as the inventory shows it now; null while it does not exist (no first run yet). */
  replicaVm: { encrypted: boolean; keyProviderExternalId: string | null } | null;
  /** The newest replica point; null while none exists. */
  newestPointAt: Date | null;
  state: string;
}

/** A key provider of a site some replication job replicates to. */
export interface ComplianceDrKeyProvider {
  siteExternalId: string;
  externalId: string;
  name: string;
  kind: "NATIVE" | "STANDARD";
  tenantExternalId: string | null;
  kmsClusterId: string | null;
}

export interface ComplianceReplicationData {
  jobs: ComplianceReplicationJob[];
  replicas: ComplianceReplica[];
  keyProviders: ComplianceDrKeyProvider[];
}

/** What the replication checks read of the whole ComplianceData. */
export interface ReplicationCheckInput {
  now: Date;
  replication: ComplianceReplicationData;
  kmsClusters: Array<{ id: string; name: string; status: string; unreachableSince: Date | null; lastError: string | null; clientCertNotAfter: Date; serverCertNotAfter: Date | null }>;
  tenantNames: Record<string, string>;
  siteNames: Record<string, string>;
}

// ─────────────────────────────── helpers ───────────────────────────────

function nameFew(names: readonly string[], max = NAMED): string {
  if (names.length <= max) return names.length <= 1 ? (names[0] ?? "") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
  return `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const day = (d: Date) => d.toISOString().slice(0, 10);
const result = (id: CheckId, status: ComplianceStatus, why: string, fixHref: string, fixLabel: string): ComplianceResult => ({ id, title: CHECKS[id].title, status, why, fixHref, fixLabel });
const jobHref = (jobId: string) => `/replication/${jobId}`;

function duration(ms: number): string {
  if (ms >= 2 * DAY_MS) return `${Math.round(ms / DAY_MS)} days`;
  if (ms >= 2 * HOUR_MS) return `${Math.round(ms / HOUR_MS)} hours`;
  return `${Math.max(1, Math.round(ms / 60_000))} minutes`;
}

interface Row {
  replica: ComplianceReplica | null;
  job: ComplianceReplicationJob;
  vm: ComplianceReplicationJob["vms"][number];
}

/** Every VM of every job with its replica (null before the first run). */
function rows(d: ReplicationCheckInput): Row[] {
  return d.replication.jobs.flatMap((job) => job.vms.map((vm) => ({ job, vm, replica: d.replication.replicas.find((r) => r.jobId === job.id && r.sourceVmExternalId === vm.externalId) ?? null })));
}

/** The key provider a replica is (or will be) encrypted with, at its job's target site; null when unencrypted. */
function replicaKeyProvider(d: ReplicationCheckInput, r: Row): ComplianceDrKeyProvider | null | "unknown" {
  const id = r.replica?.replicaVm ? (r.replica.replicaVm.encrypted ? r.replica.replicaVm.keyProviderExternalId : null) : r.job.keyMode === "unencrypted" ? null : r.job.targetKeyProviderExternalId;
  if (!id) return null;
  return d.replication.keyProviders.find((k) => k.siteExternalId === r.job.targetSiteExternalId && k.externalId === id) ?? "unknown";
}

/**
 * The longest wait between two runs the schedule promises: every N hours; for daily schedules the
 * longest gap between two chosen weekdays (weekdays only: Friday → Monday is 3 days). Null for a
 * manual job, which promises nothing.
 */
export function scheduleIntervalMs(s: Schedule): number | null {
  if (s.kind === "manual") return null;
  if (s.kind === "hourly") return s.everyHours * HOUR_MS;
  const days = [...new Set(s.days)].sort((a, b) => a - b);
  if (days.length === 0) return null;
  let gap = 0;
  for (let i = 0; i < days.length; i++) gap = Math.max(gap, ((days[(i + 1) % days.length] - days[i] + 7) % 7 || 7) * DAY_MS);
  return gap;
}

/** A replica is late when its newest point is older than twice the promised interval plus the slack. */
export function rpoLimitMs(s: Schedule): number | null {
  const interval = scheduleIntervalMs(s);
  return interval === null ? null : 2 * interval + RPO_SLACK_MS;
}

// ─────────────────────────────── the checks ───────────────────────────────

/** REP-2, REP-4: no replica (made, or to be made by its job) of an encrypted VM is unencrypted. */
export function checkReplicasEncrypted(d: ReplicationCheckInput): ComplianceResult {
  const id = "replicas-encrypted";
  if (d.replication.jobs.length === 0) return result(id, "na", "No replication job exists, so no encrypted VM has a replica that could be unencrypted.", "/replication", "See replication jobs");
  const encrypted = rows(d).filter((r) => r.vm.encrypted);
  if (encrypted.length === 0) return result(id, "na", `No replication job replicates an encrypted VM (${plural(d.replication.jobs.length, "job")} checked).`, "/replication", "See replication jobs");
  const plain = encrypted.filter((r) => (r.replica?.replicaVm ? !r.replica.replicaVm.encrypted : r.job.keyMode === "unencrypted"));
  if (plain.length === 0) return result(id, "pass", `${plural(encrypted.length, "replica")} of encrypted VMs ${encrypted.length === 1 ? "is" : "are"} encrypted (with shared keys or a key of the DR site).`, "/replicas", "See replicas");
  const first = plain[0];
  return result(
    id,
    "fail",
    `${plural(plain.length, "replica")} of encrypted VMs ${plain.length === 1 ? "is" : "are"} unencrypted at the DR site: ${nameFew(plain.map((r) => `${r.vm.name} → ${r.replica?.replicaVmName ?? "(next run)"} in ${r.job.name}${r.replica?.replicaVm ? "" : " (will be, at its first run)"}`))}. The guest's data sits there in clear, readable by anyone with access to those datastores. Edit the job: choose a new key at the target (a key provider of the VM's tenant at the DR site) or shared keys, and turn on "refuse unencrypted replicas of encrypted VMs"; the next run makes an encrypted replica.`,
    jobHref(first.job.id),
    `Choose keys for ${first.job.name}`,
  );
}

/** REP-2, VME-3: an encrypted replica's key provider answers at the DR site, or the replica cannot power on. */
export function checkReplicaKeysReachable(d: ReplicationCheckInput): ComplianceResult {
  const id = "replica-keys-reachable";
  const encrypted = rows(d)
    .map((r) => ({ r, kp: replicaKeyProvider(d, r) }))
    .filter((x) => x.kp !== null);
  if (encrypted.length === 0) return result(id, "na", "No replica is (or will be) encrypted, so none depends on a key provider at the DR site.", "/replicas", "See replicas");
  const problems: Array<{ r: Row; text: string }> = [];
  for (const { r, kp } of encrypted) {
    const site = d.siteNames[r.job.targetSiteExternalId] ?? r.job.targetSiteExternalId;
    const what = `${r.replica?.replicaVmName ?? r.vm.name} (${r.job.name})`;
    if (kp === "unknown") {
      problems.push({ r, text: `${what}: its key provider is not among ${site}'s key providers any more` });
      continue;
    }
    if (kp!.kind === "NATIVE") continue; // the vCenter's own provider: there whenever the vCenter is
    const cluster = d.kmsClusters.find((c) => c.id === kp!.kmsClusterId);
    if (!cluster) problems.push({ r, text: `${what}: ${kp!.name} at ${site} has no registered KMS cluster, so nobody watches whether it answers` });
    else if (cluster.status === "unreachable") problems.push({ r, text: `${what}: ${kp!.name} at ${site} (KMS cluster ${cluster.name}) is unreachable${cluster.unreachableSince ? ` since ${cluster.unreachableSince.toISOString().slice(0, 16).replace("T", " ")} UTC` : ""}` });
    else if (cluster.status !== "reachable") problems.push({ r, text: `${what}: ${kp!.name} at ${site} (KMS cluster ${cluster.name}) has not been checked yet` });
  }
  if (problems.length === 0) return result(id, "pass", `The key providers of ${plural(encrypted.length, "encrypted replica")} answer at their DR sites (or are the vCenter's own).`, "/key-providers", "See key providers");
  return result(
    id,
    "fail",
    `${plural(problems.length, "replica")} ${problems.length === 1 ? "depends" : "depend"} on a key provider the DR site cannot reach: ${nameFew(problems.map((p) => p.text), 2)}. Such a replica can neither be updated nor powered on in a failover until its KMS answers. Restore the KMS's network path from the DR site (or register its cluster under Key providers so it is watched), then Check now.`,
    "/key-providers",
    "Open key providers",
  );
}

/** REP-2: a replica is never encrypted with a key provider dedicated to another tenant. */
export function checkReplicaTenantKeys(d: ReplicationCheckInput): ComplianceResult {
  const id = "replica-tenant-keys";
  const encrypted = rows(d)
    .map((r) => ({ r, kp: replicaKeyProvider(d, r) }))
    .filter((x): x is { r: Row; kp: ComplianceDrKeyProvider } => x.kp !== null && x.kp !== "unknown");
  if (encrypted.length === 0) return result(id, "na", "No replica is (or will be) encrypted with a key provider Strongroom knows.", "/replicas", "See replicas");
  const foreign = encrypted.filter(({ r, kp }) => kp.tenantExternalId !== null && kp.tenantExternalId !== r.vm.tenantExternalId);
  if (foreign.length === 0) return result(id, "pass", `${plural(encrypted.length, "encrypted replica")} ${encrypted.length === 1 ? "uses" : "use"} a key provider of ${encrypted.length === 1 ? "its" : "their"} own tenant or one shared by the site.`, "/replicas", "See replicas");
  const tenant = (t: string | null) => (t ? (d.tenantNames[t] ?? t) : "no tenant");
  const first = foreign[0];
  return result(
    id,
    "fail",
    `${plural(foreign.length, "replica")} ${foreign.length === 1 ? "is" : "are"} encrypted with another tenant's key provider: ${nameFew(foreign.map(({ r, kp }) => `${r.replica?.replicaVmName ?? r.vm.name} of ${tenant(r.vm.tenantExternalId)} under ${kp.name} of ${tenant(kp.tenantExternalId)} (${r.job.name})`), 2)}. That tenant's KMS administrators hold the replica's keys. Edit the job and choose a key provider of the VM's tenant (or one the site shares); the next run makes a new replica under it.`,
    jobHref(first.r.job.id),
    `Choose another key provider for ${first.r.job.name}`,
  );
}

/** VME-4: the KMS clusters behind the DR sites' key providers keep valid certificates for 30 days or more. */
export function checkDrKmsCertificates(d: ReplicationCheckInput): ComplianceResult {
  const id = "dr-kms-certificates";
  const sites = new Set(d.replication.jobs.map((j) => j.targetSiteExternalId));
  const clusterIds = new Set(d.replication.keyProviders.filter((k) => sites.has(k.siteExternalId) && k.kmsClusterId).map((k) => k.kmsClusterId!));
  const clusters = d.kmsClusters.filter((c) => clusterIds.has(c.id));
  const siteList = nameFew([...sites].map((s) => d.siteNames[s] ?? s));
  if (clusters.length === 0) {
    return result(id, "na", sites.size ? `No registered KMS cluster serves a key provider at ${siteList} (the DR ${sites.size === 1 ? "site" : "sites"} of the replication jobs).` : "No replication job, so no DR site to look at.", "/key-providers", "See key providers");
  }
  const limit = d.now.getTime() + CERT_WARNING_DAYS * DAY_MS;
  const cert = (what: string, end: Date) => (end.getTime() <= d.now.getTime() ? `${what} certificate expired on ${day(end)}` : `${what} certificate expires on ${day(end)} (in ${plural(Math.floor((end.getTime() - d.now.getTime()) / DAY_MS), "day")})`);
  const problems: string[] = [];
  for (const c of clusters) {
    const reasons: string[] = [];
    if (c.clientCertNotAfter.getTime() < limit) reasons.push(cert("the client", c.clientCertNotAfter));
    if (c.serverCertNotAfter && c.serverCertNotAfter.getTime() < limit) reasons.push(cert("the server", c.serverCertNotAfter));
    if (reasons.length) problems.push(`${c.name}: ${reasons.join(", ")}`);
  }
  if (problems.length === 0) return result(id, "pass", `The certificates of ${plural(clusters.length, "KMS cluster")} at ${siteList} stay valid for at least ${CERT_WARNING_DAYS} days.`, "/key-providers", "See key providers");
  return result(
    id,
    "fail",
    `${plural(problems.length, "KMS cluster")} at the DR ${sites.size === 1 ? "site" : "sites"} ${problems.length === 1 ? "has" : "have"} a certificate ending soon: ${problems.slice(0, 2).join("; ")}${problems.length > 2 ? `; and ${problems.length - 2} more` : ""}. Once it ends the mutual TLS stops: replicas encrypted under it can no longer be updated or failed over. Renew the certificate and register it again under Key providers.`,
    "/key-providers",
    "Open key providers",
  );
}

/**
 * REP-1: each replica of an enabled, scheduled job has a point newer than twice the schedule's
 * longest interval plus 15 minutes (scheduleIntervalMs, rpoLimitMs). A replica without a point
 * counts from its job's creation. Manual and disabled jobs promise nothing and are not counted.
 */
export function checkReplicaRpo(d: ReplicationCheckInput): ComplianceResult {
  const id = "replica-rpo";
  const scheduled = rows(d).filter((r) => r.job.enabled && rpoLimitMs(r.job.schedule) !== null && r.replica?.state !== "PermanentFailover");
  if (scheduled.length === 0) return result(id, "na", "No enabled replication job runs on a schedule, so no replica was promised a recovery point age.", "/replication", "See replication jobs");
  const late: Array<{ r: Row; text: string }> = [];
  for (const r of scheduled) {
    const limit = rpoLimitMs(r.job.schedule)!;
    const since = r.replica?.newestPointAt ?? r.job.createdAt;
    const age = d.now.getTime() - since.getTime();
    if (age <= limit) continue;
    late.push({ r, text: `${r.replica?.replicaVmName ?? r.vm.name} (${r.job.name}): ${r.replica?.newestPointAt ? `newest point ${duration(age)} old` : `no point in ${duration(age)}`}, allowed ${duration(limit)}` });
  }
  if (late.length === 0) return result(id, "pass", `${plural(scheduled.length, "replica")} of scheduled jobs ${scheduled.length === 1 ? "has" : "have"} a point within twice ${scheduled.length === 1 ? "its" : "their"} schedule's interval (plus 15 minutes).`, "/replicas", "See replicas");
  const first = late[0];
  return result(
    id,
    "fail",
    `${plural(late.length, "replica")} ${late.length === 1 ? "is" : "are"} older than ${late.length === 1 ? "its" : "their"} schedule promises: ${nameFew(late.map((l) => l.text), 2)}. A failover now would lose everything since. Open the job's last sessions for the reason (a failing VM, an unreachable key provider, slots skipped while a long run went on), fix it and run the job now.`,
    jobHref(first.r.job.id),
    `Open ${first.r.job.name}`,
  );
}

export const REPLICATION_CHECKS = {
  "replicas-encrypted": checkReplicasEncrypted,
  "replica-keys-reachable": checkReplicaKeysReachable,
  "replica-tenant-keys": checkReplicaTenantKeys,
  "dr-kms-certificates": checkDrKmsCertificates,
  "replica-rpo": checkReplicaRpo,
} satisfies Partial<Record<CheckId, (d: ReplicationCheckInput) => ComplianceResult>>;
