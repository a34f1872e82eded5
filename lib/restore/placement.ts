// Which datastore and storage policy an item of a restored VM (its home or a disk) may go to, for
// its encryption choice (RST-3, RST-4). Pure, shared by the restore wizard in the browser and the
// options service on the server, so the defaults and the choices offered follow one rule: an
// encrypted item only on a datastore under the VM Encryption Policy node, with a policy that
// encrypts; an unencrypted one with a policy that does not.

export interface PlacementDatastore {
  externalId: string;
  name: string;
  freeBytes: number;
  /** Under the VM Encryption Policy node: compatible with a storage policy that encrypts. */
  encryptionCompatible: boolean;
  compatiblePolicyExternalIds: string[];
}

export interface PlacementPolicy {
  externalId: string;
  name: string;
  encryption: boolean;
}

export interface PlacementSite {
  datastores: PlacementDatastore[];
  storagePolicies: PlacementPolicy[];
  /** The site's sample VM encryption policy. */
  vmEncryptionPolicyExternalId: string | null;
}

/** Why a datastore cannot take an item (null when it can), in the administrator's words. */
export function datastoreRefusal(ds: PlacementDatastore, what: "home" | "disk", encrypted: boolean, bytesNeeded: number): string | null {
  if (encrypted && !ds.encryptionCompatible) {
    return what === "home"
      ? "Not under the VM Encryption Policy node: with an encrypted disk, the VM home (configuration and NVRAM) must be encrypted too"
      : "Not under the VM Encryption Policy node: an encrypted disk needs a datastore compatible with an encryption storage policy";
  }
  if (bytesNeeded > ds.freeBytes) return `Not enough free space for this disk`;
  return null;
}

/** The policies a datastore offers for an item, each with why it cannot be used (null when it can). */
export function policyChoices(site: PlacementSite, ds: PlacementDatastore | undefined, encrypted: boolean): Array<PlacementPolicy & { refusal: string | null }> {
  return site.storagePolicies.map((p) => ({
    ...p,
    refusal: !ds
      ? "Choose a datastore first"
      : !ds.compatiblePolicyExternalIds.includes(p.externalId)
        ? `${ds.name} is not compatible with this policy`
        : encrypted && !p.encryption
          ? "Does not encrypt: an encrypted item needs a policy with the VM encryption rule"
          : !encrypted && p.encryption
            ? "Encrypts: pick a policy without the VM encryption rule for an unencrypted item"
            : null,
  }));
}

/** The storage policy for an item: as backed up when it still fits, else the site's VM encryption policy (encrypted), else the first that fits. */
export function policyFor(site: PlacementSite, ds: PlacementDatastore | undefined, wasPolicy: string | null, encrypted: boolean): string {
  const ok = policyChoices(site, ds, encrypted).filter((p) => p.refusal === null);
  if (wasPolicy && ok.some((p) => p.externalId === wasPolicy)) return wasPolicy;
  if (encrypted && ok.some((p) => p.externalId === site.vmEncryptionPolicyExternalId)) return site.vmEncryptionPolicyExternalId!;
  return ok[0]?.externalId ?? "";
}

/** A datastore and policy for an item: where it was when that fits, else the fitting datastore with most free space. */
export function placementFor(site: PlacementSite, wasDs: string | null, wasPolicy: string | null, what: "home" | "disk", encrypted: boolean, bytes: number): { datastoreExternalId: string; storagePolicyExternalId: string } {
  const fits = (d: PlacementDatastore) => datastoreRefusal(d, what, encrypted, bytes) === null;
  const ds = site.datastores.find((d) => d.externalId === wasDs && fits(d)) ?? [...site.datastores].filter(fits).sort((a, b) => b.freeBytes - a.freeBytes)[0];
  return { datastoreExternalId: ds?.externalId ?? "", storagePolicyExternalId: ds ? policyFor(site, ds, wasPolicy, encrypted) : "" };
}
