// Rewrites a chain's .vbm after each committed session (KEY-8): every existing point of the chain
// listed with its key ids, and every storage key the session can obtain sealed under a fresh chain
// key wrapped by the session's — newest — keys. Storage keys come from the previous .vbm, from the
// ring, or from each point's own protections; a point whose key cannot be obtained (e.g. written
// under a password not supplied now) stays listed but must be opened with its own keys.

import { idHex } from "../bytes";
import { EngineError } from "../errors";
import type { KeyRing } from "../keys/key-ring";
import { protectKey, type ResolvedProtection } from "../keys/protection";
import { SecretKey } from "../keys/secret-key";
import { chainContext, chainFileName, decodeChain, encodeChain } from "./chain-file";
import { pointContext } from "./point-file";
import type { Repository } from "./repository";

export async function writeChainFile(
  repo: Repository,
  ring: KeyRing,
  protection: ResolvedProtection,
  chainId: Buffer,
  current: { pointId: Buffer; storageKey: SecretKey },
): Promise<{ included: number; missing: string[] }> {
  const { repositoryId } = repo.config;
  const file = chainFileName(chainId);
  let generation = 0;
  const previous = await repo.store.get(file).catch(() => undefined);
  if (previous) {
    try {
      generation = decodeChain(file, previous).header.generation;
    } catch (e) {
      if (!(e instanceof EngineError)) throw e; // damaged: replaced below
    }
    await repo.loadChainKeys(idHex(chainId), ring);
  }
  const { points } = await repo.scanPoints({ reuse: true });
  const chainPoints = points.filter((p) => p.header.chainId.equals(chainId));
  const storageKeys: Array<{ pointId: Buffer; key: SecretKey }> = [];
  const missing: string[] = [];
  for (const p of chainPoints) {
    const { header } = p;
    let key = header.pointId.equals(current.pointId) ? current.storageKey : ring.knownKey(header.storageKeyId);
    if (!key) {
      try {
        key = await ring.unwrap(header.protections, pointContext(repositoryId, header.pointId), "storage", `restore point ${idHex(header.pointId)}`);
      } catch (e) {
        if (!(e instanceof EngineError)) throw e;
      }
    }
    if (key && key.id.equals(header.storageKeyId)) storageKeys.push({ pointId: header.pointId, key });
    else missing.push(idHex(header.pointId));
  }
  const chainKey = SecretKey.generate("chain", repo.random);
  try {
    const protections = await protectKey(protection, chainKey, chainContext(repositoryId, chainId), repo.random);
    const data = encodeChain(
      {
        repositoryId,
        chainId,
        updatedAt: repo.now(),
        generation: generation + 1,
        chainKeyId: chainKey.id,
        protections,
        points: chainPoints.map((p) => ({ pointId: p.header.pointId, createdAt: p.header.createdAt, keyIds: p.header.protections.map((x) => x.header.keyId) })),
      },
      storageKeys,
      chainKey,
    );
    await repo.store.put(file, data);
  } finally {
    chainKey.destroy();
  }
  return { included: storageKeys.length, missing };
}
