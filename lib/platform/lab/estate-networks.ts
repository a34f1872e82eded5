// The lab's networks (INV-1: a site has networks): the port groups of each site (which hosts have them, their VLANs) and each
// VM's network adapters. Drawn from their own random streams after everything else, so adding
// networks changed none of the estate's other ids, VMs or disks.
//
// Production and DR name their networks differently (as sites built years apart do), except the
// default "VM Network": a restore to DR finds few networks by name and leaves the others to be mapped.

import type { NicAdapterType, PlatformHost, PlatformNetwork, PlatformNic, PlatformVm } from "../connector";
import type { OwnerKey, SiteKey } from "./estate-catalogue";
import { MorefAllocator, type Rng } from "./random";

/** What a port group is for; a VM's NICs are drawn by purpose, then found by site. */
type Purpose = "default" | "management" | "app" | "backup" | "dmz" | "tenant-acme" | "tenant-globex";

interface NetworkDef {
  purpose: Purpose;
  name: string;
  vlanId: number;
  /** "all" hosts, or only the first half of them (a port group being rolled out). */
  hosts: "all" | "first-half";
}

const NETWORKS: Record<SiteKey, readonly NetworkDef[]> = {
  prod: [
    { purpose: "default", name: "VM Network", vlanId: 0, hosts: "all" },
    { purpose: "management", name: "Mgmt VLAN 10", vlanId: 10, hosts: "all" },
    { purpose: "app", name: "Prod-App VLAN 110", vlanId: 110, hosts: "all" },
    { purpose: "backup", name: "Backup VLAN 150", vlanId: 150, hosts: "all" },
    { purpose: "dmz", name: "DMZ VLAN 200", vlanId: 200, hosts: "first-half" },
    { purpose: "tenant-acme", name: "Acme-Prod VLAN 310", vlanId: 310, hosts: "all" },
    { purpose: "tenant-globex", name: "Globex-Prod VLAN 320", vlanId: 320, hosts: "all" },
  ],
  dr: [
    { purpose: "default", name: "VM Network", vlanId: 0, hosts: "all" },
    { purpose: "management", name: "DR-Mgmt VLAN 11", vlanId: 11, hosts: "all" },
    { purpose: "app", name: "DR-App VLAN 510", vlanId: 510, hosts: "all" },
    { purpose: "backup", name: "DR-Backup VLAN 550", vlanId: 550, hosts: "all" },
    { purpose: "tenant-acme", name: "Acme-DR VLAN 610", vlanId: 610, hosts: "all" },
    { purpose: "tenant-globex", name: "Globex-DR VLAN 620", vlanId: 620, hosts: "first-half" },
  ],
};

/** Roles with a second adapter on the backup network (databases, file and image servers). */
const SECOND_NIC_ROLES = new Set(["sql", "files", "pacs", "ehr", "wms", "jump"]);
const FIRST_NIC_KEY = 4000; // vSphere numbers network adapters 4000, 4001, …

export interface SiteNetworks {
  networks: PlatformNetwork[];
  byPurpose: Map<Purpose, PlatformNetwork>;
}

export function buildNetworks(key: SiteKey, siteExternalId: string, hosts: readonly PlatformHost[], ids: MorefAllocator): SiteNetworks {
  const byPurpose = new Map<Purpose, PlatformNetwork>();
  const half = hosts.slice(0, Math.max(1, Math.ceil(hosts.length / 2)));
  const networks = NETWORKS[key].map((def) => {
    const n: PlatformNetwork = { externalId: ids.next("network"), siteExternalId, name: def.name, vlanId: def.vlanId, hostExternalIds: (def.hosts === "all" ? hosts : half).map((h) => h.externalId) };
    byPurpose.set(def.purpose, n);
    return n;
  });
  return { networks, byPurpose };
}

/** The allocator for network morefs: its own stream, so the other objects' ids stay as they were. */
export function networkIds(rng: Rng): MorefAllocator {
  return new MorefAllocator(rng, { network: 12 });
}

export interface VmNicSpec {
  owner: OwnerKey;
  role: string;
}

/**
 * One or two adapters per VM: the primary on the owner's network (a tenant's own, the provider's
 * management or application network), a second on the backup network for the roles that move bulk
 * data. Only port groups of the VM's host are used; when the host lacks one, "VM Network".
 */
export function assignNics(vms: readonly PlatformVm[], specs: readonly VmNicSpec[], sites: ReadonlyMap<string, SiteNetworks>, rng: Rng): void {
  const macs = new Set<string>();
  vms.forEach((vm, i) => {
    const spec = specs[i];
    const site = sites.get(vm.siteExternalId)!;
    const onHost = (p: Purpose) => {
      const n = site.byPurpose.get(p);
      return n && n.hostExternalIds.includes(vm.hostExternalId) ? n : site.byPurpose.get("default")!;
    };
    const purposes: Purpose[] = [primaryPurpose(spec)];
    if (SECOND_NIC_ROLES.has(spec.role)) purposes.push(spec.owner === "provider" ? "management" : "backup");
    const windowsDesktop = /Windows 11/.test(vm.guestOs);
    vm.nics = purposes.map((p, n): PlatformNic => {
      const network = onHost(p);
      const adapterType: NicAdapterType = windowsDesktop || rng.chance(0.1) ? "e1000e" : "vmxnet3";
      return {
        deviceKey: FIRST_NIC_KEY + n,
        label: `Network adapter ${n + 1}`,
        adapterType,
        macAddress: uniqueMac(rng, macs),
        networkExternalId: network.externalId,
        networkName: network.name,
        // A few adapters were left unplugged (a NIC kept for maintenance), so the case is in the estate.
        connected: !(n > 0 && rng.chance(0.15)),
      };
    });
  });
}

function primaryPurpose(spec: VmNicSpec): Purpose {
  if (spec.owner === "acme") return "tenant-acme";
  if (spec.owner === "globex") return "tenant-globex";
  if (spec.role === "mon" || spec.role === "log") return "app";
  if (spec.role === "jump") return "default";
  return "management";
}

/** vCenter-assigned MACs: VMware's OUI 00:50:56, fourth byte 0x80–0xBF. */
export function uniqueMac(rng: Rng, seen: Set<string>): string {
  for (;;) {
    const b = [0x80 + rng.int(0, 0x3f), rng.int(0, 255), rng.int(0, 255)];
    const mac = `00:50:56:${b.map((x) => x.toString(16).padStart(2, "0")).join(":")}`;
    if (!seen.has(mac)) {
      seen.add(mac);
      return mac;
    }
  }
}
