import "server-only";
import { db } from "@/lib/db/client";
import { SecretKey, type KeyRing } from "@/lib/engine";
import { idFromHex } from "@/lib/engine/bytes";
import { openSecret } from "@/lib/services/kms/config-secrets";
import { recoveredKeyContext } from "./apply-recovery-response";

/** Adds the storage keys recovered for a repository's points to a key ring (verify, restore). */
export async function addRecoveredKeys(ring: KeyRing, repositoryId: string): Promise<number> {
  const rows = await db.recoveredPointKey.findMany({ where: { repositoryId } });
  let added = 0;
  for (const r of rows) {
    try {
      const raw = Buffer.from(openSecret(r.storageKeySealed, recoveredKeyContext(r.pointId)), "base64");
      ring.addKnownKey(new SecretKey("storage", idFromHex(r.storageKeyId), raw));
      raw.fill(0);
      added++;
    } catch {
      // A key sealed under another configuration key: the point reports its keys as unavailable.
    }
  }
  return added;
}
