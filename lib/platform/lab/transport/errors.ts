// Errors of the transport layer. Two families, never mixed, so a caller can tell "the host said
// no" from "we could not talk to the host":
//  - HostError (data-plane/types.ts): the host answered and refused: a policy denial, an unknown
//    export (NotFound), a read or write beyond the disk (InvalidArgument), a write to a read-only
//    export (NoPermission). Retrying the same thing fails again.
//  - TransportError (here): the conversation itself failed: refused connection, TLS, timeout,
//    protocol violation. Another proxy or a later retry may succeed.

import { HostError, type HostErrorCode } from "../data-plane/types";
import * as C from "./nbd-constants";
import { NbdProtocolError } from "./nbd-protocol";

export type TransportErrorCode =
  | "connection-refused" // nothing listens at the host's NBD endpoint
  | "connection-reset" // the peer closed or reset the connection mid-conversation
  | "unreachable" // DNS failure, no route
  | "tls" // handshake failed: the certificate did not verify against the CA, or the peer refused ours
  | "tls-required" // the server refuses to negotiate in clear (NBD_REP_ERR_TLS_REQD)
  | "timeout" // no handshake / no reply within the configured time
  | "protocol" // the peer sent bytes that are not valid NBD, or not valid at that point
  | "io" // the host failed the read or write with an I/O error (NBD_EIO and other errnos)
  | "closed"; // this client was closed, or the server is shutting down

export class TransportError extends Error {
  override readonly name = "TransportError";
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    readonly details: { endpoint?: string; errno?: number; cause?: unknown } = {},
  ) {
    super(message);
  }
}

const HOST_ERROR_CODES: readonly HostErrorCode[] = [
  "NotFound", "InvalidArgument", "FileFault", "InvalidState", "DuplicateName", "InsufficientSpace", "NoPermission",
  "CryptoKeyMismatch", "TransportNotSupported", "KeyProviderUnavailable", "Unreachable",
];

export function isHostErrorCode(value: string): value is HostErrorCode {
  return (HOST_ERROR_CODES as readonly string[]).includes(value);
}

/**
 * The message a server sends with NBD_REP_ERR_POLICY for an export the transport policy denied.
 * NBD carries only a reply type and free text, so the HostError code leads the text: the lab's own
 * client turns it back into the same HostError; any other client still shows a readable reason.
 */
export function policyDenialMessage(error: HostError): string {
  return `${error.code}: ${error.message}`;
}

export function hostErrorFromPolicyMessage(message: string, exportName: string): HostError {
  const match = /^([A-Za-z]+): (.*)$/s.exec(message);
  if (match && isHostErrorCode(match[1])) return new HostError(match[1], match[2]);
  return new HostError("NoPermission", `The host refused export "${exportName}" by policy${message ? `: ${message}` : ""}`);
}

/** Server side: the error value to answer a failed read, write or flush of the disk with. */
export function errnoForDiskFailure(err: unknown): number {
  if (err instanceof HostError) {
    if (err.code === "InvalidArgument") return C.NBD_EINVAL;
    if (err.code === "NoPermission" || err.code === "CryptoKeyMismatch") return C.NBD_EPERM;
    if (err.code === "InsufficientSpace") return C.NBD_ENOSPC;
  }
  return C.NBD_EIO;
}

/** Client side: what a reply's error value means to the caller. */
export function errorFromErrno(errno: number, what: string, endpoint: string): HostError | TransportError {
  const name = C.errnoName(errno);
  switch (errno) {
    case C.NBD_EINVAL:
    case C.NBD_EOVERFLOW:
      return new HostError("InvalidArgument", `The host refused ${what}: ${name}`);
    case C.NBD_EPERM:
      return new HostError("NoPermission", `The host refused ${what}: ${name}`);
    case C.NBD_ENOSPC:
      // A write inside the disk that the datastore cannot hold (the client names writes beyond
      // the disk's end itself, as InvalidArgument, before it gets here).
      return new HostError("InsufficientSpace", `The host refused ${what}: ${name}`);
    case C.NBD_ESHUTDOWN:
      return new TransportError("closed", `The NBD server at ${endpoint} is shutting down (${what})`, { endpoint, errno });
    default:
      return new TransportError("io", `The host failed ${what}: ${name}`, { endpoint, errno });
  }
}

/** Turns socket, TLS and codec failures into a TransportError (HostError and TransportError pass through). */
export function toTransportError(err: unknown, endpoint: string, phase: "connect" | "tls" | "negotiation" | "transmission"): Error {
  if (err instanceof TransportError || err instanceof HostError) return err;
  if (err instanceof NbdProtocolError) return new TransportError("protocol", `NBD protocol error from ${endpoint}: ${err.message}`, { endpoint, cause: err });
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === "string" ? e.code : "";
  const text = e instanceof Error ? e.message : String(err);
  if (code === "ECONNREFUSED") return new TransportError("connection-refused", `Connection refused by ${endpoint} (is the host's NBD service running?)`, { endpoint, cause: err });
  if (code === "ENOTFOUND" || code === "EHOSTUNREACH" || code === "ENETUNREACH" || code === "EAI_AGAIN") {
    return new TransportError("unreachable", `Cannot reach ${endpoint}: ${text}`, { endpoint, cause: err });
  }
  // Certificate problems surface with an OpenSSL-ish code or ERR_TLS_*; alerts from the peer as ERR_SSL_*.
  if (phase === "tls" || code.startsWith("ERR_TLS") || code.startsWith("ERR_SSL") || /CERT|SELF_SIGNED|UNABLE_TO|DEPTH_ZERO|HOSTNAME/.test(code)) {
    return new TransportError("tls", `TLS with ${endpoint} failed: ${text}${code ? ` (${code})` : ""}`, { endpoint, cause: err });
  }
  if (code === "ECONNRESET" || code === "EPIPE" || code === "ERR_STREAM_PREMATURE_CLOSE") {
    return new TransportError("connection-reset", `The connection to ${endpoint} was reset during ${phase}`, { endpoint, cause: err });
  }
  return new TransportError("connection-reset", `The connection to ${endpoint} failed during ${phase}: ${text}`, { endpoint, cause: err });
}
