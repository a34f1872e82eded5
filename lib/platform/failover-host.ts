// What failover needs of the platform beyond replica-host.ts and the runtime operations (FOV-1):
// ask a site's key provider for a key before anything is changed (the pre-failover check), and
// reconnect a replica's network adapters to the networks the operator maps them to. Power on/off
// are RuntimeOperations (connector.ts); reverting to and removing points are VmReplicaHost's.
// vSphere: the vCenter key provider's KMS (KMIP Get through the key provider), ReconfigVM_Task
// with VirtualEthernetCard edits.
//
// Rules every connector applies alike (testing/failover-host-contract.ts holds them to it):
// - checkKey asks the key provider of the site for the key and forgets it at once; it answers
//   { ok: false } with a reason ("unreachable": the provider does not answer; "key-not-found": it
//   answers but has no such key; "refused": it refuses this site) rather than throwing. An unknown
//   key provider, or one of another site, is HostError "NotFound".
// - setNetworks needs the VM powered off (HostError "InvalidState"); each choice names an adapter
//   of the VM ("NotFound" otherwise) and a network the VM's host has, or null = disconnected
//   ("NotFound" for a network the host lacks). A connected adapter is connected at power-on.
//   Adapters not named stay as they were. Nothing changes when any choice is refused.

import type { PlatformNetwork, PlatformNic, PlatformVm } from "./connector";
import { HostError } from "./errors";
import type { NetworkChoice } from "./network-mapping";

export interface KeyCheckRequest {
  siteExternalId: string;
  keyProviderExternalId: string;
  keyId: string;
}

export type KeyCheckFailure = "unreachable" | "key-not-found" | "refused";

export type KeyCheck = { ok: true } | { ok: false; reason: KeyCheckFailure; message: string };

export interface VmFailoverHost {
  /** Asks the site's key provider for one key (nothing kept); NotFound for an unknown provider. */
  checkKey(q: KeyCheckRequest): Promise<KeyCheck>;
  /** Reconnects a powered-off VM's adapters as chosen; answers the VM as the inventory will show it. */
  setNetworks(vmExternalId: string, choices: readonly NetworkChoice[]): Promise<PlatformVm>;
}

/**
 * The VM's adapters after `choices` (the rules above, shared by every connector so they answer
 * alike): throws HostError before anything changes. `networks` are the site's port groups.
 */
export function planNetworks(vm: PlatformVm, choices: readonly NetworkChoice[], networks: readonly PlatformNetwork[]): PlatformNic[] {
  const nics = (vm.nics ?? []).map((n) => ({ ...n }));
  const seen = new Set<number>();
  for (const c of choices) {
    const nic = nics.find((n) => n.deviceKey === c.nicDeviceKey);
    if (!nic) throw new HostError("NotFound", `${vm.name} has no network adapter ${c.nicDeviceKey}`);
    if (seen.has(c.nicDeviceKey)) throw new HostError("InvalidArgument", `${nic.label} is named twice`);
    seen.add(c.nicDeviceKey);
    if (c.networkExternalId === null) {
      Object.assign(nic, { networkExternalId: null, networkName: null, connected: false });
      continue;
    }
    const net = networks.find((n) => n.externalId === c.networkExternalId && n.siteExternalId === vm.siteExternalId);
    if (!net || !net.hostExternalIds.includes(vm.hostExternalId)) throw new HostError("NotFound", `${nic.label}: the host of ${vm.name} has no network ${c.networkExternalId}`);
    Object.assign(nic, { networkExternalId: net.externalId, networkName: net.name, connected: true });
  }
  return nics;
}
