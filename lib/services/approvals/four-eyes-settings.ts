import "server-only";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { serializableTransaction } from "@/lib/db/transaction";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { createApprovalRequest } from "./create-approval-request";
import { activeSecurityOfficers, readFourEyes, writeFourEyes, type FourEyes } from "./four-eyes-state";

const bool = z.union([z.boolean(), z.enum(["true", "false", "on"]).transform((v) => v !== "false")]);
const settingsSchema = z.object({
  enabled: bool,
  expiryHours: z.coerce.number().int("Whole hours").min(1, "At least 1 hour").max(720, "At most 720 hours (30 days)"),
});

export async function getFourEyes(actor: Actor): Promise<FourEyes & { securityOfficers: number }> {
  authorize(actor, "inventory:read");
  return { ...(await readFourEyes()), securityOfficers: await activeSecurityOfficers() };
}

/**
 * Security Officers turn four-eyes on (only with two active Security Officers) and set how long
 * requests live. Turning it off is itself a request another Security Officer must approve.
 */
export async function setFourEyes(actor: Actor, raw: z.input<typeof settingsSchema>): Promise<{ enabled: boolean; requestId?: string }> {
  authorize(actor, "approval:decide");
  const input = parseInput(settingsSchema, raw);
  return serializableTransaction(async (tx) => {
    const current = await readFourEyes(tx);
    if (input.enabled && (await activeSecurityOfficers(tx)) < 2) {
      throw new AppError("CONFLICT", "Four-eyes approval needs at least two active Security Officers: create a second one under Users first.", { enabled: ["Needs two active Security Officers"] });
    }
    if (current.enabled && !input.enabled) {
      await writeFourEyes(tx, { ...current, expiryHours: input.expiryHours });
      const req = await createApprovalRequest(tx, actor, {
        kind: "four-eyes.off",
        objectType: "settings",
        objectId: "four-eyes",
        summary: [{ field: "Four-eyes approval", from: "on", to: "off" }],
        payload: { enabled: false },
        requiredPermission: "approval:decide",
      });
      return { enabled: true, requestId: req.id };
    }
    await writeFourEyes(tx, { enabled: input.enabled, expiryHours: input.expiryHours });
    await recordAuditEvent({ actor, action: "four-eyes.settings", objectType: "settings", objectId: "four-eyes", outcome: "success", details: { from: current, to: input } }, tx);
    return { enabled: input.enabled };
  });
}
