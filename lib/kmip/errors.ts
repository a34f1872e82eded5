// Typed errors of the KMIP client. Three families, never mixed:
//  - KmipCodecError:     bytes that are not valid TTLV / not a valid KMIP message
//                        (from the codec, the framer, or a server's response).
//  - KmipError:          the KMS answered, and the answer was "no"
//                        (Result Status != Success, with a named Result Reason).
//  - KmipTransportError: we could not talk to the KMS (timeout, refused, TLS,
//                        certificate, connection lost, bad client config).
//  - KmipUsageError:     the caller asked for something this client cannot
//                        send (e.g. AES-GCM over a KMIP 1.2 connection).
// No message ever contains key material: messages are built from codes,
// host names, operation names and the server's Result Message only.

import { enumName, ResultReason, ResultStatus, Operation } from "./enums";

export type KmipCodecErrorCode =
  | "truncated" // the bytes end before the item / message does
  | "bad-type" // unknown item type byte, or an item of the wrong type where a type is required
  | "bad-length" // a length that lies: wrong for its type, not a multiple of 8, or overrunning its parent
  | "too-large" // a message larger than the configured maximum (refused before allocating)
  | "bad-padding" // non-zero padding bytes
  | "bad-value" // invalid UTF-8, Boolean not 0/1, or an unencodable value
  | "nesting-too-deep" // structures nested deeper than the configured maximum
  | "trailing-bytes" // bytes after a complete item where none may be
  | "bad-message"; // valid TTLV but not a valid KMIP message (missing header, wrong tag ...)

export class KmipCodecError extends Error {
  override readonly name = "KmipCodecError";
  constructor(
    readonly code: KmipCodecErrorCode,
    message: string,
    /** Byte offset in the message where the problem was found, if known. */
    readonly offset?: number,
  ) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
  }
}

export type ResultReasonName = keyof typeof ResultReason;
export type ResultStatusName = keyof typeof ResultStatus;

/** The KMS processed the request and refused it (Result Status is not Success). */
export class KmipError extends Error {
  override readonly name = "KmipError";
  /** e.g. "OperationFailed" */
  readonly resultStatus: ResultStatusName | `0x${string}`;
  /** e.g. "ItemNotFound", "PermissionDenied", "InvalidField"; undefined if the server sent none. */
  readonly resultReason: ResultReasonName | `0x${string}` | undefined;
  readonly resultStatusCode: number;
  readonly resultReasonCode: number | undefined;
  /** The server's Result Message, control characters removed, at most 300 characters. */
  readonly serverMessage: string | undefined;
  /** e.g. "Get" */
  readonly operation: string;

  constructor(args: { operation: number; resultStatus: number; resultReason?: number; resultMessage?: string }) {
    const op = enumName(Operation, args.operation);
    const status = enumName(ResultStatus, args.resultStatus) as ResultStatusName | `0x${string}`;
    const reason =
      args.resultReason === undefined
        ? undefined
        : (enumName(ResultReason, args.resultReason) as ResultReasonName | `0x${string}`);
    const serverMessage = args.resultMessage === undefined ? undefined : sanitize(args.resultMessage, 300);
    super(`KMIP ${op} failed: ${status}${reason ? ` / ${reason}` : ""}${serverMessage ? ` — ${serverMessage}` : ""}`);
    this.operation = op;
    this.resultStatus = status;
    this.resultReason = reason;
    this.resultStatusCode = args.resultStatus;
    this.resultReasonCode = args.resultReason;
    this.serverMessage = serverMessage;
  }
}

export type KmipTransportErrorCode =
  | "timeout" // no TLS handshake (phase "connect") or no response (phase "response") in time
  | "connection-refused"
  | "connection-reset" // the peer reset or closed the connection mid-request
  | "unreachable" // DNS failure, no route, ...
  | "certificate" // the KMS certificate failed verification (wrong CA, name mismatch, expired ...)
  | "tls" // any other TLS failure, e.g. the KMS rejected our client certificate
  | "config" // the client's own CA / certificate / key could not be loaded
  | "closed"; // the client was closed

export class KmipTransportError extends Error {
  override readonly name = "KmipTransportError";
  constructor(
    readonly code: KmipTransportErrorCode,
    message: string,
    readonly details: { endpoint: string; phase?: "connect" | "response"; osCode?: string; cause?: unknown },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }
}

/** The caller asked for something this client does not send (checked before any I/O). */
export class KmipUsageError extends Error {
  override readonly name = "KmipUsageError";
}

/** Node / OpenSSL error codes meaning "the peer's certificate did not verify". */
const CERT_VERIFY_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_SIGNATURE_FAILURE",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "INVALID_CA",
  "INVALID_PURPOSE",
  "PATH_LENGTH_EXCEEDED",
  "HOSTNAME_MISMATCH",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** The client's own TLS material (CA, certificate, key) could not be loaded. */
export function configErrorFrom(err: unknown, endpoint: string): KmipTransportError {
  const e = err as NodeJS.ErrnoException;
  return new KmipTransportError(
    "config",
    `Could not load the TLS CA, client certificate or key for KMS ${endpoint}: ${sanitize(String(e?.message ?? err), 200)}`,
    { endpoint, phase: "connect", osCode: typeof e?.code === "string" ? e.code : undefined, cause: err },
  );
}

/**
 * Turn a Node socket / TLS error into a KmipTransportError with a message an
 * operator can act on. `endpoint` is "host:port".
 */
export function transportErrorFrom(err: unknown, endpoint: string, phase: "connect" | "response"): KmipTransportError {
  if (err instanceof KmipTransportError) return err;
  const e = err as NodeJS.ErrnoException & { reason?: string };
  const code = typeof e?.code === "string" ? e.code : undefined;
  const raw = sanitize(String(e?.message ?? err), 200);
  const details = { endpoint, phase, osCode: code, cause: err };
  if (code === "ECONNREFUSED") {
    return new KmipTransportError(
      "connection-refused",
      `Connection refused by KMS ${endpoint}: is the KMIP server running and listening on this port?`,
      details,
    );
  }
  if (code === "ECONNRESET" || code === "EPIPE" || code === "ERR_STREAM_DESTROYED") {
    return new KmipTransportError(
      "connection-reset",
      `The connection to KMS ${endpoint} was reset during the ${phase === "connect" ? "TLS handshake" : "request"}` +
        (phase === "connect" ? " (the KMS may have rejected the client certificate)" : ""),
      details,
    );
  }
  if (code && ["ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "EADDRNOTAVAIL"].includes(code)) {
    return new KmipTransportError("unreachable", `KMS ${endpoint} is unreachable (${code})`, details);
  }
  if (code && CERT_VERIFY_CODES.has(code)) {
    return new KmipTransportError(
      "certificate",
      `TLS certificate verification failed for KMS ${endpoint}: ${raw} (${code}). ` +
        `Check that the configured CA issued the KMS server certificate and that the certificate names this host.`,
      details,
    );
  }
  if (code && /ALERT/.test(code)) {
    const alert = code.replace(/^ERR_SSL_(SSLV3_|TLSV1_|TLSV13_)?ALERT_/, "").toLowerCase().replace(/_/g, " ");
    return new KmipTransportError(
      "tls",
      `KMS ${endpoint} aborted the TLS handshake with alert "${alert}"` +
        (/certificate|unknown ca|access denied/.test(alert) ? ": it probably rejected the client certificate" : ""),
      details,
    );
  }
  if (code && /^ERR_SSL_|^ERR_TLS_|^ERR_OSSL_/.test(code)) {
    return new KmipTransportError("tls", `TLS failure with KMS ${endpoint}: ${raw} (${code})`, details);
  }
  return new KmipTransportError(
    "connection-reset",
    `Connection to KMS ${endpoint} failed during the ${phase === "connect" ? "connection" : "request"}: ${raw}${code ? ` (${code})` : ""}`,
    details,
  );
}

/** Printable, single-line, bounded. */
export function sanitize(s: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f]+/g, " ").trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
