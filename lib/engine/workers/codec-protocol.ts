// Messages between the block codec pool (main thread) and its worker threads. Bytes never travel
// in messages: blocks, records, hashes and ids sit in slots of a SharedArrayBuffer that both sides
// map, and a message carries only numbers naming a slot. (A message carrying Buffers would clone
// their whole backing ArrayBuffer — Node's 8 KiB pool for small ones — at every hop.)
// See README.md beside this file.

/** One slot of the shared arena: `input` a block or a record, `output` a payload / record / block, `meta` hashes and ids. */
export interface SlotLayout {
  count: number;
  inputBytes: number;
  outputBytes: number;
}

/** Byte offsets in a slot's meta area. */
export const META = {
  contentHash: 0, // 32: prepare writes it; seal and open read it
  recordHash: 32, // 32: seal writes it; open reads the expected one
  repositoryId: 64, // 16
  packId: 80, // 16
  sessionKeyId: 96, // 16
  bytes: 128,
} as const;

/** Space a slot gives its meta area: a page, so that every slot (and its input and output) stays page-aligned. */
const META_AREA = 4096;

export function slotBytes(layout: SlotLayout): number {
  return layout.inputBytes + layout.outputBytes + META_AREA;
}

export function slotViews(arena: SharedArrayBuffer, layout: SlotLayout, index: number): { input: Buffer; output: Buffer; meta: Buffer } {
  const base = index * slotBytes(layout);
  return {
    input: Buffer.from(arena, base, layout.inputBytes),
    output: Buffer.from(arena, base + layout.inputBytes, layout.outputBytes),
    meta: Buffer.from(arena, base + layout.inputBytes + layout.outputBytes, META.bytes),
  };
}

export interface InitMessage {
  op: "init";
  arena: SharedArrayBuffer;
  layout: SlotLayout;
  /** The session key (32 bytes) and this worker's nonce fixed field; absent for a read-only pool. */
  sessionKey?: Uint8Array;
  fixedField?: number;
}

/** Makes a shared buffer (a pack buffer) known to the lanes under `buffer`. */
export interface TargetMessage {
  op: "target";
  buffer: number;
  memory: SharedArrayBuffer;
}

/** Hash (into meta) and compress the block in input[0, length): a kept payload waits at output[12, …). */
export interface PrepareMessage {
  op: "prepare";
  id: number;
  slot: number;
  length: number;
  compression: number;
}

/**
 * Seal the prepared payload as a record (nonce || ciphertext || tag) with the identity in meta and
 * these numbers: into output, or straight into a registered shared buffer (a pack being assembled)
 * at targetOffset when targetBuffer ≥ 0. The record's BLAKE3 goes to meta.
 */
export interface SealMessage {
  op: "seal";
  id: number;
  slot: number;
  payloadLength: number;
  entryIndex: number;
  compressionId: number;
  plainLength: number;
  targetBuffer: number;
  targetOffset: number;
}

/**
 * Check the record in input[0, length) against the pack table's BLAKE3 in meta (when asked), then
 * authenticate, decompress and check its content hash (identity in meta) into output.
 */
export interface OpenMessage {
  op: "open";
  id: number;
  slot: number;
  length: number;
  entryIndex: number;
  compressionId: number;
  plainLength: number;
  checkRecordHash: boolean;
  sessionKey: Uint8Array;
}

export interface CloseMessage {
  op: "close";
}

export type ToWorker = InitMessage | TargetMessage | PrepareMessage | SealMessage | OpenMessage | CloseMessage;

export type FromWorker =
  | { op: "ready" }
  | { id: number; ok: true; compressionId: number; payloadLength: number }
  | { id: number; ok: true; recordLength: number }
  | { id: number; ok: true; opened: true; dataLength: number }
  | { id: number; ok: true; opened: false; reason: string }
  | { id: number; ok: false; error: { name: string; message: string; code?: string } };
