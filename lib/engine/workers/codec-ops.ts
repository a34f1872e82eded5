// What a codec lane does with one message, on whichever thread runs it: a worker thread
// (codec-worker.ts) or the pool's inline lane on the main thread. One implementation, so the inline
// path and the threads cannot drift apart.

import { NonceSequence } from "../keys/aead";
import { CompressionId, SIZES } from "../format-registry";
import { hashAndCompressInto, openRecordInto, recordHash, recordLengthOf, sealRecordInto, type RecordIdentity } from "../repository/block-codec";
import { slotViews, type FromWorker, type SlotLayout, type ToWorker } from "./codec-protocol";

export type JobMessage = Extract<ToWorker, { id: number }>;

export class CodecExecutor {
  private sessionKey: Buffer | undefined;
  private readonly nonces: NonceSequence | undefined;
  private readonly views = new Map<number, { input: Buffer; output: Buffer }>();
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

  /** Nonces this lane handed out (tests check that lanes never share a fixed field). */
  get sealed(): number {
    return this.nonces?.used ?? 0;
  }

  handle(m: JobMessage): FromWorker {
    try {
      return this.run(m);
    } catch (e) {
      const err = e as Error & { code?: string };
      return { id: m.id, ok: false, error: { name: err.name ?? "Error", message: err.message ?? String(e), code: err.code } };
    }
  }

  /** A shared buffer records may be sealed into (SealMessage.target). */
  addTarget(buffer: number, memory: SharedArrayBuffer): void {
    this.targets.set(buffer, Buffer.from(memory));
  }

  wipe(): void {
    this.sessionKey?.fill(0);
    this.sessionKey = undefined;
  }

  private slot(index: number): { input: Buffer; output: Buffer } {
    if (!Number.isInteger(index) || index < 0 || index >= this.layout.count) throw new RangeError(`no slot ${index}`);
    let v = this.views.get(index);
    if (!v) this.views.set(index, (v = slotViews(this.arena, this.layout, index)));
    return v;
  }

  private run(m: JobMessage): FromWorker {
    const { input, output } = this.slot(m.slot);
    switch (m.op) {
      case "prepare": {
        // The compressed payload goes where the record's ciphertext will be: sealed in place.
        const h = hashAndCompressInto(input.subarray(0, m.length), m.compression, output.subarray(SIZES.gcmNonce));
        return { id: m.id, ok: true, contentHash: h.contentHash, compressionId: h.compressionId, payloadLength: h.payloadLength };
      }
      case "seal": {
        if (!this.sessionKey || !this.nonces) throw new Error("this codec lane has no session key");
        const identity = identityOf(m.identity);
        const payload =
          identity.compressionId === CompressionId.none ? input.subarray(0, m.payloadLength) : output.subarray(SIZES.gcmNonce, SIZES.gcmNonce + m.payloadLength);
        const expected = recordLengthOf(m.payloadLength);
        let out = output;
        if (m.target) {
          const t = this.targets.get(m.target.buffer);
          if (!t || m.target.offset < 0 || m.target.offset + expected > t.length) throw new RangeError("no such target buffer or range");
          out = t.subarray(m.target.offset, m.target.offset + expected);
        }
        const length = sealRecordInto(this.sessionKey, this.nonces.next(), payload, identity, out);
        if (length !== expected) throw new RangeError("unexpected record length");
        return { id: m.id, ok: true, recordLength: length, recordHash: recordHash(out.subarray(0, length)) };
      }
      case "open": {
        const record = input.subarray(0, m.length);
        if (m.recordHash && !recordHash(record).equals(m.recordHash)) return { id: m.id, ok: true, opened: false, reason: "record-hash" };
        const key = Buffer.from(m.sessionKey);
        try {
          const r = openRecordInto(key, record, identityOf(m.identity), output);
          return r.ok ? { id: m.id, ok: true, opened: true, dataLength: r.length } : { id: m.id, ok: true, opened: false, reason: r.reason };
        } finally {
          key.fill(0);
        }
      }
    }
  }
}

/** Structured clone turns Buffers into plain Uint8Arrays; the codec wants Buffers. */
function identityOf(i: RecordIdentity): RecordIdentity {
  const buf = (b: Uint8Array) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  return { ...i, repositoryId: buf(i.repositoryId), packId: buf(i.packId), sessionKeyId: buf(i.sessionKeyId), contentHash: buf(i.contentHash) };
}
