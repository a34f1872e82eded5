// Every service × every role (SEC-1): each service the console can reach is called by a user of
// each role. A role with the service's permission gets through; every other role gets FORBIDDEN
// and the database is exactly as before (no row, no audit event, the target untouched).
//
// The permission each service needs is written out here, and checked against the service's
// source (its first statement is `authorize(actor, "<permission>")`). Whether a role holds it
// comes from the permission map, which lib/permissions/roles.test.ts pins down cell by cell.
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "@/lib/auth/actor";
import { hasPermission, ROLE_LABELS, ROLES, type Permission, type Role } from "@/lib/permissions/roles";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { dbState, expectUnchangedSince } from "@/lib/testing/db-state";
import { makeActor, makeUser, TEST_PASSWORD, uniqueEmail } from "@/lib/testing/factories";
import { createBackupRepository } from "./backup/create-repository";
import { getJobWizardOptions } from "./backup/get-job-wizard-options";
import { getJobSession } from "./backup/get-job-session";
import { getBackupJob, listBackupJobs } from "./backup/list-backup-jobs";
import { getBackupRepository, listBackupRepositories } from "./backup/list-repositories";
import { listRestorePoints } from "./backup/list-restore-points";
import { previewBackupJob } from "./backup/preview-backup-job";
import { runBackupJobNow, setBackupJobEnabled, stopJobSession, stopRestoreSession } from "./backup/run-backup-job";
import { createBackupJob, updateBackupJob } from "./backup/save-backup-job";
import { verifyBackupRepository } from "./backup/verify-repository";
import { listSessions } from "./jobs/list-sessions";
import { listWorkers } from "./jobs/list-workers";
import { exportKeyset, generateRecoveryKeyset } from "@/lib/engine";
import { keysetRowData } from "./recovery/keyset-store";
import { listRecoveryKeysets } from "./recovery/list-recovery-keysets";
import { getComplianceOverview } from "./compliance/get-compliance-overview";
import { runComplianceChecks } from "./compliance/run-compliance";
import { exportRecoveryKeyset, generateRecoveryKeysetNow, importRecoveryKeyset, retireRecoveryKeyset, setRecoveryKeysetPolicy } from "./recovery/manage-recovery-keysets";
import os from "node:os";
import { exportAuditEvents } from "./audit/export-audit-events";
import { approveRequest, cancelRequest, rejectRequest } from "./approvals/decide-approval";
import { issueApprovalProof } from "./approvals/approval-proof";
import { confirmApprovalPassword } from "./approvals/confirm-approval-password";
import { deleteRestorePoint } from "./backup/delete-restore-point";
import { answerPasswordRecoveryRequest } from "./password-recovery/answer-recovery-request";
import { applyPasswordRecoveryResponse } from "./password-recovery/apply-recovery-response";
import { createPasswordRecoveryRequest } from "./password-recovery/create-recovery-request";
import { listPasswordRecoveryRequests } from "./password-recovery/list-recovery-requests";
import { getFourEyes, setFourEyes } from "./approvals/four-eyes-settings";
import { countInbox, listApprovalRequests } from "./approvals/list-approval-requests";
import { listAuditEvents, listAuditFilterOptions } from "./audit/list-audit-events";
import { verifyAuditChain } from "./audit/verify-audit-chain";
import { getDashboard } from "./inventory/get-dashboard";
import { getInventoryTree, listHostVms } from "./inventory/get-inventory-tree";
import { getPlatformInfo } from "./inventory/get-platform-info";
import { getVm } from "./inventory/get-vm";
import { listDatastoresGrouped } from "./inventory/list-datastores";
import { listFilterOptions } from "./inventory/list-filter-options";
import { getKeyProvider, listKeyProviders } from "./inventory/list-key-providers";
import { listProxies } from "./inventory/list-proxies";
import { listVms } from "./inventory/list-vms";
import { syncInventory, syncInventoryFromPlatform } from "./inventory/sync-inventory";
import { testKmsPems } from "@/lib/testing/kms-fixtures";
import { checkKmsClusterNow } from "./kms/check-kms-clusters";
import { assignKeyProviderTenant, setDefaultKeyProvider } from "./kms/key-provider-settings";
import { listKmsClusters } from "./kms/list-kms-clusters";
import { registerKmsCluster } from "./kms/register-kms-cluster";
import { removeKmsCluster } from "./kms/remove-kms-cluster";
import { testKmsConnection } from "./kms/test-kms-connection";
import { changeUserRole } from "./users/change-user-role";
import { platform } from "./inventory/platform";
import { changeVmEncryption } from "./vms/change-vm-encryption";
import { getVmRuntime } from "./vms/get-vm-runtime";
import { powerVm } from "./vms/power-vm";
import { runGuestWrites } from "./vms/run-guest-writes";
import { createUser } from "./users/create-user";
import { listUsers } from "./users/list-users";
import { resetUserPassword } from "./users/reset-user-password";
import { clearSignInLocks } from "./users/clear-sign-in-locks";
import { endUserSessions } from "./users/end-user-sessions";
import { setUserDisabled } from "./users/set-user-disabled";
import { checkRestore } from "./restore/check-restore";
import { exportRestorePointDisk } from "./restore/export-disk";
import { getRestoreOptions } from "./restore/get-restore-options";
import { listRestorablePoints, listRestorableVms } from "./restore/list-restorable-vms";
import { startRestore } from "./restore/start-restore";
import { createReplicationJob } from "./replication/create-replication-job";
import { getReplica, listReplicas } from "./replication/list-replicas";
import { runReplicationJobNow } from "./replication/run-replication-job";
import { checkReplicationChoices } from "./replication/check-replication-choices";
import { getReplicationWizardOptions } from "./replication/get-replication-wizard-options";
import { getReplicationJob, listReplicationJobs } from "./replication/list-replication-jobs";
import { updateReplicationJob } from "./replication/update-replication-job";
import { deleteReplicationJob } from "./replication/delete-replication-job";
import { setReplicationJobEnabled } from "./replication/set-replication-job-enabled";
import { startRollback } from "./restore/start-rollback";
import { checkFailover } from "./failover/check-failover";
import { permanentFailover } from "./failover/permanent-failover";
import { startFailover } from "./failover/start-failover";
import { startPlannedFailover } from "./failover/start-planned-failover";
import { undoFailover } from "./failover/undo-failover";
import { commitFailback } from "./failback/commit-failback";
import { startFailback } from "./failback/start-failback";
import { getFailbackOptions } from "./failback/get-failback-options";
import { undoFailback } from "./failback/undo-failback";
import { checkDiskRestore } from "./restore/check-disk-restore";
import { startDiskRestore } from "./restore/start-disk-restore";
import { listDiskRestoreTargets } from "./restore/list-disk-restore-targets";
import { unlockRepository } from "./restore/unlock-repository";
import { getRepositoryKeyNeeds } from "./restore/repository-key-needs";

interface Prepared {
  call: (actor: Actor) => Promise<unknown>;
  /** What a write would change, read before and after. */
  target?: () => Promise<unknown>;
}

interface ServiceCase {
  /** "<file under lib/services without .ts>#<export>" */
  service: string;
  permission: Permission;
  write: boolean;
  /** Makes fresh data for one call (so no call depends on another) and returns the call. */
  prepare: () => Promise<Prepared>;
}

const any = {
  hostId: async () => (await db.host.findFirstOrThrow({ select: { id: true } })).id,
  vmId: async () => (await db.vm.findFirstOrThrow({ select: { id: true } })).id,
  keyProviderId: async () => (await db.keyProvider.findFirstOrThrow({ select: { id: true } })).id,
};
/** A registered cluster made straight in the database (sealed fields are never opened by these calls' denials). */
async function kmsClusterId(): Promise<string> {
  const c = await db.kmsCluster.create({
    data: {
      name: uniqueEmail("kms-row"),
      servers: JSON.stringify([{ host: "127.0.0.1", port: 1 }]),
      caSealed: "v1:",
      clientCertSealed: "v1:",
      clientKeySealed: "v1:",
      clientCertSubject: "CN=test",
      clientCertFingerprint: "00",
      clientCertNotAfter: new Date(Date.now() + 86_400_000),
    },
  });
  return c.id;
}
const userRow = (id: string) => () => db.user.findUnique({ where: { id } });
const read = (call: Prepared["call"]) => async (): Promise<Prepared> => ({ call });

/** A repository and a password job made straight in the database (the denied calls never open them). */
async function backupFixture() {
  const repo = await db.backupRepository.create({
    data: { name: uniqueEmail("authz-repo"), path: path.join(os.tmpdir(), uniqueEmail("authz-repo")), engineId: "00", blockSize: 1048576 },
  });
  const vm = await db.vm.findFirstOrThrow({ where: { encrypted: false }, select: { id: true, name: true } });
  const job = await db.backupJob.create({
    data: { name: uniqueEmail("authz-job"), selection: JSON.stringify([{ kind: "vm", id: vm.id, label: vm.name }]), repositoryId: repo.id, retentionPoints: 3, encryptionMode: "password", schedule: JSON.stringify({ kind: "manual" }) },
  });
  return { repo, job, vm };
}
const jobInput = (repositoryId: string, vm: { id: string; name: string }) => ({
  name: uniqueEmail("authz-job"),
  selection: [{ kind: "vm" as const, id: vm.id, label: vm.name }],
  repositoryId,
  retentionPoints: 3,
  proxyMode: "automatic" as const,
  failoverToNetwork: true,
  encryptionMode: "password" as const,
  password: "a long enough password",
  passwordConfirm: "a long enough password",
  schedule: { kind: "manual" as const },
});

/** A recovery keyset row with its private key sealed (2048-bit: quick to make; the services do not care). */
async function keysetRow(options: { retired?: boolean } = {}) {
  const keyset = await generateRecoveryKeyset({ modulusLength: 2048 });
  await db.recoveryKeyset.create({ data: { ...keysetRowData(keyset, "generated"), retiredAt: options.retired ? new Date() : null } });
  return keyset;
}
const keysetState = (id: string) => () => db.recoveryKeyset.findUnique({ where: { id }, select: { retiredAt: true, lastExportedAt: true, lastExportedById: true } });

/** A pending request made straight in the database by a fresh administrator (a role change). */
async function pendingRequest() {
  const requester = await makeUser({ role: "BACKUP_ADMIN" });
  const target = await makeUser({ role: "BACKUP_VIEWER" });
  const payload = { userId: target.id, role: "RESTORE_OPERATOR" };
  const { payloadHash } = await import("./approvals/approval-payload");
  return db.approvalRequest.create({
    data: { kind: "user.role", objectType: "user", objectId: target.id, summary: "[]", payload: JSON.stringify(payload), payloadHash: payloadHash("user.role", target.id, payload), requiredPermission: "user:manage", requestedById: requester.id, expiresAt: new Date(Date.now() + 3_600_000) },
  });
}

/** A permitted caller whose input the service refuses after authorizing (validation is tested elsewhere). */
const refusedAs = (code: string) => (e: unknown) => (e instanceof AppError && e.code === code ? "refused after authorization" : Promise.reject(e));

/** A disk restore of a point that does not exist (RST-7): "not found" after authorization. */
const diskRestoreInput = () => ({ pointId: "0".repeat(32), targetVmExternalId: "vm-none", disks: [{ sourceDeviceKey: 2000, action: "add" as const, datastoreExternalId: "ds-none", storagePolicyExternalId: "policy-none", encrypted: false }] });

/** A restore of a point that does not exist: every check answers "not found" after authorization. */
const restoreInput = () => ({
  pointId: "0".repeat(32),
  siteExternalId: "site-none",
  hostExternalId: "host-none",
  name: "authz-restore",
  folder: "/Restored",
  home: { datastoreExternalId: "ds-none", storagePolicyExternalId: "policy-none" },
  disks: [{ deviceKey: 2000, datastoreExternalId: "ds-none", storagePolicyExternalId: "policy-none", encrypted: false }],
  keys: { kind: "same-key" as const },
  powerOn: false,
});

/** A replication job to a site that does not exist: refused after authorization (REP-1…4; the checks: replication.db.test.ts). */
const replicationInput = () => ({
  name: uniqueEmail("authz-replication"),
  vms: [{ vmExternalId: "vm-none", name: "authz-replica", folder: "/Replicas", home: { datastoreExternalId: "ds-none", storagePolicyExternalId: "policy-none" }, disks: [], networks: [] }],
  targetSiteExternalId: "site-none",
  targetHostExternalId: "host-none",
  keyMode: "unencrypted" as const,
  keepPoints: 2,
  schedule: { kind: "manual" as const },
});

const SERVICES: ServiceCase[] = [
  // users
  { service: "users/list-users#listUsers", permission: "user:read", write: false, prepare: read((a) => listUsers(a)) },
  {
    service: "users/create-user#createUser",
    permission: "user:manage",
    write: true,
    prepare: async () => {
      const email = uniqueEmail("authz-create");
      return {
        call: (a) => createUser(a, { email, name: "Authz", role: "BACKUP_VIEWER", password: "a password long enough" }),
        target: () => db.user.findUnique({ where: { email } }),
      };
    },
  },
  {
    service: "users/change-user-role#changeUserRole",
    permission: "user:manage",
    write: true,
    prepare: async () => {
      const u = await makeUser({ role: "BACKUP_VIEWER" });
      return { call: (a) => changeUserRole(a, { userId: u.id, role: "RESTORE_OPERATOR" }), target: userRow(u.id) };
    },
  },
  {
    service: "users/set-user-disabled#setUserDisabled",
    permission: "user:manage",
    write: true,
    prepare: async () => {
      const u = await makeUser();
      return { call: (a) => setUserDisabled(a, { userId: u.id, disabled: true }), target: userRow(u.id) };
    },
  },
  {
    service: "users/end-user-sessions#endUserSessions",
    permission: "user:manage",
    write: true,
    prepare: async () => {
      const u = await makeUser();
      return { call: (a) => endUserSessions(a, { userId: u.id }), target: userRow(u.id) };
    },
  },
  {
    service: "users/clear-sign-in-locks#clearSignInLocks",
    permission: "signin:unlock",
    write: true,
    prepare: async () => {
      const u = await makeUser();
      await db.signInThrottle.create({ data: { key: `email:${u.email}|ip:10.9.9.9`, failures: 9, windowStart: new Date(), lockedUntil: new Date(Date.now() + 60_000) } });
      return { call: (a) => clearSignInLocks(a, { userId: u.id }), target: () => db.signInThrottle.count({ where: { key: { startsWith: `email:${u.email}|` } } }) };
    },
  },
  {
    service: "users/reset-user-password#resetUserPassword",
    permission: "user:manage",
    write: true,
    prepare: async () => {
      const u = await makeUser();
      return { call: (a) => resetUserPassword(a, { userId: u.id, password: "another password long enough" }), target: userRow(u.id) };
    },
  },
  // KMS clusters (a closed loopback port stands in for an unreachable KMS: no server is needed)
  { service: "kms/list-kms-clusters#listKmsClusters", permission: "inventory:read", write: false, prepare: read((a) => listKmsClusters(a)) },
  {
    service: "kms/register-kms-cluster#registerKmsCluster",
    permission: "keyprovider:manage",
    write: true,
    prepare: async () => {
      const name = uniqueEmail("kms");
      return {
        call: (a) => registerKmsCluster(a, { name, servers: "127.0.0.1:1", ...testKmsPems() }),
        target: () => db.kmsCluster.findUnique({ where: { name }, select: { id: true } }),
      };
    },
  },
  {
    service: "kms/test-kms-connection#testKmsConnection",
    permission: "keyprovider:manage",
    write: false,
    prepare: read((a) => testKmsConnection(a, { name: "probe", servers: "127.0.0.1:1", ...testKmsPems() })),
  },
  {
    service: "kms/check-kms-clusters#checkKmsClusterNow",
    permission: "keyprovider:manage",
    write: false,
    prepare: async () => {
      const id = await kmsClusterId();
      return { call: (a) => checkKmsClusterNow(a, { clusterId: id }) };
    },
  },
  {
    service: "kms/remove-kms-cluster#removeKmsCluster",
    permission: "keyprovider:manage",
    write: true,
    prepare: async () => {
      const id = await kmsClusterId();
      return { call: (a) => removeKmsCluster(a, { clusterId: id }), target: () => db.kmsCluster.findUnique({ where: { id } }) };
    },
  },
  {
    service: "kms/key-provider-settings#setDefaultKeyProvider",
    permission: "keyprovider:manage",
    write: true,
    prepare: async () => {
      const kp = await db.keyProvider.findFirstOrThrow({ where: { isDefault: false }, orderBy: { name: "asc" }, select: { id: true } });
      return { call: (a) => setDefaultKeyProvider(a, { keyProviderId: kp.id }).then(() => "ok"), target: () => db.keyProvider.findUnique({ where: { id: kp.id }, select: { isDefault: true } }) };
    },
  },
  {
    service: "kms/key-provider-settings#assignKeyProviderTenant",
    permission: "keyprovider:manage",
    write: true,
    prepare: async () => {
      const kp = await db.keyProvider.findFirstOrThrow({ where: { tenantId: null }, orderBy: { name: "asc" }, select: { id: true } });
      const tenant = await db.tenant.findFirstOrThrow({ select: { id: true } });
      return { call: (a) => assignKeyProviderTenant(a, { keyProviderId: kp.id, tenantId: tenant.id }).then(() => "ok"), target: () => db.keyProvider.findUnique({ where: { id: kp.id }, select: { tenantId: true } }) };
    },
  },
  // VM runtime operations on the lab's files (native-key VMs: no KMS needed)
  {
    service: "vms/get-vm-runtime#getVmRuntime",
    permission: "inventory:read",
    write: false,
    prepare: async () => {
      const id = await any.vmId();
      return { call: (a) => getVmRuntime(a, id) };
    },
  },
  {
    service: "vms/power-vm#powerVm",
    permission: "vm:operate",
    write: true,
    prepare: async () => {
      const vm = await db.vm.findFirstOrThrow({ where: { encrypted: false, powerState: "poweredOff" }, select: { id: true } });
      return { call: (a) => powerVm(a, { vmId: vm.id, action: "on" }), target: () => db.vm.findUnique({ where: { id: vm.id }, select: { powerState: true } }) };
    },
  },
  {
    service: "vms/run-guest-writes#runGuestWrites",
    permission: "vm:operate",
    write: false,
    prepare: async () => {
      const vm = await db.vm.findFirstOrThrow({ where: { encrypted: false, powerState: "poweredOn" }, select: { id: true } });
      return { call: (a) => runGuestWrites(a, { vmId: vm.id, percent: 1 }) };
    },
  },
  {
    service: "vms/change-vm-encryption#changeVmEncryption",
    permission: "vm:operate",
    write: true,
    prepare: async () => {
      // Decrypt a native-key VM without a vTPM (no KMS needed); prepare powers it off first.
      const vm = await db.vm.findFirstOrThrow({ where: { encrypted: true, vtpm: false, keyProvider: { kind: "NATIVE" } }, orderBy: { name: "asc" }, select: { id: true, externalId: true, powerState: true } });
      if (vm.powerState === "poweredOn") await platform().powerOff(vm.externalId);
      await syncInventoryFromPlatform();
      return {
        call: (a) => changeVmEncryption(a, { vmId: vm.id, action: "decrypt" }),
        target: () => db.vm.findUnique({ where: { id: vm.id }, select: { encrypted: true, keyId: true } }),
      };
    },
  },
  // audit
  { service: "audit/list-audit-events#listAuditEvents", permission: "audit:read", write: false, prepare: read((a) => listAuditEvents(a)) },
  { service: "audit/verify-audit-chain#verifyAuditChain", permission: "audit:read", write: false, prepare: read((a) => verifyAuditChain(a)) },
  { service: "audit/list-audit-events#listAuditFilterOptions", permission: "audit:read", write: false, prepare: read((a) => listAuditFilterOptions(a)) },
  {
    // The export is audited ("audit.export"): a permitted call adds that event, a refused one adds nothing.
    service: "audit/export-audit-events#exportAuditEvents",
    permission: "audit:read",
    write: true,
    prepare: async () => ({
      call: (a) => exportAuditEvents(a, { action: "auth.", outcome: "success" }),
      target: () => db.auditEvent.count({ where: { action: "audit.export" } }),
    }),
  },
  // inventory
  { service: "inventory/get-dashboard#getDashboard", permission: "inventory:read", write: false, prepare: read((a) => getDashboard(a)) },
  { service: "inventory/get-inventory-tree#getInventoryTree", permission: "inventory:read", write: false, prepare: read((a) => getInventoryTree(a)) },
  {
    service: "inventory/get-inventory-tree#listHostVms",
    permission: "inventory:read",
    write: false,
    prepare: async () => {
      const id = await any.hostId();
      return { call: (a) => listHostVms(a, id) };
    },
  },
  { service: "inventory/get-platform-info#getPlatformInfo", permission: "inventory:read", write: false, prepare: read((a) => getPlatformInfo(a)) },
  {
    service: "inventory/get-vm#getVm",
    permission: "inventory:read",
    write: false,
    prepare: async () => {
      const id = await any.vmId();
      return { call: (a) => getVm(a, id) };
    },
  },
  { service: "inventory/list-datastores#listDatastoresGrouped", permission: "inventory:read", write: false, prepare: read((a) => listDatastoresGrouped(a)) },
  { service: "inventory/list-filter-options#listFilterOptions", permission: "inventory:read", write: false, prepare: read((a) => listFilterOptions(a)) },
  { service: "inventory/list-key-providers#listKeyProviders", permission: "inventory:read", write: false, prepare: read((a) => listKeyProviders(a)) },
  {
    service: "inventory/list-key-providers#getKeyProvider",
    permission: "inventory:read",
    write: false,
    prepare: async () => {
      const id = await any.keyProviderId();
      return { call: (a) => getKeyProvider(a, id) };
    },
  },
  { service: "inventory/list-proxies#listProxies", permission: "inventory:read", write: false, prepare: read((a) => listProxies(a)) },
  { service: "inventory/list-vms#listVms", permission: "inventory:read", write: false, prepare: read((a) => listVms(a, { q: "0", encrypted: "yes" })) },
  {
    service: "inventory/sync-inventory#syncInventory",
    permission: "inventory:sync",
    write: true,
    prepare: async () => ({
      call: (a) => syncInventory(a),
      target: () => db.site.findMany({ orderBy: { externalId: "asc" }, select: { id: true, lastSyncAt: true } }),
    }),
  },
  // the job engine's views (issue 9)
  { service: "jobs/list-sessions#listSessions", permission: "job:read", write: false, prepare: read((a) => listSessions(a, {})) },
  { service: "jobs/list-workers#listWorkers", permission: "job:read", write: false, prepare: read((a) => listWorkers(a)) },
  // backup (issue 4)
  { service: "backup/list-backup-jobs#listBackupJobs", permission: "job:read", write: false, prepare: read((a) => listBackupJobs(a)) },
  { service: "backup/list-backup-jobs#getBackupJob", permission: "job:read", write: false, prepare: async () => { const { job } = await backupFixture(); return { call: (a) => getBackupJob(a, { jobId: job.id }) }; } },
  { service: "backup/list-repositories#listBackupRepositories", permission: "job:read", write: false, prepare: read((a) => listBackupRepositories(a)) },
  { service: "backup/list-repositories#getBackupRepository", permission: "job:read", write: false, prepare: async () => { const { repo } = await backupFixture(); return { call: (a) => getBackupRepository(a, { repositoryId: repo.id }) }; } },
  { service: "backup/list-restore-points#listRestorePoints", permission: "job:read", write: false, prepare: read((a) => listRestorePoints(a, {})) },
  { service: "backup/get-job-wizard-options#getJobWizardOptions", permission: "job:manage", write: false, prepare: read((a) => getJobWizardOptions(a)) },
  { service: "backup/preview-backup-job#previewBackupJob", permission: "job:read", write: false, prepare: async () => { const { vm } = await backupFixture(); return { call: (a) => previewBackupJob(a, { selection: [{ kind: "vm", id: vm.id, label: vm.name }] }) }; } },
  {
    service: "backup/get-job-session#getJobSession",
    permission: "job:read",
    write: false,
    prepare: async () => {
      const { job } = await backupFixture();
      const session = await db.jobSession.create({ data: { jobId: job.id, state: "success", trigger: "manual" } });
      return { call: (a) => getJobSession(a, { sessionId: session.id }) };
    },
  },
  {
    service: "backup/create-repository#createBackupRepository",
    permission: "job:manage",
    write: true,
    prepare: async () => {
      const name = uniqueEmail("authz-newrepo");
      return { call: (a) => createBackupRepository(a, { name, path: path.join(os.tmpdir(), name) }), target: () => db.backupRepository.findUnique({ where: { name } }) };
    },
  },
  {
    service: "backup/verify-repository#verifyBackupRepository",
    permission: "job:manage",
    write: true,
    prepare: async () => {
      const { repo } = await backupFixture();
      return { call: (a) => verifyBackupRepository(a, { repositoryId: repo.id }).then(() => "started"), target: () => db.backupRepository.findUnique({ where: { id: repo.id }, select: { verifyRunning: true } }) };
    },
  },
  {
    service: "backup/save-backup-job#createBackupJob",
    permission: "job:manage",
    write: true,
    prepare: async () => {
      const { repo, vm } = await backupFixture();
      const input = jobInput(repo.id, vm);
      return { call: (a) => createBackupJob(a, input), target: () => db.backupJob.findUnique({ where: { name: input.name } }) };
    },
  },
  {
    service: "backup/save-backup-job#updateBackupJob",
    permission: "job:manage",
    write: true,
    prepare: async () => {
      const { repo, vm, job } = await backupFixture();
      return { call: (a) => updateBackupJob(a, { jobId: job.id, ...jobInput(repo.id, vm) }), target: () => db.backupJob.findUnique({ where: { id: job.id } }) };
    },
  },
  {
    service: "backup/run-backup-job#runBackupJobNow",
    permission: "job:manage",
    write: true,
    prepare: async () => {
      const { job } = await backupFixture();
      return { call: (a) => runBackupJobNow(a, { jobId: job.id }), target: () => db.jobSession.findMany({ where: { jobId: job.id } }) };
    },
  },
  {
    service: "backup/run-backup-job#stopJobSession",
    permission: "job:manage",
    write: true,
    prepare: async () => {
      const { job } = await backupFixture();
      const session = await db.jobSession.create({ data: { jobId: job.id, state: "queued", trigger: "manual" } });
      return { call: (a) => stopJobSession(a, { sessionId: session.id }), target: () => db.jobSession.findUnique({ where: { id: session.id } }) };
    },
  },
  {
    service: "backup/run-backup-job#setBackupJobEnabled",
    permission: "job:manage",
    write: true,
    prepare: async () => {
      const { job } = await backupFixture();
      return { call: (a) => setBackupJobEnabled(a, { jobId: job.id, enabled: false }).then(() => "ok"), target: () => db.backupJob.findUnique({ where: { id: job.id }, select: { enabled: true } }) };
    },
  },
  // recovery keysets (KEY-6)
  { service: "recovery/list-recovery-keysets#listRecoveryKeysets", permission: "job:read", write: false, prepare: read((a) => listRecoveryKeysets(a)) },
  {
    service: "recovery/manage-recovery-keysets#generateRecoveryKeysetNow",
    permission: "keyset:manage",
    write: true,
    prepare: async () => ({ call: (a) => generateRecoveryKeysetNow(a), target: () => db.recoveryKeyset.count() }),
  },
  {
    service: "recovery/manage-recovery-keysets#importRecoveryKeyset",
    permission: "keyset:manage",
    write: true,
    prepare: async () => {
      const keyset = await generateRecoveryKeyset({ modulusLength: 2048 });
      const json = exportKeyset(keyset, { includePrivateKey: true, passphrase: "an import passphrase" });
      return { call: (a) => importRecoveryKeyset(a, { json, passphrase: "an import passphrase" }), target: () => db.recoveryKeyset.findUnique({ where: { id: keyset.id } }) };
    },
  },
  {
    service: "recovery/manage-recovery-keysets#exportRecoveryKeyset",
    permission: "keyset:manage",
    write: true,
    prepare: async () => {
      // Retired: exporting needs no active keyset, and it wraps no other test's backups.
      const keyset = await keysetRow({ retired: true });
      return { call: (a) => exportRecoveryKeyset(a, { keysetId: keyset.id, passphrase: "an export passphrase", passphraseConfirm: "an export passphrase" }), target: keysetState(keyset.id) };
    },
  },
  {
    service: "recovery/manage-recovery-keysets#retireRecoveryKeyset",
    permission: "keyset:manage",
    write: true,
    prepare: async () => {
      const keyset = await keysetRow();
      return { call: (a) => retireRecoveryKeyset(a, { keysetId: keyset.id }), target: keysetState(keyset.id) };
    },
  },
  {
    service: "recovery/manage-recovery-keysets#setRecoveryKeysetPolicy",
    permission: "keyset:manage",
    write: true,
    prepare: async () => {
      const rotateDays = 1 + Math.floor(Math.random() * 60);
      return {
        call: (a) => setRecoveryKeysetPolicy(a, { enabled: true, rotateDays, retentionDays: rotateDays * 12 }),
        target: () => db.consoleSetting.findUnique({ where: { key: "recovery-keysets" } }),
      };
    },
  },
  // four-eyes (issue 5)
  { service: "approvals/list-approval-requests#listApprovalRequests", permission: "inventory:read", write: false, prepare: read((a) => listApprovalRequests(a, { scope: "mine" })) },
  { service: "approvals/list-approval-requests#countInbox", permission: "inventory:read", write: false, prepare: read((a) => countInbox(a)) },
  { service: "approvals/four-eyes-settings#getFourEyes", permission: "inventory:read", write: false, prepare: read((a) => getFourEyes(a)) },
  {
    service: "approvals/four-eyes-settings#setFourEyes",
    permission: "approval:decide",
    write: true,
    prepare: async () => ({
      call: (a) => setFourEyes(a, { enabled: false, expiryHours: 1 + Math.floor(Math.random() * 700) }),
      target: () => db.consoleSetting.findUnique({ where: { key: "four-eyes" } }),
    }),
  },
  {
    service: "approvals/decide-approval#approveRequest",
    permission: "approval:decide",
    write: true,
    prepare: async () => {
      const r = await pendingRequest();
      // The proof check comes after authorization; the permitted caller (the Security Officer) holds one.
      const { proof } = await issueApprovalProof(db, { requestId: r.id, payloadHash: r.payloadHash, userId: actors.SECURITY_OFFICER.id });
      return { call: (a) => approveRequest(a, { requestId: r.id, proof }), target: () => db.approvalRequest.findUnique({ where: { id: r.id }, select: { state: true } }) };
    },
  },
  {
    service: "approvals/confirm-approval-password#confirmApprovalPassword",
    permission: "approval:decide",
    write: true,
    prepare: async () => {
      const r = await pendingRequest();
      return { call: (a) => confirmApprovalPassword(a, { requestId: r.id, password: TEST_PASSWORD }), target: () => db.approvalProof.count({ where: { requestId: r.id } }) };
    },
  },
  {
    service: "approvals/decide-approval#rejectRequest",
    permission: "approval:decide",
    write: true,
    prepare: async () => {
      const r = await pendingRequest();
      return { call: (a) => rejectRequest(a, { requestId: r.id, comment: "no" }), target: () => db.approvalRequest.findUnique({ where: { id: r.id }, select: { state: true } }) };
    },
  },
  // compliance analyzer (SEC-5): every role reads the results; running the checks (stored, audited) needs audit:read
  { service: "compliance/get-compliance-overview#getComplianceOverview", permission: "job:read", write: false, prepare: read((a) => getComplianceOverview(a)) },
  {
    service: "compliance/run-compliance#runComplianceChecks",
    permission: "audit:read",
    write: true,
    prepare: async () => ({ call: (a) => runComplianceChecks(a), target: () => db.complianceRun.count() }),
  },
  // any signed-in user may cancel their own request (the service checks ownership; tested in approvals.db.test.ts)
  { service: "approvals/decide-approval#cancelRequest", permission: "inventory:read", write: false, prepare: async () => { const r = await pendingRequest(); return { call: (a) => cancelRequest(a, { requestId: r.id }).catch((e) => (e instanceof AppError && e.code === "FORBIDDEN" && /Only the person/.test(e.message) ? "not theirs" : Promise.reject(e))) }; } },
  // password-loss recovery (KEY-6); the round trip itself is in password-recovery.db.test.ts
  { service: "password-recovery/list-recovery-requests#listPasswordRecoveryRequests", permission: "job:read", write: false, prepare: read((a) => listPasswordRecoveryRequests(a)) },
  // restores: a restore point that does not exist is refused after authorization (the restores themselves: restore/*.db.test.ts)
  { service: "restore/check-restore#checkRestore", permission: "restore:run", write: false, prepare: read((a) => checkRestore(a, restoreInput())) },
  { service: "restore/start-restore#startRestore", permission: "restore:run", write: false, prepare: read((a) => startRestore(a, { vms: [restoreInput()], reason: "authorization test" }).catch(refusedAs("CONFLICT"))) },
  { service: "restore/list-disk-restore-targets#listDiskRestoreTargets", permission: "restore:run", write: false, prepare: read((a) => listDiskRestoreTargets(a, { vmExternalId: "vm-none", tenantExternalId: null })) },
  { service: "restore/check-disk-restore#checkDiskRestore", permission: "restore:run", write: false, prepare: read((a) => checkDiskRestore(a, diskRestoreInput()).catch(refusedAs("NOT_FOUND"))) },
  { service: "restore/start-disk-restore#startDiskRestore", permission: "restore:run", write: false, prepare: read((a) => startDiskRestore(a, { ...diskRestoreInput(), confirm: true, reason: "authorization test" }).catch(refusedAs("NOT_FOUND"))) },
  { service: "restore/start-rollback#startRollback", permission: "restore:run", write: false, prepare: read((a) => startRollback(a, { pointId: "0".repeat(32), mode: "quick-rollback", confirm: true, reason: "authorization test" }).catch(refusedAs("NOT_FOUND"))) },
  { service: "restore/export-disk#exportRestorePointDisk", permission: "restore:run", write: false, prepare: read((a) => exportRestorePointDisk(a, { pointId: "0".repeat(32), deviceKey: 2000 }).catch(refusedAs("NOT_FOUND"))) },
  { service: "restore/get-restore-options#getRestoreOptions", permission: "job:read", write: false, prepare: read((a) => getRestoreOptions(a, { pointId: "0".repeat(32) }).catch(refusedAs("NOT_FOUND"))) },
  {
    service: "restore/repository-key-needs#getRepositoryKeyNeeds",
    permission: "job:read",
    write: false,
    prepare: async () => {
      const { repo } = await backupFixture();
      return { call: (a) => getRepositoryKeyNeeds(a, { repositoryId: repo.id }).catch(refusedAs("CONFLICT")) };
    },
  },
  // replication jobs and replicas (REP-1…4)
  { service: "replication/create-replication-job#createReplicationJob", permission: "job:manage", write: false, prepare: read((a) => createReplicationJob(a, replicationInput()).catch(refusedAs("CONFLICT"))) },
  { service: "replication/run-replication-job#runReplicationJobNow", permission: "job:manage", write: false, prepare: read((a) => runReplicationJobNow(a, { jobId: "job-none" }).catch(refusedAs("NOT_FOUND"))) },
  { service: "replication/update-replication-job#updateReplicationJob", permission: "job:manage", write: false, prepare: read((a) => updateReplicationJob(a, "job-none", replicationInput()).catch(refusedAs("NOT_FOUND"))) },
  { service: "replication/delete-replication-job#deleteReplicationJob", permission: "job:manage", write: false, prepare: read((a) => deleteReplicationJob(a, { jobId: "job-none", deleteReplicaVms: true }).catch(refusedAs("NOT_FOUND"))) },
  { service: "replication/set-replication-job-enabled#setReplicationJobEnabled", permission: "job:manage", write: false, prepare: read((a) => setReplicationJobEnabled(a, { jobId: "job-none", enabled: true }).catch(refusedAs("NOT_FOUND"))) },
  { service: "replication/list-replicas#listReplicas", permission: "job:read", write: false, prepare: read((a) => listReplicas(a)) },
  { service: "replication/list-replicas#getReplica", permission: "job:read", write: false, prepare: read((a) => getReplica(a, { replicaId: "replica-none" }).catch(refusedAs("NOT_FOUND"))) },
  { service: "replication/get-replication-wizard-options#getReplicationWizardOptions", permission: "job:manage", write: false, prepare: read((a) => getReplicationWizardOptions(a)) },
  { service: "replication/check-replication-choices#checkReplicationChoices", permission: "job:manage", write: false, prepare: read((a) => checkReplicationChoices(a, replicationInput())) },
  { service: "replication/list-replication-jobs#listReplicationJobs", permission: "job:read", write: false, prepare: read((a) => listReplicationJobs(a)) },
  { service: "replication/list-replication-jobs#getReplicationJob", permission: "job:read", write: false, prepare: read((a) => getReplicationJob(a, { jobId: "job-none" }).catch(refusedAs("NOT_FOUND"))) },
  // failover (FOV-1): a replica that does not exist is refused after authorization (the failovers: failover/failover.db.test.ts)
  { service: "failover/check-failover#checkFailover", permission: "failover:run", write: false, prepare: read((a) => checkFailover(a, { replicas: [{ replicaId: "replica-none" }] })) },
  { service: "failover/start-failover#startFailover", permission: "failover:run", write: false, prepare: read((a) => startFailover(a, { replicaId: "replica-none", reason: "authorization test" }).catch(refusedAs("CONFLICT"))) },
  { service: "failover/start-planned-failover#startPlannedFailover", permission: "failover:run", write: false, prepare: read((a) => startPlannedFailover(a, { replicaId: "replica-none", reason: "authorization test" }).catch(refusedAs("CONFLICT"))) },
  { service: "failover/undo-failover#undoFailover", permission: "failover:run", write: false, prepare: read((a) => undoFailover(a, { replicaId: "replica-none", reason: "authorization test" }).catch(refusedAs("NOT_FOUND"))) },
  { service: "failover/permanent-failover#permanentFailover", permission: "failover:permanent", write: false, prepare: read((a) => permanentFailover(a, { replicaId: "replica-none", reason: "authorization test" }).catch(refusedAs("NOT_FOUND"))) },
  // failback (FBK-1): Backup Administrators only; a replica that does not exist is refused after authorization (the failbacks: failback/failback.db.test.ts)
  { service: "failback/get-failback-options#getFailbackOptions", permission: "failback:run", write: false, prepare: read((a) => getFailbackOptions(a, "replica-none").catch(refusedAs("NOT_FOUND"))) },
  { service: "failback/start-failback#startFailback", permission: "failback:run", write: false, prepare: read((a) => startFailback(a, { replicaId: "replica-none", destination: { kind: "original" }, reason: "authorization test" }).catch(refusedAs("CONFLICT"))) },
  { service: "failback/commit-failback#commitFailback", permission: "failback:run", write: false, prepare: read((a) => commitFailback(a, { replicaId: "replica-none", reason: "authorization test" }).catch(refusedAs("NOT_FOUND"))) },
  { service: "failback/undo-failback#undoFailback", permission: "failback:run", write: false, prepare: read((a) => undoFailback(a, { replicaId: "replica-none", reason: "authorization test" }).catch(refusedAs("NOT_FOUND"))) },
  { service: "restore/list-restorable-vms#listRestorableVms", permission: "job:read", write: false, prepare: read((a) => listRestorableVms(a)) },
  { service: "restore/list-restorable-vms#listRestorablePoints", permission: "job:read", write: false, prepare: read((a) => listRestorablePoints(a, { vmExternalId: "vm-none" }).catch(refusedAs("INVALID_INPUT")).catch(refusedAs("NOT_FOUND"))) },
  {
    service: "restore/unlock-repository#unlockRepository",
    permission: "restore:run",
    write: false,
    prepare: async () => {
      const { repo } = await backupFixture();
      return { call: (a) => unlockRepository(a, { repositoryId: repo.id, password: "x" }).catch(refusedAs("CONFLICT")) };
    },
  },
  {
    service: "backup/run-backup-job#stopRestoreSession",
    permission: "restore:run",
    write: true,
    prepare: async () => {
      const session = await db.jobSession.create({ data: { kind: "restore", title: "authz restore", state: "queued", trigger: "manual" } });
      return { call: (a) => stopRestoreSession(a, { sessionId: session.id }), target: () => db.jobSession.findUnique({ where: { id: session.id } }) };
    },
  },
  { service: "password-recovery/create-recovery-request#createPasswordRecoveryRequest", permission: "job:manage", write: false, prepare: read((a) => createPasswordRecoveryRequest(a, { pointIds: ["0".repeat(32)] }).catch(refusedAs("INVALID_INPUT"))) },
  { service: "password-recovery/answer-recovery-request#answerPasswordRecoveryRequest", permission: "keyset:manage", write: false, prepare: read((a) => answerPasswordRecoveryRequest(a, { requestText: "{}" }).catch(refusedAs("INVALID_INPUT"))) },
  { service: "password-recovery/apply-recovery-response#applyPasswordRecoveryResponse", permission: "job:manage", write: false, prepare: read((a) => applyPasswordRecoveryResponse(a, { responseText: "{}" }).catch(refusedAs("INVALID_INPUT"))) },
  // deleting a point whose repository folder is gone: a permitted caller gets past authorization to the clear CONFLICT
  {
    service: "backup/delete-restore-point#deleteRestorePoint",
    permission: "job:manage",
    write: false,
    prepare: async () => {
      const { repo, job, vm } = await backupFixture();
      const id = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
      await db.restorePoint.create({ data: { id, repositoryId: repo.id, jobId: job.id, chainId: "0".repeat(32), vmExternalId: "vm-x", vmName: vm.name, createdAt: new Date(), incremental: false, vmEncrypted: false, keyIds: "[]", diskCount: 1 } });
      return { call: (a) => deleteRestorePoint(a, { pointId: id }).catch(refusedAs("CONFLICT")) };
    },
  },
];

// Exported functions of lib/services that are not reachable by a signed-in user, and why.
const NOT_ACTOR_FACING: Record<string, string> = {
  "auth/bootstrap-admin#bootstrapAdmin": "system: first start, before any user exists",
  "auth/sign-in#signIn": "runs before there is an actor (tested in auth/sign-in.db.test.ts)",
  "auth/sign-in-throttle#throttleKeys": "helper of signIn",
  "auth/sign-in-throttle#isThrottled": "helper of signIn",
  "auth/sign-in-throttle#recordFailure": "helper of signIn",
  "auth/sign-in-throttle#clearFailures": "helper of signIn",
  "auth/sign-in-throttle#signInSubject": "pure helper",
  "auth/sign-in-throttle#approvalSubject": "pure helper",
  "auth/sign-in-throttle#clearSubject": "helper of clearSignInLocks (after it authorized)",
  "auth/sign-in-throttle#lockedSubjects": "helper of listUsers (after it authorized)",
  "auth/user-sessions#startUserSession": "runs at sign-in, before there is an actor",
  "auth/user-sessions#isSessionLive": "helper of resolveSessionUser",
  "auth/user-sessions#revokeSession": "helper of signOut",
  "auth/user-sessions#revokeUserSessions": "helper inside the user services' transactions",
  "auth/sign-out#signOut": "the browser's own session, named by its signed cookie (next-auth's sign-out event)",
  "auth/resolve-session#resolveSessionUser": "runs before there is an actor: it makes one from the session cookie",
  "approvals/apply-security-officer-change#applySecurityOfficerChange": "helper of applyApproval",
  "approvals/approver-independence#dependenceOnRequester": "pure helper",
  "approvals/approver-independence#refuseDependentApprover": "helper inside the approval transactions",
  "approvals/approval-proof#issueApprovalProof": "helper of confirmApprovalPassword (after it authorized)",
  "approvals/approval-proof#spendApprovalProof": "helper of approveRequest (after it authorized)",
  "audit/audit-chain#chainHash": "pure helper",
  "audit/audit-chain#redactDetails": "pure helper",
  "audit/audit-anchor#checkpointPath": "pure helper",
  "audit/audit-anchor#readAnchor": "helper of verifyAuditChain and checkpointAuditChain",
  "audit/audit-anchor#writeAnchor": "helper of checkpointAuditChain",
  "audit/audit-key#ensureAuditKey": "helper of the audit chain: loads the key",
  "audit/audit-key#auditKey": "helper of the audit chain",
  "audit/checkpoint-audit-chain#checkpointAuditChain": "system: the runner's periodic tick",
  "backup/repository-folder#canonicalRepositoryFolder": "helper of createBackupRepository",
  "audit/record-audit-event#recordAuditEvent": "called by services after they have authorized",
  "audit/list-audit-events#toAuditEventDto": "pure helper",
  "audit/audit-filter#auditWhere": "pure helper: the filters as a where clause",
  "audit/audit-filter#activeFilters": "pure helper",
  "inventory/sync-inventory#syncInventoryFromPlatform": "system: the start script's first sync; users go through syncInventory",
  "inventory/attention#findAttentionItems": "helper of getDashboard",
  "inventory/platform#platform": "chooses the platform connector",
  "inventory/reconcile#reconcile": "helper of the sync",
  "inventory/inventory-dto#bytes": "pure helper",
  "inventory/site-order#bySiteOrder": "pure helper",
  "inventory/search-key#searchKey": "pure helper",
  "users/user-dto#toUserDto": "pure helper",
  "kms/check-kms-clusters#checkKmsCluster": "system: the KMS monitor and registration; users go through checkKmsClusterNow",
  "kms/check-kms-clusters#checkAllKmsClusters": "system: the KMS monitor's round",
  "kms/config-secrets#sealSecret": "helper: seals configuration secrets",
  "kms/config-secrets#openSecret": "helper: opens configuration secrets",
  "kms/kms-cluster-dto#parseServers": "pure helper",
  "kms/kms-cluster-dto#toKmsClusterDto": "pure helper",
  "kms/kms-credentials#checkCredentialPems": "pure helper of register/test",
  "kms/kms-credentials#secretContext": "pure helper",
  "kms/kms-credentials#openCredentials": "helper: opens a cluster's credentials for one connection",
  "kms/kms-probe#probeKms": "helper of test/check (no database)",
  "kms/kms-probe#describeKmsError": "pure helper",
  "kms/kms-monitor#startKmsMonitor": "system: started by the server (instrumentation.ts)",
  "kms/lab-key-sources#keySourceFor": "system: the lab's hosts ask it for key-encryption keys",
  "inventory/platform-errors#toAppError": "pure helper",
  "inventory/platform-errors#platformCall": "helper of the runtime services",
  "vms/vm-ref#vmRef": "helper of the VM services (after they authorized)",
  "users/user-guards#loadUser": "helper inside a service's transaction",
  "users/user-guards#refuseSelf": "helper of the user services",
  "users/user-guards#keepOneActiveAdmin": "helper inside a service's transaction",
  "inventory/platform#backupHost": "the platform's backup interface, for the runner",
  "backup/delete-restore-point#deleteRestorePointNow": "helper of deleteRestorePoint and of an approved request",
  "password-recovery/recovery-documents#parseDocument": "pure helper",
  "password-recovery/recovered-keys#addRecoveredKeys": "helper of the verify runner",
  "password-recovery/apply-recovery-response#recoveredKeyContext": "pure helper",
  "approvals/create-approval-request#createApprovalRequest": "helper of the guarded services (after they authorized)",
  "approvals/apply-approval#applyApproval": "helper of approveRequest",
  "approvals/four-eyes-state#readFourEyes": "helper",
  "approvals/four-eyes-state#writeFourEyes": "helper of setFourEyes and approvals",
  "approvals/four-eyes-state#activeSecurityOfficers": "helper",
  "approvals/four-eyes-state#keepTwoSecurityOfficers": "helper inside the user services' transactions",
  "approvals/approval-payload#canonicalJson": "pure helper",
  "approvals/approval-payload#payloadHash": "pure helper",
  "backup/default-repository#ensureDefaultRepository": "system: first start",
  "backup/job-keys#deriveUserKey": "helper of the job services (after they authorized)",
  "backup/job-keys#deriveConsoleKey": "helper of the job services",
  "backup/job-keys#openUserKey": "helper of the runner",
  "backup/job-keys#kmsKeyNameFor": "pure helper",
  "backup/job-keys#kmsWrapperFor": "helper of the job services and the runner",
  "backup/job-keys#protectionPlanFor": "helper of the runner",
  "backup/job-context#resolveSelection": "helper of the job services and the runner",
  "backup/job-context#candidateProxies": "helper of the job services and the runner",
  "backup/job-context#keyProviderNames": "helper of the job services and the runner",
  "backup/job-context#keyProviderReachable": "pure helper",
  "backup/job-dto#parseSchedule": "pure helper",
  "backup/job-dto#parseSelection": "pure helper",
  "backup/job-dto#parseIds": "pure helper",
  "backup/job-dto#toJobSummaryDto": "pure helper",
  "backup/repository-dto#toRepositoryDto": "pure helper",
  "backup/repository-store#openCataloguedRepository": "helper of the services and the runner",
  "recovery/runner-keysets#activeRecoveryKeysets": "system: the runner adds the active keysets' public keys to each session's protection",
  "recovery/runner-keysets#maintainRecoveryKeysets": "system: the runner applies the keyset policy (rotation, retention) at start and hourly",
  "recovery/keyset-store#readKeysetPolicy": "helper of the keyset services and the runner",
  "recovery/keyset-store#newKeyset": "helper: generates a key pair (after the caller authorized)",
  "recovery/keyset-store#keysetRowData": "helper: a keyset's row, private key sealed",
  "recovery/keyset-store#keysetFromRow": "helper of the keyset services and the runner",
  "compliance/run-compliance#runDailyCompliance": "system: the runner's daily compliance run (audited with no actor)",
  "compliance/load-compliance-data#loadComplianceData": "helper of runComplianceChecks (after it authorized) and the daily run",
  "compliance/load-replication-compliance#loadReplicationCompliance": "helper of loadComplianceData",
  "compliance/compliance-dto#toComplianceRunDto": "pure helper",
  "backup/sessions/prepare-backup-session#prepareBackupSession": "system: the backup-session job (the queue calls it)",
  "backup/sessions/prepare-backup-session#emptyVmProgress": "pure helper",
  "backup/sessions/run-backup-vm#runBackupVm": "system: the backup-vm job (the queue calls it)",
  "backup/sessions/finish-backup-session#finishBackupSession": "system: closes a session after its last VM",
  "backup/sessions/backup-session-context#withBackupSessionContext": "helper of the backup-vm job",
  "backup/sessions/run-repository-verify#runRepositoryVerifyJob": "system: the repository-verify job (the queue calls it)",
  "backup/sessions/run-repository-verify#runRepositoryVerify": "helper of the verify job",
  "backup/sessions/schedule-backup-jobs#scheduleDueBackupJobs": "system: the backup-schedule job (the queue calls it)",
  "start-job-engine#startConsoleJobEngine": "system: the server starts it (instrumentation.ts)",
  "start-job-engine#startWorkerJobEngine": "system: `npm run worker` starts it",
  "backup/schedule-time-zone#scheduleTimeZone": "pure helper: reads the configured time zone",
  "approvals/decide-approval#pendingRequest": "helper inside approveRequest/rejectRequest's transaction",
  "backup/reconcile-catalogue#reconcileCatalogue": "system: sets the catalogue straight against a repository folder (sessions, verify)",
  "backup/repository-maintenance#describeMaintenance": "pure helper",
  "backup/repository-maintenance#reportCatalogue": "helper of the backup and verify jobs",
  "backup/verify-findings#missingPoints": "helper of the verify job",
  "backup/verify-findings#repositoryDamage": "helper of the verify job",
  "jobs/job-dto#toWorkerRef": "pure helper",
  "backup/repository-key-ring#repositoryKeySealContext": "pure helper",
  "backup/repository-key-ring#repositoryKeyRing": "helper of verifies and restores (after they authorized)",
  "inventory/platform#restoreHost": "chooses the platform connector (restores)",
  "restore/check-restore#checkRestoreVm": "helper of checkRestore and startRestore (after they authorized)",
  "restore/check-disk-restore#decryptionRefusal": "helper of checkDiskRestore and startDiskRestore (after they authorized): four-eyes for a disk written unencrypted (SEC-2)",
  "restore/check-disk-restore#planDiskRestoreNow": "helper of checkDiskRestore, startDiskRestore (after they authorized) and the restore-disks job",
  "restore/disk-restore-plan#planDiskRestore": "pure helper: the disk restore's plan against an inventory",
  "restore/disk-restore-plan#pointDisksOf": "pure helper",
  "restore/restore-session#checkRestoreSession": "helper of startRestore (after it authorized) and of an approved restore request",
  "restore/restore-session#queueRestoreSession": "helper inside startRestore's transaction and an approved restore request's",
  "restore/restore-approval#approvalNeed": "helper of checkRestore and startRestore (after they authorized): whether four-eyes applies (SEC-2)",
  "restore/restore-approval#requestRestoreApproval": "helper inside startRestore's transaction (after it authorized)",
  "restore/restore-approval#recheckRestoreRequest": "helper of approveRequest (after it authorized)",
  "restore/restore-approval#startApprovedRestore": "helper inside approveRequest's transaction",
  "approvals/apply-approval#prepareApproval": "helper of approveRequest (after it authorized)",
  "restore/finish-restore-session#finishRestoreSession": "system: the restore-vm job's end",
  "restore/open-restore-point#openRestorePoint": "helper of the restore services (after they authorized) and the restore-vm job",
  "restore/run-restore-vm#runRestoreVm": "system: the restore-vm job (the queue calls it)",
  "replication/run-replicate-vm#runReplicateVm": "system: the replicate-vm job (the queue calls it)",
  "replication/finish-replication-session#finishReplicationSession": "system: the replicate-vm job's end",
  "replication/check-replication-job#checkReplicationJob": "helper of createReplicationJob (after it authorized)",
  "replication/check-replication-job#placementOf": "pure helper",
  "replication/create-replication-job#checkSeeds": "helper of createReplicationJob and updateReplicationJob (after they authorized)",
  "replication/seed-point#openSeedPoint": "helper of createReplicationJob (after it authorized) and of the replicate-vm job",
  "replication/target-key-provider#targetKeyProviderProblem": "helper of the replicate-vm job",
  "replication/check-replication-job#kmsClusterOf": "helper of checkReplicationJob and the wizard's options (after they authorized)",
  "replication/check-replication-job#reaches": "pure helper: whether a target key provider reaches the source's key (shared keys)",
  "restore/get-restore-options#reachOf": "pure helper: a key provider's reachability as last checked",
  "replication/run-replication-job#activeReplicationSession": "helper inside runReplicationJobNow's, the scheduler's and the edit's transactions",
  "replication/run-replication-job#queueReplicationSession": "helper inside runReplicationJobNow's transaction (after it authorized) and the scheduler's",
  "replication/schedule-replication-jobs#scheduleDueReplicationJobs": "system: the replication-schedule job (the queue calls it)",
  "replication/replication-job-changes#chainPlan": "pure helper",
  "replication/replication-job-changes#weakenings": "pure helper",
  "replication/replication-job-changes#changedFields": "pure helper",
  "replication/update-replication-job#checkUpdate": "helper of updateReplicationJob (after it authorized) and of an approved request",
  "replication/update-replication-job#applyReplicationJobUpdate": "helper inside updateReplicationJob's transaction and an approved request's",
  "replication/update-replication-job#recheckReplicationRequest": "helper of approveRequest (after it authorized)",
  "replication/update-replication-job#applyApprovedReplicationUpdate": "helper inside approveRequest's transaction",
  "jobs/claim-source-vm#claimSourceVm": "system: the backup-vm and replicate-vm jobs claim their VM",
  "jobs/claim-source-vm#waitAndClaimSourceVm": "system: the backup-vm and replicate-vm jobs claim their VM",
  "jobs/claim-source-vm#holderText": "pure helper",
  "inventory/platform#replicationHosts": "chooses the platform connector (replication)",
  "inventory/platform#failoverHost": "chooses the platform connector (failover)",
  "failover/check-failover#planFailover": "helper of checkFailover and startFailover (after they authorized) and of the failover job",
  "failover/failover-session#enqueueFailoverSession": "helper of startFailover, undoFailover and permanentFailover (after they authorized)",
  "failover/run-failover#runFailover": "system: the failover job (the queue calls it)",
  "failover/sync-replica#syncReplica": "system: a planned failover's syncs, inside the failover job",
  "failover/failover-rules#failoverRefusal": "pure helper",
  "failover/failover-rules#allowedFailoverActions": "pure helper",
  "failover/failover-rules#failbackRefusal": "pure helper",
  "inventory/platform#failbackHosts": "chooses the platform connector (failback)",
  "failback/failback-destination#planFailbackDestination": "helper of startFailback (after it authorized)",
  "failback/failback-session#enqueueFailbackSession": "helper of startFailback, commitFailback and undoFailback (after they authorized)",
  "failback/run-failback#runFailback": "system: the failback job (the queue calls it)",
  "jobs/job-dto#loadWorkers": "helper of listSessions/listWorkers (after they authorized)",
  "jobs/job-dto#parseSubject": "pure helper",
  "jobs/job-dto#resolveSubjects": "helper of listSessions (after it authorized)",
  "jobs/job-dto#kindLabel": "pure helper",
  "jobs/list-sessions.schema#encodeSessionCursor": "pure helper",
  "jobs/list-sessions.schema#decodeSessionCursor": "pure helper",
  "jobs/list-workers#parseTasks": "pure helper",
};

const servicesDir = path.resolve(__dirname);
const serviceFiles = (fs.readdirSync(servicesDir, { recursive: true }) as string[])
  .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
  .map((f) => f.split(path.sep).join("/"));

const actors = {} as Record<Role, Actor>;
beforeAll(async () => {
  await syncInventoryFromPlatform();
  for (const role of ROLES) actors[role] = await makeActor(role);
});

describe("the table of services", () => {
  it("covers every exported function of lib/services (or says why it is not actor-facing)", async () => {
    const exported: string[] = [];
    for (const file of serviceFiles) {
      const mod = (await import(path.join(servicesDir, file))) as Record<string, unknown>;
      for (const [name, value] of Object.entries(mod)) if (typeof value === "function") exported.push(`${file.replace(/\.ts$/, "")}#${name}`);
    }
    const listed = [...SERVICES.map((s) => s.service), ...Object.keys(NOT_ACTOR_FACING)];
    expect(exported.filter((e) => !listed.includes(e)), "services missing from the table").toEqual([]);
    expect(listed.filter((l) => !exported.includes(l)), "table entries that no longer exist").toEqual([]);
    expect(new Set(listed).size).toBe(listed.length);
  });

  it.each(SERVICES.map((s) => [s.service, s.permission] as const))("%s authorizes %s before anything else", (service, permission) => {
    const [file, name] = service.split("#");
    const source = fs.readFileSync(path.join(servicesDir, `${file}.ts`), "utf8");
    const sf = ts.createSourceFile(`${file}.ts`, source, ts.ScriptTarget.Latest, true);
    const fn = sf.statements.find((s): s is ts.FunctionDeclaration => ts.isFunctionDeclaration(s) && s.name?.text === name);
    expect(fn?.body, `${name} is not a function declaration in ${file}.ts`).toBeDefined();
    const actorParam = fn!.parameters[0]?.name.getText(sf);
    expect(actorParam).toBe("actor");
    const first = fn!.body!.statements[0];
    expect(first?.getText(sf)).toBe(`authorize(actor, "${permission}");`);
  });
});

describe.each(SERVICES)("$service (needs $permission)", (svc) => {
  it.each(ROLES)("as %s", async (role) => {
    const actor = actors[role];
    const { call, target } = await svc.prepare();
    const before = await dbState();
    const targetBefore = await target?.();

    if (hasPermission(role, svc.permission)) {
      await expect(call(actor)).resolves.toBeDefined();
      if (svc.write) {
        // A permitted write changes its target and leaves an audit event by this actor.
        expect(await target!()).not.toEqual(targetBefore);
        const after = await dbState();
        expect(after.auditTail!.seq).toBeGreaterThan(before.auditTail?.seq ?? 0);
        const events = await db.auditEvent.findMany({ where: { seq: { gt: before.auditTail?.seq ?? 0 }, actorId: actor.id } });
        expect(events.length).toBeGreaterThan(0);
      }
      return;
    }

    const error = await call(actor).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error, `${role} was let through`).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe("FORBIDDEN");
    expect((error as AppError).message).toContain(ROLE_LABELS[role]);
    await expectUnchangedSince(before);
    if (svc.write) expect(await target!()).toEqual(targetBefore);
  });
});

describe("without an actor", () => {
  it.each(SERVICES)("$service answers UNAUTHENTICATED", async (svc) => {
    const { call } = await svc.prepare();
    const before = await dbState();
    await expect(call(null as unknown as Actor)).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    expect(await dbState()).toEqual(before);
  });
});
