import "server-only";
import { normaliseAddress } from "./trusted-proxies";

type HeaderBag = Headers | Record<string, string | string[] | undefined>;

export function headerOf(headers: HeaderBag, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The client's address, for the audit log and the per-address throttle. X-Forwarded-For here is
 * the single address lib/auth/forwarded-headers-guard.ts resolved from the socket (and, only from
 * trusted proxies, their forwarded headers): a client's own header never survives to this point.
 */
export function sourceIpFrom(headers: HeaderBag): string | null {
  return normaliseAddress(headerOf(headers, "x-forwarded-for")?.split(",")[0]);
}

/** True when the console is reached over HTTPS: its public URL says so, or a trusted proxy does. */
export function isHttpsRequest(headers: HeaderBag, publicUrl: string | undefined): boolean {
  if (publicUrl?.startsWith("https://")) return true;
  return headerOf(headers, "x-forwarded-proto") === "https";
}
