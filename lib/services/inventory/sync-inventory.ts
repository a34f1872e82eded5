import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import type { InventorySnapshot } from "@/lib/platform/connector";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { platform } from "./platform";
import { reconcile } from "./reconcile";
import { searchKey } from "./search-key";

export interface SyncSummary {
  sites: number;
  vms: number;
  created: number;
  updated: number;
  deleted: number;
  durationMs: number;
}

let running: Promise<SyncSummary> | null = null;

/** "Sync now" in the console: asks the platform connector for its inventory and persists it (INV). */
export async function syncInventory(actor: Actor): Promise<SyncSummary> {
  authorize(actor, "inventory:sync");
  try {
    const summary = await syncInventoryFromPlatform();
    await recordAuditEvent({ actor, action: "inventory.sync", outcome: "success", details: { ...summary } });
    return summary;
  } catch (e) {
    await recordAuditEvent({ actor, action: "inventory.sync", outcome: "failure", details: { error: String(e) } });
    throw e;
  }
}

/** Also used by the start script on first run (no signed-in actor exists yet). One sync at a time. */
export function syncInventoryFromPlatform(): Promise<SyncSummary> {
  running ??= (async () => {
    const started = Date.now();
    const snapshot = await platform()
      .inventory()
      .catch((e) => {
        throw new AppError("UNAVAILABLE", `The platform did not answer (${e instanceof Error ? e.message : e}). Try again later.`);
      });
    const counts = await db.$transaction((tx) => persist(tx as unknown as typeof db, snapshot), { timeout: 300_000, maxWait: 30_000 });
    return { sites: snapshot.sites.length, vms: snapshot.vms.length, ...counts, durationMs: Date.now() - started };
  })().finally(() => {
    running = null;
  });
  return running;
}

/** The three writes reconcile() needs, for one table. */
interface TableDelegate {
  createMany(args: { data: never }): Promise<unknown>;
  update(args: { where: { id: string }; data: never }): Promise<unknown>;
  deleteMany(args: { where: { id: { in: string[] } } }): Promise<unknown>;
}
function writers(table: TableDelegate) {
  return {
    createMany: (rows: Record<string, unknown>[]) => table.createMany({ data: rows as never }),
    update: (id: string, data: Record<string, unknown>) => table.update({ where: { id }, data: data as never }),
    deleteMany: (ids: string[]) => table.deleteMany({ where: { id: { in: ids } } }),
  };
}

async function persist(tx: typeof db, s: InventorySnapshot) {
  const totals = { created: 0, updated: 0, deleted: 0 };
  const add = (r: { created: number; updated: number; deleted: number }) => {
    totals.created += r.created;
    totals.updated += r.updated;
    totals.deleted += r.deleted;
  };
  const k = (site: string, ext: string) => `${site}|${ext}`;
  const req = (m: Map<string, string>, key: string, what: string) => {
    const id = m.get(key);
    if (!id) throw new AppError("INVALID_INPUT", `The platform's inventory refers to a missing ${what} (${key}).`);
    return id;
  };
  const opt = (m: Map<string, string>, key: string | null, what: string) => (key === null ? null : req(m, key, what));

  const sites = await reconcile({
    existing: await tx.site.findMany(),
    keyOfRow: (r) => r.externalId,
    desired: s.sites.map((x) => ({
      key: x.externalId,
      data: { externalId: x.externalId, name: x.name, role: x.role === "dr" ? "DR" : "PRODUCTION", vcenterHost: x.vcenterHost, location: x.location, connectorKind: "lab" },
    })),
    ...writers(tx.site),
  });
  add(sites);
  const siteId = (ext: string) => req(sites.ids, ext, "site");

  const tenants = await reconcile({
    existing: await tx.tenant.findMany(),
    keyOfRow: (r) => r.externalId,
    desired: s.tenants.map((x) => ({ key: x.externalId, data: { externalId: x.externalId, name: x.name } })),
    ...writers(tx.tenant),
  });
  add(tenants);

  const siteKeyed = <T extends { siteExternalId: string; externalId: string }>(x: T) => k(siteId(x.siteExternalId), x.externalId);
  const rowKey = (r: { siteId: string; externalId: string }) => k(r.siteId, r.externalId);

  const hosts = await reconcile({
    existing: await tx.host.findMany(),
    keyOfRow: rowKey,
    desired: s.hosts.map((x) => ({
      key: siteKeyed(x),
      data: { siteId: siteId(x.siteExternalId), externalId: x.externalId, name: x.name, cluster: x.cluster, esxiVersion: x.esxiVersion, cpuCores: x.cpuCores, memoryGiB: x.memoryGiB, connectionState: x.connectionState },
    })),
    ...writers(tx.host),
  });
  add(hosts);

  const policies = await reconcile({
    existing: await tx.storagePolicy.findMany(),
    keyOfRow: rowKey,
    desired: s.storagePolicies.map((x) => ({
      key: siteKeyed(x),
      data: { siteId: siteId(x.siteExternalId), externalId: x.externalId, name: x.name, encryption: x.encryption, description: x.description },
    })),
    ...writers(tx.storagePolicy),
  });
  add(policies);
  const encryptionPolicies = new Set(s.storagePolicies.filter((p) => p.encryption).map((p) => siteKeyed(p)));

  const datastores = await reconcile({
    existing: await tx.datastore.findMany(),
    keyOfRow: rowKey,
    desired: s.datastores.map((x) => ({
      key: siteKeyed(x),
      data: {
        siteId: siteId(x.siteExternalId),
        externalId: x.externalId,
        name: x.name,
        type: x.type,
        capacityBytes: BigInt(x.capacityBytes),
        freeBytes: BigInt(x.freeBytes),
        encryptionCompatible: x.compatiblePolicyExternalIds.some((p) => encryptionPolicies.has(k(siteId(x.siteExternalId), p))),
      },
    })),
    ...writers(tx.datastore),
  });
  add(datastores);

  // Datastore ↔ policy compatibility is a set of pairs: add the missing ones, drop the stale ones.
  const wantedPairs = new Set(
    s.datastores.flatMap((d) =>
      d.compatiblePolicyExternalIds.map((p) => `${req(datastores.ids, siteKeyed(d), "datastore")}|${req(policies.ids, k(siteId(d.siteExternalId), p), "storage policy")}`),
    ),
  );
  const havePairs = await tx.datastorePolicy.findMany();
  const stale = havePairs.filter((p) => !wantedPairs.delete(`${p.datastoreId}|${p.policyId}`));
  for (const p of stale) await tx.datastorePolicy.delete({ where: { datastoreId_policyId: p } });
  const fresh = [...wantedPairs].map((pair) => {
    const [datastoreId, policyId] = pair.split("|");
    return { datastoreId, policyId };
  });
  if (fresh.length) await tx.datastorePolicy.createMany({ data: fresh });

  const keyProviders = await reconcile({
    existing: await tx.keyProvider.findMany(),
    keyOfRow: rowKey,
    desired: s.keyProviders.map((x) => ({
      key: siteKeyed(x),
      data: {
        siteId: siteId(x.siteExternalId),
        externalId: x.externalId,
        name: x.name,
        kind: x.kind === "native" ? "NATIVE" : "STANDARD",
        servers: JSON.stringify(x.servers),
        tenantId: opt(tenants.ids, x.tenantExternalId, "tenant"),
        isDefault: x.isDefault,
      },
    })),
    ...writers(tx.keyProvider),
  });
  add(keyProviders);

  const vms = await reconcile({
    existing: await tx.vm.findMany(),
    keyOfRow: rowKey,
    desired: s.vms.map((x) => {
      const site = siteId(x.siteExternalId);
      return {
        key: k(site, x.externalId),
        data: {
          siteId: site,
          externalId: x.externalId,
          name: x.name,
          searchName: searchKey(x.name),
          hostId: req(hosts.ids, k(site, x.hostExternalId), "host"),
          tenantId: opt(tenants.ids, x.tenantExternalId, "tenant"),
          folder: x.folder,
          guestOs: x.guestOs,
          powerState: x.powerState,
          cpuCount: x.cpuCount,
          memoryMiB: x.memoryMiB,
          homeDatastoreId: req(datastores.ids, k(site, x.homeDatastoreExternalId), "datastore"),
          homeStoragePolicyId: req(policies.ids, k(site, x.homeStoragePolicyExternalId), "storage policy"),
          encrypted: x.encrypted,
          keyProviderId: x.keyProviderExternalId === null ? null : req(keyProviders.ids, k(site, x.keyProviderExternalId), "key provider"),
          keyId: x.keyId,
          hasEncryptionBundle: x.hasEncryptionBundle,
          vtpm: x.vtpm,
          guestOsEncrypted: x.guestOsEncrypted,
          diskCount: x.disks.length,
          provisionedBytes: BigInt(x.disks.reduce((n, d) => n + d.capacityBytes, 0)),
        },
      };
    }),
    ...writers(tx.vm),
  });
  add(vms);

  const disks = await reconcile({
    existing: await tx.virtualDisk.findMany(),
    keyOfRow: (r) => k(r.vmId, r.externalId),
    desired: s.vms.flatMap((vm) => {
      const site = siteId(vm.siteExternalId);
      const vmId = req(vms.ids, k(site, vm.externalId), "VM");
      return vm.disks.map((d) => ({
        key: k(vmId, d.externalId),
        data: {
          vmId,
          externalId: d.externalId,
          label: d.label,
          deviceKey: d.deviceKey,
          capacityBytes: BigInt(d.capacityBytes),
          datastoreId: req(datastores.ids, k(site, d.datastoreExternalId), "datastore"),
          storagePolicyId: req(policies.ids, k(site, d.storagePolicyExternalId), "storage policy"),
          fileName: d.fileName,
          encrypted: d.encrypted,
          keyId: d.keyId,
        },
      }));
    }),
    ...writers(tx.virtualDisk),
  });
  add(disks);

  const proxies = await reconcile({
    existing: await tx.proxy.findMany(),
    keyOfRow: rowKey,
    desired: s.proxies.map((x) => {
      const site = siteId(x.siteExternalId);
      return {
        key: k(site, x.externalId),
        data: {
          siteId: site,
          externalId: x.externalId,
          name: x.name,
          kind: x.kind,
          hostId: x.hostExternalId === null ? null : req(hosts.ids, k(site, x.hostExternalId), "host"),
          transportModes: x.transportModes.join(","),
          maxTasks: x.maxTasks,
          keyProviderId: x.keyProviderExternalId === null ? null : req(keyProviders.ids, k(site, x.keyProviderExternalId), "key provider"),
          tenantId: opt(tenants.ids, x.tenantExternalId, "tenant"),
          privileges: x.privileges.join(","),
        },
      };
    }),
    ...writers(tx.proxy),
  });
  add(proxies);

  await tx.site.updateMany({ data: { lastSyncAt: new Date() } });
  return totals;
}
