import { describe, expect, it } from "vitest";
import type { TransportMode } from "../../platform/connector";
import { formatRejection, selectProxy, type CandidateProxy, type SelectionDisk, type SelectionOptions } from "./proxy-selection";

const KMS = { "kp-acme": "Acme Logistics KMS", "kp-globex": "Globex Health KMS" };

function proxy(name: string, o: Partial<CandidateProxy> = {}): CandidateProxy {
  return {
    externalId: name,
    name,
    kind: "vm",
    siteExternalId: "site-ams",
    transportModes: ["hotadd", "nbd", "nbdssl"],
    maxTasks: 4,
    activeTasks: 0,
    keyProviderExternalId: null,
    tenantExternalId: null,
    privileges: ["Cryptographer.Access", "Cryptographer.AddDisk"],
    ...o,
  };
}

const globexDisk: SelectionDisk = { label: "globex-db / Hard disk 1", encrypted: true, keyProviderExternalId: "kp-globex", siteExternalId: "site-ams", tenantExternalId: "tenant-globex" };
const plainDisk: SelectionDisk = { label: "web-01 / Hard disk 1", encrypted: false, keyProviderExternalId: null, siteExternalId: "site-ams", tenantExternalId: null };

const auto: SelectionOptions = { proxies: "automatic", failoverToNetwork: true, keyProviderNames: KMS };

interface Row {
  name: string;
  disk: SelectionDisk;
  proxies: CandidateProxy[];
  options?: Partial<SelectionOptions>;
  expect: { proxy: string; mode: TransportMode } | { fail: RegExp; busy?: boolean };
  reasons?: string[];
}

const rows: Row[] = [
  {
    name: "unencrypted disk: Direct storage first",
    disk: plainDisk,
    proxies: [proxy("vm-proxy"), proxy("san-proxy", { kind: "physical", transportModes: ["san", "nbd"] })],
    expect: { proxy: "san-proxy", mode: "san" },
  },
  {
    name: "encrypted disk: SAN refused, HotAdd only from the proxy with the same KMS (checked before picking)",
    disk: globexDisk,
    proxies: [
      proxy("ams-proxy-globex-02", { keyProviderExternalId: "kp-acme", transportModes: ["san", "hotadd", "nbdssl"] }),
      proxy("ams-proxy-globex-01", { keyProviderExternalId: "kp-globex", tenantExternalId: "tenant-globex" }),
    ],
    expect: { proxy: "ams-proxy-globex-01", mode: "hotadd" },
    reasons: [
      "ams-proxy-globex-02: Direct storage refused — encrypted disks cannot be read in Direct storage mode",
      "ams-proxy-globex-02: HotAdd refused — encrypted with Acme Logistics KMS, the VM uses Globex Health KMS",
    ],
  },
  {
    name: "wrong-KMS HotAdd proxy only: network with TLS, never plain NBD first",
    disk: globexDisk,
    proxies: [proxy("ams-proxy-globex-02", { keyProviderExternalId: "kp-acme" })],
    expect: { proxy: "ams-proxy-globex-02", mode: "nbdssl" },
    reasons: ["ams-proxy-globex-02: HotAdd refused — encrypted with Acme Logistics KMS, the VM uses Globex Health KMS"],
  },
  {
    name: "wrong-KMS HotAdd proxy, failover to network off: fails with the reason",
    disk: globexDisk,
    proxies: [proxy("ams-proxy-globex-02", { keyProviderExternalId: "kp-acme" })],
    options: { failoverToNetwork: false },
    expect: { fail: /HotAdd refused — encrypted with Acme Logistics KMS, the VM uses Globex Health KMS/ },
  },
  {
    name: "failover off still allows a proxy configured for network modes only",
    disk: globexDisk,
    proxies: [proxy("nbd-proxy", { kind: "physical", transportModes: ["nbd", "nbdssl"] })],
    options: { failoverToNetwork: false },
    expect: { proxy: "nbd-proxy", mode: "nbdssl" },
  },
  {
    name: "missing Cryptographer.AddDisk: no HotAdd",
    disk: globexDisk,
    proxies: [proxy("p1", { keyProviderExternalId: "kp-globex", privileges: ["Cryptographer.Access"] })],
    expect: { proxy: "p1", mode: "nbdssl" },
    reasons: ["p1: HotAdd refused — lacks Cryptographer.AddDisk"],
  },
  {
    name: "no crypto privileges at all: nothing reads an encrypted disk",
    disk: globexDisk,
    proxies: [proxy("p1", { privileges: [] })],
    expect: { fail: /NBDSSL refused — lacks Cryptographer.Access/ },
  },
  {
    name: "unencrypted disk prefers NBD over NBDSSL",
    disk: plainDisk,
    proxies: [proxy("p1", { transportModes: ["nbdssl", "nbd"] })],
    expect: { proxy: "p1", mode: "nbd" },
  },
  {
    name: "task limits: a full proxy is skipped for the next one",
    disk: plainDisk,
    proxies: [proxy("a", { activeTasks: 4 }), proxy("b", { activeTasks: 1 })],
    expect: { proxy: "b", mode: "hotadd" },
    reasons: ["a: not used — busy (4/4 tasks)"],
  },
  {
    name: "task limits: all fitting proxies busy ⇒ wait",
    disk: plainDisk,
    proxies: [proxy("a", { activeTasks: 2, maxTasks: 2 })],
    expect: { fail: /task limit/, busy: true },
  },
  {
    name: "least-loaded proxy among equals",
    disk: plainDisk,
    proxies: [proxy("a", { activeTasks: 3 }), proxy("b", { activeTasks: 1 })],
    expect: { proxy: "b", mode: "hotadd" },
  },
  {
    name: "other site and other tenant are not used (TRN-6)",
    disk: globexDisk,
    proxies: [
      proxy("dr-proxy", { siteExternalId: "site-dr", keyProviderExternalId: "kp-globex" }),
      proxy("acme-proxy", { tenantExternalId: "tenant-acme", keyProviderExternalId: "kp-globex" }),
      proxy("shared", { kind: "physical", transportModes: ["nbdssl"] }),
    ],
    expect: { proxy: "shared", mode: "nbdssl" },
    reasons: ["dr-proxy: not used — at site site-dr, the disk is at site-ams", "acme-proxy: not used — dedicated to tenant tenant-acme"],
  },
  {
    name: "specific proxies: only the chosen ones are considered",
    disk: plainDisk,
    proxies: [proxy("san", { kind: "physical", transportModes: ["san"] }), proxy("chosen")],
    options: { proxies: ["chosen"] },
    expect: { proxy: "chosen", mode: "hotadd" },
  },
  {
    name: "key provider unreachable: nothing fits, the reason says so",
    disk: globexDisk,
    proxies: [proxy("p1", { keyProviderExternalId: "kp-globex" })],
    options: { keyProviderReachable: false },
    expect: { fail: /Globex Health KMS cannot be reached/ },
  },
];

describe("selectProxy (TRN-5, TRN-6)", () => {
  it.each(rows)("$name", (row) => {
    const result = selectProxy(row.disk, row.proxies, { ...auto, ...row.options });
    const lines = result.rejected.map(formatRejection);
    if ("fail" in row.expect) {
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.reason).toMatch(row.expect.fail);
      expect(result.busy).toBe(row.expect.busy ?? false);
    } else {
      expect(result.ok, result.ok ? "" : result.reason).toBe(true);
      if (!result.ok) return;
      expect(result.proxy.name).toBe(row.expect.proxy);
      expect(result.mode).toBe(row.expect.mode);
    }
    for (const r of row.reasons ?? []) expect(lines).toContain(r);
  });

  it("explains an encrypted disk read over NBDSSL and warns about plain NBD", () => {
    const ssl = selectProxy(globexDisk, [proxy("p", { transportModes: ["nbdssl", "nbd"] })], auto);
    expect(ssl.ok && ssl.reason).toMatch(/under TLS \(costs host CPU and throughput\)/);
    const plain = selectProxy(globexDisk, [proxy("p", { transportModes: ["nbd"] })], auto);
    expect(plain.ok && plain.reason).toMatch(/WARNING.*NBDSSL/);
  });
});
