// Every server action of the console and the permission it needs (SEC-1), as data. The action
// wrapper (lib/auth/safe-action.ts) checks it before it even parses the input, and the service
// behind the action checks its own permission again. lib/permissions/server-actions.test.ts scans
// every "use server" file under app/ and proves this table lists each action exactly once, and
// that each refuses every role the permission map (roles.ts) does not grant.
import type { Permission } from "./roles";

export const ACTION_PERMISSIONS = {
  // approvals (SEC-2)
  "approval.reauthenticate": "approval:decide",
  "approval.approve": "approval:decide",
  "approval.reject": "approval:decide",
  "approval.cancel": "inventory:read", // the requester withdraws their own request (the service checks it is theirs)
  "four-eyes.settings": "approval:decide",
  // compliance (SEC-5)
  "compliance.run": "audit:read",
  // inventory and VMs
  "inventory.sync": "inventory:sync",
  "vm.power": "vm:operate",
  "vm.guest-writes": "vm:operate",
  "vm.change-encryption": "vm:operate",
  // backup jobs, sessions, restore points, repositories
  "job.run": "job:manage",
  "job.stop": "job:manage",
  "restore.stop": "restore:run",
  "job.set-enabled": "job:manage",
  "job.create": "job:manage",
  "job.update": "job:manage",
  "restore-point.delete": "job:manage",
  "repository.create": "job:manage",
  "repository.verify": "job:manage",
  // replication jobs (REP-1…4)
  "replication.check": "job:manage",
  "replication.create": "job:manage",
  "replication.run": "job:manage",
  // replication jobs (REP-1): edit, delete, enable/disable (Backup Administrators)
  "replication.update": "job:manage",
  "replication.delete": "job:manage",
  "replication.set-enabled": "job:manage",
  // restore (RST-1…6)
  "restore.check": "restore:run",
  "restore.start": "restore:run",
  "restore.rollback": "restore:run", // in place: overwrite or quick rollback (RST-1)
  "restore.disks.check": "restore:run", // disks to an existing VM (RST-7)
  "restore.disks.start": "restore:run",
  "restore.unlock-repository": "restore:run", // disaster recovery: the backup password of an adopted repository (KEY-9)
  // failover (FOV-1)
  "failover.check": "failover:run",
  "failover.start": "failover:run",
  "failover.planned": "failover:run",
  "failover.undo": "failover:run",
  "failover.permanent": "failover:permanent", // the source leaves its job, the points are committed: Backup Administrators only
  // failback (FBK-1): production VMs are overwritten or created: Backup Administrators only
  "failback.start": "failback:run",
  "failback.commit": "failback:run",
  "failback.undo": "failback:run",
  // key providers and KMS clusters
  "kms.test-connection": "keyprovider:manage",
  "kms.register": "keyprovider:manage",
  "kms.check": "keyprovider:manage",
  "kms.remove": "keyprovider:manage",
  "keyprovider.set-default": "keyprovider:manage",
  "keyprovider.assign-tenant": "keyprovider:manage",
  // password recovery and recovery keysets (KEY-6)
  "recovery.request": "job:manage",
  "recovery.answer": "keyset:manage",
  "recovery.apply": "job:manage",
  "keyset.generate": "keyset:manage",
  "keyset.retire": "keyset:manage",
  "keyset.import": "keyset:manage",
  "keyset.policy": "keyset:manage",
  "keyset.export": "keyset:manage",
  // users and sign-in
  "user.create": "user:manage",
  "user.change-role": "user:manage",
  "user.set-disabled": "user:manage",
  "user.reset-password": "user:manage",
  "user.end-sessions": "user:manage",
  "user.clear-sign-in-lock": "signin:unlock",
} as const satisfies Record<string, Permission>;

export type ActionName = keyof typeof ACTION_PERMISSIONS;
