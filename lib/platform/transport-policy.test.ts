// The transport policy (TRN-2, TRN-3, VME-3): a table of named cases an administrator would
// recognise, then every combination of mode × encryption × proxy kind × supported modes × proxy
// key provider × privileges × reachability checked against the rules stated independently.

import { describe, expect, it } from "vitest";
import type { CryptoPrivilege, TransportMode } from "./connector";
import { TRANSPORT_MODES } from "./connector";
import { checkTransport, type PolicyDisk, type PolicyProxy } from "./transport-policy";

const KP_ACME = "kp-ams-acme";
const KP_GLOBEX = "kp-ams-globex";
const BOTH: CryptoPrivilege[] = ["Cryptographer.Access", "Cryptographer.AddDisk"];

const encrypted: PolicyDisk = { encrypted: true, keyProviderExternalId: KP_ACME };
const plain: PolicyDisk = { encrypted: false, keyProviderExternalId: null };

const proxy = (p: Partial<PolicyProxy>): PolicyProxy => ({
  kind: "vm",
  transportModes: ["san", "hotadd", "nbd", "nbdssl"],
  keyProviderExternalId: null,
  privileges: BOTH,
  ...p,
});

type Row = [string, TransportMode, PolicyDisk, PolicyProxy, boolean, string];

const table: Row[] = [
  // [case, mode, disk, proxy, key provider reachable, expected]
  ["SAN of an unencrypted disk from a physical proxy", "san", plain, proxy({ kind: "physical" }), true, "allowed"],
  ["SAN of an encrypted disk (TRN-2)", "san", encrypted, proxy({ kind: "physical" }), true, "TransportNotSupported"],
  ["SAN of an encrypted disk even from a same-KMS VM proxy", "san", encrypted, proxy({ keyProviderExternalId: KP_ACME }), true, "TransportNotSupported"],
  ["HotAdd of an encrypted disk from a proxy encrypted with the same KMS", "hotadd", encrypted, proxy({ keyProviderExternalId: KP_ACME }), true, "allowed"],
  ["HotAdd of an encrypted disk from a proxy of another tenant's KMS", "hotadd", encrypted, proxy({ keyProviderExternalId: KP_GLOBEX }), true, "CryptoKeyMismatch"],
  ["HotAdd of an encrypted disk from an unencrypted proxy", "hotadd", encrypted, proxy({}), true, "CryptoKeyMismatch"],
  ["HotAdd without Cryptographer.AddDisk", "hotadd", encrypted, proxy({ keyProviderExternalId: KP_ACME, privileges: ["Cryptographer.Access"] }), true, "NoPermission"],
  ["HotAdd without any Cryptographer privilege", "hotadd", encrypted, proxy({ keyProviderExternalId: KP_ACME, privileges: [] }), true, "NoPermission"],
  ["HotAdd, missing privilege and wrong KMS: authorisation first", "hotadd", encrypted, proxy({ keyProviderExternalId: KP_GLOBEX, privileges: [] }), true, "NoPermission"],
  ["HotAdd of an unencrypted disk from an unencrypted proxy without privileges", "hotadd", plain, proxy({ privileges: [] }), true, "allowed"],
  ["HotAdd from a physical proxy", "hotadd", plain, proxy({ kind: "physical" }), true, "TransportNotSupported"],
  ["HotAdd when the proxy is not configured for it", "hotadd", encrypted, proxy({ keyProviderExternalId: KP_ACME, transportModes: ["nbdssl"] }), true, "TransportNotSupported"],
  ["HotAdd, same KMS, but the KMS is unreachable (VME-3)", "hotadd", encrypted, proxy({ keyProviderExternalId: KP_ACME }), false, "KeyProviderUnavailable"],
  ["HotAdd, wrong KMS and unreachable: the mismatch is the lasting reason", "hotadd", encrypted, proxy({ keyProviderExternalId: KP_GLOBEX }), false, "CryptoKeyMismatch"],
  ["NBDSSL of an encrypted disk with Cryptographer.Access", "nbdssl", encrypted, proxy({ privileges: ["Cryptographer.Access"] }), true, "allowed"],
  ["NBDSSL of an encrypted disk without Cryptographer.Access", "nbdssl", encrypted, proxy({ privileges: ["Cryptographer.AddDisk"] }), true, "NoPermission"],
  ["NBD of an encrypted disk with Cryptographer.Access (host decrypts, TRN-4)", "nbd", encrypted, proxy({ privileges: ["Cryptographer.Access"] }), true, "allowed"],
  ["NBD of an encrypted disk without privileges", "nbd", encrypted, proxy({ privileges: [] }), true, "NoPermission"],
  ["NBD of an encrypted disk whose KMS is down", "nbd", encrypted, proxy({}), false, "KeyProviderUnavailable"],
  ["NBD of an unencrypted disk whose VM's KMS would be down: no key needed", "nbd", plain, proxy({ privileges: [] }), false, "allowed"],
  ["NBD from an NBDSSL-only proxy", "nbd", plain, proxy({ transportModes: ["hotadd", "nbdssl"] }), true, "TransportNotSupported"],
  ["NBDSSL of an encrypted disk from a physical proxy", "nbdssl", encrypted, proxy({ kind: "physical" }), true, "allowed"],
  ["HotAdd of an encrypted disk whose VM has no known key provider", "hotadd", { encrypted: true, keyProviderExternalId: null }, proxy({ keyProviderExternalId: KP_ACME }), true, "CryptoKeyMismatch"],
];

describe("transport policy: named cases", () => {
  it.each(table)("%s → %s", (_name, mode, disk, p, reachable, expected) => {
    const d = checkTransport(mode, disk, p, { keyProviderReachable: reachable });
    expect(d.allowed ? "allowed" : d.error.code).toBe(expected);
    if (!d.allowed) {
      expect(d.error.name).toBe("HostError");
      expect(d.error.message.length).toBeGreaterThan(20);
    }
  });
});

describe("transport policy: every combination", () => {
  const privilegeSets: CryptoPrivilege[][] = [[], ["Cryptographer.Access"], ["Cryptographer.AddDisk"], BOTH];
  const proxyProviders = [null, KP_ACME, KP_GLOBEX];
  const diskProviders = [null, KP_ACME];

  it("follows the rules, and denials always carry the right HostError", () => {
    let cases = 0;
    const seen = new Set<string>();
    for (const mode of TRANSPORT_MODES)
      for (const isEncrypted of [false, true])
        for (const diskKp of diskProviders)
          for (const kind of ["vm", "physical"] as const)
            for (const supported of [false, true])
              for (const proxyKp of proxyProviders)
                for (const privileges of privilegeSets)
                  for (const reachable of [false, true]) {
                    cases++;
                    const disk: PolicyDisk = { encrypted: isEncrypted, keyProviderExternalId: isEncrypted ? diskKp : null };
                    const modes = supported ? TRANSPORT_MODES.slice() : TRANSPORT_MODES.filter((m) => m !== mode);
                    const p = proxy({ kind, transportModes: modes, keyProviderExternalId: proxyKp, privileges });
                    const d = checkTransport(mode, disk, p, { keyProviderReachable: reachable });
                    const outcome = d.allowed ? "allowed" : d.error.code;
                    seen.add(outcome);

                    // The rules, restated independently of the implementation's order of checks.
                    const has = (x: CryptoPrivilege) => privileges.includes(x);
                    const usable = supported && !(mode === "hotadd" && kind !== "vm");
                    const sameKms = proxyKp !== null && proxyKp === disk.keyProviderExternalId;
                    const mayRead = !isEncrypted
                      ? usable
                      : usable && mode !== "san" && has("Cryptographer.Access") && (mode !== "hotadd" || (has("Cryptographer.AddDisk") && sameKms)) && reachable;
                    expect(d.allowed, `${mode} enc=${isEncrypted} ${kind} supported=${supported} kp=${proxyKp} ${privileges} reach=${reachable}`).toBe(mayRead);

                    if (!usable) expect(outcome).toBe("TransportNotSupported");
                    else if (isEncrypted && mode === "san") expect(outcome).toBe("TransportNotSupported");
                    else if (isEncrypted && !has("Cryptographer.Access")) expect(outcome).toBe("NoPermission");
                    else if (isEncrypted && mode === "hotadd" && !has("Cryptographer.AddDisk")) expect(outcome).toBe("NoPermission");
                    else if (isEncrypted && mode === "hotadd" && !sameKms) expect(outcome).toBe("CryptoKeyMismatch");
                    else if (isEncrypted && !reachable) expect(outcome).toBe("KeyProviderUnavailable");
                    else expect(outcome).toBe("allowed");
                  }
    expect(cases).toBe(4 * 2 * 2 * 2 * 2 * 3 * 4 * 2);
    expect([...seen].sort()).toEqual(["CryptoKeyMismatch", "KeyProviderUnavailable", "NoPermission", "TransportNotSupported", "allowed"]);
  });
});
