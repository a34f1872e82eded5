import "server-only";
import net from "node:net";

// Who the client is (SEC-4: the audit log's source address; SEC-1: the per-address sign-in
// throttle). Forwarded headers are believed only when the TCP peer is a configured proxy
// (STRONGROOM_TRUSTED_PROXIES); otherwise anyone could name any address per request.

export type ProxyList = net.BlockList;

/** Addresses and CIDRs ("10.0.0.0/8", "::1", "192.0.2.7") as one matcher; an empty list trusts nobody. */
export function proxyList(entries: readonly string[]): ProxyList {
  const list = new net.BlockList();
  for (const entry of entries) {
    const [addr, prefix] = entry.split("/");
    const type = net.isIPv6(addr) ? "ipv6" : "ipv4";
    if (prefix === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(prefix), type);
  }
  return list;
}

/** "::ffff:10.1.2.3" → "10.1.2.3"; strips a zone and brackets; null when it is not an address. */
export function normaliseAddress(raw: string | undefined | null): string | null {
  if (!raw) return null;
  let a = raw.trim().replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  if (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(a)) a = a.slice(7);
  return net.isIP(a) ? a : null;
}

export function isTrusted(list: ProxyList, address: string | null): boolean {
  if (!address) return false;
  return list.check(address, net.isIPv6(address) ? "ipv6" : "ipv4");
}

export interface ClientOrigin {
  /** The client's address: the socket's, or the nearest untrusted hop a trusted proxy reports. */
  ip: string | null;
  protocol: "http" | "https";
  /** Whether the forwarded headers were believed (the TCP peer is a trusted proxy). */
  viaTrustedProxy: boolean;
}

/**
 * Resolves the client from the socket and, only when the socket's peer is trusted, from
 * X-Forwarded-For (walked from the right, skipping trusted hops) and X-Forwarded-Proto.
 */
export function resolveClient(
  list: ProxyList,
  r: { socketAddress: string | undefined | null; socketEncrypted: boolean; forwardedFor?: string | string[]; forwardedProto?: string | string[] },
): ClientOrigin {
  const peer = normaliseAddress(r.socketAddress);
  const ownProtocol = r.socketEncrypted ? "https" : "http";
  if (!isTrusted(list, peer)) return { ip: peer, protocol: ownProtocol, viaTrustedProxy: false };
  const hops = [r.forwardedFor].flat().filter((v): v is string => typeof v === "string").join(",").split(",").map((h) => h.trim()).filter(Boolean);
  let ip = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normaliseAddress(hops[i]);
    if (!hop) break; // a garbled entry: stop at the last hop we could read
    ip = hop;
    if (!isTrusted(list, hop)) break;
  }
  const proto = [r.forwardedProto].flat()[0]?.split(",")[0]?.trim().toLowerCase();
  return { ip, protocol: proto === "https" ? "https" : proto === "http" ? "http" : ownProtocol, viaTrustedProxy: true };
}
