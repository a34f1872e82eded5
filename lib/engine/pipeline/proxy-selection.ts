// Proxy and transport-mode selection for one disk (TRN-1…6).
//
// Order, most to least efficient: Direct storage (SAN) → HotAdd → network (NBDSSL before NBD for
// an encrypted disk, NBD before NBDSSL otherwise). Unlike Veeam, every candidate is checked for KMS
// compatibility and privileges BEFORE it is picked (TRN-5), with the same pure rule the host
// applies (checkTransport), so a wrong-KMS HotAdd proxy is never tried. Every rejected candidate
// gets a human reason for the session log.
//
// Failover to network mode: when it is off, a proxy whose configuration offers Direct storage or
// HotAdd may not drop to NBD/NBDSSL; proxies configured for network modes only still serve in them
// (their network mode is their primary mode, not a fallback).

import type { PlatformProxy, TransportMode } from "../../platform/connector";
import { checkTransport, transportModeName } from "../../platform/transport-policy";

export interface SelectionDisk {
  /** "web-01 / Hard disk 1": used in messages. */
  label: string;
  encrypted: boolean;
  /** The VM's key provider when encrypted, else null. */
  keyProviderExternalId: string | null;
  siteExternalId: string;
  /** The VM's tenant: proxies dedicated to another tenant are not used (TRN-6). */
  tenantExternalId: string | null;
}

export type CandidateProxy = Pick<
  PlatformProxy,
  "externalId" | "name" | "kind" | "siteExternalId" | "transportModes" | "maxTasks" | "keyProviderExternalId" | "tenantExternalId" | "privileges"
> & {
  /** Tasks the proxy runs now. */
  activeTasks: number;
};

export interface SelectionOptions {
  /** "automatic": every proxy of the site; otherwise the job's chosen proxies (external ids). */
  proxies: "automatic" | string[];
  failoverToNetwork: boolean;
  /** Whether the disk's key provider answers now (VME-3); default true. */
  keyProviderReachable?: boolean;
  /** Display names of key providers ("Acme Logistics KMS"); ids are shown otherwise. */
  keyProviderNames?: Readonly<Record<string, string>>;
}

export interface Rejection {
  proxyExternalId: string;
  proxyName: string;
  /** The mode refused, or null when the proxy was not usable at all (site, tenant, tasks). */
  mode: TransportMode | null;
  message: string;
}

export type ProxySelection =
  | { ok: true; proxy: CandidateProxy; mode: TransportMode; reason: string; rejected: Rejection[] }
  | {
      ok: false;
      /** True when a proxy would fit but all such are at their task limit: wait and retry. */
      busy: boolean;
      reason: string;
      rejected: Rejection[];
    };

const SHORT: Record<TransportMode, string> = { san: "Direct storage", hotadd: "HotAdd", nbd: "NBD", nbdssl: "NBDSSL" };
const NETWORK: ReadonlySet<TransportMode> = new Set(["nbd", "nbdssl"]);

export function modeOrder(encrypted: boolean): TransportMode[] {
  return encrypted ? ["san", "hotadd", "nbdssl", "nbd"] : ["san", "hotadd", "nbd", "nbdssl"];
}

/** "ams-proxy-globex-02: HotAdd refused — encrypted with Acme Logistics KMS, the VM uses Globex Health KMS". */
export function formatRejection(r: Rejection): string {
  return r.mode ? `${r.proxyName}: ${SHORT[r.mode]} refused — ${r.message}` : `${r.proxyName}: not used — ${r.message}`;
}

function kmsName(id: string | null, names: Readonly<Record<string, string>> | undefined): string {
  if (!id) return "no key provider";
  return names?.[id] ?? id;
}

/** Why `proxy` may not read `disk` in `mode`, or null when it may. */
function refusal(mode: TransportMode, disk: SelectionDisk, proxy: CandidateProxy, o: SelectionOptions): string | null {
  const decision = checkTransport(mode, disk, proxy, { keyProviderReachable: o.keyProviderReachable ?? true });
  if (decision.allowed) return null;
  const e = decision.error;
  switch (e.code) {
    case "TransportNotSupported":
      if (!proxy.transportModes.includes(mode)) return "not configured for this mode";
      if (mode === "san" && disk.encrypted) return "encrypted disks cannot be read in Direct storage mode";
      if (mode === "hotadd" && proxy.kind !== "vm") return "a physical proxy cannot hot-add disks";
      return e.message;
    case "CryptoKeyMismatch":
      return proxy.keyProviderExternalId === null
        ? `the proxy is not encrypted, the VM uses ${kmsName(disk.keyProviderExternalId, o.keyProviderNames)}`
        : `encrypted with ${kmsName(proxy.keyProviderExternalId, o.keyProviderNames)}, the VM uses ${kmsName(disk.keyProviderExternalId, o.keyProviderNames)}`;
    case "NoPermission": {
      const missing = (mode === "hotadd" ? ["Cryptographer.Access", "Cryptographer.AddDisk"] : ["Cryptographer.Access"]).filter(
        (p) => !proxy.privileges.includes(p as never),
      );
      return `lacks ${missing.join(" and ")}`;
    }
    case "KeyProviderUnavailable":
      return `${kmsName(disk.keyProviderExternalId, o.keyProviderNames)} cannot be reached, so the host cannot unlock the disk`;
    default:
      return e.message;
  }
}

/** Picks a proxy and mode for one disk; explains every candidate it did not use. */
export function selectProxy(disk: SelectionDisk, proxies: readonly CandidateProxy[], o: SelectionOptions): ProxySelection {
  const rejected: Rejection[] = [];
  const reject = (p: CandidateProxy, mode: TransportMode | null, message: string) =>
    rejected.push({ proxyExternalId: p.externalId, proxyName: p.name, mode, message });

  const chosen = o.proxies === "automatic" ? null : new Set(o.proxies);
  const usable: CandidateProxy[] = [];
  for (const p of proxies) {
    if (chosen && !chosen.has(p.externalId)) continue; // not part of this job: nothing to explain
    if (p.siteExternalId !== disk.siteExternalId) reject(p, null, `at site ${p.siteExternalId}, the disk is at ${disk.siteExternalId}`);
    else if (p.tenantExternalId !== null && p.tenantExternalId !== disk.tenantExternalId)
      reject(p, null, `dedicated to tenant ${p.tenantExternalId}`);
    else usable.push(p);
  }
  if (chosen) for (const id of chosen) if (!proxies.some((p) => p.externalId === id)) rejected.push({ proxyExternalId: id, proxyName: id, mode: null, message: "no such proxy in the inventory" });

  let busyFit = false;
  const allowedModes = new Map<CandidateProxy, TransportMode[]>();
  for (const p of usable) {
    const primaryOnlyNetwork = !p.transportModes.some((m) => !NETWORK.has(m));
    const modes: TransportMode[] = [];
    for (const mode of modeOrder(disk.encrypted)) {
      if (!p.transportModes.includes(mode)) continue; // a mode the proxy does not offer is no refusal worth logging
      if (NETWORK.has(mode) && !o.failoverToNetwork && !primaryOnlyNetwork) {
        if (modes.length === 0) reject(p, mode, "failover to network mode is off for this job");
        continue;
      }
      const why = refusal(mode, disk, p, o);
      if (why) reject(p, mode, why);
      else modes.push(mode);
    }
    if (modes.length === 0) continue;
    if (p.activeTasks >= p.maxTasks) {
      busyFit = true;
      reject(p, null, `busy (${p.activeTasks}/${p.maxTasks} tasks)`);
      continue;
    }
    allowedModes.set(p, modes);
  }

  for (const mode of modeOrder(disk.encrypted)) {
    const fits = [...allowedModes].filter(([, modes]) => modes.includes(mode)).map(([p]) => p);
    if (fits.length === 0) continue;
    fits.sort((a, b) => a.activeTasks / a.maxTasks - b.activeTasks / b.maxTasks || a.name.localeCompare(b.name));
    const proxy = fits[0];
    for (const [p, modes] of allowedModes) if (p !== proxy) reject(p, null, `${SHORT[modes[0]]} possible, but ${proxy.name} was preferred (${modes[0] === mode ? "fewer running tasks" : "more efficient mode"})`);
    let reason = `${proxy.name} in ${transportModeName(mode)} mode`;
    if (mode === "nbdssl" && disk.encrypted) reason += ": the host decrypts and streams the disk under TLS (costs host CPU and throughput)";
    else if (mode === "nbd" && disk.encrypted) reason += ": WARNING the host streams the decrypted disk without TLS; prefer NBDSSL";
    return { ok: true, proxy, mode, reason, rejected };
  }
  const reason = busyFit
    ? `every proxy that can read ${disk.label} is at its task limit: waiting for a free slot`
    : usable.length === 0
      ? `no proxy of the job can serve ${disk.label}${rejected.length ? `: ${rejected.map(formatRejection).join("; ")}` : ""}`
      : `no proxy can read ${disk.label}: ${rejected.map(formatRejection).join("; ")}`;
  return { ok: false, busy: busyFit, reason, rejected };
}
