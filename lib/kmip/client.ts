// KmipClient: the KMIP operations Strongroom needs, over one reusable mutual-TLS
// connection. Each method builds a request payload (operations.ts), wraps it in
// a one-item request message (messages.ts), sends it through KmipConnection,
// and turns the answer into a typed result or a typed error:
//   KmipError (the KMS refused: resultReason "ItemNotFound", "PermissionDenied" ...),
//   KmipTransportError (timeout, refused, TLS, certificate ...),
//   KmipCodecError (the KMS sent bytes that are not a valid KMIP response),
//   KmipUsageError (asked for something this client does not send; no I/O done).
//
// The protocol version is negotiated with DiscoverVersions on first use
// (preferring 1.4, then 1.2) unless fixed in the options.

import { KmipConnection, tlsConnector, type Connector, type ConnectionStats } from "./connection";
import { Operation, QueryFunction, ResultReason, ResultStatus, enumName } from "./enums";
import { KmipCodecError, KmipError, KmipTransportError, KmipUsageError } from "./errors";
import { KMIP_1_2, KMIP_1_4, decodeResponse, encodeRequest, versionString, type ProtocolVersion } from "./messages";
import * as ops from "./operations";
import { DEFAULT_MAX_MESSAGE_SIZE, type TtlvItem } from "./ttlv";
import { randomBytes } from "node:crypto";

export interface KmipClientOptions {
  host: string;
  /** Default 5696. */
  port?: number;
  ca: string | Buffer | (string | Buffer)[];
  cert: string | Buffer;
  key: string | Buffer;
  passphrase?: string;
  servername?: string;
  /** "auto" (default) negotiates with DiscoverVersions; or force "1.2" / "1.4". */
  protocolVersion?: "auto" | "1.2" | "1.4";
  /** TCP connect + TLS handshake. Default 10 s. */
  connectTimeoutMs?: number;
  /** Per request, from send to the whole response. Default 30 s. */
  requestTimeoutMs?: number;
  /** Close an idle connection after this long; 0 keeps it. Default 60 s. */
  idleTimeoutMs?: number;
  /** Largest response accepted. Default 1 MiB. */
  maxMessageSize?: number;
  /** Replace the TLS transport (tests). */
  connector?: Connector;
}

/** Versions this client speaks, in order of preference. */
const SUPPORTED: ProtocolVersion[] = [KMIP_1_4, KMIP_1_2];

/** Operations that change nothing on the KMS: safe to resend after a stale connection. */
const IDEMPOTENT = new Set<number>([
  Operation.DiscoverVersions, Operation.Query, Operation.Get, Operation.Locate, Operation.GetAttributes,
  Operation.Encrypt, Operation.Decrypt,
]);

export class KmipClient {
  private readonly connection: KmipConnection;
  private readonly fixedVersion: ProtocolVersion | undefined;
  private negotiated: Promise<ProtocolVersion> | undefined;
  private readonly maxMessageSize: number;
  private readonly endpoint: string;
  private readonly active = new Set<Promise<unknown>>();
  private closing = false;

  constructor(options: KmipClientOptions) {
    const port = options.port ?? 5696;
    this.endpoint = `${options.host}:${port}`;
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    const connector =
      options.connector ??
      tlsConnector({
        host: options.host,
        port,
        ca: options.ca,
        cert: options.cert,
        key: options.key,
        passphrase: options.passphrase,
        servername: options.servername,
        connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      });
    this.connection = new KmipConnection(connector, {
      endpoint: this.endpoint,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
      maxMessageSize: this.maxMessageSize,
    });
    const v = options.protocolVersion ?? "auto";
    this.fixedVersion = v === "1.2" ? KMIP_1_2 : v === "1.4" ? KMIP_1_4 : undefined;
  }

  /** Connection counters (connects, requests, retries). */
  get stats(): Readonly<ConnectionStats> {
    return this.connection.stats;
  }

  /** The protocol version in use (negotiating it first if needed). */
  async protocolVersion(): Promise<ProtocolVersion> {
    if (this.fixedVersion) return this.fixedVersion;
    this.negotiated ??= this.negotiate().catch((err) => {
      this.negotiated = undefined; // try again next time
      throw err;
    });
    return this.negotiated;
  }

  private async negotiate(): Promise<ProtocolVersion> {
    let offered: ProtocolVersion[];
    try {
      offered = await this.discoverVersions(SUPPORTED, KMIP_1_2);
    } catch (err) {
      // A KMIP 1.0 server has no DiscoverVersions; 1.2 is then the best guess.
      if (err instanceof KmipError && err.resultReasonCode === ResultReason.OperationNotSupported) return KMIP_1_2;
      throw err;
    }
    const pick = offered.find((v) => SUPPORTED.some((s) => s.major === v.major && s.minor === v.minor));
    if (!pick) {
      throw new KmipUsageError(
        `The KMS supports none of KMIP ${SUPPORTED.map(versionString).join(", ")} (it offered ${offered.map(versionString).join(", ") || "nothing"})`,
      );
    }
    return pick;
  }

  /** Send one operation; returns the Response Payload (or throws a typed error). */
  private call(operation: number, payload: TtlvItem[], version?: ProtocolVersion): Promise<TtlvItem | undefined> {
    if (this.closing) return Promise.reject(new KmipTransportError("closed", `The KMIP client for ${this.endpoint} is closed`, { endpoint: this.endpoint }));
    const p = this.send(operation, payload, version);
    this.active.add(p);
    const done = () => this.active.delete(p);
    p.then(done, done);
    return p;
  }

  private async send(operation: number, payload: TtlvItem[], version?: ProtocolVersion): Promise<TtlvItem | undefined> {
    const v = version ?? (await this.protocolVersion());
    const request = encodeRequest(operation, payload, { version: v });
    const bytes = await this.connection.request(request, { idempotent: IDEMPOTENT.has(operation) });
    const response = decodeResponse(bytes, { maxMessageSize: this.maxMessageSize });
    const item = response.batchItems[0];
    if (response.batchItems.length !== 1) throw new KmipCodecError("bad-message", `expected 1 batch item, got ${response.batchItems.length}`);
    if (item.resultStatus !== ResultStatus.Success) {
      throw new KmipError({
        operation: item.operation ?? operation,
        resultStatus: item.resultStatus,
        resultReason: item.resultReason,
        resultMessage: item.resultMessage,
      });
    }
    if (item.operation !== undefined && item.operation !== operation) {
      throw new KmipCodecError(
        "bad-message",
        `asked for ${enumName(Operation, operation)}, the KMS answered ${enumName(Operation, item.operation)}`,
      );
    }
    return item.payload;
  }

  // ------------------------------------------------------------ operations

  /** Versions the KMS supports among `versions` (all of them if empty), in its order of preference. */
  async discoverVersions(versions: ProtocolVersion[] = [], headerVersion?: ProtocolVersion): Promise<ProtocolVersion[]> {
    const p = await this.call(Operation.DiscoverVersions, ops.discoverVersionsPayload(versions), headerVersion ?? this.fixedVersion ?? KMIP_1_2);
    return ops.parseDiscoverVersions(p);
  }

  async query(
    functions: (keyof typeof QueryFunction)[] = ["QueryOperations", "QueryObjects", "QueryServerInformation"],
  ): Promise<ops.QueryResult> {
    return ops.parseQuery(await this.call(Operation.Query, ops.queryPayload(functions)));
  }

  /** Create an AES key on the KMS; returns its unique identifier. */
  async create(o: ops.CreateSymmetricKeyOptions): Promise<string> {
    return ops.parseCreate(await this.call(Operation.Create, ops.createPayload(o))).uniqueIdentifier;
  }

  /** Register (import) an AES key; returns its unique identifier. */
  async register(o: ops.RegisterSymmetricKeyOptions): Promise<string> {
    return ops.parseUid(await this.call(Operation.Register, ops.registerPayload(o)), "Register");
  }

  /** Create an RSA key pair; returns both identifiers. */
  async createKeyPair(o: ops.CreateKeyPairOptions): Promise<ops.KeyPairResult> {
    return ops.parseCreateKeyPair(await this.call(Operation.CreateKeyPair, ops.createKeyPairPayload(o)));
  }

  /** Fetch an object; for keys, `keyMaterial` holds the (possibly wrapped) key bytes. */
  async get(id: string, o?: ops.GetOptions): Promise<ops.ManagedObject> {
    return ops.parseGet(await this.call(Operation.Get, ops.getPayload(id, o)));
  }

  /** Unique identifiers of the objects matching (e.g. by Name). */
  async locate(o: ops.LocateOptions): Promise<string[]> {
    return ops.parseLocate(await this.call(Operation.Locate, ops.locatePayload(o)));
  }

  /** Attributes of an object (all, or only `names`, e.g. ["State", "Name"]). */
  async getAttributes(id: string, names?: string[]) {
    return ops.parseGetAttributes(await this.call(Operation.GetAttributes, ops.getAttributesPayload(id, names)));
  }

  async activate(id: string): Promise<void> {
    ops.parseUid(await this.call(Operation.Activate, ops.uidPayload(id)), "Activate");
  }

  async revoke(id: string, o?: ops.RevokeOptions): Promise<void> {
    ops.parseUid(await this.call(Operation.Revoke, ops.revokePayload(id, o)), "Revoke");
  }

  async destroy(id: string): Promise<void> {
    ops.parseUid(await this.call(Operation.Destroy, ops.uidPayload(id)), "Destroy");
  }

  /**
   * Encrypt with a symmetric key held by the KMS. For GCM (KMIP >= 1.4) a
   * random 12-byte nonce is generated here unless `iv` is given.
   */
  async encrypt(id: string, data: Uint8Array, o: ops.CipherOptions): Promise<ops.EncryptResult> {
    const v = await this.protocolVersion();
    const opts = o.mode === "GCM" && o.iv === undefined ? { ...o, iv: randomBytes(12) } : o;
    return ops.parseEncrypt(await this.call(Operation.Encrypt, ops.encryptPayload(id, data, opts, v), v), opts.iv);
  }

  async decrypt(id: string, data: Uint8Array, o: ops.CipherOptions & { tag?: Uint8Array }): Promise<Buffer> {
    const v = await this.protocolVersion();
    return ops.parseDecrypt(await this.call(Operation.Decrypt, ops.decryptPayload(id, data, o, v), v));
  }

  /** Let calls already made finish, then close the connection. Later calls fail with code "closed". */
  async close(): Promise<void> {
    this.closing = true;
    while (this.active.size > 0) await Promise.allSettled([...this.active]);
    await this.connection.close();
  }
}
