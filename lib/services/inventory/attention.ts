import "server-only";
import { db } from "@/lib/db/client";

// "What needs attention" on the dashboard: inventory facts that will make encrypted VMs hard to
// protect (TRN-3, TRN-5, TRN-6, VME-5). Each item links to the page where it can be seen.
export interface AttentionItem {
  id: string;
  severity: "warning" | "info";
  title: string;
  detail: string;
  href: string;
}

const csv = (s: string) => (s ? s.split(",") : []);

export async function findAttentionItems(): Promise<AttentionItem[]> {
  const items: AttentionItem[] = [];
  const proxies = await db.proxy.findMany({ include: { keyProvider: true, tenant: true, site: true } });
  for (const p of proxies) {
    const modes = csv(p.transportModes);
    const privileges = csv(p.privileges);
    if (modes.includes("hotadd") && p.keyProviderId && !privileges.includes("Cryptographer.AddDisk")) {
      items.push({
        id: `proxy-privilege-${p.id}`,
        severity: "warning",
        title: `Proxy ${p.name} lacks Cryptographer.AddDisk`,
        detail: "HotAdd of encrypted disks will be refused by the host; jobs will fall back to network mode or fail.",
        href: "/proxies",
      });
    }
    if (p.tenantId && p.keyProvider?.tenantId && p.keyProvider.tenantId !== p.tenantId) {
      items.push({
        id: `proxy-kms-${p.id}`,
        severity: "warning",
        title: `Proxy ${p.name} is dedicated to ${p.tenant?.name} but encrypted with ${p.keyProvider.name}`,
        detail: "A HotAdd proxy must be encrypted with the same key provider as the VMs it reads.",
        href: "/proxies",
      });
    }
  }
  // Encrypted VMs on a site with no HotAdd proxy of their key provider: NBD/NBDSSL only.
  const encryptedByProvider = await db.vm.groupBy({ by: ["siteId", "keyProviderId"], where: { encrypted: true }, _count: { _all: true } });
  const providers = new Map((await db.keyProvider.findMany({ include: { site: true } })).map((k) => [k.id, k]));
  for (const g of encryptedByProvider) {
    if (!g.keyProviderId) continue;
    const hasHotAdd = proxies.some(
      (p) => p.siteId === g.siteId && p.keyProviderId === g.keyProviderId && csv(p.transportModes).includes("hotadd") && csv(p.privileges).includes("Cryptographer.AddDisk"),
    );
    if (!hasHotAdd) {
      const kp = providers.get(g.keyProviderId);
      items.push({
        id: `no-hotadd-${g.siteId}-${g.keyProviderId}`,
        severity: "info",
        title: `${g._count._all} encrypted VM(s) on ${kp?.site.name} have no HotAdd proxy for ${kp?.name}`,
        detail: "They can be read only over the network; prefer NBDSSL for encrypted VMs.",
        href: `/vms?encrypted=yes&keyProvider=${g.keyProviderId}`,
      });
    }
  }
  const guestEncrypted = await db.vm.count({ where: { guestOsEncrypted: true } });
  if (guestEncrypted > 0) {
    items.push({
      id: "guest-os-encrypted",
      severity: "info",
      title: `${guestEncrypted} VM(s) use guest-OS encryption`,
      detail: "Their disks back up as opaque data with larger deltas, and a restored VM needs the guest's own key server to boot.",
      href: "/vms",
    });
  }
  return items;
}
