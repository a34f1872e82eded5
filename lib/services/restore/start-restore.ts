import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { serializableTransaction } from "@/lib/db/transaction";
import { parseInput } from "@/lib/errors/parse-input";
import { startRestoreSchema } from "@/lib/schemas/restore";
import { approvalNeed, requestRestoreApproval } from "./restore-approval";
import { checkRestoreSession, queueRestoreSession } from "./restore-session";

// Starts a restore session (RST-1): one or more VMs, each from its restore point to the target the
// wizard chose. Every VM is checked again on the server (the wizard's check may be stale), and
// only a restore that passes for every VM is queued: one "restore-vm" job per VM, in the same
// transaction as the session, its rows and the audit record.
//
// Four-eyes (SEC-2): while it is on, a restore that writes an encrypted VM's home or any of its
// encrypted disks unencrypted starts nothing here. It becomes a request a Security Officer other
// than the requester approves; the approval checks it again and starts it as the requester
// (restore-approval.ts). Another tenant's key provider is never a request: the check refuses it
// outright (check-restore.ts).

export async function startRestore(actor: Actor, raw: unknown): Promise<{ sessionId: string } | { approvalRequestId: string }> {
  authorize(actor, "restore:run");
  const input = parseInput(startRestoreSchema, raw);
  const checked = await checkRestoreSession(input);
  // Whether four-eyes applies is read in the transaction that acts on it.
  return serializableTransaction(async (tx) => {
    if (await approvalNeed(checked, tx)) return { approvalRequestId: await requestRestoreApproval(tx, actor, input, checked) };
    return { sessionId: await queueRestoreSession(tx, actor, input, checked) };
  });
}
