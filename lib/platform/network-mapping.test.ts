import { describe, expect, it } from "vitest";
import { defaultNetworkMapping, networkMappingProblems, networksOnHost, remapNetworks, type MappableNetwork, type MappableNic } from "./network-mapping";

const nics: MappableNic[] = [
  { deviceKey: 4000, label: "Network adapter 1", networkName: "Acme-Prod VLAN 310" },
  { deviceKey: 4001, label: "Network adapter 2", networkName: "VM Network" },
];
const nets: MappableNetwork[] = [
  { externalId: "network-1", name: "VM Network", hostExternalIds: ["host-1", "host-2"] },
  { externalId: "network-2", name: "Acme-Prod VLAN 310", hostExternalIds: ["host-1"] },
  { externalId: "network-3", name: "DMZ VLAN 200", hostExternalIds: ["host-2"] },
];

describe("network mapping", () => {
  it("defaults each adapter to the host's network of the same name, else disconnected", () => {
    expect(defaultNetworkMapping(nics, nets, "host-1")).toEqual([
      { nicDeviceKey: 4000, networkExternalId: "network-2" },
      { nicDeviceKey: 4001, networkExternalId: "network-1" },
    ]);
    // host-2 lacks the tenant's port group: that adapter is left disconnected, never put elsewhere.
    expect(defaultNetworkMapping(nics, nets, "host-2")).toEqual([
      { nicDeviceKey: 4000, networkExternalId: null },
      { nicDeviceKey: 4001, networkExternalId: "network-1" },
    ]);
    expect(defaultNetworkMapping([{ deviceKey: 4000, label: "Network adapter 1", networkName: null }], nets, "host-1")).toEqual([{ nicDeviceKey: 4000, networkExternalId: null }]);
    expect(networksOnHost(nets, "host-2").map((n) => n.name)).toEqual(["DMZ VLAN 200", "VM Network"]);
  });

  it("keeps choices the new host has, moves others by name, and disconnects the rest", () => {
    const dr: MappableNetwork[] = [
      { externalId: "network-9", name: "VM Network", hostExternalIds: ["host-7"] },
      { externalId: "network-10", name: "DMZ VLAN 200", hostExternalIds: ["host-7"] },
    ];
    const current = [
      { nicDeviceKey: 4000, networkExternalId: "network-3" }, // DMZ chosen by the user
      { nicDeviceKey: 4001, networkExternalId: null }, // disconnected on purpose
    ];
    expect(remapNetworks(nics, current, nets, dr, "host-7")).toEqual([
      { nicDeviceKey: 4000, networkExternalId: "network-10" },
      { nicDeviceKey: 4001, networkExternalId: null },
    ]);
    expect(remapNetworks(nics, [{ nicDeviceKey: 4000, networkExternalId: "network-1" }], nets, nets, "host-2")).toEqual([
      { nicDeviceKey: 4000, networkExternalId: "network-1" },
      { nicDeviceKey: 4001, networkExternalId: "network-1" }, // was not mapped yet: by its source name
    ]);
    expect(remapNetworks(nics, [{ nicDeviceKey: 4000, networkExternalId: "network-2" }, { nicDeviceKey: 4001, networkExternalId: "network-1" }], nets, nets, "host-2")[0]).toEqual({ nicDeviceKey: 4000, networkExternalId: null });
  });

  it("says what is wrong: a network not on the host, one of no site, an adapter unmapped, mapped twice or unknown", () => {
    expect(networkMappingProblems(nics, defaultNetworkMapping(nics, nets, "host-1"), nets, "host-1", "esx01")).toEqual([]);
    expect(networkMappingProblems(nics, [{ nicDeviceKey: 4000, networkExternalId: "network-2" }, { nicDeviceKey: 4001, networkExternalId: null }], nets, "host-2", "esx02")).toEqual([
      { nicDeviceKey: 4000, message: "Network adapter 1: the network Acme-Prod VLAN 310 is not on host esx02. Choose a network of that host, or leave the adapter disconnected." },
    ]);
    const p = networkMappingProblems(nics, [{ nicDeviceKey: 4000, networkExternalId: "network-77" }, { nicDeviceKey: 4000, networkExternalId: null }, { nicDeviceKey: 4009, networkExternalId: null }], nets, "host-1", "esx01");
    expect(p.map((x) => x.message)).toEqual([
      "Network adapter 1: the network network-77 does not exist on the target site. Choose a network of esx01, or leave the adapter disconnected.",
      "Network adapter 1 is mapped twice: map it once.",
      "The VM had no network adapter with device key 4009.",
      "Network adapter 2 is not mapped: choose a network of esx01 for it, or disconnected.",
    ]);
  });
});
