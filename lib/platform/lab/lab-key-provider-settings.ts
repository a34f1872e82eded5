// Key provider settings in the lab: which provider is a site's default and which tenant a provider
// is dedicated to. Stored in lab-state.json and laid over the generated estate by inventory().
import type { InventorySnapshot } from "../connector";
import { HostError } from "./data-plane";
import type { KeyProviderSetting, LabStateStore } from "./lab-state";

const keyOf = (site: string, provider: string) => `${site}|${provider}`;

export async function setDefaultKeyProvider(store: LabStateStore, estate: InventorySnapshot, site: string, provider: string): Promise<void> {
  findProvider(estate, site, provider);
  const patch: Record<string, KeyProviderSetting> = {};
  for (const kp of estate.keyProviders.filter((k) => k.siteExternalId === site)) {
    const key = keyOf(site, kp.externalId);
    patch[key] = { ...store.keyProviderSettings[key], isDefault: kp.externalId === provider };
  }
  await store.setKeyProviderSettings(patch);
}

export async function assignKeyProviderTenant(store: LabStateStore, estate: InventorySnapshot, site: string, provider: string, tenant: string | null): Promise<void> {
  findProvider(estate, site, provider);
  if (tenant !== null && !estate.tenants.some((t) => t.externalId === tenant)) throw new HostError("NotFound", `no tenant ${tenant}`);
  const key = keyOf(site, provider);
  await store.setKeyProviderSettings({ [key]: { ...store.keyProviderSettings[key], tenantExternalId: tenant } });
}

/** The estate's key providers with the lab's settings applied (in place, on a copy). */
export function applyKeyProviderSettings(snapshot: InventorySnapshot, settings: Readonly<Record<string, KeyProviderSetting>>): void {
  for (const kp of snapshot.keyProviders) {
    const s = settings[keyOf(kp.siteExternalId, kp.externalId)];
    if (!s) continue;
    if (s.isDefault !== undefined) kp.isDefault = s.isDefault;
    if (s.tenantExternalId !== undefined) kp.tenantExternalId = s.tenantExternalId;
  }
}

function findProvider(estate: InventorySnapshot, site: string, provider: string) {
  const kp = estate.keyProviders.find((k) => k.siteExternalId === site && k.externalId === provider);
  if (!kp) throw new HostError("NotFound", `no key provider ${provider} on site ${site}`);
  return kp;
}
