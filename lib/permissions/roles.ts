// Roles and permissions as data (SEC-1; ARCHITECTURE.md "Permissions are data"). Outside lib/auth
// because client components need the role names; deciding stays on the server (lib/auth/authorize.ts).

export const ROLES = ["BACKUP_ADMIN", "RESTORE_OPERATOR", "BACKUP_VIEWER", "SECURITY_OFFICER"] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = {
  BACKUP_ADMIN: "Backup Administrator",
  RESTORE_OPERATOR: "Restore Operator",
  BACKUP_VIEWER: "Backup Viewer",
  SECURITY_OFFICER: "Security Officer",
};

export const PERMISSIONS = [
  "inventory:read", // sites, hosts, VMs, datastores, policies, key providers, proxies
  "inventory:sync", // ask the platform connector for a fresh inventory
  "keyprovider:manage", // register, test and remove KMS clusters
  "vm:operate", // power on/off, encrypt/decrypt/re-key a VM (and, in the lab, simulate guest writes)
  "user:read",
  "user:manage", // create, disable, change role, reset password
  "audit:read",
  "job:read", // backup / replication jobs and their sessions (later issues)
  "job:manage",
  "restore:run",
  "failover:run", // check, fail over a replica and undo a failover (FOV-1)
  "failover:permanent", // make a failed-over replica the production VM: its points committed, the source dropped from the job
  "failback:run", // fail a replica back to production, commit or undo the failback (FBK-1): it overwrites production VMs
  "approval:decide", // four-eyes: approve or reject requests of others (SEC-2)
  "keyset:manage", // recovery keysets (KEY-6): generate, import, export, retire, rotation policy
  "signin:unlock", // clear a user's sign-in lock after too many failed passwords, for them (SEC-1)
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLE_PERMISSIONS = {
  BACKUP_ADMIN: [
    "inventory:read",
    "inventory:sync",
    "keyprovider:manage",
    "vm:operate",
    "user:read",
    "user:manage",
    "audit:read",
    "job:read",
    "job:manage",
    "restore:run",
    "failover:run",
    "failover:permanent",
    "failback:run",
    "signin:unlock",
  ],
  RESTORE_OPERATOR: ["inventory:read", "job:read", "restore:run", "failover:run"],
  BACKUP_VIEWER: ["inventory:read", "job:read"],
  // keyset:manage is the Security Officer's alone: exporting a keyset hands out a private key that
  // opens every backup made while it was active, whatever their passwords — a Security Officer's
  // act, kept apart from the administrators who run the backups (KEY-6).
  SECURITY_OFFICER: ["inventory:read", "user:read", "audit:read", "job:read", "approval:decide", "keyset:manage", "signin:unlock"],
} as const satisfies Record<Role, readonly Permission[]>;

export function hasPermission(role: Role, permission: Permission): boolean {
  return (ROLE_PERMISSIONS[role] as readonly Permission[]).includes(permission);
}

export function permissionsOf(role: Role): Permission[] {
  return [...ROLE_PERMISSIONS[role]];
}

/** The roles that hold a permission, from the map: who to ask when someone lacks it. */
export function rolesWith(permission: Permission): Role[] {
  return ROLES.filter((role) => hasPermission(role, permission));
}

/** "Ask a Security Officer." / "Ask a Backup Administrator or a Security Officer." — from the map. */
export function whoToAsk(permission: Permission): string {
  const labels = rolesWith(permission).map((r) => `a ${ROLE_LABELS[r]}`);
  if (labels.length === 0) return "No role may do this.";
  return `Ask ${labels.length === 1 ? labels[0] : `${labels.slice(0, -1).join(", ")} or ${labels[labels.length - 1]}`}.`;
}
