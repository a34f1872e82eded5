// Protections (FORMAT.md "Protection"): a storage key (or chain key) wrapped under each key that
// may open it — the job's user key, a KMS key version, every recovery keyset — with that key's
// header embedded, so a point file alone tells which keys open it (KEY-7, KEY-9).

import { createPublicKey } from "node:crypto";
import { ByteReader, ByteWriter, systemRandom, type RandomSource } from "../bytes";
import { FileDamagedError, InvalidArgumentError } from "../errors";
import { WrapId } from "../format-registry";
import { decodeKeyHeader, describeKey, encodeKeyHeader, type KeyHeader } from "./key-header";
import { guard, kmsKeyHeader, wrapWithKms, type KmsKeyHeader, type KmsWrapper } from "./kms";
import type { RecoveryKeyset } from "./recovery-keyset";
import type { SecretKey } from "./secret-key";
import type { PasswordKey } from "./user-key";
import { decodeWrap, encodeWrap, wrapWithKey, wrapWithPublicKey, type WrapRecord } from "./wrap";

export interface Protection {
  header: KeyHeader;
  wrap: WrapRecord;
}

/** What a job asks for: a password key and/or a KMS key, plus recovery keysets (public halves). */
export interface ProtectionPlan {
  password?: PasswordKey;
  kms?: { wrapper: KmsWrapper; kmsKeyId: string };
  recoveryKeysets?: RecoveryKeyset[];
}

/** The plan with the KMS key's current version fetched (KEY-5: rotation applies at session start). */
export interface ResolvedProtection {
  password?: PasswordKey;
  kms?: { wrapper: KmsWrapper; header: KmsKeyHeader };
  recoveryKeysets: RecoveryKeyset[];
}

export async function resolveProtection(plan: ProtectionPlan, now: number): Promise<ResolvedProtection> {
  if (!plan.password && !plan.kms) throw new InvalidArgumentError("backup encryption needs a password or a KMS key");
  let kms: ResolvedProtection["kms"];
  if (plan.kms) {
    const { wrapper, kmsKeyId } = plan.kms;
    const version = await guard(wrapper, () => wrapper.latestVersion(kmsKeyId));
    if (version.kmsId !== plan.kms.wrapper.kmsId) throw new InvalidArgumentError("the KMS answered for another key provider");
    kms = { wrapper: plan.kms.wrapper, header: kmsKeyHeader(version, now) };
  }
  return { password: plan.password, kms, recoveryKeysets: plan.recoveryKeysets ?? [] };
}

/** Every header a resolved protection will embed, e.g. to write into keys/. */
export function protectionHeaders(p: ResolvedProtection): KeyHeader[] {
  const out: KeyHeader[] = [];
  if (p.password) out.push(p.password.header);
  if (p.kms) out.push(p.kms.header);
  for (const k of p.recoveryKeysets) out.push(k.header());
  return out;
}

/** Wraps `target` under every key of the protection. `context` = repositoryId || ownerId. */
export async function protectKey(p: ResolvedProtection, target: SecretKey, context: Buffer, random: RandomSource = systemRandom): Promise<Protection[]> {
  const out: Protection[] = [];
  if (p.password) out.push({ header: p.password.header, wrap: wrapWithKey(p.password.key, target, context, random) });
  if (p.kms) out.push({ header: p.kms.header, wrap: await wrapWithKms(p.kms.wrapper, p.kms.header, target, context) });
  for (const keyset of p.recoveryKeysets) {
    const header = keyset.header();
    const publicKey = createPublicKey({ key: header.publicKey, format: "der", type: "spki" });
    out.push({ header, wrap: wrapWithPublicKey(WrapId.rsaOaepSha256, header.keyId, publicKey, target, context) });
  }
  return out;
}

export function keyIdsOf(protections: readonly Protection[]): string[] {
  return protections.map((p) => describeKey(p.header));
}

export function encodeProtection(w: ByteWriter, p: Protection): ByteWriter {
  w.bytes32(encodeKeyHeader(p.header));
  return encodeWrap(w, p.wrap);
}

export function decodeProtection(r: ByteReader): Protection {
  const header = decodeKeyHeader(Buffer.from(r.bytes32()), r.file);
  const wrap = decodeWrap(r);
  if (!wrap.wrappingKeyId.equals(header.keyId)) {
    throw new FileDamagedError(r.file, "inconsistent", "a protection names another key than its header");
  }
  return { header, wrap };
}
