// Network mapping: each network adapter of a VM as it was (a restore point's, or a replica's source)
// to a port group of the target host, or disconnected. Pure and free of Node, so the restore wizard
// (as the user picks), the server's checks and the engine's plan give the same answers; replication
// maps source → target networks with the same functions.
//
// A standard port group is found by name on the host a VM runs on, so the default is the network of
// the same name on the target host, else disconnected: a restored VM never lands on a network nobody
// chose (a DR site's VLANs are rarely named as production's).

/** An adapter as the source had it. */
export interface MappableNic {
  deviceKey: number;
  label: string;
  /** Its port group's name at the source (null: it had none). */
  networkName: string | null;
}

/** A port group of the target site. */
export interface MappableNetwork {
  externalId: string;
  name: string;
  hostExternalIds: readonly string[];
}

/** One adapter's choice: a network of the target host, or null = disconnected. */
export interface NetworkChoice {
  nicDeviceKey: number;
  networkExternalId: string | null;
}

export interface NetworkMappingProblem {
  /** The adapter concerned (null: the mapping as a whole). */
  nicDeviceKey: number | null;
  message: string;
}

/** The port groups the host has, by name. */
export function networksOnHost<N extends MappableNetwork>(networks: readonly N[], hostExternalId: string): N[] {
  return networks.filter((n) => n.hostExternalIds.includes(hostExternalId)).sort((a, b) => a.name.localeCompare(b.name));
}

/** Each adapter to the host's network of the same name, else disconnected. */
export function defaultNetworkMapping(nics: readonly MappableNic[], networks: readonly MappableNetwork[], hostExternalId: string): NetworkChoice[] {
  const onHost = networksOnHost(networks, hostExternalId);
  return nics.map((nic) => ({ nicDeviceKey: nic.deviceKey, networkExternalId: (nic.networkName !== null && onHost.find((n) => n.name === nic.networkName)?.externalId) || null }));
}

/**
 * After the target host (or site) changed: a choice the new host still has stays; one it lacks
 * moves to the new host's network of the same name (the chosen one's, else the source's), else the
 * adapter is disconnected; disconnected stays disconnected.
 */
export function remapNetworks(nics: readonly MappableNic[], current: readonly NetworkChoice[], networksBefore: readonly MappableNetwork[], networks: readonly MappableNetwork[], hostExternalId: string): NetworkChoice[] {
  const onHost = networksOnHost(networks, hostExternalId);
  return nics.map((nic) => {
    const was = current.find((c) => c.nicDeviceKey === nic.deviceKey);
    if (was && was.networkExternalId === null) return was;
    if (was && onHost.some((n) => n.externalId === was.networkExternalId)) return was;
    const chosenName = was ? (networksBefore.find((n) => n.externalId === was.networkExternalId)?.name ?? null) : nic.networkName;
    const byName = (name: string | null) => (name === null ? undefined : onHost.find((n) => n.name === name));
    return { nicDeviceKey: nic.deviceKey, networkExternalId: (byName(chosenName) ?? (was ? undefined : byName(nic.networkName)))?.externalId ?? null };
  });
}

/**
 * What is wrong with a mapping: every adapter mapped exactly once, no adapter the source did not
 * have, every network one of the target host's.
 */
export function networkMappingProblems(nics: readonly MappableNic[], mapping: readonly NetworkChoice[], networks: readonly MappableNetwork[], hostExternalId: string, hostName: string): NetworkMappingProblem[] {
  const problems: NetworkMappingProblem[] = [];
  const seen = new Set<number>();
  for (const c of mapping) {
    const nic = nics.find((n) => n.deviceKey === c.nicDeviceKey);
    if (!nic) {
      problems.push({ nicDeviceKey: c.nicDeviceKey, message: `The VM had no network adapter with device key ${c.nicDeviceKey}.` });
      continue;
    }
    if (seen.has(c.nicDeviceKey)) {
      problems.push({ nicDeviceKey: c.nicDeviceKey, message: `${nic.label} is mapped twice: map it once.` });
      continue;
    }
    seen.add(c.nicDeviceKey);
    if (c.networkExternalId === null) continue;
    const net = networks.find((n) => n.externalId === c.networkExternalId);
    if (!net) problems.push({ nicDeviceKey: c.nicDeviceKey, message: `${nic.label}: the network ${c.networkExternalId} does not exist on the target site. Choose a network of ${hostName}, or leave the adapter disconnected.` });
    else if (!net.hostExternalIds.includes(hostExternalId)) problems.push({ nicDeviceKey: c.nicDeviceKey, message: `${nic.label}: the network ${net.name} is not on host ${hostName}. Choose a network of that host, or leave the adapter disconnected.` });
  }
  for (const nic of nics) if (!seen.has(nic.deviceKey)) problems.push({ nicDeviceKey: nic.deviceKey, message: `${nic.label} is not mapped: choose a network of ${hostName} for it, or disconnected.` });
  return problems;
}
