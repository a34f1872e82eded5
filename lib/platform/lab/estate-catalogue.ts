// What lives in the lab estate: the two sites, the tenants of the service-provider layout, the
// kinds of VM each owner runs, and a hand-picked core of VMs that covers every encryption case.
//
// Pure data. estate.ts turns it into an InventorySnapshot.

export type SiteKey = "prod" | "dr";
export type OwnerKey = "acme" | "globex" | "provider";

/**
 * How a VM is protected, as the combinations an administrator meets (VME-2, VME-5, INV-2):
 * "-guest" means the guest OS encrypts its own disks (BitLocker, LUKS), which the host cannot see.
 * vTPM always implies VM encryption, so there is no unencrypted vTPM case.
 */
export type Protection = "plain" | "plain-guest" | "vme" | "vme-guest" | "vtpm" | "vtpm-guest";
export const PROTECTIONS: readonly Protection[] = ["plain", "plain-guest", "vme", "vme-guest", "vtpm", "vtpm-guest"];

export const SITES = {
  prod: {
    externalId: "vc-prod-ams",
    name: "Production (Amsterdam)",
    role: "production",
    vcenterHost: "vcsa-prod.ams.lab",
    location: "Amsterdam, NL",
    short: "ams",
    domain: "prod.ams.lab",
    esxiVersion: "8.0.3",
  },
  dr: {
    externalId: "vc-dr-rtm",
    name: "Disaster recovery (Rotterdam)",
    role: "dr",
    vcenterHost: "vcsa-dr.rtm.lab",
    location: "Rotterdam, NL",
    short: "rtm",
    domain: "dr.rtm.lab",
    // DR lags one update behind production, as it usually does.
    esxiVersion: "8.0.2",
  },
} as const;

const WIN2022 = "Microsoft Windows Server 2022 (64-bit)";
const WIN2019 = "Microsoft Windows Server 2019 (64-bit)";
const WIN11 = "Microsoft Windows 11 (64-bit)";
const RHEL9 = "Red Hat Enterprise Linux 9 (64-bit)";
const RHEL8 = "Red Hat Enterprise Linux 8 (64-bit)";
const UBUNTU = "Ubuntu Linux (64-bit)";
const DEBIAN = "Debian GNU/Linux 12 (64-bit)";
const SLES = "SUSE Linux Enterprise 15 (64-bit)";

export interface RoleProfile {
  folder: string; // below the owner's folder root
  guestOs: readonly string[];
  cpu: readonly number[];
  memoryGiB: readonly number[];
  diskCount: readonly [min: number, max: number];
  systemDiskGiB: readonly number[];
  dataDiskGiB: readonly number[];
}

function role(
  folder: string,
  guestOs: readonly string[],
  cpu: readonly number[],
  memoryGiB: readonly number[],
  diskCount: readonly [number, number],
  systemDiskGiB: readonly number[],
  dataDiskGiB: readonly number[] = [],
): RoleProfile {
  return { folder, guestOs, cpu, memoryGiB, diskCount, systemDiskGiB, dataDiskGiB };
}

export interface OwnerProfile {
  prefix: string; // VM names: "<prefix>-<role>-<nn>"
  tenant: { externalId: string; name: string; kmsDomain: string } | null;
  folderRoot: string;
  /** Share of the VMs generated beyond the core catalogue. */
  share: number;
  protectionWeights: Readonly<Record<Protection, number>>;
  roles: Readonly<Record<string, RoleProfile>>;
}

export const OWNERS: Readonly<Record<OwnerKey, OwnerProfile>> = {
  acme: {
    prefix: "acme",
    tenant: { externalId: "tenant-acme", name: "Acme Logistics", kmsDomain: "acme.example" },
    folderRoot: "/Tenants/Acme Logistics",
    share: 0.4,
    protectionWeights: { plain: 45, "plain-guest": 5, vme: 30, "vme-guest": 5, vtpm: 10, "vtpm-guest": 5 },
    roles: {
      web: role("Web", [UBUNTU, RHEL9], [2, 4], [4, 8], [1, 2], [40, 60], [50, 100]),
      app: role("Applications", [RHEL9, RHEL8], [4, 8], [8, 16], [1, 3], [60], [100, 200]),
      sql: role("Databases", [WIN2022], [8, 16], [32, 64], [3, 4], [100], [200, 300, 500]),
      dc: role("Infrastructure", [WIN2022, WIN2019], [2], [8], [1, 2], [80], [40]),
      files: role("Infrastructure", [WIN2019, WIN2022], [4], [8, 16], [2, 3], [100], [500, 1024]),
      edi: role("Applications", [RHEL8], [2, 4], [8], [1, 2], [60], [100]),
      wms: role("Applications", [WIN2022], [4, 8], [16, 32], [2, 3], [100], [200]),
      vdi: role("Desktops", [WIN11], [2, 4], [8, 16], [1, 1], [64, 128]),
    },
  },
  globex: {
    prefix: "globex",
    tenant: { externalId: "tenant-globex", name: "Globex Health", kmsDomain: "globex.example" },
    folderRoot: "/Tenants/Globex Health",
    share: 0.35,
    // Patient data: a health tenant encrypts far more than a logistics one.
    protectionWeights: { plain: 15, "plain-guest": 10, vme: 40, "vme-guest": 10, vtpm: 15, "vtpm-guest": 10 },
    roles: {
      web: role("Portal", [UBUNTU], [2, 4], [4, 8], [1, 2], [40], [50]),
      ehr: role("Clinical", [RHEL9], [4, 8], [16, 32], [2, 3], [60], [200, 300]),
      sql: role("Databases", [WIN2022], [8, 16], [64, 128], [3, 4], [120], [300, 500]),
      pacs: role("Imaging", [WIN2022], [8], [32], [2, 4], [100], [500, 1024]),
      hl7: role("Integration", [UBUNTU, SLES], [2, 4], [8], [1, 2], [40], [60]),
      dc: role("Infrastructure", [WIN2022], [2], [8], [1, 2], [80], [40]),
      vdi: role("Desktops", [WIN11], [2, 4], [8, 16], [1, 1], [64, 128]),
    },
  },
  provider: {
    prefix: "prov",
    tenant: null,
    folderRoot: "/Provider",
    share: 0.25,
    protectionWeights: { plain: 40, "plain-guest": 10, vme: 25, "vme-guest": 5, vtpm: 15, "vtpm-guest": 5 },
    roles: {
      dc: role("Infrastructure", [WIN2022], [2, 4], [8], [1, 2], [80], [40]),
      ipam: role("Infrastructure", [UBUNTU], [2], [4], [1, 1], [40]),
      jump: role("Management", [WIN2022], [2, 4], [8, 16], [1, 1], [100]),
      mon: role("Management", [UBUNTU, DEBIAN], [4], [16], [2, 2], [40], [200]),
      log: role("Management", [DEBIAN], [4], [16], [2, 3], [40], [300, 500]),
      pki: role("Security", [WIN2022], [2], [8], [1, 1], [80]),
      vault: role("Security", [RHEL9], [2, 4], [8], [1, 2], [40], [20]),
    },
  },
};

export interface VmSpec {
  owner: OwnerKey;
  role: string;
  site: SiteKey;
  protection: Protection;
  /** Provider-owned encrypted VMs only: use the site's native key provider rather than Provider KMS. */
  native?: boolean;
}

const spec = (owner: OwnerKey, role: string, site: SiteKey, protection: Protection, native = false): VmSpec => ({
  owner,
  role,
  site,
  protection,
  ...(native ? { native } : {}),
});

/**
 * The hand-picked core: 36 VMs, 7 of them at DR (a second domain controller per tenant and some
 * provider infrastructure). Each owner's list starts with the cases that matter most, and the lists
 * are interleaved, so a smaller lab (vmCount < 36) still shows every owner and most combinations.
 */
const CORE_BY_OWNER: readonly (readonly VmSpec[])[] = [
  [
    spec("acme", "web", "prod", "plain"),
    spec("acme", "app", "prod", "vme"),
    spec("acme", "dc", "prod", "vtpm"),
    spec("acme", "sql", "prod", "vme-guest"),
    spec("acme", "dc", "dr", "vtpm"),
    spec("acme", "files", "prod", "plain-guest"),
    spec("acme", "vdi", "prod", "vtpm-guest"),
    spec("acme", "web", "prod", "plain"),
    spec("acme", "app", "prod", "vme"),
    spec("acme", "sql", "prod", "vme"),
    spec("acme", "edi", "prod", "plain"),
    spec("acme", "wms", "prod", "vme"),
    spec("acme", "web", "dr", "plain"),
  ],
  [
    spec("globex", "ehr", "prod", "vme"),
    spec("globex", "vdi", "prod", "vtpm-guest"),
    spec("globex", "web", "prod", "plain"),
    spec("globex", "sql", "prod", "vme-guest"),
    spec("globex", "dc", "prod", "vtpm"),
    spec("globex", "web", "prod", "plain-guest"),
    spec("globex", "dc", "dr", "vtpm"),
    spec("globex", "pacs", "prod", "vme"),
    spec("globex", "ehr", "prod", "vme-guest"),
    spec("globex", "hl7", "prod", "plain"),
    spec("globex", "sql", "prod", "vme"),
    spec("globex", "hl7", "dr", "vme"),
  ],
  [
    spec("provider", "dc", "prod", "vtpm", true),
    spec("provider", "pki", "prod", "vtpm"),
    spec("provider", "mon", "prod", "plain"),
    spec("provider", "dc", "prod", "vme", true),
    spec("provider", "dc", "dr", "vtpm", true),
    spec("provider", "log", "prod", "plain-guest"),
    spec("provider", "jump", "prod", "vtpm-guest"),
    spec("provider", "vault", "prod", "vme-guest"),
    spec("provider", "ipam", "prod", "plain"),
    spec("provider", "mon", "dr", "plain"),
    spec("provider", "jump", "dr", "vme", true),
  ],
];

function interleave<T>(lists: readonly (readonly T[])[]): T[] {
  const out: T[] = [];
  const longest = Math.max(...lists.map((list) => list.length));
  for (let i = 0; i < longest; i++) for (const list of lists) if (i < list.length) out.push(list[i]);
  return out;
}

export const CORE_VMS: readonly VmSpec[] = interleave(CORE_BY_OWNER);
