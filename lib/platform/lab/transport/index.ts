// The lab's transport modes (TRN-1…4): the public surface. See README.md beside this file for what
// is real (NBD on real sockets, TLS) and what is simulated (the ESXi host around them).

export { openDiskViaTransport } from "./transports";
export type { HostRequestContext, NbdEndpoint, NbdRequestContext, OpenDiskOptions, TransportDiskRef, TransportHost, TransportReader } from "./transports";
export { openDiskForWriteViaTransport } from "./transport-writer";
export type { OpenDiskForWriteOptions } from "./transport-writer";
export type { DiskSink } from "./disk-sink";
export type { DiskWriter } from "../../disk-io";
export { checkTransport, transportModeName, REQUIRED_CRYPTO_PRIVILEGES } from "../../transport-policy";
export type { PolicyContext, PolicyDisk, PolicyProxy, TransportDecision } from "../../transport-policy";
export { LabTransportHost } from "./lab-host";
export type { LabHostDisk, LabTransportHostOptions } from "./lab-host";
export { NbdServer } from "./nbd-server";
export type { NbdExportRegistration, NbdServerOptions, NbdServerStats, NbdServerTlsOptions } from "./nbd-server";
export { NbdClient } from "./nbd-client";
export type { NbdClientOptions, NbdClientTlsOptions } from "./nbd-client";
export { TransportError } from "./errors";
export type { TransportErrorCode } from "./errors";
export { NbdProtocolError } from "./nbd-protocol";
