// The lab host's NBD service: what an ESXi host offers a backup proxy in NBD and NBDSSL modes
// (TRN-4). The host decrypts (its DiskReader is the cleartext view of an encrypted disk) and
// streams over a real TCP socket on 127.0.0.1; with TLS the same protocol runs inside TLS after
// NBD_OPT_STARTTLS. For a restore the export is writable: the proxy sends cleartext and the host's
// DiskSink encrypts it (an encrypted disk stays encrypted, seeds/003).
//
// TLS modes, as the NBD specification names them:
//  - "none":     NOTLS; STARTTLS is refused with NBD_REP_ERR_POLICY.
//  - "required": FORCEDTLS; every option but STARTTLS/ABORT gets NBD_REP_ERR_TLS_REQD until TLS.
//  - "optional": SELECTIVETLS; clients choose, and exports registered `tlsOnly` (the NBDSSL ones)
//                refuse NBD_OPT_GO with NBD_REP_ERR_TLS_REQD in clear. One host port then serves
//                NBD and NBDSSL, as one ESXi management address does.
//
// Exports are registered by name with the transport policy's decision, so the host refuses a
// denied read itself even if a client skipped Strongroom's own check.

import net from "node:net";
import tls from "node:tls";
import { SECTOR_SIZE } from "../data-plane/types";
import { NbdSession, type NbdExportRegistration, type RegisteredExport, type SessionContext, type SessionLoad } from "./nbd-session";
import { WriteGate } from "./write-gate";

export type { NbdExportRegistration, SessionLoad } from "./nbd-session";

export interface NbdServerTlsOptions {
  /** PEM server certificate (chain) and key; the client verifies them against its CA. */
  cert: string | Buffer;
  key: string | Buffer;
  mode?: "required" | "optional";
}

export interface NbdServerOptions {
  /** Default 127.0.0.1: the lab never listens beyond loopback. */
  host?: string;
  /** Default 0: an ephemeral port, read back from `port`. */
  port?: number;
  tls?: NbdServerTlsOptions;
  /** Largest single read or write served (default 32 MiB); larger requests get EOVERFLOW. */
  maxRequestBytes?: number;
  /** Requests served at once per connection before the server stops reading requests (default 16). */
  maxInFlightPerConnection?: number;
  /**
   * Write payload bytes a connection may hold (received, not yet on the disk) before the server
   * stops reading its socket (default 64 MiB). One write is always taken, whatever its size up to
   * maxRequestBytes, so a connection holds at most this plus one request being received.
   */
  maxWriteBytesInFlightPerConnection?: number;
  /** Negotiation (including the TLS handshake) must finish within this (default 10 s). */
  handshakeTimeoutMs?: number;
}

export interface NbdServerStats {
  connections: number;
  bytesServed: number;
  /** Bytes written to writable exports (data and zeros). */
  bytesWritten: number;
}

const MAX_NAME_BYTES = 4096;

export class NbdServer {
  readonly stats: NbdServerStats = { connections: 0, bytesServed: 0, bytesWritten: 0 };
  private readonly exports = new Map<string, RegisteredExport>();
  private readonly sessions = new Set<NbdSession>();
  private closing: Promise<void> | undefined;

  private readonly context: SessionContext;

  private constructor(
    private readonly server: net.Server,
    options: NbdServerOptions,
    readonly host: string,
    readonly port: number,
  ) {
    this.context = {
      tlsMode: options.tls ? (options.tls.mode ?? "required") : "none",
      // Built once: a bad certificate or key fails at start-up, not at a client's STARTTLS.
      secureContext: options.tls ? tls.createSecureContext({ cert: options.tls.cert, key: options.tls.key, minVersion: "TLSv1.2" }) : undefined,
      lookup: (name) => this.exports.get(name),
      maxRequestBytes: options.maxRequestBytes ?? 32 * 1024 * 1024,
      maxInFlight: options.maxInFlightPerConnection ?? 16,
      maxWriteBytesInFlight: options.maxWriteBytesInFlightPerConnection ?? 64 * 1024 * 1024,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
      countRead: (bytes) => {
        this.stats.bytesServed += bytes;
      },
      countWritten: (bytes) => {
        this.stats.bytesWritten += bytes;
      },
    };
    server.on("connection", (socket) => this.accept(socket));
  }

  static async listen(options: NbdServerOptions = {}): Promise<NbdServer> {
    const host = options.host ?? "127.0.0.1";
    // Validate TLS material before binding, so a bad certificate leaves no listener behind.
    if (options.tls) tls.createSecureContext({ cert: options.tls.cert, key: options.tls.key });
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => {
        server.removeListener("error", reject);
        resolve();
      });
    });
    return new NbdServer(server, options, host, (server.address() as net.AddressInfo).port);
  }

  get tlsMode(): SessionContext["tlsMode"] {
    return this.context.tlsMode;
  }

  /** Open connections (negotiating or transmitting). */
  get connectionCount(): number {
    return this.sessions.size;
  }

  /** Per open connection, what it holds now (memory bounds are visible, not just promised). */
  get sessionLoads(): SessionLoad[] {
    return [...this.sessions].map((s) => s.load);
  }

  addExport(name: string, registration: NbdExportRegistration): void {
    if (Buffer.byteLength(name, "utf8") > MAX_NAME_BYTES || name.includes("\0")) throw new RangeError("NBD export names are at most 4096 bytes of UTF-8 without NUL");
    if (this.exports.has(name)) throw new Error(`Export "${name}" is already registered`);
    if (registration.decision.allowed && !registration.reader) throw new Error(`Export "${name}" is allowed but has no reader`);
    const { reader, writer } = registration;
    if (writer && reader && (writer.capacityBytes !== reader.capacityBytes || writer.capacityBytes % SECTOR_SIZE !== 0)) {
      // Partial-sector writes read the sector back through the reader: both must be the same whole-sector disk.
      throw new Error(`Export "${name}": writer of ${writer.capacityBytes} bytes and reader of ${reader.capacityBytes} are not one disk of whole sectors`);
    }
    this.exports.set(name, { ...registration, gate: new WriteGate() });
  }

  /**
   * Stops offering an export to new negotiations. Connections already transmitting keep their
   * reader and writer; closing them is the owner's business (their requests then fail with EIO).
   */
  removeExport(name: string): boolean {
    return this.exports.delete(name);
  }

  get exportCount(): number {
    return this.exports.size;
  }

  hasExport(name: string): boolean {
    return this.exports.has(name);
  }

  /** Stops listening and hard-closes every connection; resolves when all sockets are closed. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const listening = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const s of this.sessions) s.destroy();
      await Promise.all([listening, ...[...this.sessions].map((s) => s.closed)]);
    })();
    return this.closing;
  }

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.stats.connections++;
    const session = new NbdSession(socket, this.context);
    this.sessions.add(session);
    void session.closed.then(() => this.sessions.delete(session));
  }
}
