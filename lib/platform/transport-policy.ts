// Who may read (back up) or write (restore) which disk in which transport mode, as vSphere decides
// it (TRN-1…3, VME-3, and the VDDK rules in seeds/003: encrypted disks only over NBDSSL or HotAdd,
// never SAN; HotAdd needs the proxy VM itself encrypted; Cryptographer.Access for both,
// Cryptographer.AddDisk for HotAdd). Reads and writes follow the same rules: SAN cannot read an
// encrypted disk (the datastore holds ciphertext) and cannot write one either (raw plaintext
// written into it would corrupt it), and the host encrypts what HotAdd and NBD write.
//
// One pure function, used twice on purpose: Strongroom's side calls it before it opens anything
// (TRN-5: check KMS compatibility before picking a proxy, so a denial never costs a socket), and
// the lab host calls it again when it registers an export or attaches a disk, because in vSphere
// it is the host that refuses, whatever the backup product believed.

import type { CryptoPrivilege, PlatformProxy, TransportMode } from "./connector";
import { HostError } from "./errors";

/** The disk being read, as the inventory knows it. */
export interface PolicyDisk {
  encrypted: boolean;
  /** The key provider of the disk's VM (its KEK's provider) when encrypted, else null. */
  keyProviderExternalId: string | null;
}

/** The parts of a proxy the decision depends on. */
export type PolicyProxy = Pick<PlatformProxy, "kind" | "transportModes" | "keyProviderExternalId" | "privileges"> & { name?: string };

export interface PolicyContext {
  /** Whether the host can reach the disk's key provider right now (VME-3). Ignored for unencrypted disks. */
  keyProviderReachable: boolean;
  /** What the proxy means to do; only the wording of a denial depends on it. Default "read". */
  access?: "read" | "write";
}

export type TransportDecision = { allowed: true } | { allowed: false; error: HostError };

const MODE_NAMES: Record<TransportMode, string> = {
  san: "Direct storage (SAN)",
  hotadd: "Virtual appliance (HotAdd)",
  nbd: "Network (NBD)",
  nbdssl: "Network with TLS (NBDSSL)",
};

/** Privileges a mode needs for an encrypted disk (TRN-3); unencrypted disks need none of these. */
export const REQUIRED_CRYPTO_PRIVILEGES: Record<TransportMode, readonly CryptoPrivilege[]> = {
  san: [],
  hotadd: ["Cryptographer.Access", "Cryptographer.AddDisk"],
  nbd: ["Cryptographer.Access"],
  nbdssl: ["Cryptographer.Access"],
};

function deny(code: HostError["code"], message: string): TransportDecision {
  return { allowed: false, error: new HostError(code, message) };
}

/**
 * Decides whether `proxy` may read (or, with `ctx.access` "write", write) `disk` in `mode`. Checks run from the most static to the most
 * circumstantial: what the proxy can do at all, what the mode can do with encryption, what the
 * proxy's account may do (authorisation comes before key handling, so a caller without privileges
 * learns nothing about the key provider), which key provider the proxy trusts, and last whether the
 * key provider answers now — the only check whose answer may change on a retry.
 */
export function checkTransport(mode: TransportMode, disk: PolicyDisk, proxy: PolicyProxy, ctx: PolicyContext): TransportDecision {
  const who = proxy.name ? `Proxy ${proxy.name}` : "The proxy";
  if (!proxy.transportModes.includes(mode)) {
    return deny("TransportNotSupported", `${who} is not configured for ${MODE_NAMES[mode]}`);
  }
  if (mode === "hotadd" && proxy.kind !== "vm") {
    return deny("TransportNotSupported", `${who} is a physical server: HotAdd attaches disks to a proxy that is a VM`);
  }
  if (!disk.encrypted) return { allowed: true };

  if (mode === "san") {
    if (ctx.access === "write") {
      return deny("TransportNotSupported", "Encrypted disks cannot be written in Direct storage (SAN) mode: the datastore holds ciphertext, and raw plaintext written into it would corrupt the disk; restore it over HotAdd or NBDSSL, where the host encrypts (TRN-2)");
    }
    return deny("TransportNotSupported", "Encrypted disks cannot be read in Direct storage (SAN) mode: the datastore holds only ciphertext and the host keeps the key (TRN-2)");
  }
  const missing = REQUIRED_CRYPTO_PRIVILEGES[mode].filter((p) => !proxy.privileges.includes(p));
  if (missing.length > 0) {
    return deny("NoPermission", `${MODE_NAMES[mode]} of an encrypted disk needs ${missing.join(" and ")}; ${who} lacks ${missing.length > 1 ? "them" : "it"} (TRN-3)`);
  }
  if (mode === "hotadd") {
    if (proxy.keyProviderExternalId === null) {
      return deny("CryptoKeyMismatch", `${who} is not an encrypted VM: HotAdd of an encrypted disk needs a proxy encrypted with the same key provider (${disk.keyProviderExternalId ?? "unknown"}) (TRN-3)`);
    }
    if (disk.keyProviderExternalId === null || proxy.keyProviderExternalId !== disk.keyProviderExternalId) {
      return deny("CryptoKeyMismatch", `${who} is encrypted with key provider ${proxy.keyProviderExternalId}, the disk's VM with ${disk.keyProviderExternalId ?? "an unknown provider"}: the host refuses to hot-add it (TRN-3)`);
    }
  }
  if (!ctx.keyProviderReachable) {
    return deny("KeyProviderUnavailable", `The host cannot reach key provider ${disk.keyProviderExternalId ?? "(unknown)"}, so it cannot unlock the disk (VME-3)`);
  }
  return { allowed: true };
}

export function transportModeName(mode: TransportMode): string {
  return MODE_NAMES[mode];
}
