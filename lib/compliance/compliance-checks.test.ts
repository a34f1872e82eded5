// The compliance checks (SEC-5) on plain data: each one's pass, fail and n/a, what its reason
// names, and where its fix points.
import { describe, expect, it } from "vitest";
import { evaluateCompliance, type ComplianceData, type ComplianceJob, type ComplianceProxy, type ComplianceVm } from "./compliance-checks";
import { CHECK_IDS, type CheckId } from "./compliance-types";
import { rpoLimitMs, scheduleIntervalMs, type ComplianceReplica, type ComplianceReplicationJob } from "./replication-checks";

const NOW = new Date("2026-11-22T12:00:00Z");
const DAY = 86_400_000;
const ago = (days: number) => new Date(NOW.getTime() - days * DAY);
const ahead = (days: number) => new Date(NOW.getTime() + days * DAY);

const vm = (over: Partial<ComplianceVm> = {}): ComplianceVm => ({
  id: "vm-1",
  name: "acme-web-01",
  encrypted: true,
  siteExternalId: "site-prod",
  tenantExternalId: "tenant-acme",
  keyProviderExternalId: "kp-acme",
  disks: [{ label: "Hard disk 1", encrypted: true }],
  ...over,
});

const job = (over: Partial<ComplianceJob> = {}): ComplianceJob => ({
  id: "job-1",
  name: "Acme nightly",
  enabled: true,
  encryptionMode: "password",
  proxyMode: "automatic",
  proxyIds: [],
  failoverToNetwork: true,
  passwordApprovedAt: ago(1),
  pendingApprovalId: null,
  vms: [vm()],
  lastSession: null,
  ...over,
});

const proxy = (over: Partial<ComplianceProxy> = {}): ComplianceProxy => ({
  id: "p-acme",
  externalId: "vm-900",
  name: "prod-proxy-acme-01",
  kind: "vm",
  siteExternalId: "site-prod",
  siteName: "Production",
  transportModes: ["hotadd", "nbdssl"],
  maxTasks: 4,
  keyProviderExternalId: "kp-acme",
  keyProviderTenantExternalId: "tenant-acme",
  tenantExternalId: "tenant-acme",
  tenantName: "Acme",
  privileges: ["Cryptographer.Access", "Cryptographer.AddDisk"],
  activeTasks: 0,
  ...over,
});

const HOUR = 3_600_000;
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * HOUR);

const rjob = (over: Partial<ComplianceReplicationJob> = {}): ComplianceReplicationJob => ({
  id: "rj-1",
  name: "Acme to DR",
  enabled: true,
  createdAt: ago(30),
  keyMode: "re-key",
  targetSiteExternalId: "site-dr",
  targetKeyProviderExternalId: "kp-dr-acme",
  refuseUnencrypted: true,
  schedule: { kind: "hourly", everyHours: 4 },
  vms: [{ externalId: "vm-src", name: "acme-web-01", encrypted: true, tenantExternalId: "tenant-acme" }],
  ...over,
});

const replica = (over: Partial<ComplianceReplica> = {}): ComplianceReplica => ({
  id: "rep-1",
  jobId: "rj-1",
  sourceVmExternalId: "vm-src",
  sourceVmName: "acme-web-01",
  replicaVmName: "acme-web-01_replica",
  replicaVm: { encrypted: true, keyProviderExternalId: "kp-dr-acme" },
  newestPointAt: hoursAgo(1),
  state: "Ready",
  ...over,
});

/** A console where every check passes. */
function healthy(): ComplianceData {
  return {
    now: NOW,
    jobs: [job()],
    proxies: [proxy()],
    keyProviderNames: { "kp-acme": "Acme KMS", "kp-globex": "Globex KMS" },
    tenantNames: { "tenant-acme": "Acme", "tenant-globex": "Globex" },
    siteNames: { "site-prod": "Production", "site-dr": "Rotterdam DR" },
    keysets: [{ id: "a".repeat(32), createdAt: ago(2), retiredAt: null }],
    keysetPolicy: { enabled: true, rotateDays: 30, retentionDays: 365 },
    repositories: [{ id: "r1", name: "Immutable", immutabilityDays: 14, pointCount: 3 }],
    fourEyes: { enabled: true },
    securityOfficers: 2,
    kmsClusters: [{ id: "k1", name: "Acme KMS cluster", status: "reachable", statusCheckedAt: NOW, unreachableSince: null, lastError: null, clientCertNotAfter: ahead(200), serverCertNotAfter: ahead(300) }],
    unwatchedKeyProviders: [],
    metadata: [{ repositoryId: "r1", name: "Immutable", path: "/srv/r1", chainFiles: 2, exposed: [], error: null }],
    replication: {
      jobs: [rjob()],
      replicas: [replica()],
      keyProviders: [
        { siteExternalId: "site-dr", externalId: "kp-dr-acme", name: "Acme KMS at DR", kind: "STANDARD", tenantExternalId: "tenant-acme", kmsClusterId: "k1" },
        { siteExternalId: "site-dr", externalId: "kp-dr-globex", name: "Globex KMS at DR", kind: "STANDARD", tenantExternalId: "tenant-globex", kmsClusterId: null },
        { siteExternalId: "site-dr", externalId: "kp-dr-native", name: "DR native", kind: "NATIVE", tenantExternalId: null, kmsClusterId: null },
      ],
    },
  };
}

const check = (data: ComplianceData, id: CheckId) => evaluateCompliance(data).find((r) => r.id === id)!;

describe("evaluateCompliance", () => {
  it("answers every check of the catalogue, in order, with a title", () => {
    const results = evaluateCompliance(healthy());
    expect(results.map((r) => r.id)).toEqual([...CHECK_IDS]);
    for (const r of results) expect(r.title.length).toBeGreaterThan(10);
    expect(results.filter((r) => r.status !== "pass").map((r) => `${r.id}: ${r.why}`)).toEqual([]);
  });

  it("without replication jobs, the replication checks are n/a", () => {
    const data = healthy();
    data.replication = { jobs: [], replicas: [], keyProviders: [] };
    for (const id of ["replicas-encrypted", "replica-keys-reachable", "replica-tenant-keys", "dr-kms-certificates", "replica-rpo"] as const) expect(check(data, id).status, id).toBe("na");
  });

  it("fails one check whose code throws, and still runs the others", () => {
    const data = healthy();
    data.keysets = null as never;
    const results = evaluateCompliance(data);
    expect(results.find((r) => r.id === "recovery-keyset")).toMatchObject({ status: "fail", why: expect.stringContaining("The check itself failed") });
    expect(results.find((r) => r.id === "four-eyes")?.status).toBe("pass");
  });
});

describe("backup-encryption (TRN-7)", () => {
  it("fails for an enabled job with encrypted VMs and encryption off, naming it and linking to its editor", () => {
    const data = healthy();
    data.jobs = [job({ id: "j-off", name: "Plain job", encryptionMode: "off", vms: [vm(), vm({ id: "vm-2", name: "acme-db-01" }), vm({ id: "vm-3", name: "acme-app-01" })] }), job()];
    const r = check(data, "backup-encryption");
    expect(r.status).toBe("fail");
    expect(r.why).toContain("Plain job (3 encrypted VMs: acme-web-01, acme-db-01 and 1 more)");
    expect(r.fixHref).toBe("/jobs/j-off/edit");
  });
  it("names a few offenders and counts the rest", () => {
    const data = healthy();
    data.jobs = Array.from({ length: 5 }, (_, i) => job({ id: `j${i}`, name: `Job ${i}`, encryptionMode: "off" }));
    expect(check(data, "backup-encryption").why).toMatch(/^5 enabled jobs .*Job 0 .*Job 1 .*Job 2 .*and 2 more/);
  });
  it("ignores disabled jobs and jobs without encrypted VMs: n/a when none is left", () => {
    const data = healthy();
    data.jobs = [job({ encryptionMode: "off", enabled: false }), job({ id: "j2", encryptionMode: "off", vms: [vm({ encrypted: false, keyProviderExternalId: null })] })];
    expect(check(data, "backup-encryption").status).toBe("na");
  });
  it("passes with a KMS key", () => {
    const data = healthy();
    data.jobs = [job({ encryptionMode: "kms" })];
    expect(check(data, "backup-encryption").status).toBe("pass");
  });
});

describe("recovery-keyset (KEY-6)", () => {
  it("fails without an active keyset", () => {
    const data = healthy();
    data.keysets = [{ id: "b".repeat(32), createdAt: ago(3), retiredAt: ago(1) }];
    const r = check(data, "recovery-keyset");
    expect(r).toMatchObject({ status: "fail", fixHref: "/recovery-keysets" });
    expect(r.why).toContain("No active recovery keyset (1 retired keyset protects only older points)");
  });
  it("fails when the newest active keyset is older than the rotation period", () => {
    const data = healthy();
    data.keysets = [{ id: "c".repeat(32), createdAt: ago(31), retiredAt: null }];
    const r = check(data, "recovery-keyset");
    expect(r.status).toBe("fail");
    expect(r.why).toContain("31 days old");
    expect(r.why).toContain("every 30 days");
  });
  it("judges the newest active keyset, not an older one", () => {
    const data = healthy();
    data.keysets = [
      { id: "c".repeat(32), createdAt: ago(90), retiredAt: null },
      { id: "d".repeat(32), createdAt: ago(5), retiredAt: null },
    ];
    expect(check(data, "recovery-keyset").status).toBe("pass");
  });
});

describe("passwords-approved (SEC-3)", () => {
  it("is n/a without password jobs", () => {
    const data = healthy();
    data.jobs = [job({ encryptionMode: "kms" })];
    expect(check(data, "passwords-approved").status).toBe("na");
  });
  it("fails for a password set without approval; with four-eyes off the fix is to turn it on", () => {
    const data = healthy();
    data.fourEyes = { enabled: false };
    data.jobs = [job({ id: "j1", name: "Unapproved", passwordApprovedAt: null }), job({ id: "j2", name: "Approved" })];
    const r = check(data, "passwords-approved");
    expect(r.status).toBe("fail");
    expect(r.why).toContain("1 of 2 password jobs");
    expect(r.why).toContain("Unapproved");
    expect(r.why).not.toContain("Approved,");
    expect(r.fixHref).toBe("/approvals");
  });
  it("with four-eyes on, points at the job's editor; a pending request points at Approvals", () => {
    const data = healthy();
    data.jobs = [job({ id: "j1", name: "Unapproved", passwordApprovedAt: null })];
    expect(check(data, "passwords-approved").fixHref).toBe("/jobs/j1/edit");
    data.jobs = [job({ id: "j1", name: "Pending", passwordApprovedAt: null, pendingApprovalId: "req-1" })];
    const r = check(data, "passwords-approved");
    expect(r.why).toContain("waits for a decision: Pending");
    expect(r.fixHref).toBe("/approvals");
  });
});

describe("nbdssl-for-encrypted (TRN-4)", () => {
  const nbdOnly = proxy({ id: "p-nbd", externalId: "vm-901", name: "prod-proxy-nbd-01", transportModes: ["nbd"], keyProviderExternalId: null, keyProviderTenantExternalId: null, tenantExternalId: null, tenantName: null, privileges: ["Cryptographer.Access"] });

  it("fails when the last session read an encrypted disk over plain NBD (the mode as the session records it)", () => {
    const data = healthy();
    data.jobs = [job({ lastSession: { id: "s1", endedAt: NOW, disks: [{ vmName: "acme-web-01", label: "Hard disk 1", encrypted: true, mode: "Network (NBD)", proxy: "prod-proxy-nbd-01" }] } })];
    const r = check(data, "nbdssl-for-encrypted");
    expect(r.status).toBe("fail");
    expect(r.why).toContain("The last session read 1 encrypted disk over plain NBD: Acme nightly: acme-web-01 / Hard disk 1 via prod-proxy-nbd-01");
  });
  it("does not mistake NBDSSL for NBD, nor care about unencrypted disks over NBD", () => {
    const data = healthy();
    data.jobs = [
      job({
        lastSession: {
          id: "s1",
          endedAt: NOW,
          disks: [
            { vmName: "a", label: "d1", encrypted: true, mode: "Network with TLS (NBDSSL)", proxy: "x" },
            { vmName: "b", label: "d1", encrypted: false, mode: "Network (NBD)", proxy: "x" },
          ],
        },
      }),
    ];
    expect(check(data, "nbdssl-for-encrypted").status).toBe("pass");
  });
  it("fails when the next run would pick NBD for an encrypted disk (a manual job with an NBD-only proxy)", () => {
    const data = healthy();
    data.proxies = [proxy(), nbdOnly];
    data.jobs = [job({ id: "jm", name: "Manual NBD", proxyMode: "manual", proxyIds: ["p-nbd"] })];
    const r = check(data, "nbdssl-for-encrypted");
    expect(r.status).toBe("fail");
    expect(r.why).toContain("t the next run 1 encrypted disk would go over plain NBD: Manual NBD: acme-web-01 / Hard disk 1 via prod-proxy-nbd-01");
    expect(r.fixHref).toBe("/jobs/jm/edit");
  });
  it("passes for an automatic job (NBDSSL or HotAdd first) but names the NBD-only proxy that could take encrypted disks under load", () => {
    const data = healthy();
    data.proxies = [proxy(), nbdOnly];
    const r = check(data, "nbdssl-for-encrypted");
    expect(r.status).toBe("pass");
    expect(r.why).toContain("prod-proxy-nbd-01 at Production offers only NBD");
  });
  it("is n/a without jobs protecting encrypted VMs", () => {
    const data = healthy();
    data.jobs = [];
    expect(check(data, "nbdssl-for-encrypted").status).toBe("na");
  });
});

describe("hotadd-kms-match (TRN-3, TRN-5)", () => {
  it("fails for a proxy dedicated to one tenant but encrypted with another tenant's key provider", () => {
    const data = healthy();
    data.proxies = [proxy(), proxy({ id: "p-g2", name: "prod-proxy-globex-02", tenantExternalId: "tenant-globex", tenantName: "Globex" })];
    const r = check(data, "hotadd-kms-match");
    expect(r.status).toBe("fail");
    expect(r.why).toContain("prod-proxy-globex-02 at Production is dedicated to Globex but encrypted with Acme KMS, the key provider of Acme");
  });
  it("fails for a shared encrypted proxy whose key provider matches none of the encrypted VMs the jobs may give it", () => {
    const data = healthy();
    data.proxies = [proxy({ id: "p-s", name: "shared-acme", tenantExternalId: null, tenantName: null })];
    data.jobs = [job({ vms: [vm({ tenantExternalId: "tenant-globex", keyProviderExternalId: "kp-globex", name: "globex-db-01" })] })];
    const r = check(data, "hotadd-kms-match");
    expect(r.status).toBe("fail");
    expect(r.why).toContain("encrypted with Acme KMS, but every encrypted VM it may serve (1 VM in Acme nightly) uses Globex KMS: it can hot-add none of them");
  });
  it("a manual job that did not choose the proxy gives it nothing", () => {
    const data = healthy();
    data.proxies = [proxy({ id: "p-s", name: "shared-acme", tenantExternalId: null, tenantName: null })];
    data.jobs = [job({ proxyMode: "manual", proxyIds: ["other"], vms: [vm({ keyProviderExternalId: "kp-globex" })] })];
    expect(check(data, "hotadd-kms-match").status).toBe("pass");
  });
  it("fails for an encrypted HotAdd proxy without Cryptographer.AddDisk", () => {
    const data = healthy();
    data.proxies = [proxy({ privileges: ["Cryptographer.Access"] })];
    expect(check(data, "hotadd-kms-match").why).toContain("lacks Cryptographer.AddDisk");
  });
  it("is n/a when no HotAdd proxy is encrypted", () => {
    const data = healthy();
    data.proxies = [proxy({ keyProviderExternalId: null })];
    expect(check(data, "hotadd-kms-match").status).toBe("na");
  });
});

describe("immutable-copy (BKP-8)", () => {
  it("fails without an immutable repository, and for an immutable one that holds nothing", () => {
    const data = healthy();
    data.repositories = [{ id: "r0", name: "Default", immutabilityDays: 0, pointCount: 9 }];
    expect(check(data, "immutable-copy")).toMatchObject({ status: "fail", fixHref: "/repositories" });
    data.repositories.push({ id: "r1", name: "Vault", immutabilityDays: 7, pointCount: 0 });
    const r = check(data, "immutable-copy");
    expect(r.status).toBe("fail");
    expect(r.why).toContain("Vault, 7 days");
  });
});

describe("four-eyes (SEC-2)", () => {
  it("fails when off (fix: Approvals), and when off with fewer than two Security Officers (fix: Users)", () => {
    const data = healthy();
    data.fourEyes = { enabled: false };
    expect(check(data, "four-eyes")).toMatchObject({ status: "fail", fixHref: "/approvals" });
    data.securityOfficers = 1;
    expect(check(data, "four-eyes")).toMatchObject({ status: "fail", fixHref: "/users" });
  });
});

describe("kms-health (VME-4)", () => {
  it("fails for an unreachable cluster and for a certificate ending within 30 days; n/a without clusters", () => {
    const data = healthy();
    data.kmsClusters = [
      { ...data.kmsClusters[0], name: "Down", status: "unreachable", unreachableSince: ago(1), lastError: "ECONNREFUSED" },
      { ...data.kmsClusters[0], id: "k2", name: "Soon", clientCertNotAfter: ahead(10) },
      { ...data.kmsClusters[0], id: "k3", name: "ServerSoon", serverCertNotAfter: ago(1) },
    ];
    const r = check(data, "kms-health");
    expect(r.status).toBe("fail");
    expect(r.why).toContain("Down: unreachable since");
    expect(r.why).toContain("Soon: the client certificate expires on");
    expect(r.why).toContain("(in 10 days)");
    expect(r.why).toContain("and 1 more");
    data.kmsClusters = [];
    expect(check(data, "kms-health").status).toBe("na");
  });
});

describe("metadata-protected (KEY-8, KEY-9)", () => {
  it("fails for metadata other users may read, and for a folder with points that cannot be read", () => {
    const data = healthy();
    data.metadata = [{ repositoryId: "r1", name: "Immutable", path: "/srv/r1", chainFiles: 2, exposed: ["chains/abc.vbm (mode 644)"], error: null }];
    const r = check(data, "metadata-protected");
    expect(r).toMatchObject({ status: "fail", fixHref: "/repositories/r1" });
    expect(r.why).toContain("chains/abc.vbm (mode 644)");
    data.metadata = [{ repositoryId: "r2", name: "Gone", path: "/mnt/gone", chainFiles: 0, exposed: [], error: "the folder is missing" }];
    expect(check(data, "metadata-protected").why).toContain("cannot read Gone (the folder is missing)");
    data.metadata = [];
    expect(check(data, "metadata-protected").status).toBe("na");
  });
});

describe("replicas-encrypted (REP-2, REP-4)", () => {
  it("fails for an unencrypted replica of an encrypted VM, and for a job that will make one, with the fix on the job", () => {
    const data = healthy();
    data.replication.jobs.push(rjob({ id: "rj-2", name: "Plain to DR", keyMode: "unencrypted", targetKeyProviderExternalId: null, vms: [{ externalId: "vm-db", name: "acme-db-01", encrypted: true, tenantExternalId: "tenant-acme" }] }));
    data.replication.replicas = [replica({ replicaVm: { encrypted: false, keyProviderExternalId: null } })];
    const r = check(data, "replicas-encrypted");
    expect(r.status).toBe("fail");
    expect(r.why).toMatch(/^2 replicas of encrypted VMs are unencrypted at the DR site: acme-web-01 → acme-web-01_replica in Acme to DR and acme-db-01 → \(next run\) in Plain to DR \(will be, at its first run\)/);
    expect(r.why).toContain("choose a new key at the target");
    expect(r.fixHref).toBe("/replication/rj-1");
  });
  it("an unencrypted replica of an unencrypted VM is fine: n/a", () => {
    const data = healthy();
    data.replication.jobs = [rjob({ keyMode: "unencrypted", vms: [{ externalId: "vm-src", name: "plain-01", encrypted: false, tenantExternalId: null }] })];
    data.replication.replicas = [replica({ replicaVm: { encrypted: false, keyProviderExternalId: null } })];
    expect(check(data, "replicas-encrypted").status).toBe("na");
  });
});

describe("replica-keys-reachable (REP-2, VME-3)", () => {
  it("fails for a replica whose DR key provider's KMS is unreachable, or not watched", () => {
    const data = healthy();
    data.kmsClusters = [{ ...data.kmsClusters[0], status: "unreachable", unreachableSince: hoursAgo(2) }];
    const down = check(data, "replica-keys-reachable");
    expect(down.status).toBe("fail");
    expect(down.why).toContain("acme-web-01_replica (Acme to DR): Acme KMS at DR at Rotterdam DR (KMS cluster Acme KMS cluster) is unreachable since 2026-11-22 10:00 UTC");
    expect(down.why).toContain("can neither be updated nor powered on in a failover");
    expect(down.fixHref).toBe("/key-providers");
    const unwatched = healthy();
    unwatched.replication.keyProviders[0].kmsClusterId = null;
    expect(check(unwatched, "replica-keys-reachable").why).toContain("has no registered KMS cluster");
  });
  it("a native provider at the DR site always answers; an unencrypted replica needs none", () => {
    const data = healthy();
    data.replication.replicas = [replica({ replicaVm: { encrypted: true, keyProviderExternalId: "kp-dr-native" } })];
    expect(check(data, "replica-keys-reachable").status).toBe("pass");
    data.replication.jobs = [rjob({ keyMode: "unencrypted", targetKeyProviderExternalId: null })];
    data.replication.replicas = [replica({ replicaVm: { encrypted: false, keyProviderExternalId: null } })];
    expect(check(data, "replica-keys-reachable").status).toBe("na");
  });
  it("before the first run, the job's target key provider is judged", () => {
    const data = healthy();
    data.replication.replicas = [];
    data.replication.jobs = [rjob({ targetKeyProviderExternalId: "kp-dr-globex", vms: [{ externalId: "vm-g", name: "globex-01", encrypted: true, tenantExternalId: "tenant-globex" }] })];
    expect(check(data, "replica-keys-reachable").why).toContain("globex-01 (Acme to DR): Globex KMS at DR at Rotterdam DR has no registered KMS cluster");
  });
});

describe("replica-tenant-keys (REP-2)", () => {
  it("fails for a replica under another tenant's key provider, naming both tenants", () => {
    const data = healthy();
    data.replication.replicas = [replica({ replicaVm: { encrypted: true, keyProviderExternalId: "kp-dr-globex" } })];
    const r = check(data, "replica-tenant-keys");
    expect(r.status).toBe("fail");
    expect(r.why).toContain("acme-web-01_replica of Acme under Globex KMS at DR of Globex (Acme to DR)");
    expect(r.fixHref).toBe("/replication/rj-1");
  });
  it("a provider the site shares (no tenant) is fine", () => {
    const data = healthy();
    data.replication.replicas = [replica({ replicaVm: { encrypted: true, keyProviderExternalId: "kp-dr-native" } })];
    expect(check(data, "replica-tenant-keys").status).toBe("pass");
  });
});

describe("dr-kms-certificates (VME-4)", () => {
  it("fails when a KMS cluster behind a DR site's key provider has a certificate ending within 30 days", () => {
    const data = healthy();
    data.kmsClusters = [{ ...data.kmsClusters[0], clientCertNotAfter: ahead(12) }];
    const r = check(data, "dr-kms-certificates");
    expect(r.status).toBe("fail");
    expect(r.why).toContain("Acme KMS cluster: the client certificate expires on 2026-12-04 (in 12 days)");
    expect(r.why).toContain("Renew the certificate");
  });
  it("clusters that serve no DR site's provider do not count: n/a", () => {
    const data = healthy();
    data.replication.keyProviders = data.replication.keyProviders.map((k) => ({ ...k, kmsClusterId: null }));
    data.kmsClusters = [{ ...data.kmsClusters[0], clientCertNotAfter: ahead(2) }];
    expect(check(data, "dr-kms-certificates").status).toBe("na");
  });
});

describe("replica-rpo (REP-1)", () => {
  it("the promised interval: every N hours; daily on chosen days, the longest gap; manual none", () => {
    expect(scheduleIntervalMs({ kind: "hourly", everyHours: 4 })).toBe(4 * HOUR);
    expect(scheduleIntervalMs({ kind: "daily", time: "22:00", days: [0, 1, 2, 3, 4, 5, 6] })).toBe(DAY);
    expect(scheduleIntervalMs({ kind: "daily", time: "22:00", days: [1, 2, 3, 4, 5] })).toBe(3 * DAY);
    expect(scheduleIntervalMs({ kind: "daily", time: "22:00", days: [3] })).toBe(7 * DAY);
    expect(scheduleIntervalMs({ kind: "manual" })).toBeNull();
    expect(rpoLimitMs({ kind: "hourly", everyHours: 4 })).toBe(8 * HOUR + 15 * 60_000);
  });
  it("fails when the newest point is older than twice the interval plus 15 minutes", () => {
    const data = healthy();
    data.replication.replicas = [replica({ newestPointAt: hoursAgo(8.5) })];
    const r = check(data, "replica-rpo");
    expect(r.status).toBe("fail");
    expect(r.why).toContain("acme-web-01_replica (Acme to DR): newest point 9 hours old, allowed 8 hours");
    expect(r.fixHref).toBe("/replication/rj-1");
    data.replication.replicas = [replica({ newestPointAt: hoursAgo(8) })];
    expect(check(data, "replica-rpo").status).toBe("pass");
  });
  it("a replica without a point counts from its job's creation; manual and disabled jobs are not counted", () => {
    const data = healthy();
    data.replication.replicas = [];
    expect(check(data, "replica-rpo").why).toContain("acme-web-01 (Acme to DR): no point in 30 days");
    data.replication.jobs = [rjob({ createdAt: hoursAgo(1) })];
    expect(check(data, "replica-rpo").status).toBe("pass");
    data.replication.jobs = [rjob({ schedule: { kind: "manual" } }), rjob({ id: "rj-2", enabled: false })];
    expect(check(data, "replica-rpo").status).toBe("na");
  });
});
