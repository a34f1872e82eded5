// The lab connector's estate: a deterministic, internally consistent vSphere inventory with a
// production and a DR site, two tenants with their own KMS, and every VM encryption case
// (INV-1…3, VME-2, VME-4, VME-5, TRN-1, TRN-3, TRN-6).
//
// The same options always give the same estate, so tests and demos are reproducible.

import type { InventorySnapshot } from "../connector";
import { OWNERS, type SiteKey } from "./estate-catalogue";
import { buildSiteLayout, type SiteLayout } from "./estate-infra";
import { assignNics, buildNetworks, networkIds, type SiteNetworks } from "./estate-networks";
import { buildProxies } from "./estate-proxies";
import { buildVms, planVms, sizeDatastores } from "./estate-vms";
import { MorefAllocator, Rng } from "./random";

export const DEFAULT_VM_COUNT = 36;
export const DEFAULT_SEED = 20261122; // the same default as STRONGROOM_LAB_SEED
export const MAX_VM_COUNT = 100_000;

export interface EstateOptions {
  vmCount?: number;
  seed?: number;
}

export function generateEstate(options: EstateOptions = {}): InventorySnapshot {
  const vmCount = options.vmCount ?? DEFAULT_VM_COUNT;
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(vmCount) || vmCount < 0 || vmCount > MAX_VM_COUNT) {
    throw new RangeError(`vmCount must be an integer from 0 to ${MAX_VM_COUNT}, got ${vmCount}`);
  }
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);

  const root = new Rng(seed >>> 0);
  // Starting numbers look like a vCenter that has been in service for a while.
  const ids = new MorefAllocator(root.fork("ids"), { host: 10, datastore: 30, vm: 1001 });
  const specs = planVms(vmCount, root.fork("plan"));
  const vmsAt = (site: SiteKey) => specs.filter((s) => s.site === site).length;

  const layouts: Record<SiteKey, SiteLayout> = {
    prod: buildSiteLayout("prod", vmsAt("prod"), ids, root.fork("infra-prod")),
    dr: buildSiteLayout("dr", vmsAt("dr"), ids, root.fork("infra-dr")),
  };
  const sites = [layouts.prod, layouts.dr];
  const vms = buildVms(specs, layouts, ids, root.fork("vms"));
  const datastores = sites.flatMap((l) => l.datastores);
  sizeDatastores(datastores, vms, root.fork("capacity"));
  // Networks last, from streams of their own: the estate's other ids and VMs are as before they existed.
  const netIds = networkIds(root.fork("network-ids"));
  const networks = new Map<string, SiteNetworks>(sites.map((l) => [l.site.externalId, buildNetworks(l.key, l.site.externalId, l.hosts, netIds)]));
  assignNics(vms, specs, networks, root.fork("nics"));

  return {
    sites: sites.map((l) => l.site),
    tenants: Object.values(OWNERS).flatMap((o) => (o.tenant ? [{ externalId: o.tenant.externalId, name: o.tenant.name }] : [])),
    hosts: sites.flatMap((l) => l.hosts),
    storagePolicies: sites.flatMap((l) => Object.values(l.policies)),
    datastores,
    networks: [...networks.values()].flatMap((n) => n.networks),
    keyProviders: sites.flatMap((l) => Object.values(l.keyProviders)),
    vms,
    proxies: sites.flatMap((l) => buildProxies(l, ids, root.fork(`proxies-${l.key}`))),
  };
}
