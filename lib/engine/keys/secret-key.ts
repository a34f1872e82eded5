// A symmetric key with its id. The raw bytes sit in a private field and every way an object is
// usually turned into text (JSON.stringify, util.inspect/console.log, template strings) prints
// only the id, so a key cannot reach a log or an error message by accident (SEC-6).

import { hkdfSync } from "node:crypto";
import { inspect } from "node:util";
import { idHex, newId, systemRandom, type RandomSource } from "../bytes";
import { InvalidArgumentError } from "../errors";
import { SIZES } from "../format-registry";

export type KeyRole = "session" | "metakey" | "storage" | "user" | "chain" | "recovery";

export class SecretKey {
  readonly #bytes: Buffer;

  constructor(
    readonly role: KeyRole,
    readonly id: Buffer,
    bytes: Uint8Array,
  ) {
    if (bytes.length !== SIZES.key) throw new InvalidArgumentError(`a ${role} key is ${SIZES.key} bytes`);
    if (id.length !== SIZES.id) throw new InvalidArgumentError(`a key id is ${SIZES.id} bytes`);
    // Own copy: the caller may reuse or wipe its buffer.
    this.#bytes = Buffer.from(bytes);
  }

  static generate(role: KeyRole, random: RandomSource = systemRandom): SecretKey {
    return new SecretKey(role, newId(random), random(SIZES.key));
  }

  get idHex(): string {
    return idHex(this.id);
  }

  /** The raw key, for the cipher call only. Do not keep the returned buffer. */
  expose(): Buffer {
    return this.#bytes;
  }

  /** Overwrites the key in memory (best effort: V8 may have copied it). */
  destroy(): void {
    this.#bytes.fill(0);
  }

  toJSON(): { role: KeyRole; id: string; key: string } {
    return { role: this.role, id: this.idHex, key: "[redacted]" };
  }
  toString(): string {
    return `SecretKey(${this.role} ${this.idHex})`;
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

const KEY_CHECK_INFO = Buffer.from("strongroom/v1/key-check");

/**
 * keyCheck(key, keyId) = HKDF-SHA256(key, salt = keyId, info = "strongroom/v1/key-check").
 * Stored beside a wrapped key and checked after unwrap: a committing fingerprint of the key that
 * reveals nothing about it (HKDF is a PRF keyed by the key itself).
 */
export function keyCheck(key: Uint8Array, keyId: Uint8Array): Buffer {
  return hkdf(key, keyId, KEY_CHECK_INFO);
}

export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length = 32): Buffer {
  return Buffer.from(hkdfSync("sha256", ikm, salt, info, length));
}
