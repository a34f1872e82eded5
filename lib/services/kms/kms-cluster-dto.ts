import "server-only";
import { z } from "zod";

const serversSchema = z.array(z.object({ host: z.string(), port: z.number() }));

export function parseServers(json: string): { host: string; port: number }[] {
  const parsed = serversSchema.safeParse(JSON.parse(json || "[]"));
  return parsed.success ? parsed.data : [];
}

/** What the console shows of a KMS cluster: never a certificate body or a key. */
export interface KmsClusterDto {
  id: string;
  name: string;
  servers: { host: string; port: number }[];
  status: "unknown" | "reachable" | "unreachable";
  statusCheckedAt: string | null;
  unreachableSince: string | null;
  lastError: string | null;
  kmipVersions: string[];
  serverSubject: string | null;
  clientCertSubject: string;
  clientCertFingerprint: string;
  clientCertNotAfter: string;
  keyProviders: { id: string; name: string; siteName: string }[];
}

export function toKmsClusterDto(c: {
  id: string;
  name: string;
  servers: string;
  status: string;
  statusCheckedAt: Date | null;
  unreachableSince: Date | null;
  lastError: string | null;
  kmipVersions: string | null;
  serverSubject: string | null;
  clientCertSubject: string;
  clientCertFingerprint: string;
  clientCertNotAfter: Date;
  keyProviders?: { id: string; name: string; site: { name: string } }[];
}): KmsClusterDto {
  return {
    id: c.id,
    name: c.name,
    servers: parseServers(c.servers),
    status: c.status === "reachable" || c.status === "unreachable" ? c.status : "unknown",
    statusCheckedAt: c.statusCheckedAt?.toISOString() ?? null,
    unreachableSince: c.unreachableSince?.toISOString() ?? null,
    lastError: c.lastError,
    kmipVersions: c.kmipVersions ? c.kmipVersions.split(",") : [],
    serverSubject: c.serverSubject,
    clientCertSubject: c.clientCertSubject,
    clientCertFingerprint: c.clientCertFingerprint,
    clientCertNotAfter: c.clientCertNotAfter.toISOString(),
    keyProviders: (c.keyProviders ?? []).map((k) => ({ id: k.id, name: k.name, siteName: k.site.name })),
  };
}
