import "server-only";
import crypto from "node:crypto";
import type { DbTx } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";

// The proof a Security Officer gets for re-entering their password (SEC-2): bound to one request
// and its payload hash, valid a few minutes, spent by the approval in the same transaction. A
// captured approval replayed — for the same request or with another request id — approves nothing.
export const PROOF_TTL_MS = 5 * 60_000;

const hashOf = (token: string) => crypto.createHash("sha256").update(token).digest("hex");

export async function issueApprovalProof(tx: DbTx, r: { requestId: string; payloadHash: string; userId: string }): Promise<{ proof: string; expiresAt: Date }> {
  const proof = crypto.randomBytes(32).toString("base64url");
  const expiresAt = new Date(Date.now() + PROOF_TTL_MS);
  await tx.approvalProof.create({ data: { tokenHash: hashOf(proof), requestId: r.requestId, payloadHash: r.payloadHash, userId: r.userId, expiresAt } });
  return { proof, expiresAt };
}

/** Spends the proof for exactly this request, payload and approver, or refuses (FORBIDDEN). */
export async function spendApprovalProof(tx: DbTx, proof: string, r: { requestId: string; payloadHash: string; userId: string }): Promise<void> {
  const now = new Date();
  const spent = await tx.approvalProof.updateMany({
    where: { tokenHash: hashOf(proof), requestId: r.requestId, payloadHash: r.payloadHash, userId: r.userId, spentAt: null, expiresAt: { gt: now } },
    data: { spentAt: now },
  });
  if (spent.count !== 1) {
    throw new AppError("FORBIDDEN", "Your password confirmation does not match this request (it was used already, it expired, or it was given for another request). Enter your password again; nothing was approved.", { password: ["Enter your password again"] });
  }
}
