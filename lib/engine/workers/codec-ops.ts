// What a codec lane does with one message, on whichever thread runs it: a worker thread
// (codec-worker.ts) or the pool's inline lane on the main thread. One implementation, so the inline
// path and the threads cannot drift apart.

import { NonceSequence } from "../keys/aead";
import { CompressionId, SIZES } from "../format-registry";
import { hashAndCompressInto, openRecordInto, recordHash, recordLengthOf, sealRecordInto, type RecordIdentity } from "../repository/block-codec";
import { META, slotViews, type FromWorker, type SlotLayout, type ToWorker } from "./codec-protocol";

export type JobMessage = Extract<ToWorker, { id: number }>;

interface SlotViews {
  input: Buffer;
  output: Buffer;
  meta: Buffer;
}

export class CodecExecutor {
  private sessionKey: Buffer | undefined;
  private readonly nonces: NonceSequence | undefined;
  private readonly views = new Map<number, SlotViews>();
  private readonly targets = new Map<number, Buffer>();

  /** `sessionKey` is copied; the caller may wipe its buffer. */
  constructor(
    private readonly arena: SharedArrayBuffer,
    private readonly layout: SlotLayout,
    sessionKey?: Uint8Array,
    fixedField?: number,
  ) {
    if (sessionKey) {
      this.sessionKey = Buffer.from(sessionKey);
      this.nonces = new NonceSequence(fixedField ?? 0);
    }
  }

  /** A shared buffer records may be sealed into (SealMessage.targetBuffer). */
  addTarget(buffer: number, memory: SharedArrayBuffer): void {
    this.targets.set(buffer, Buffer.from(memory));
  }

  handle(m: JobMessage): FromWorker {
    try {
      return this.run(m);
    } catch (e) {
      const err = e as Error & { code?: string };
      return { id: m.id, ok: false, error: { name: err.name ?? "Error", message: err.message ?? String(e), code: err.code } };
    }
  }

  wipe(): void {
    this.sessionKey?.fill(0);
    this.sessionKey = undefined;
  }

  private slot(index: number): SlotViews {
    if (!Number.isInteger(index) || index < 0 || index >= this.layout.count) throw new RangeError(`no slot ${index}`);
    let v = this.views.get(index);
    if (!v) this.views.set(index, (v = slotViews(this.arena, this.layout, index)));
    return v;
  }

  private run(m: JobMessage): FromWorker {
    const { input, output, meta } = this.slot(m.slot);
    switch (m.op) {
      case "prepare": {
        // The compressed payload goes where the record's ciphertext will be: sealed in place.
        const h = hashAndCompressInto(input.subarray(0, m.length), m.compression, output.subarray(SIZES.gcmNonce));
        h.contentHash.copy(meta, META.contentHash);
        return { id: m.id, ok: true, compressionId: h.compressionId, payloadLength: h.payloadLength };
      }
      case "seal": {
        if (!this.sessionKey || !this.nonces) throw new Error("this codec lane has no session key");
        const identity = identityIn(meta, m);
        const payload = m.compressionId === CompressionId.none ? input.subarray(0, m.payloadLength) : output.subarray(SIZES.gcmNonce, SIZES.gcmNonce + m.payloadLength);
        const expected = recordLengthOf(m.payloadLength);
        let out = output;
        if (m.targetBuffer >= 0) {
          const t = this.targets.get(m.targetBuffer);
          if (!t || m.targetOffset < 0 || m.targetOffset + expected > t.length) throw new RangeError("no such target buffer or range");
          out = t.subarray(m.targetOffset, m.targetOffset + expected);
        }
        const length = sealRecordInto(this.sessionKey, this.nonces.next(), payload, identity, out);
        if (length !== expected) throw new RangeError("unexpected record length");
        recordHash(out.subarray(0, length)).copy(meta, META.recordHash);
        return { id: m.id, ok: true, recordLength: length };
      }
      case "open": {
        const record = input.subarray(0, m.length);
        if (m.checkRecordHash && !recordHash(record).equals(meta.subarray(META.recordHash, META.recordHash + SIZES.hash))) {
          return { id: m.id, ok: true, opened: false, reason: "record-hash" };
        }
        const key = Buffer.from(m.sessionKey);
        try {
          const r = openRecordInto(key, record, identityIn(meta, m), output);
          return r.ok ? { id: m.id, ok: true, opened: true, dataLength: r.length } : { id: m.id, ok: true, opened: false, reason: r.reason };
        } finally {
          key.fill(0);
        }
      }
    }
  }
}

/** A record's identity (its associated data): ids and content hash from meta, numbers from the message. */
function identityIn(meta: Buffer, m: { entryIndex: number; compressionId: number; plainLength: number }): RecordIdentity {
  const at = (offset: number, length: number) => Buffer.from(meta.subarray(offset, offset + length));
  return {
    repositoryId: at(META.repositoryId, SIZES.id),
    packId: at(META.packId, SIZES.id),
    entryIndex: m.entryIndex,
    sessionKeyId: at(META.sessionKeyId, SIZES.id),
    compressionId: m.compressionId,
    plainLength: m.plainLength,
    contentHash: at(META.contentHash, SIZES.hash),
  };
}

/** Writes a record's ids and content hash into a slot's meta area (the main thread, before seal/open). */
export function writeIdentity(meta: Buffer, identity: RecordIdentity): void {
  identity.repositoryId.copy(meta, META.repositoryId);
  identity.packId.copy(meta, META.packId);
  identity.sessionKeyId.copy(meta, META.sessionKeyId);
  identity.contentHash.copy(meta, META.contentHash);
}
