// Messages between the block codec pool (main thread) and its worker threads. Block bytes never
// travel in messages: they sit in slots of a SharedArrayBuffer that both sides map, and a message
// names the slot. See README.md beside this file.

import type { RecordIdentity } from "../repository/block-codec";

/** One slot of the shared arena: `input` holds a block, `output` a compressed payload / record. */
export interface SlotLayout {
  count: number;
  inputBytes: number;
  outputBytes: number;
}

export function slotViews(arena: SharedArrayBuffer, layout: SlotLayout, index: number): { input: Buffer; output: Buffer } {
  const base = index * (layout.inputBytes + layout.outputBytes);
  return {
    input: Buffer.from(arena, base, layout.inputBytes),
    output: Buffer.from(arena, base + layout.inputBytes, layout.outputBytes),
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

/** Hash and compress the block in slot.input[0, length): payload kept at output[12, …) when compressed. */
export interface PrepareMessage {
  op: "prepare";
  id: number;
  slot: number;
  length: number;
  compression: number;
}

/**
 * Seal the prepared payload as a record (nonce || ciphertext || tag): into slot.output, or straight
 * into a registered shared buffer (a pack being assembled) at `target.offset`.
 */
export interface SealMessage {
  op: "seal";
  id: number;
  slot: number;
  payloadLength: number;
  identity: RecordIdentity;
  target?: { buffer: number; offset: number };
}

/** Makes a shared buffer (a pack buffer) known to the lanes under `buffer`. */
export interface TargetMessage {
  op: "target";
  buffer: number;
  memory: SharedArrayBuffer;
}

/**
 * Check the record in slot.input[0, length) against the pack table's BLAKE3 (when given), then
 * authenticate, decompress and check its content hash into slot.output.
 */
export interface OpenMessage {
  op: "open";
  id: number;
  slot: number;
  length: number;
  identity: RecordIdentity;
  sessionKey: Uint8Array;
  recordHash?: Uint8Array;
}

export interface CloseMessage {
  op: "close";
}

export type ToWorker = InitMessage | TargetMessage | PrepareMessage | SealMessage | OpenMessage | CloseMessage;

export type FromWorker =
  | { op: "ready" }
  | { id: number; ok: true; contentHash: Uint8Array; compressionId: number; payloadLength: number }
  | { id: number; ok: true; recordLength: number; recordHash: Uint8Array }
  | { id: number; ok: true; opened: true; dataLength: number }
  | { id: number; ok: true; opened: false; reason: string }
  | { id: number; ok: false; error: { name: string; message: string; code?: string } };
