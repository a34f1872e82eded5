// The compliance analyzer's checks (SEC-5), pure: each reads the ComplianceData the loader read
// once and answers pass / fail / n/a with a reason an administrator understands, naming the first
// offending objects and how many there are, and where to fix it. No database, no clock of its own
// (data.now), so every check is testable with plain objects.

import { selectProxy, type CandidateProxy } from "@/lib/engine/pipeline/proxy-selection";
import { CERT_WARNING_DAYS, CHECK_IDS, CHECKS, type CheckId, type ComplianceResult, type ComplianceStatus } from "./compliance-types";
import { REPLICATION_CHECKS, type ComplianceReplicationData } from "./replication-checks";

export { CERT_WARNING_DAYS };
const DAY_MS = 86_400_000;
/** How many offenders a reason names before "and N more". */
const NAMED = 3;

export interface ComplianceDisk {
  label: string;
  encrypted: boolean;
}

export interface ComplianceVm {
  id: string;
  name: string;
  encrypted: boolean;
  siteExternalId: string;
  tenantExternalId: string | null;
  keyProviderExternalId: string | null;
  disks: ComplianceDisk[];
}

export interface SessionDisk {
  vmName: string;
  label: string;
  encrypted: boolean;
  /** As the session recorded it: a mode key ("nbd") or its display name ("Network (NBD)"). */
  mode: string | null;
  proxy: string | null;
}

export interface ComplianceJob {
  id: string;
  name: string;
  enabled: boolean;
  encryptionMode: string;
  proxyMode: "automatic" | "manual";
  /** Console ids of the chosen proxies (manual mode). */
  proxyIds: string[];
  failoverToNetwork: boolean;
  passwordApprovedAt: Date | null;
  pendingApprovalId: string | null;
  /** What the selection names today. */
  vms: ComplianceVm[];
  /** The job's last finished session, with what each disk was read with. */
  lastSession: { id: string; endedAt: Date | null; disks: SessionDisk[] } | null;
}

export type ComplianceProxy = CandidateProxy & {
  id: string;
  siteName: string;
  tenantName: string | null;
  /** The tenant that owns the proxy's key provider, if any. */
  keyProviderTenantExternalId: string | null;
};

export interface ComplianceRepository {
  id: string;
  name: string;
  immutabilityDays: number;
  /** Restore points not removed by retention. */
  pointCount: number;
}

export interface MetadataScan {
  repositoryId: string;
  name: string;
  path: string;
  /** .vbm files looked at. */
  chainFiles: number;
  /** "chains/x.vbm (mode 644)": files or folders other OS users may read or change. */
  exposed: string[];
  /** The folder could not be read (unmounted, permissions). */
  error: string | null;
}

export interface ComplianceData {
  now: Date;
  jobs: ComplianceJob[];
  proxies: ComplianceProxy[];
  /** Display names by external id. */
  keyProviderNames: Record<string, string>;
  tenantNames: Record<string, string>;
  siteNames: Record<string, string>;
  keysets: Array<{ id: string; createdAt: Date; retiredAt: Date | null }>;
  keysetPolicy: { enabled: boolean; rotateDays: number; retentionDays: number };
  repositories: ComplianceRepository[];
  fourEyes: { enabled: boolean };
  securityOfficers: number;
  kmsClusters: Array<{
    id: string;
    name: string;
    status: string;
    statusCheckedAt: Date | null;
    unreachableSince: Date | null;
    lastError: string | null;
    clientCertNotAfter: Date;
    serverCertNotAfter: Date | null;
  }>;
  /** Standard key providers with no registered cluster: their KMS is not watched by the console. */
  unwatchedKeyProviders: string[];
  metadata: MetadataScan[];
  /** Replication jobs, their replicas and the DR sites' key providers (replication-checks.ts). */
  replication: ComplianceReplicationData;
}

// ─────────────────────────────── helpers ───────────────────────────────

/** "a, b, c and 4 more". */
function nameFew(names: readonly string[], max = NAMED): string {
  if (names.length <= max) return names.length <= 1 ? (names[0] ?? "") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
  return `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}

/** Whole clauses, separated by semicolons: "A is …; B lacks …; and 2 more". */
function clauses(items: readonly string[], max = 2): string {
  return items.length <= max ? items.join("; ") : `${items.slice(0, max).join("; ")}; and ${items.length - max} more`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
/** The verb that agrees with n: agree(1, "wraps", "wrap"). */
const agree = (n: number, one: string, many: string) => (n === 1 ? one : many);
/** "all 3 jobs" / "the one job". */
const allOf = (n: number, one: string, many = `${one}s`) => (n === 1 ? `the one ${one}` : `all ${n} ${many}`);
const day = (d: Date) => d.toISOString().slice(0, 10);
const ageDays = (now: Date, d: Date) => Math.floor((now.getTime() - d.getTime()) / DAY_MS);

/** The session's transport mode as a key: "Network (NBD)" → "nbd", "Network with TLS (NBDSSL)" → "nbdssl". */
function modeKey(mode: string | null): "san" | "hotadd" | "nbd" | "nbdssl" | null {
  if (!mode) return null;
  const m = mode.toLowerCase();
  if (m.includes("nbdssl")) return "nbdssl";
  if (/\bnbd\b/.test(m)) return "nbd";
  if (m.includes("hotadd")) return "hotadd";
  if (m.includes("san")) return "san";
  return null;
}

function result(id: CheckId, status: ComplianceStatus, why: string, fixHref: string, fixLabel: string): ComplianceResult {
  return { id, title: CHECKS[id].title, status, why, fixHref, fixLabel };
}

const cap = (t: string) => `${t[0]?.toUpperCase() ?? ""}${t.slice(1)}`;
const encryptedVms = (job: ComplianceJob) => job.vms.filter((v) => v.encrypted);
const kpName = (data: ComplianceData, id: string | null) => (id ? (data.keyProviderNames[id] ?? id) : "no key provider");

// ─────────────────────────────── the checks ───────────────────────────────

/** TRN-7: an enabled job that protects an encrypted VM encrypts its backups with a password or a KMS key. */
function checkBackupEncryption(data: ComplianceData): ComplianceResult {
  const id = "backup-encryption";
  const relevant = data.jobs.filter((j) => j.enabled && encryptedVms(j).length > 0);
  if (relevant.length === 0) return result(id, "na", "No enabled backup job protects an encrypted VM.", "/jobs", "See backup jobs");
  const off = relevant.filter((j) => j.encryptionMode !== "password" && j.encryptionMode !== "kms");
  if (off.length === 0) {
    const vms = new Set(relevant.flatMap((j) => encryptedVms(j).map((v) => v.id))).size;
    return result(id, "pass", `${cap(allOf(relevant.length, "enabled job"))} protecting encrypted VMs (${plural(vms, "encrypted VM")}) ${agree(relevant.length, "encrypts its", "encrypt their")} backups with a password or a KMS key.`, "/jobs", "See backup jobs");
  }
  const named = off.map((j) => {
    const vms = encryptedVms(j).map((v) => v.name);
    return `${j.name} (${plural(vms.length, "encrypted VM")}: ${nameFew(vms, 2)}${j.pendingApprovalId ? "; a change waits for approval" : ""})`;
  });
  return result(
    id,
    "fail",
    `${plural(off.length, "enabled job")} ${agree(off.length, "protects", "protect")} encrypted VMs with backup encryption off: ${nameFew(named)}. Their data leaves the host in clear and is kept only under a key this console holds, so anyone with the console's data folder opens it. Choose a password or a KMS key.`,
    `/jobs/${off[0].id}/edit`,
    `Turn on encryption for ${off[0].name}`,
  );
}

/** KEY-6: a non-retired recovery keyset exists, and the newest is younger than the policy's rotation period. */
function checkRecoveryKeyset(data: ComplianceData): ComplianceResult {
  const id = "recovery-keyset";
  const { keysetPolicy: policy } = data;
  const active = data.keysets.filter((k) => k.retiredAt === null).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const automatic = policy.enabled ? `automatic generation is on (every ${plural(policy.rotateDays, "day")})` : "automatic generation is off";
  if (active.length === 0) {
    const retired = data.keysets.length - active.length;
    return result(
      id,
      "fail",
      `No active recovery keyset${retired ? ` (${plural(retired, "retired keyset")} ${agree(retired, "protects", "protect")} only older points)` : ""}: new restore points are protected only by their job's password or KMS key, so a lost password means lost backups. ${policy.enabled ? "Automatic generation is on, but the runner has not made one yet (it checks at start and hourly)." : "Automatic generation is off."} Generate a keyset now.`,
      "/recovery-keysets",
      "Generate a recovery keyset",
    );
  }
  const newest = active[0];
  const age = ageDays(data.now, newest.createdAt);
  if (data.now.getTime() - newest.createdAt.getTime() >= policy.rotateDays * DAY_MS) {
    return result(
      id,
      "fail",
      `The newest active recovery keyset (${newest.id.slice(0, 12)}…, created ${day(newest.createdAt)}) is ${plural(age, "day")} old; the policy asks for a new one every ${plural(policy.rotateDays, "day")} and ${automatic}. Generate a new keyset${policy.enabled ? "" : ", or turn automatic generation on"}.`,
      "/recovery-keysets",
      "Generate a recovery keyset",
    );
  }
  return result(
    id,
    "pass",
    `${plural(active.length, "active recovery keyset")} ${agree(active.length, "wraps", "wrap")} every new restore point's keys; the newest (${newest.id.slice(0, 12)}…) is ${plural(age, "day")} old, within the ${plural(policy.rotateDays, "day")} rotation; ${automatic}.`,
    "/recovery-keysets",
    "See recovery keysets",
  );
}

/** SEC-3: every password job's current password carries the "approved by security" mark. */
function checkPasswordsApproved(data: ComplianceData): ComplianceResult {
  const id = "passwords-approved";
  const jobs = data.jobs.filter((j) => j.encryptionMode === "password");
  if (jobs.length === 0) return result(id, "na", "No backup job is encrypted with a password.", "/jobs", "See backup jobs");
  const unapproved = jobs.filter((j) => j.passwordApprovedAt === null);
  if (unapproved.length === 0) {
    return result(id, "pass", `The current password of ${allOf(jobs.length, "password job")} was approved by a Security Officer.`, "/jobs", "See backup jobs");
  }
  const waiting = unapproved.filter((j) => j.pendingApprovalId !== null);
  const bare = unapproved.filter((j) => j.pendingApprovalId === null);
  const parts = [`${unapproved.length} of ${plural(jobs.length, "password job")} ${agree(unapproved.length, "uses", "use")} a password no Security Officer approved`];
  if (bare.length) parts.push(`set without approval: ${nameFew(bare.map((j) => j.name))}`);
  if (waiting.length) parts.push(`a new password waits for a decision: ${nameFew(waiting.map((j) => j.name))}`);
  let why = `${parts.join("; ")}.`;
  let fixHref: string;
  let fixLabel: string;
  if (bare.length === 0) {
    why += " Decide the pending requests under Approvals.";
    fixHref = "/approvals";
    fixLabel = "Decide the pending requests";
  } else if (!data.fourEyes.enabled) {
    why += " Four-eyes approval is off, so passwords apply without a second person: turn it on, then set each job's password again; it applies once another Security Officer approves.";
    fixHref = "/approvals";
    fixLabel = "Turn on four-eyes approval";
  } else {
    why += " Set the password again: with four-eyes on it applies once a Security Officer approves, with the mark.";
    fixHref = `/jobs/${bare[0].id}/edit`;
    fixLabel = `Set a new password for ${bare[0].name}`;
  }
  return result(id, "fail", why, fixHref, fixLabel);
}

/**
 * TRN-4: an encrypted disk is never read over plain NBD (the host would stream it decrypted
 * without TLS). Two reliable sources: what each job's last session actually used, and what the
 * proxy selection would pick for each encrypted disk at the next run with every proxy idle.
 */
function checkNbdssl(data: ComplianceData): ComplianceResult {
  const id = "nbdssl-for-encrypted";
  const seen: Array<{ job: ComplianceJob; text: string }> = [];
  for (const job of data.jobs) {
    for (const d of job.lastSession?.disks ?? []) {
      if (d.encrypted && modeKey(d.mode) === "nbd") seen.push({ job, text: `${job.name}: ${d.vmName} / ${d.label}${d.proxy ? ` via ${d.proxy}` : ""}` });
    }
  }
  const would: Array<{ job: ComplianceJob; text: string }> = [];
  const relevant = data.jobs.filter((j) => j.enabled && encryptedVms(j).length > 0);
  for (const job of relevant) {
    const chosen = job.proxyMode === "manual" ? data.proxies.filter((p) => job.proxyIds.includes(p.id)).map((p) => p.externalId) : "automatic";
    for (const vm of encryptedVms(job)) {
      for (const disk of vm.disks.filter((d) => d.encrypted)) {
        const label = `${vm.name} / ${disk.label}`;
        const pick = selectProxy(
          { label, encrypted: true, keyProviderExternalId: vm.keyProviderExternalId, siteExternalId: vm.siteExternalId, tenantExternalId: vm.tenantExternalId },
          data.proxies.map((p) => ({ ...p, activeTasks: 0 })),
          // The configuration, not today's KMS state: kms-health reports an unreachable KMS.
          { proxies: chosen, failoverToNetwork: job.failoverToNetwork, keyProviderReachable: true, keyProviderNames: data.keyProviderNames },
        );
        if (pick.ok && pick.mode === "nbd") would.push({ job, text: `${job.name}: ${label} via ${pick.proxy.name}` });
      }
    }
  }
  if (relevant.length === 0 && seen.length === 0) {
    return result(id, "na", "No enabled backup job protects an encrypted VM, and no last session read an encrypted disk over NBD.", "/proxies", "See backup proxies");
  }
  if (seen.length > 0 || would.length > 0) {
    const parts: string[] = [];
    if (seen.length) parts.push(`the last session read ${plural(seen.length, "encrypted disk")} over plain NBD: ${nameFew(seen.map((s) => s.text))}`);
    if (would.length) parts.push(`at the next run ${plural(would.length, "encrypted disk")} would go over plain NBD: ${nameFew(would.map((s) => s.text))}`);
    const first = (would[0] ?? seen[0]).job;
    const whyNbd = would.length
      ? " Choose proxies that offer NBDSSL or a matching HotAdd proxy for these jobs (or turn failover to network mode on, so a proxy with NBDSSL may serve)."
      : " This happens when the proxies with NBDSSL are busy and an NBD-only proxy is free: remove NBD-only proxies from jobs with encrypted VMs, or give them NBDSSL.";
    const capital = parts.join("; and ");
    return result(
      id,
      "fail",
      `${cap(capital)}. In NBD mode the host decrypts the disk and streams it without TLS.${whyNbd}`,
      `/jobs/${first.id}/edit`,
      `Choose other proxies for ${first.name}`,
    );
  }
  // Pass, with the one risk the idle preview cannot rule out: under load, an NBD-only proxy with
  // Cryptographer.Access may take an encrypted disk when every proxy with NBDSSL is busy.
  const sites = new Set(relevant.flatMap((j) => encryptedVms(j).map((v) => v.siteExternalId)));
  const risky = data.proxies.filter(
    (p) =>
      sites.has(p.siteExternalId) &&
      p.transportModes.includes("nbd") &&
      !p.transportModes.includes("nbdssl") &&
      p.privileges.includes("Cryptographer.Access") &&
      relevant.some((j) => j.proxyMode === "automatic" || j.proxyIds.includes(p.id)),
  );
  const disks = relevant.reduce((n, j) => n + encryptedVms(j).reduce((m, v) => m + v.disks.filter((d) => d.encrypted).length, 0), 0);
  const note = risky.length
    ? ` Note: ${nameFew(risky.map((p) => `${p.name} at ${p.siteName}`))} offer${risky.length === 1 ? "s" : ""} only NBD and may take an encrypted disk when every proxy with NBDSSL is busy; a session that does will fail this check.`
    : "";
  return result(
    id,
    "pass",
    `No job's last session read an encrypted disk over plain NBD, and at the next run ${allOf(disks, "encrypted disk")} of ${plural(relevant.length, "job")} would be read with HotAdd or NBDSSL.${note}`,
    "/proxies",
    "See backup proxies",
  );
}

/**
 * TRN-3, TRN-5: a HotAdd proxy that is itself an encrypted VM can hot-add only disks of its own key
 * provider. Fails for such a proxy dedicated to a tenant whose key provider it does not use, for
 * one whose key provider matches none of the encrypted VMs the jobs may give it (automatic jobs:
 * every VM of its site and tenant; manual jobs: the VMs of the jobs that chose it), and for one
 * without Cryptographer.AddDisk (the host refuses HotAdd of any encrypted disk).
 */
function checkHotaddKms(data: ComplianceData): ComplianceResult {
  const id = "hotadd-kms-match";
  const hotadd = data.proxies.filter((p) => p.kind === "vm" && p.transportModes.includes("hotadd") && p.keyProviderExternalId !== null);
  if (hotadd.length === 0) {
    return result(id, "na", "No HotAdd proxy is an encrypted VM, so none can hold a key provider that does not match (unencrypted HotAdd proxies never take encrypted disks).", "/proxies", "See backup proxies");
  }
  const problems: Array<{ proxy: ComplianceProxy; text: string }> = [];
  for (const p of hotadd) {
    const kp = kpName(data, p.keyProviderExternalId);
    const reasons: string[] = [];
    if (p.tenantExternalId && p.keyProviderTenantExternalId && p.keyProviderTenantExternalId !== p.tenantExternalId) {
      reasons.push(`is dedicated to ${data.tenantNames[p.tenantExternalId] ?? p.tenantExternalId} but encrypted with ${kp}, the key provider of ${data.tenantNames[p.keyProviderTenantExternalId] ?? p.keyProviderTenantExternalId}`);
    }
    const served = new Map<string, { vm: ComplianceVm; jobs: Set<string> }>();
    for (const job of data.jobs) {
      if (!job.enabled || (job.proxyMode === "manual" && !job.proxyIds.includes(p.id))) continue;
      for (const vm of encryptedVms(job)) {
        if (vm.siteExternalId !== p.siteExternalId) continue;
        if (p.tenantExternalId !== null && p.tenantExternalId !== vm.tenantExternalId) continue;
        const entry = served.get(vm.id) ?? { vm, jobs: new Set<string>() };
        entry.jobs.add(job.name);
        served.set(vm.id, entry);
      }
    }
    const vms = [...served.values()];
    if (vms.length > 0 && !vms.some((s) => s.vm.keyProviderExternalId === p.keyProviderExternalId)) {
      const providers = [...new Set(vms.map((s) => kpName(data, s.vm.keyProviderExternalId)))];
      const jobs = [...new Set(vms.flatMap((s) => [...s.jobs]))];
      reasons.push(`is encrypted with ${kp}, but every encrypted VM it may serve (${plural(vms.length, "VM")} in ${nameFew(jobs, 2)}) uses ${nameFew(providers, 2)}: it can hot-add none of them`);
    }
    if (!p.privileges.includes("Cryptographer.AddDisk")) reasons.push("lacks Cryptographer.AddDisk, so the host refuses to hot-add any encrypted disk to it");
    if (reasons.length) problems.push({ proxy: p, text: `${p.name} at ${p.siteName} ${reasons.join("; and ")}` });
  }
  if (problems.length === 0) {
    return result(id, "pass", `${cap(allOf(hotadd.length, "encrypted HotAdd proxy", "encrypted HotAdd proxies"))} ${agree(hotadd.length, "uses", "use")} the key provider of their tenant and of the encrypted VMs the jobs may give them, with Cryptographer.AddDisk.`, "/proxies", "See backup proxies");
  }
  return result(
    id,
    "fail",
    `${plural(problems.length, "HotAdd proxy", "HotAdd proxies")} cannot hot-add the encrypted disks meant for them: ${clauses(problems.map((x) => x.text))}. Strongroom checks this before it picks a proxy, so these disks go over the network instead; fix the proxy's key provider, tenant or role in vSphere, then sync the inventory.`,
    "/proxies",
    `Review ${problems[0].proxy.name}`,
  );
}

/** BKP-8: at least one repository with an immutability period holds restore points. */
function checkImmutableCopy(data: ComplianceData): ComplianceResult {
  const id = "immutable-copy";
  const immutable = data.repositories.filter((r) => r.immutabilityDays > 0);
  if (immutable.length === 0) {
    return result(
      id,
      "fail",
      `${data.repositories.length === 1 ? `The only repository, ${data.repositories[0].name}, is not immutable` : `None of the ${plural(data.repositories.length, "repository", "repositories")} is immutable`}: every restore point can be deleted as soon as it is made (by retention, a mistake or an attacker with the console). Add a repository with an immutability period and point a job at it.`,
      "/repositories",
      "Add an immutable repository",
    );
  }
  const holding = immutable.filter((r) => r.pointCount > 0);
  if (holding.length === 0) {
    return result(
      id,
      "fail",
      `${plural(immutable.length, "repository is", "repositories are")} immutable (${nameFew(immutable.map((r) => `${r.name}, ${plural(r.immutabilityDays, "day")}`))}) but ${immutable.length === 1 ? "holds" : "hold"} no restore point yet: point a backup job at ${immutable.length === 1 ? "it" : "one"}.`,
      "/jobs",
      "Point a job at the immutable repository",
    );
  }
  const points = holding.reduce((n, r) => n + r.pointCount, 0);
  return result(id, "pass", `${nameFew(holding.map((r) => `${r.name} (${plural(r.immutabilityDays, "day")})`))} ${holding.length === 1 ? "is" : "are"} immutable and ${holding.length === 1 ? "holds" : "hold"} ${plural(points, "restore point")}.`, "/repositories", "See repositories");
}

/** SEC-2: four-eyes on, with at least two active Security Officers. */
function checkFourEyes(data: ComplianceData): ComplianceResult {
  const id = "four-eyes";
  const so = data.securityOfficers;
  const sos = `${plural(so, "active Security Officer")}`;
  if (data.fourEyes.enabled && so >= 2) return result(id, "pass", `Four-eyes approval is on and ${sos} can approve each other's requests.`, "/approvals", "See approvals");
  if (data.fourEyes.enabled) {
    return result(id, "fail", `Four-eyes approval is on but only ${sos} ${so === 1 ? "is" : "are"} left, so requests cannot be approved by a second person. Add a Security Officer.`, "/users", "Add a Security Officer");
  }
  if (so < 2) {
    return result(
      id,
      "fail",
      `Four-eyes approval is off: one administrator can change or remove a backup password, turn encryption off or remove a KMS cluster alone. It needs two active Security Officers and there ${so === 1 ? "is" : "are"} ${so}: add ${so === 1 ? "another" : "two"}, then turn it on under Approvals.`,
      "/users",
      "Add a Security Officer",
    );
  }
  return result(id, "fail", `Four-eyes approval is off: one administrator can change or remove a backup password, turn encryption off or remove a KMS cluster alone. ${sos} could approve; turn it on.`, "/approvals", "Turn on four-eyes approval");
}

/** VME-4: every registered KMS cluster answers, and neither its client nor its server certificate ends within 30 days. */
function checkKmsHealth(data: ComplianceData): ComplianceResult {
  const id = "kms-health";
  const unwatched = data.unwatchedKeyProviders.length
    ? ` ${nameFew(data.unwatchedKeyProviders)} ${data.unwatchedKeyProviders.length === 1 ? "is a standard key provider" : "are standard key providers"} with no registered cluster, so the console does not watch ${data.unwatchedKeyProviders.length === 1 ? "its" : "their"} KMS.`
    : "";
  if (data.kmsClusters.length === 0) return result(id, "na", `No KMS cluster is registered.${unwatched}`, "/key-providers", "See key providers");
  const limit = data.now.getTime() + CERT_WARNING_DAYS * DAY_MS;
  const cert = (what: string, end: Date) => {
    const days = Math.floor((end.getTime() - data.now.getTime()) / DAY_MS);
    return end.getTime() <= data.now.getTime() ? `${what} certificate expired on ${day(end)}` : `${what} certificate expires on ${day(end)} (in ${plural(days, "day")})`;
  };
  const problems: Array<{ id: string; text: string }> = [];
  for (const c of data.kmsClusters) {
    const reasons: string[] = [];
    if (c.status === "unreachable") reasons.push(`unreachable since ${c.unreachableSince ? c.unreachableSince.toISOString().slice(0, 16).replace("T", " ") + " UTC" : "its last check"}${c.lastError ? ` (${c.lastError.slice(0, 120)})` : ""}`);
    else if (c.status !== "reachable") reasons.push("not checked yet");
    if (c.clientCertNotAfter.getTime() < limit) reasons.push(cert("the client", c.clientCertNotAfter));
    if (c.serverCertNotAfter && c.serverCertNotAfter.getTime() < limit) reasons.push(cert("the server", c.serverCertNotAfter));
    if (reasons.length) problems.push({ id: c.id, text: `${c.name}: ${reasons.join(", ")}` });
  }
  if (problems.length === 0) {
    return result(id, "pass", `${cap(allOf(data.kmsClusters.length, "KMS cluster"))} answered at ${agree(data.kmsClusters.length, "its", "their")} last check, and ${agree(data.kmsClusters.length, "its", "their")} certificates stay valid for at least ${CERT_WARNING_DAYS} days.${unwatched}`, "/key-providers", "See key providers");
  }
  return result(
    id,
    "fail",
    `${plural(problems.length, "KMS cluster")} ${agree(problems.length, "needs", "need")} attention: ${clauses(problems.map((p) => p.text))}. While a KMS does not answer, its encrypted VMs cannot power on and KMS-key jobs do not run; an expired certificate stops the mutual TLS. Renew certificates before they end and register them again.`,
    "/key-providers",
    "Open key providers",
  );
}

/** KEY-8, KEY-9: the chain metadata files open every point of their chain; no other OS user may read or replace them. */
function checkMetadataProtected(data: ComplianceData): ComplianceResult {
  const id = "metadata-protected";
  const scanned = data.metadata.filter((m) => m.error !== null || m.chainFiles > 0);
  if (scanned.length === 0) return result(id, "na", "No repository holds a chain metadata file yet (they are written by the first backup).", "/repositories", "See repositories");
  const unreadable = scanned.filter((m) => m.error !== null);
  const exposed = scanned.filter((m) => m.exposed.length > 0);
  if (unreadable.length === 0 && exposed.length === 0) {
    const files = scanned.reduce((n, m) => n + m.chainFiles, 0);
    return result(
      id,
      "pass",
      `${plural(files, "chain metadata file")} in ${plural(scanned.length, "repository", "repositories")} ${agree(files, "is", "are")} sealed under each job's latest key and readable by the console's own account only (no access for other OS users).`,
      "/repositories",
      "See repositories",
    );
  }
  const parts: string[] = [];
  if (exposed.length) parts.push(`other OS users may read or change metadata in ${nameFew(exposed.map((m) => `${m.name} (${nameFew(m.exposed, 2)})`), 2)}`);
  if (unreadable.length) parts.push(`the console cannot read ${nameFew(unreadable.map((m) => `${m.name} (${m.error})`), 2)}`);
  const first = exposed[0] ?? unreadable[0];
  const text = parts.join("; and ");
  return result(
    id,
    "fail",
    `${cap(text)}. A chain's .vbm file lists the key ids of every point and opens the whole chain with its newest key, so it must be protected like the backups: remove the access of other users on the server (chmod o-rwx on the repository folder), and check that the folder is mounted.`,
    `/repositories/${first.repositoryId}`,
    `Open ${first.name}`,
  );
}

const RUN: Record<CheckId, (d: ComplianceData) => ComplianceResult> = {
  "backup-encryption": checkBackupEncryption,
  "recovery-keyset": checkRecoveryKeyset,
  "passwords-approved": checkPasswordsApproved,
  "nbdssl-for-encrypted": checkNbdssl,
  "hotadd-kms-match": checkHotaddKms,
  "immutable-copy": checkImmutableCopy,
  "four-eyes": checkFourEyes,
  "kms-health": checkKmsHealth,
  "metadata-protected": checkMetadataProtected,
  // REP-1, REP-2, REP-4, VME-3, VME-4: lib/compliance/replication-checks.ts
  ...REPLICATION_CHECKS,
};

/** Every check over the same data, in catalogue order. A check that throws fails with its error (the others still run). */
export function evaluateCompliance(data: ComplianceData): ComplianceResult[] {
  return CHECK_IDS.map((id) => {
    try {
      return RUN[id](data);
    } catch (e) {
      return result(id, "fail", `The check itself failed: ${e instanceof Error ? e.message : String(e)}. Run the checks again; if it persists, report it.`, "", "");
    }
  });
}
