// AES-256-GCM, the one cipher for data and metadata (CipherId.aes256gcm), and the deterministic
// nonce construction of NIST SP 800-38D §8.2.1: fixed field (32 bits) || invocation counter.
//
// Why counters and not random nonces: a session key encrypts every block of a session, possibly
// more than 2^32 of them across worker threads; random 96-bit nonces are only safe up to 2^32
// invocations per key. With a fresh key per session and a distinct fixed field per writer, a
// counter nonce can never repeat. We still stop at 2^32 per fixed field, far above any session.

import { createCipheriv, createDecipheriv } from "node:crypto";
import { NonceExhaustedError } from "../errors";
import { SIZES } from "../format-registry";

const NONCE_LIMIT = 2 ** 32;

export class NonceSequence {
  private counter: number;

  constructor(
    readonly fixedField: number,
    start = 0,
  ) {
    if (!Number.isInteger(fixedField) || fixedField < 0 || fixedField > 0xffffffff) throw new RangeError("fixed field is a u32");
    this.counter = start;
  }

  /** How many nonces were handed out. */
  get used(): number {
    return this.counter;
  }

  next(): Buffer {
    if (this.counter >= NONCE_LIMIT) throw new NonceExhaustedError();
    return nonceFor(this.fixedField, this.counter++);
  }
}

export function nonceFor(fixedField: number, counter: number): Buffer {
  const nonce = Buffer.alloc(SIZES.gcmNonce);
  nonce.writeUInt32BE(fixedField, 0);
  nonce.writeBigUInt64BE(BigInt(counter), 4);
  return nonce;
}

export interface Sealed {
  ciphertext: Buffer;
  tag: Buffer;
}

export function gcmSeal(key: Buffer, nonce: Buffer, plaintext: Uint8Array, aad: Uint8Array): Sealed {
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: SIZES.gcmTag });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ciphertext, tag: cipher.getAuthTag() };
}

/** Returns the plaintext, or null when authentication fails (wrong key, AAD or bytes). */
export function gcmOpen(key: Buffer, nonce: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, aad: Uint8Array): Buffer | null {
  if (nonce.length !== SIZES.gcmNonce || tag.length !== SIZES.gcmTag) return null;
  const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: SIZES.gcmTag });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const out = decipher.update(ciphertext);
  try {
    return Buffer.concat([out, decipher.final()]);
  } catch {
    out.fill(0);
    return null;
  }
}

/** nonce || ciphertext || tag, the layout of every sealed body in the repository. */
export function sealToBytes(key: Buffer, nonce: Buffer, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const { ciphertext, tag } = gcmSeal(key, nonce, plaintext, aad);
  return Buffer.concat([nonce, ciphertext, tag]);
}

export function openFromBytes(key: Buffer, sealed: Buffer, aad: Uint8Array): Buffer | null {
  if (sealed.length < SIZES.gcmNonce + SIZES.gcmTag) return null;
  const nonce = sealed.subarray(0, SIZES.gcmNonce);
  const tag = sealed.subarray(sealed.length - SIZES.gcmTag);
  return gcmOpen(key, nonce, sealed.subarray(SIZES.gcmNonce, sealed.length - SIZES.gcmTag), tag, aad);
}
