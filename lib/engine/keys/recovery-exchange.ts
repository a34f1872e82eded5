// Password-loss recovery as a request/response exchange (KEY-6, the Enterprise Manager flow):
//  1. the Backup Administrator makes a request naming the point's storage key and the keyset,
//     carrying the keyset's wrap of that storage key and a fresh X25519 public key;
//  2. the Security Officer, holding the keyset's private key, unwraps the storage key and seals it
//     for that request only (ECDH with the request's public key → HKDF → AES-256-GCM);
//  3. the administrator applies the response with the request's private half, which never left
//     the backup server. The storage key is checked against the wrap's targetCheck.
// Neither document contains a usable secret for anyone but the other party.

import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from "node:crypto";
import { ByteReader, ByteWriter, idHex, systemRandom, type RandomSource } from "../bytes";
import { InvalidArgumentError, WrongKeyError } from "../errors";
import { gcmOpen, gcmSeal } from "./aead";
import type { Protection } from "./protection";
import type { RecoveryKeyset } from "./recovery-keyset";
import { hkdf, SecretKey } from "./secret-key";
import { acceptUnwrapped, decodeWrap, encodeWrap, unwrapWithPrivateKey, type WrapRecord } from "./wrap";

const REQUEST_FORMAT = "strongroom-recovery-request";
const RESPONSE_FORMAT = "strongroom-recovery-response";
const SEAL_INFO = Buffer.from("strongroom/v1/recovery-response");

export interface RecoveryRequest {
  format: typeof REQUEST_FORMAT;
  version: 1;
  requestId: string;
  keysetId: string;
  storageKeyId: string;
  /** repositoryId || pointId, hex: the wrap's context. */
  context: string;
  wrap: string;
  requesterPublicKey: string;
}

export interface RecoveryResponse {
  format: typeof RESPONSE_FORMAT;
  version: 1;
  requestId: string;
  storageKeyId: string;
  responderPublicKey: string;
  sealed: string;
}

/** Kept by the administrator between request and response; holds the X25519 private key. */
export class PendingRecovery {
  readonly #privateKey: KeyObject;
  constructor(
    readonly request: RecoveryRequest,
    privateKey: KeyObject,
    readonly wrap: WrapRecord,
  ) {
    this.#privateKey = privateKey;
  }
  agree(responderPublicKey: KeyObject): Buffer {
    return diffieHellman({ privateKey: this.#privateKey, publicKey: responderPublicKey });
  }
  /** The private key as PKCS#8 PEM, to persist a pending request across restarts (treat as secret). */
  exportPrivateKey(): string {
    return this.#privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  }
  static restore(request: RecoveryRequest, privateKeyPem: string): PendingRecovery {
    return new PendingRecovery(request, createPrivateKey(privateKeyPem), decodeWrapB64(request.wrap));
  }
  toJSON(): { requestId: string } {
    return { requestId: this.request.requestId };
  }
}

function decodeWrapB64(b64: string): WrapRecord {
  return decodeWrap(new ByteReader(Buffer.from(b64, "base64"), "recovery request"));
}

function sealKey(shared: Buffer, requestId: string, storageKeyId: string): Buffer {
  return hkdf(shared, Buffer.from(requestId, "hex"), Buffer.concat([SEAL_INFO, Buffer.from(storageKeyId, "hex")]));
}

/** Step 1: the administrator names a point's protections, its wrap context and the keyset. */
export function createRecoveryRequest(
  protections: readonly Protection[],
  context: Buffer,
  keysetId: string,
  random: RandomSource = systemRandom,
): PendingRecovery {
  const p = protections.find((x) => x.header.kind === "recovery-keyset" && idHex(x.header.keyId) === keysetId);
  if (!p) throw new InvalidArgumentError(`this restore point is not protected by keyset ${keysetId}`);
  const { publicKey, privateKey } = generateKeyPairSync("x25519");
  const request: RecoveryRequest = {
    format: REQUEST_FORMAT,
    version: 1,
    requestId: idHex(random(16)),
    keysetId,
    storageKeyId: idHex(p.wrap.targetKeyId),
    context: context.toString("hex"),
    wrap: encodeWrap(new ByteWriter(), p.wrap).finish().toString("base64"),
    requesterPublicKey: publicKey.export({ type: "spki", format: "der" }).toString("base64"),
  };
  return new PendingRecovery(request, privateKey, p.wrap);
}

/** Step 2: the Security Officer answers with the storage key sealed for this request. */
export function answerRecoveryRequest(request: RecoveryRequest, keyset: RecoveryKeyset): RecoveryResponse {
  if (request.format !== REQUEST_FORMAT || request.version !== 1) throw new InvalidArgumentError("not a Strongroom recovery request");
  if (request.keysetId !== keyset.id) throw new InvalidArgumentError(`the request is for keyset ${request.keysetId}, not ${keyset.id}`);
  const privateKey = keyset.privateKey();
  if (!privateKey) throw new InvalidArgumentError("this keyset holds no private key");
  const wrap = decodeWrapB64(request.wrap);
  if (idHex(wrap.targetKeyId) !== request.storageKeyId) throw new InvalidArgumentError("the request's wrap is for another storage key");
  const storageKey = unwrapWithPrivateKey(wrap, privateKey, Buffer.from(request.context, "hex"), "storage", `keyset:${keyset.id}`);
  const requester = createPublicKey({ key: Buffer.from(request.requesterPublicKey, "base64"), format: "der", type: "spki" });
  const eph = generateKeyPairSync("x25519");
  const key = sealKey(diffieHellman({ privateKey: eph.privateKey, publicKey: requester }), request.requestId, request.storageKeyId);
  // A fresh ephemeral key per response makes the derived key single-use, so a zero nonce is safe.
  const nonce = Buffer.alloc(12);
  const { ciphertext, tag } = gcmSeal(key, nonce, storageKey.expose(), Buffer.from(request.requestId + request.storageKeyId, "hex"));
  key.fill(0);
  storageKey.destroy();
  return {
    format: RESPONSE_FORMAT,
    version: 1,
    requestId: request.requestId,
    storageKeyId: request.storageKeyId,
    responderPublicKey: eph.publicKey.export({ type: "spki", format: "der" }).toString("base64"),
    sealed: Buffer.concat([ciphertext, tag]).toString("base64"),
  };
}

/** Step 3: the administrator opens the response; add the result to a KeyRing with addKnownKey. */
export function applyRecoveryResponse(pending: PendingRecovery, response: RecoveryResponse): SecretKey {
  const { request } = pending;
  if (response.format !== RESPONSE_FORMAT || response.requestId !== request.requestId || response.storageKeyId !== request.storageKeyId) {
    throw new InvalidArgumentError("this response does not answer this request");
  }
  const responder = createPublicKey({ key: Buffer.from(response.responderPublicKey, "base64"), format: "der", type: "spki" });
  const key = sealKey(pending.agree(responder), request.requestId, request.storageKeyId);
  const sealed = Buffer.from(response.sealed, "base64");
  const raw = gcmOpen(key, Buffer.alloc(12), sealed.subarray(0, sealed.length - 16), sealed.subarray(sealed.length - 16), Buffer.from(request.requestId + request.storageKeyId, "hex"));
  key.fill(0);
  if (!raw) throw new WrongKeyError(`recovery response ${request.requestId}`);
  return acceptUnwrapped(pending.wrap, raw, "storage", `recovery response ${request.requestId}`);
}

