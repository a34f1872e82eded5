import "server-only";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import { KmipClient, KmipError, KmipTransportError, tlsConnector, versionString } from "@/lib/kmip";

export interface KmsCredentials {
  servers: { host: string; port: number }[];
  ca: string;
  cert: string;
  key: string;
}

export type ProbeResult =
  | { ok: true; server: string; versions: string[]; serverSubject: string; serverCertNotAfter: Date | null; latencyMs: number }
  | { ok: false; error: string };

const CONNECT_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 5_000;

/**
 * "Test connection": a mutual-TLS handshake and a KMIP DiscoverVersions against each server in
 * turn, until one answers. Reports the server's certificate identity and KMIP versions. The error
 * text says what went wrong; it never contains key material (the KMIP client guarantees that).
 */
export async function probeKms(c: KmsCredentials): Promise<ProbeResult> {
  const failures: string[] = [];
  for (const s of c.servers) {
    let peer: ReturnType<TLSSocket["getPeerCertificate"]> | undefined;
    const base = tlsConnector({ host: s.host, port: s.port, ca: c.ca, cert: c.cert, key: c.key, connectTimeoutMs: CONNECT_TIMEOUT_MS });
    const client = new KmipClient({
      host: s.host,
      port: s.port,
      ca: c.ca,
      cert: c.cert,
      key: c.key,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      idleTimeoutMs: 0,
      connector: async (): Promise<Duplex> => {
        const socket = await base();
        peer = (socket as TLSSocket).getPeerCertificate?.();
        return socket;
      },
    });
    const started = Date.now();
    try {
      const versions = await client.discoverVersions();
      return {
        ok: true,
        server: `${s.host}:${s.port}`,
        versions: versions.map(versionString),
        serverSubject: peer?.subject ? Object.entries(peer.subject).map(([k, v]) => `${k}=${v}`).join(", ") : "unknown",
        serverCertNotAfter: peer?.valid_to ? new Date(peer.valid_to) : null,
        latencyMs: Date.now() - started,
      };
    } catch (e) {
      failures.push(`${s.host}:${s.port}: ${describeKmsError(e)}`);
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  return { ok: false, error: failures.join("; ") };
}

export function describeKmsError(e: unknown): string {
  if (e instanceof KmipTransportError || e instanceof KmipError) return e.message;
  if (e instanceof Error) return e.message.split("\n")[0];
  return "unknown error";
}
