// RFC 3394 AES key wrap with a 256-bit key-encryption key (Node's "id-aes256-wrap", default IV
// A6A6A6A6A6A6A6A6). It is how vSphere (and KMIP's "NIST Key Wrap") stores keys under keys: the
// 8-byte integrity block makes a wrong KEK or a damaged blob fail loudly instead of yielding a
// wrong key that would then decrypt disks into garbage.

import { createCipheriv, createDecipheriv } from "node:crypto";
import { KEY_SIZE } from "./formats";

const DEFAULT_IV = Buffer.from("a6a6a6a6a6a6a6a6", "hex");

export type KeyWrapErrorCode = "integrity" | "bad-length" | "bad-kek";

/** Unwrapping failed: wrong KEK, or the wrapped bytes were altered. Never carries key bytes. */
export class KeyWrapError extends Error {
  constructor(
    readonly code: KeyWrapErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "KeyWrapError";
  }
}

function checkKek(kek: Buffer): void {
  if (kek.length !== KEY_SIZE.kek) throw new KeyWrapError("bad-kek", `a key-encryption key is ${KEY_SIZE.kek} bytes, got ${kek.length}`);
}

/** Wraps `key` (16 bytes or more, a multiple of 8) under `kek`; output is 8 bytes longer. */
export function wrapKey(kek: Buffer, key: Buffer): Buffer {
  checkKek(kek);
  if (key.length < 16 || key.length % 8 !== 0) throw new KeyWrapError("bad-length", `RFC 3394 wraps 16+ bytes in 8-byte steps, got ${key.length}`);
  const c = createCipheriv("id-aes256-wrap", kek, DEFAULT_IV);
  return Buffer.concat([c.update(key), c.final()]);
}

/** Unwraps; throws KeyWrapError("integrity") when the KEK is wrong or the bytes were changed. */
export function unwrapKey(kek: Buffer, wrapped: Buffer): Buffer {
  checkKek(kek);
  if (wrapped.length < 24 || wrapped.length % 8 !== 0) throw new KeyWrapError("bad-length", `an RFC 3394 wrapped key is 24+ bytes in 8-byte steps, got ${wrapped.length}`);
  try {
    const d = createDecipheriv("id-aes256-wrap", kek, DEFAULT_IV);
    return Buffer.concat([d.update(wrapped), d.final()]);
  } catch {
    // OpenSSL reports a failed integrity check as "Trying to add data in unsupported state".
    throw new KeyWrapError("integrity", "key unwrap failed: wrong key-encryption key or damaged wrapped key");
  }
}
