// KMIP 1.x message envelopes (KMIP 1.4 §7): Request Message / Response
// Message with their headers and batch items. Pure: TtlvItem trees and bytes.
//
//   Request Message
//     Request Header { Protocol Version {Major, Minor}, [Maximum Response Size], Batch Count }
//     Batch Item { Operation, [Unique Batch Item ID], Request Payload {…} }
//   Response Message
//     Response Header { Protocol Version, Time Stamp, Batch Count }
//     Batch Item { [Operation], [Unique Batch Item ID], Result Status, [Result Reason],
//                  [Result Message], [Response Payload {…}] }
//
// This client always sends one batch item per message (Batch Count 1), with no
// Authentication structure: the KMS knows the client by its TLS certificate.

import { KmipCodecError } from "./errors";
import { ResultStatus } from "./enums";
import { bytes, dateTime, enm, find, findAll, int, need, needEnum, needInt, optBytes, optEnum, optText, struct, text } from "./items";
import { Tag } from "./tags";
import { decodeTtlv, encodeTtlv, type DecodeOptions, type TtlvItem } from "./ttlv";

export interface ProtocolVersion {
  major: number;
  minor: number;
}
export const KMIP_1_2: ProtocolVersion = Object.freeze({ major: 1, minor: 2 });
export const KMIP_1_4: ProtocolVersion = Object.freeze({ major: 1, minor: 4 });

export const versionString = (v: ProtocolVersion) => `${v.major}.${v.minor}`;
export const versionAtLeast = (v: ProtocolVersion, min: ProtocolVersion) =>
  v.major > min.major || (v.major === min.major && v.minor >= min.minor);

export function protocolVersionItem(v: ProtocolVersion): TtlvItem {
  return struct(Tag.ProtocolVersion, [int(Tag.ProtocolVersionMajor, v.major), int(Tag.ProtocolVersionMinor, v.minor)]);
}

export function parseProtocolVersion(item: TtlvItem): ProtocolVersion {
  return { major: needInt(item, Tag.ProtocolVersionMajor), minor: needInt(item, Tag.ProtocolVersionMinor) };
}

// ---------------------------------------------------------------- requests

export interface RequestOptions {
  version: ProtocolVersion;
  /** Ask the server to refuse (ResponseTooLarge) rather than send more than this many bytes. */
  maximumResponseSize?: number;
}

/** A one-item request message. `payload` are the Request Payload's children. */
export function buildRequest(operation: number, payload: TtlvItem[], options: RequestOptions): TtlvItem {
  return struct(Tag.RequestMessage, [
    struct(Tag.RequestHeader, [
      protocolVersionItem(options.version),
      options.maximumResponseSize !== undefined && int(Tag.MaximumResponseSize, options.maximumResponseSize),
      int(Tag.BatchCount, 1),
    ]),
    struct(Tag.BatchItem, [enm(Tag.Operation, operation), struct(Tag.RequestPayload, payload)]),
  ]);
}

export function encodeRequest(operation: number, payload: TtlvItem[], options: RequestOptions): Buffer {
  return encodeTtlv(buildRequest(operation, payload, options));
}

export interface ParsedRequest {
  version: ProtocolVersion;
  batchItems: { operation: number; uniqueBatchItemId?: Buffer; payload: TtlvItem }[];
}

/** Parse a request message (used by tests and fake servers). */
export function parseRequest(message: TtlvItem): ParsedRequest {
  if (message.tag !== Tag.RequestMessage) throw new KmipCodecError("bad-message", "not a Request Message");
  const header = need(message, Tag.RequestHeader, "Structure");
  const version = parseProtocolVersion(need(header, Tag.ProtocolVersion, "Structure"));
  const count = needInt(header, Tag.BatchCount);
  const items = findAll(message, Tag.BatchItem, "Structure");
  if (items.length !== count) throw new KmipCodecError("bad-message", `Batch Count is ${count} but ${items.length} batch items follow`);
  return {
    version,
    batchItems: items.map((bi) => ({
      operation: needEnum(bi, Tag.Operation),
      uniqueBatchItemId: optBytes(bi, Tag.UniqueBatchItemID),
      payload: need(bi, Tag.RequestPayload, "Structure"),
    })),
  };
}

// ---------------------------------------------------------------- responses

export interface ResponseBatchItem {
  operation?: number;
  uniqueBatchItemId?: Buffer;
  resultStatus: number;
  resultReason?: number;
  resultMessage?: string;
  /** The Response Payload structure, if the server sent one. */
  payload?: TtlvItem;
}

export interface ParsedResponse {
  version: ProtocolVersion;
  /** Response header Time Stamp, seconds since the epoch. */
  timeStamp?: bigint;
  batchItems: ResponseBatchItem[];
}

export function parseResponse(message: TtlvItem): ParsedResponse {
  if (message.tag !== Tag.ResponseMessage || message.type !== "Structure") {
    throw new KmipCodecError("bad-message", `expected a Response Message, got tag 0x${message.tag.toString(16)} (${message.type})`);
  }
  const header = need(message, Tag.ResponseHeader, "Structure");
  const version = parseProtocolVersion(need(header, Tag.ProtocolVersion, "Structure"));
  const timeStamp = find(header, Tag.TimeStamp, "DateTime")?.value;
  const count = needInt(header, Tag.BatchCount);
  const items = findAll(message, Tag.BatchItem, "Structure");
  if (items.length !== count) throw new KmipCodecError("bad-message", `Batch Count is ${count} but ${items.length} batch items follow`);
  return {
    version,
    timeStamp,
    batchItems: items.map((bi) => ({
      operation: optEnum(bi, Tag.Operation),
      uniqueBatchItemId: optBytes(bi, Tag.UniqueBatchItemID),
      resultStatus: needEnum(bi, Tag.ResultStatus),
      resultReason: optEnum(bi, Tag.ResultReason),
      resultMessage: optText(bi, Tag.ResultMessage),
      payload: find(bi, Tag.ResponsePayload, "Structure"),
    })),
  };
}

export function decodeResponse(data: Uint8Array, options?: DecodeOptions): ParsedResponse {
  return parseResponse(decodeTtlv(data, options));
}

/** Build a one-item response message (for tests and fake servers). */
export function buildResponse(r: {
  version: ProtocolVersion;
  timeStamp?: Date | bigint;
  operation?: number;
  uniqueBatchItemId?: Uint8Array;
  resultStatus?: number;
  resultReason?: number;
  resultMessage?: string;
  payload?: TtlvItem[];
}): TtlvItem {
  return struct(Tag.ResponseMessage, [
    struct(Tag.ResponseHeader, [
      protocolVersionItem(r.version),
      dateTime(Tag.TimeStamp, r.timeStamp ?? new Date()),
      int(Tag.BatchCount, 1),
    ]),
    struct(Tag.BatchItem, [
      r.operation !== undefined && enm(Tag.Operation, r.operation),
      r.uniqueBatchItemId !== undefined && bytes(Tag.UniqueBatchItemID, r.uniqueBatchItemId),
      enm(Tag.ResultStatus, r.resultStatus ?? ResultStatus.Success),
      r.resultReason !== undefined && enm(Tag.ResultReason, r.resultReason),
      r.resultMessage !== undefined && text(Tag.ResultMessage, r.resultMessage),
      r.payload !== undefined && struct(Tag.ResponsePayload, r.payload),
    ]),
  ]);
}
