import "server-only";

type HeaderBag = Headers | Record<string, string | string[] | undefined>;

/** The client's address as the reverse proxy (or Next.js itself) reports it. */
export function sourceIpFrom(headers: HeaderBag): string | null {
  const get = (name: string): string | undefined => {
    if (headers instanceof Headers) return headers.get(name) ?? undefined;
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const forwarded = get("x-forwarded-for")?.split(",")[0]?.trim();
  const ip = forwarded || get("x-real-ip")?.trim();
  return ip ? ip.slice(0, 64) : null;
}
