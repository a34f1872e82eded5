import "server-only";
import { headerOf } from "./source-ip";

type HeaderBag = Headers | Record<string, string | string[] | undefined>;

/**
 * State-changing requests must come from the console's own pages (cross-site request forgery):
 * `Sec-Fetch-Site: same-origin`, or an `Origin` equal to the console's — its public URL
 * (NEXTAUTH_URL) or the address this request was made to (Host, and X-Forwarded-Host/-Proto only
 * as lib/auth/forwarded-headers-guard.ts let them through from a trusted proxy). A missing Origin is
 * refused: every browser sends one on a POST. Returns why it is refused, or null when it may pass.
 */
export function crossOriginRefusal(headers: HeaderBag, publicUrl: string | undefined): string | null {
  const fetchSite = headerOf(headers, "sec-fetch-site");
  const origin = headerOf(headers, "origin");
  if (fetchSite === "same-origin" && (!origin || allowedOrigins(headers, publicUrl).has(origin.toLowerCase()))) return null;
  if (!origin || origin === "null") return "This request came without an Origin header, so the console cannot tell it came from its own pages. It was refused; nothing was changed. Use the console in a browser.";
  if (allowedOrigins(headers, publicUrl).has(origin.toLowerCase())) return null;
  return "This request came from another site, not from the console's own pages. It was refused; nothing was changed.";
}

function allowedOrigins(headers: HeaderBag, publicUrl: string | undefined): Set<string> {
  const out = new Set<string>();
  if (publicUrl) {
    try {
      out.add(new URL(publicUrl).origin.toLowerCase());
    } catch {
      // a malformed NEXTAUTH_URL is refused by lib/config/env.ts
    }
  }
  const host = headerOf(headers, "x-forwarded-host")?.split(",")[0]?.trim() || headerOf(headers, "host");
  const proto = headerOf(headers, "x-forwarded-proto")?.split(",")[0]?.trim() || "http";
  if (host) out.add(`${proto}://${host}`.toLowerCase());
  return out;
}

/** HTTP methods that change nothing (the route wrapper checks every other one). */
export const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
